import pytest

from sharing import services as sharing_services
from tests import factories


@pytest.fixture
def version(provider, auditor):
    """A released skops model that SAM Hub runs itself."""
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="skops")


@pytest.fixture
def subscription(consumer, version):
    """The consumer's ACTIVE INFERENCE subscription to that model."""
    return sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
