import pytest

from tests import factories


@pytest.fixture
def open_model(provider, auditor):
    """A model anyone may subscribe to: a released version behind an external endpoint."""
    return factories.make_released(provider, auditor, name="Cell load forecaster").sam


@pytest.fixture
def gated_model(provider, auditor):
    """A model whose subscriptions wait for its organisation's grant."""
    return factories.make_released(
        provider, auditor, name="KPI anomaly detector", approval_required=True
    ).sam
