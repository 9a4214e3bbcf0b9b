"""The configurable rules of SPEC.md with their deployment-wide defaults."""

from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field


class TransferPolicy(StrEnum):
    FAMILY_ONLY = "family_only"
    ANY_MEMBER = "any_member"


class Rules(BaseModel):
    model_config = {"frozen": True}

    timezone: str = "Asia/Shanghai"
    max_check_ins_per_day: int = Field(3, ge=1)
    # How far a volunteer's own check-in or check-out time may be from the server's clock.
    self_time_tolerance_minutes: int = Field(2, ge=0)
    grace_minutes: int = Field(30, ge=0)
    granularity_minutes: int = Field(1, ge=1)
    backfill_window_days: int = Field(90, ge=0)
    credit_limit_minutes: int = Field(0, ge=0)
    balance_cap_minutes: int | None = Field(None, ge=0)
    exchange_policy: TransferPolicy = TransferPolicy.ANY_MEMBER
    redemption_expiry_minutes: int = Field(48 * 60, ge=1)
    star_thresholds_hours: tuple[int, ...] = (100, 300, 600, 1000, 1500)
    notice_days: int = Field(7, ge=0)
    party_member_yearly_minutes: int = Field(25 * 60, ge=0)

    def local_date(self, moment: datetime) -> date:
        """The business date of a moment in the deployment's time zone: the date a service
        counts on (its activity's start, or a back-fill's), in records, reports and
        certificates alike."""
        return moment.astimezone(_zone(self.timezone)).date()

    def star_hours(self, level: int) -> int:
        return self.star_thresholds_hours[level - 1]

    def stars(self, service_minutes: int) -> int:
        return sum(1 for hours in self.star_thresholds_hours if service_minutes >= hours * 60)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
