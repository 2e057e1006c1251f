from tests.registry.conftest import api  # noqa: F401 (the same APIClient fixture)
