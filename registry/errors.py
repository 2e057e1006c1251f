"""The one domain error of SAM Hub, mapped to an HTTP response in one place per surface."""

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
