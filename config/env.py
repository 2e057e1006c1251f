"""Read settings from the environment, failing fast on values that cannot be right."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_seconds_list(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """A comma-separated list of durations in seconds, e.g. "0,1,2.5": at least one, none below 0."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        values = tuple(float(item) for item in raw.split(","))
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be seconds separated by commas (e.g. 0,1,2), got {raw!r}"
        ) from None
    if any(not 0 <= value < float("inf") for value in values):
        raise ImproperlyConfigured(f"{name} must hold no negative or infinite value, got {raw!r}")
    return values
