"""Domain errors. Each carries a stable machine-readable code and an HTTP-free kind."""

from enum import Enum


class Kind(Enum):
    INVALID = "invalid"
    NOT_FOUND = "not-found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"


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
