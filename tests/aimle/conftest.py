from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from tests import factories
from tests.aimle.selection import released_estimator
from tests.training.aimle import make_client
from tests.training.datasets import anomaly_kpis
from tests.training.training import upload_dataset


@pytest.fixture
def loopback_callbacks(settings):
    """Callbacks to loopback allowed (the test receivers listen there)."""
    settings.SAMHUB_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def three_estimators() -> list:
    """Three scikit-learn classifiers of different strength on the KPI data."""
    return [
        LogisticRegression(max_iter=500),
        DecisionTreeClassifier(max_depth=3, random_state=0),
        GaussianNB(),
    ]


def kpi_frame():
    return anomaly_kpis(300, seed=5)


def aimle_clients(operator, organisation) -> list:
    """Three AIMLE clients: two of set-north in area-north, one of set-east in area-east."""
    return [
        make_client(operator, organisation, "client-1", client_set_id="set-north"),
        make_client(operator, organisation, "client-2", client_set_id="set-north"),
        make_client(
            operator, organisation, "client-3", client_set_id="set-east", service_area="area-east"
        ),
    ]


@dataclass(frozen=True)
class World:
    """People, three released candidate classifiers, a dataset and AIMLE clients (aimle_clients),
    made once per module."""

    warehouse: Path
    organisation: object
    provider: object
    colleague: object
    other_provider: object
    auditor: object
    operator: object
    candidates: list
    dataset: object


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Every model file is checked in a child process when it is uploaded, which takes
    seconds: the API tests share these, made in a transaction around the module that is
    rolled back after it (Django's setUpTestData); each test's own writes roll back as
    usual. Its warehouse folder is the tests' (use_world_warehouse)."""
    warehouse = tmp_path_factory.mktemp("aimle-warehouse")
    storages = {
        **django_settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": warehouse},
        },
    }
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(STORAGES=storages, MEDIA_ROOT=warehouse, PASSWORD_HASHERS=fast),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            organisation = factories.make_organisation("AIMLE North")
            provider = factories.make_user(
                "provider", organisation=organisation, username="aimle-provider"
            )
            auditor = factories.make_user("auditor", username="aimle-auditor")
            operator = factories.make_user("operator", username="aimle-operator", is_staff=True)
            aimle_clients(operator, organisation)
            yield World(
                warehouse=warehouse,
                organisation=organisation,
                provider=provider,
                colleague=factories.make_user(
                    "provider", organisation=organisation, username="aimle-colleague"
                ),
                other_provider=factories.make_user(
                    "provider",
                    organisation=factories.make_organisation("AIMLE South"),
                    username="aimle-outsider",
                ),
                auditor=auditor,
                operator=operator,
                candidates=[
                    released_estimator(provider, auditor, e, name=f"Anomaly {type(e).__name__}")
                    for e in three_estimators()
                ],
                dataset=upload_dataset(
                    provider, organisation, warehouse, kpi_frame(), name="KPIs 300"
                ),
            )
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def use_world_warehouse(settings, world):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": world.warehouse},
        },
    }
    settings.MEDIA_ROOT = world.warehouse
