"""Periods of the records view: `YYYY` (a calendar year), `YYYY-MM` (a month) or
`campaign:<name>` (the services of the activities and back-fills carrying that campaign),
always by the local service date."""

import re
from dataclasses import dataclass

from ledger import bounds
from ledger.errors import Invalid

CAMPAIGN_PREFIX = "campaign:"
# 2026, 2026-03 or campaign:<name>, a name any activity may carry (known or not): printable,
# not blank, no longer than a campaign's name may be (the longest period, PERIOD_LENGTH).
PRINTABLE = r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
PERIOD_PATTERN = (
    r"^[0-9]{4}$|^[0-9]{4}-(0[1-9]|1[0-2])$"
    rf"|^{CAMPAIGN_PREFIX}{PRINTABLE}*[^\x00-\x20\x7F-\x9F]{PRINTABLE}*$"
)
PERIOD_LENGTH = len(CAMPAIGN_PREFIX) + bounds.CAMPAIGN.high
PERIOD = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Period:
    key: str  # as the read models store it: 2026, 2026-03 or campaign:<name>
    kind: str  # year, month or campaign

    @property
    def campaign(self) -> str:
        return self.key.removeprefix(CAMPAIGN_PREFIX)


def parse_period(text: str) -> Period:
    if len(text) > PERIOD_LENGTH or not PERIOD.fullmatch(text):
        raise Invalid(
            "invalid-period",
            f"period {text[:100]!r} is not a year (2026), a month (2026-03) or campaign:<name>",
        )
    if text.startswith(CAMPAIGN_PREFIX):
        return Period(text, "campaign")
    return Period(text, "year" if len(text) == 4 else "month")


def periods(service_date: str, campaign: str | None) -> tuple[str, str, str | None]:
    """The periods a service on `service_date` (YYYY-MM-DD) counts in: its year, its month
    and its campaign's (None without a campaign)."""
    return service_date[:4], service_date[:7], CAMPAIGN_PREFIX + campaign if campaign else None
