"""The one domain error of SAM Hub and its one renderer per surface.

Services raise DomainError; each surface shows it one way:
- a form: `error_to_form()` puts the message on top and each detail next to the field it names;
- a message (portal pages and the admin): `error_message()` / `error_text()`, one line;
- the API: core.api.exceptions.exception_handler, the JSON error shape with its status.
"""

from collections.abc import Iterable, Mapping

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest

INTERNAL_ERROR_MESSAGE = "Internal server error; the error is logged."


class DomainError(Exception):
    """A business rule refused an action; `status` is the HTTP status it maps to."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        status: int = 400,
        details: dict | list | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details

    @property
    def public_message(self) -> str:
        """What the person or system that asked is told. A 500 is a failure on SAM Hub's side
        whose message may quote the exception it wraps (file paths, library internals): that
        stays in the log and the operator's records."""
        return INTERNAL_ERROR_MESSAGE if self.status == 500 else self.message

    @classmethod
    def not_allowed(cls, message: str) -> "DomainError":
        return cls(message, code="permission_denied", status=403)

    @classmethod
    def conflict(cls, message: str, **kwargs) -> "DomainError":
        return cls(message, code="invalid_state", status=409, **kwargs)


def _flatten(value, prefix: str = "") -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}{key}: ")
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _flatten(inner, prefix)
    else:
        yield f"{prefix}{value}"


def error_to_form(exc: DomainError, *forms: Form, labels: Mapping[str, str] | None = None) -> None:
    """Put a refusal on the forms: its message on top of the first, each detail next to the
    field it names (in whichever form has it), the others on top with the field's label from
    `labels`. Each error is shown once: the message is left off the top when a detail already
    says it (a refusal of one input, next to that input). What the person typed stays in the
    forms."""
    labels = labels or {}
    if exc.status == 500:
        forms[0].add_error(None, exc.public_message)
        return  # a failure on SAM Hub's side: nothing to fix in the form
    details = exc.details if isinstance(exc.details, dict) else {"__all__": exc.details or []}
    placed = [(field, message) for field, value in details.items() for message in _flatten(value)]
    if not any(exc.message in message for _, message in placed):
        forms[0].add_error(None, exc.message)
    for field, message in placed:
        target = next((f for f in forms if field in f.fields), None)
        if target is not None:
            target.add_error(field, message)
        elif field == "__all__":
            forms[0].add_error(None, message)
        else:
            forms[0].add_error(None, f"{labels.get(field, field)}: {message}")


def error_text(exc: DomainError, *, labels: Mapping[str, str] | None = None) -> str:
    """One line for a message: the refusal and, if any, what each field needs (named by its
    label from `labels`)."""
    if not isinstance(exc.details, dict) or exc.status == 500:
        return exc.public_message
    labels = labels or {}
    lines = [
        f"{labels.get(field, field)}: {message}"
        for field, value in exc.details.items()
        for message in _flatten(value)
        if field != "__all__" or message not in exc.message
    ]
    return exc.message + (" — " + "; ".join(lines) if lines else "")


def error_message(
    request: HttpRequest,
    exc: DomainError,
    *,
    prefix: str = "",
    labels: Mapping[str, str] | None = None,
) -> None:
    """Show a refusal as an error message on the next page (portal and admin)."""
    messages.error(request, prefix + error_text(exc, labels=labels))
