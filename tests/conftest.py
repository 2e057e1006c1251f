import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(settings, tmp_path):
    """Each test gets its own local warehouse folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "warehouse"},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "warehouse"


@pytest.fixture(autouse=True)
def _empty_model_cache():
    """Each test loads its models anew (the per-process cache would outlive the test database)."""
    from sharing import inference

    inference.cache.clear()
    yield
    inference.cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every role fixture creates a user with a password; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organisation(db):
    return factories.make_organisation("North Operator")


@pytest.fixture
def other_organisation(db):
    return factories.make_organisation("South Operator")


@pytest.fixture
def provider(organisation):
    return factories.make_user("provider", organisation=organisation, username="provider")


@pytest.fixture
def other_provider(other_organisation):
    return factories.make_user("provider", organisation=other_organisation, username="outsider")


@pytest.fixture
def auditor(db):
    return factories.make_user("auditor", username="auditor")


@pytest.fixture
def second_auditor(db):
    return factories.make_user("auditor", username="auditor2")


@pytest.fixture
def operator(db):
    return factories.make_user("operator", username="operator", is_staff=True)


@pytest.fixture
def consumer(db):
    return factories.make_user("consumer", username="consumer")
