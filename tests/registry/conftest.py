import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    """api(user) gives an APIClient signed in as user; api() an anonymous one."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            # A session cookie too, as a real signed-in request carries: the body-size limits
            # (registry.middleware) look at credentials before DRF authenticates anyone.
            client.force_login(user)
            client.force_authenticate(user)
        return client

    return make
