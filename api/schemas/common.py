"""Shared types of the v1 contract: moments, bounded values built from ledger/bounds.py, the
bases of bodies and views, positions and cursors, and problems."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    WithJsonSchema,
)

from ledger import bounds
from ledger.errors import DomainError
from ledger.text import PRINTABLE_PATTERN


def _integral(value: object) -> object:
    """JSON Schema's integer: a number without a fraction, so 2.0 is 2 (never true or "2")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)  # after the constraints: they then keep their names


def within(bound: bounds.Whole, description: str | None = None) -> Any:
    """The constraints of an integer field within `bound`, as the domain checks it."""
    return Field(ge=bound.low, le=bound.high, description=description)


def length(bound: bounds.Text, description: str | None = None) -> Any:
    """The constraints of a text field within `bound`: at most its length, no control
    characters but tab and line breaks (a blank required text is refused by the domain)."""
    return Field(
        min_length=min(bound.low, 1),
        max_length=bound.high,
        pattern=PRINTABLE_PATTERN,
        description=description,
    )


def _within_calendar(value: datetime) -> datetime:
    try:
        return bounds.MOMENT.check(value)
    except DomainError as e:
        raise ValueError(e.detail) from e


# A time as its offset writes it, in the years the domain accepts; the pattern declares the
# range to clients (and to JSON Schema, whose date-time format has no bounds).
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_within_calendar),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": bounds.MOMENT.pattern,
            "description": bounds.MOMENT.description,
        }
    ),
]


def _born(value: date) -> date:
    if value < bounds.EARLIEST_BIRTH:
        raise ValueError(f"must be {bounds.EARLIEST_BIRTH.isoformat()} or later")
    return value


BirthDate = Annotated[
    date,
    AfterValidator(_born),
    WithJsonSchema({"type": "string", "format": "date", "pattern": bounds.BIRTH_DATE_PATTERN}),
]
Minutes = Annotated[StrictInt, within(bounds.SERVICE_MINUTES, "whole minutes of service"), Integral]
Text = Annotated[str, length(bounds.REASON)]
Name = Annotated[str, length(bounds.NAME)]
Reason = Annotated[str, length(bounds.REASON), Field(min_length=1)]
Code = Annotated[str, length(bounds.CODE)]
Pin = Annotated[
    str,
    Field(
        min_length=bounds.PIN_DIGITS,
        max_length=bounds.PIN_DIGITS,
        pattern=bounds.PIN_PATTERN,
        description=f"the volunteer's PIN: exactly {bounds.PIN_DIGITS} digits, typed by the "
        "volunteer",
    ),
]


class Body(BaseModel):
    """A request body: unknown fields are refused; numbers and flags are not coerced."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body. Every field is always sent (null where it has no value), so the
    OpenAPI document lists every field as required, those that may be null as nullable."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class View(Out):
    """A response read from an object's attributes: `View.model_validate(obj)`."""

    model_config = ConfigDict(from_attributes=True)


# The kinds of posting a statement shows (ledger/accounts.py names them where it posts).
PostingKind = Literal["service", "reversal", "gift", "donation", "exchange", "redemption"]
ViewPosition = Annotated[int, Field(description="the log position this view reflects")]
NextCursor = Annotated[
    str | None, Field(description="pass it as `cursor` for the next page; null on the last")
]


class Positioned(Out):
    position: int | None = Field(
        None,
        description="log position of the command's last event; pass it as min_position to "
        "read your own write",
    )


class CreatedOut(Positioned):
    id: UUID


class ReasonIn(Body):
    reason: Text = ""


# Problems (api/problems.py)


class ProblemPartOut(BaseModel):
    location: list[str] = Field(description="where: body, query or path, then the field")
    message: str


class ProblemOut(BaseModel):
    """An RFC 9457 problem (application/problem+json): how every request is refused."""

    type: str = Field(description="urn:timebank:problem:<code>")
    title: str
    status: int
    detail: str = Field(description="what is wrong, in a sentence")
    code: str = Field(description="stable, kebab-case")
    instance: str | None = Field(None, description="the request's path")
    errors: list[ProblemPartOut] | None = Field(
        None, description="with validation-failed: every part of the request that is invalid"
    )
