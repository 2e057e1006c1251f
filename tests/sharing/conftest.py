import pytest

from sharing import inference
from tests.registry.conftest import api  # noqa: F401 (the same APIClient fixture)


@pytest.fixture(autouse=True)
def _empty_model_cache():
    """Each test loads its models anew (the per-process cache would outlive the test database)."""
    inference.cache.clear()
    yield
    inference.cache.clear()
