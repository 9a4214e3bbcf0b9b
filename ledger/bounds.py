"""The bounds of every value a command carries into an event, declared once: the domain
checks them before anything is recorded, and the API builds its request schemas from them,
so a client sees in the OpenAPI document exactly what the server accepts.

Within these bounds every value fits every read model on both stores (BIGINT columns, text
without NUL); `storable` is the last guard of that for any field of any event."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.errors import Invalid
from ledger.text import has_control_characters, has_lone_surrogates, is_printable

BIGINT = 2**63  # what a BIGINT column (and a SQLite INTEGER) holds: -BIGINT up to BIGINT - 1


@dataclass(frozen=True)
class Whole:
    """A whole number from `low` to `high`; refused as `invalid-<name>`."""

    name: str
    low: int
    high: int

    def check(self, value: int) -> int:
        if type(value) is not int or not self.low <= value <= self.high:
            raise Invalid(
                f"invalid-{self.name}",
                f"{self.name} must be a whole number from {self.low} to {self.high}",
            )
        return value


@dataclass(frozen=True)
class Text:
    """Text of `low` to `high` characters (blank counts as empty when `low` > 0), without
    control characters other than tab and line breaks, and blank or with a visible
    character (ledger/text.py); refused as `invalid-<name>`, in words that call it
    `label`."""

    name: str
    low: int
    high: int
    label: str = ""

    @property
    def what(self) -> str:
        return self.label or self.name

    def check(self, value: str) -> str:
        if not isinstance(value, str):
            raise Invalid(f"invalid-{self.name}", f"{self.what} must be text")
        if len(value) > self.high:
            raise Invalid(
                f"invalid-{self.name}", f"{self.what} must be at most {self.high} characters"
            )
        if has_control_characters(value) or has_lone_surrogates(value):
            raise Invalid(
                f"invalid-{self.name}",
                f"{self.what} must not contain control characters, bidirectional ones "
                "included (tab and line breaks may)",
            )
        if not is_printable(value):
            raise Invalid(
                f"invalid-{self.name}", f"{self.what} must show at least one visible character"
            )
        if len(value.strip()) < self.low:
            raise Invalid(f"invalid-{self.name}", f"{self.what} is required")
        return value

    def check_all(self, values: Iterable[str], most: int) -> list[str]:
        checked = [self.check(v) for v in values]
        if len(checked) > most:
            raise Invalid(f"invalid-{self.name}", f"at most {most} {self.what} entries")
        return checked


@dataclass(frozen=True)
class Moments:
    """Times with a UTC offset whose year, as the offset writes it, is from `first_year` to
    `last_year`; `pattern` says the same of RFC 3339 text."""

    name: str
    first_year: int
    last_year: int
    pattern: str

    def check(self, value: datetime) -> datetime:
        if value.tzinfo is None or not self.first_year <= value.year <= self.last_year:
            raise Invalid(f"invalid-{self.name}", f"{self.name} must be {self.description}")
        return value

    @property
    def description(self) -> str:
        return f"a time with its UTC offset in the years {self.first_year} to {self.last_year}"


# Numbers ---------------------------------------------------------------------------------
POPULATION = Whole("population", 0, 10**10)  # more people than live on Earth
CAPACITY = Whole("capacity", 1, 1_000_000)
SERVICE_MINUTES = Whole("minutes", 0, 24 * 60)  # one record: a signup, a back-fill, a correction
TRAINING_MINUTES = Whole("minutes", 1, 24 * 60)
TRANSFER_MINUTES = Whole("amount", 1, 10**9)
COST_MINUTES = Whole("cost", 1, 10**9)
STOCK = Whole("stock", 0, 10**9)
PER_VOLUNTEER_LIMIT = Whole("limit", 1, 10**9)
QUANTITY = Whole("quantity", 1, 1000)
BENEFICIARIES = Whole("beneficiaries", 0, 10**7)
SCORE = Whole("score", 1, 5)
PARTICIPANTS = 1000  # volunteers of one training
SKILLS = 50  # skills of one volunteer
EVIDENCE = 20  # references of one back-fill
CERTIFICATE_SERVICES = 1000  # services one certificate lists
CERTIFICATE_YEARS = 10  # the longest period one certificate covers

# Text ------------------------------------------------------------------------------------
NAME = Text("name", 1, 200)  # of an organisation, a volunteer, a reward
TITLE = Text("title", 1, 200)  # of an activity, a training, a commendation
LOCATION = Text("location", 0, 500)
CAMPAIGN = Text("campaign", 1, 200)
REASON = Text("reason", 0, 2000)  # a reason, a memo, a comment, a description
ID_NUMBER = Text("id-document", 1, 64, "the ID document number")
PHONE = Text("phone", 3, 32)
SKILL = Text("skill", 0, 100)
EVIDENCE_ITEM = Text("evidence", 0, 500)
PURPOSE = Text("purpose", 0, 200)  # what a certificate is for (升学, 求职, ...)
CODE = Text("code", 1, 20)  # a check-in or redemption code as typed
PIN_DIGITS = 6  # a volunteer's PIN: exactly this many digits
PIN_PATTERN = rf"^[0-9]{{{PIN_DIGITS}}}$"

# Time ------------------------------------------------------------------------------------
MOMENT = Moments("time", 2000, 2099, r"^20[0-9]{2}-")  # services, schedules, trainings
EARLIEST_BIRTH = date(1900, 1, 1)  # and no later than today
BIRTH_DATE_PATTERN = r"^(19|20)[0-9]{2}-"  # the same years as RFC 3339 text


def storable(fields: dict[str, Any]) -> None:
    """Refuses an event field that a read model could not store: an integer beyond BIGINT,
    text with NUL or half a surrogate pair (which no store can encode), in any nesting."""
    for name, value in fields.items():
        _storable(name, value)


def _storable(name: str, value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value or has_lone_surrogates(value):
            raise Invalid(f"invalid-{name}", f"{name} holds characters that cannot be stored")
    elif isinstance(value, int):
        if not -BIGINT <= value < BIGINT:
            raise Invalid(f"invalid-{name}", f"{name} is too large")
    elif isinstance(value, list | tuple):
        for item in value:
            _storable(name, item)
    elif isinstance(value, dict):
        for item in value.values():
            _storable(name, item)
