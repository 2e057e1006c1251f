"""Settings read from the environment fail fast on values that cannot be right (config.env)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_seconds_list


def test_a_list_of_seconds_is_read_with_its_default_when_unset(monkeypatch):
    monkeypatch.delenv("SAMHUB_TEST_DELAYS", raising=False)
    assert env_seconds_list("SAMHUB_TEST_DELAYS", (0, 1, 2)) == (0, 1, 2)
    monkeypatch.setenv("SAMHUB_TEST_DELAYS", "0, 0.5,10")
    assert env_seconds_list("SAMHUB_TEST_DELAYS", (0, 1, 2)) == (0.0, 0.5, 10.0)


@pytest.mark.parametrize("raw", ["1,,2", "one", "1;2", "-1", "0,inf", "nan"])
def test_a_list_of_seconds_refuses_what_is_not_a_pause(monkeypatch, raw):
    monkeypatch.setenv("SAMHUB_TEST_DELAYS", raw)
    with pytest.raises(ImproperlyConfigured, match="SAMHUB_TEST_DELAYS"):
        env_seconds_list("SAMHUB_TEST_DELAYS", (0,))
