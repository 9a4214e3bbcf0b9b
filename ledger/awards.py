"""Stars and commendations: announced, in public notice (公示) while objections may be filed,
then confirmed, or withdrawn after an objection is upheld."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Actor, Context, Role
from ledger.errors import Conflict, Invalid
from ledger.identity import derived_id
from ledger.rules import Rules


class AwardKind(StrEnum):
    STAR = "star"
    COMMENDATION = "commendation"


class AwardStatus(StrEnum):
    IN_NOTICE = "in_notice"
    OBJECTED = "objected"  # held until a coordinator reviews the objections
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"  # an objection was upheld
    REVOKED = "revoked"  # a correction took service time back below the star's threshold


ENDED = (AwardStatus.WITHDRAWN, AwardStatus.REVOKED)


class Review(StrEnum):
    CONFIRM = "confirm"  # the objections are dismissed
    WITHDRAW = "withdraw"  # an objection is upheld


def objector_of(actor: Actor) -> str:
    """The person behind an objection: a volunteer by their volunteer id (whichever of their
    tokens they use), anyone else by their token's name."""
    if actor.role is Role.VOLUNTEER and actor.scope_id is not None:
        return f"volunteer:{actor.scope_id}"
    return f"token:{actor.name}"


def star_award_id(volunteer_id: UUID, level: int) -> UUID:
    return derived_id(volunteer_id, f"star:{level}")


class Award(LedgerAggregate):
    class Announced(LedgerAggregate.Created):
        volunteer_id: UUID
        org_id: UUID
        kind: str
        level: int | None  # the star level; None for a commendation
        title: str
        reason: str
        notice_ends_at: datetime

    class Objected(LedgerAggregate.Event):
        class_version = 2  # v2: objector
        objection_id: UUID
        reason: str
        objector: str  # who objected (objector_of): one objection each per notice

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["objector"] = "token:" + state["actor"]

        def apply(self, award: "Award") -> None:
            award.status = AwardStatus.OBJECTED
            award.open_objections.append(str(self.objection_id))
            award.objections_filed += 1
            award.objectors.append(self.objector)

    class Reviewed(LedgerAggregate.Event):
        decision: str
        reason: str

        def apply(self, award: "Award") -> None:
            award.open_objections = []
            award.status = (
                AwardStatus.WITHDRAWN if self.decision == Review.WITHDRAW else AwardStatus.IN_NOTICE
            )

    class Confirmed(LedgerAggregate.Event):
        def apply(self, award: "Award") -> None:
            award.status = AwardStatus.CONFIRMED

    class Revoked(LedgerAggregate.Event):
        reason: str

        def apply(self, award: "Award") -> None:
            award.status = AwardStatus.REVOKED
            award.open_objections = []

    class Renewed(LedgerAggregate.Event):
        """Announced again after it was withdrawn or revoked, with a new public notice."""

        reason: str
        notice_ends_at: datetime

        def apply(self, award: "Award") -> None:
            award.status = AwardStatus.IN_NOTICE
            award.notice_ends_at = self.notice_ends_at
            award.open_objections = []
            award.objectors = []  # a new notice: anyone may object to it again

    def __init__(
        self,
        volunteer_id: UUID,
        org_id: UUID,
        kind: str,
        level: int | None,
        title: str,
        reason: str,
        notice_ends_at: datetime,
    ) -> None:
        self.volunteer_id = volunteer_id
        self.org_id = org_id
        self.kind = AwardKind(kind)
        self.level = level
        self.title = title
        self.reason = reason
        self.notice_ends_at = notice_ends_at
        self.status = AwardStatus.IN_NOTICE
        self.open_objections: list[str] = []
        self.objections_filed = 0
        self.objectors: list[str] = []  # a list: snapshots are JSON

    @classmethod
    def announce(
        cls,
        ctx: Context,
        rules: Rules,
        award_id: UUID,
        volunteer_id: UUID,
        org_id: UUID,
        kind: AwardKind,
        title: str,
        reason: str,
        level: int | None = None,
    ) -> "Award":
        bounds.TITLE.check(title)
        bounds.REASON.check(reason)
        award: Award = cls.new(
            ctx,
            cls.Announced,
            id=award_id,
            volunteer_id=volunteer_id,
            org_id=org_id,
            kind=kind.value,
            level=level,
            title=title.strip(),
            reason=reason.strip(),
            notice_ends_at=ctx.now + timedelta(days=rules.notice_days),
        )
        return award

    def in_notice(self, now: datetime) -> bool:
        return now < self.notice_ends_at

    def object(self, ctx: Context, objection_id: UUID, reason: str) -> None:
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "an objection needs a reason")
        if self.status not in (AwardStatus.IN_NOTICE, AwardStatus.OBJECTED) or not self.in_notice(
            ctx.now
        ):
            raise Conflict("notice-closed", "objections can only be filed during the public notice")
        objector = objector_of(ctx.actor)
        if objector in self.objectors:
            raise Conflict(
                "objection-already-filed",
                "you have already objected to this award during its public notice",
            )
        self.emit(
            ctx, self.Objected, objection_id=objection_id, reason=reason.strip(), objector=objector
        )

    def review(self, ctx: Context, decision: Review, reason: str) -> None:
        if self.status != AwardStatus.OBJECTED:
            raise Conflict("nothing-to-review", "the award has no open objection")
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "a review needs a reason")
        self.emit(ctx, self.Reviewed, decision=decision.value, reason=reason.strip())

    def confirm(self, ctx: Context) -> None:
        if self.status == AwardStatus.CONFIRMED:
            return
        if self.status != AwardStatus.IN_NOTICE:
            raise Conflict("cannot-confirm", f"an award that is {self.status} cannot be confirmed")
        if self.in_notice(ctx.now):
            raise Conflict("notice-running", "the public notice has not ended yet")
        self.emit(ctx, self.Confirmed)

    def revoke(self, ctx: Context, reason: str) -> None:
        if self.status not in ENDED:
            self.emit(ctx, self.Revoked, reason=reason)

    def renew(self, ctx: Context, rules: Rules, reason: str) -> None:
        if self.status in ENDED:
            notice_ends_at = ctx.now + timedelta(days=rules.notice_days)
            self.emit(ctx, self.Renewed, reason=reason, notice_ends_at=notice_ends_at)
