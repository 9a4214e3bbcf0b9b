"""Domain errors. Each carries a stable machine-readable code and an HTTP-free kind."""

from enum import Enum


class Kind(Enum):
    INVALID = "invalid"
    NOT_FOUND = "not-found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    TOO_MANY = "too-many"


class DomainError(Exception):
    kind = Kind.INVALID

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Invalid(DomainError):
    kind = Kind.INVALID


class NotFound(DomainError):
    kind = Kind.NOT_FOUND


class Forbidden(DomainError):
    kind = Kind.FORBIDDEN


class Conflict(DomainError):
    kind = Kind.CONFLICT


class WrongSecret(DomainError):
    """A code or PIN that does not match: a failed guess at `target_kind` `target_id`, which
    the engine counts (the secret tried is never kept)."""

    def __init__(self, kind: Kind, code: str, detail: str, target_kind: str, target_id: str):
        super().__init__(code, detail)
        self.kind = kind
        self.target_kind = target_kind
        self.target_id = target_id


class TooManyAttempts(DomainError):
    """Too many failed codes or PINs lately, by this caller or at this target: refused, even
    with the right one, for `retry_after_seconds`."""

    kind = Kind.TOO_MANY

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__("too-many-attempts", detail)
        self.retry_after_seconds = retry_after_seconds
