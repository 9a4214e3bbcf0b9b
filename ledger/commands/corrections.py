"""The commands that enter or correct a service record afterwards: back-fill (补录) with a
second approver, and disputes resolved by a correction (reversal and re-credit)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from ledger import bounds
from ledger.accounts import Account
from ledger.activities import Activity, Category
from ledger.backfills import Backfill, check_interval
from ledger.commands.base import Command, UnitOfWork
from ledger.commands.crediting import credit_service, restate_stars, volunteer_timesheet
from ledger.commands.permissions import (
    require_coordinator_of,
    require_role,
    require_self_or_coordinator,
)
from ledger.context import Role
from ledger.disputes import CreditedRecord, Dispute, Resolution, SourceKind, dispute_id
from ledger.errors import Conflict, Invalid, NotFound
from ledger.identity import (
    account_id,
    timesheet_id,
)
from ledger.organisations import Organisation
from ledger.signups import Signup
from ledger.timesheets import Timesheet
from ledger.volunteers import Volunteer

# Back-fill ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackfillState:
    id: UUID
    status: str
    minutes: int
    credited_minutes: int = 0  # credits posted by this request


@dataclass(frozen=True)
class SubmitBackfill(Command):
    volunteer_id: UUID
    org_id: UUID
    started_at: datetime
    ended_at: datetime
    description: str
    category: Category | None = None
    evidence: tuple[str, ...] = ()
    activity_id: UUID | None = None

    def handle(self, uow: UnitOfWork) -> BackfillState:
        actor = uow.ctx.actor
        require_role(actor, Role.COORDINATOR)
        org = uow.get(Organisation, self.org_id, "organisation")
        require_coordinator_of(uow, actor, org.id)
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        description = bounds.REASON.check(self.description).strip()
        if not description:
            raise Invalid("description-required", "a back-fill needs a description")
        evidence = bounds.EVIDENCE_ITEM.check_all(self.evidence, bounds.EVIDENCE)
        evidence = [e.strip() for e in evidence if e.strip()]
        category, campaign = self.category, None
        if self.activity_id is not None:
            activity = uow.get(Activity, self.activity_id, "activity")
            organiser = uow.get(Organisation, activity.org_id, "organisation")
            if not organiser.is_within(org.id):
                raise Invalid(
                    "activity-outside-organisation",
                    "the activity is not organised by that organisation or below it",
                )
            activity_category = Category(activity.category)
            if category is not None and category != activity_category:
                raise Invalid(
                    "category-mismatch",
                    f"the activity's category is {activity_category.value}, not {category.value}",
                )
            category, campaign = activity_category, activity.campaign
        if category is None:
            raise Invalid("category-required", "a back-fill without an activity needs a category")
        minutes = check_interval(uow.ctx, uow.rules, self.started_at, self.ended_at)
        backfill_id = uuid4()
        sheet = uow.find(Timesheet, timesheet_id(volunteer.id))
        if sheet is not None:  # refused early; approval checks again
            sheet.require_free(backfill_id, self.started_at, self.ended_at)
        backfill: Backfill = Backfill.new(
            uow.ctx,
            Backfill.Submitted,
            id=backfill_id,
            volunteer_id=volunteer.id,
            org_id=org.id,
            activity_id=self.activity_id,
            category=category.value,
            campaign=campaign,
            started_at=self.started_at,
            ended_at=self.ended_at,
            minutes=minutes,
            description=description,
            evidence=evidence,
        )
        uow.add(backfill)
        return BackfillState(backfill.id, backfill.status.value, minutes)


def _load_backfill(uow: UnitOfWork, backfill_id: UUID) -> Backfill:
    backfill = uow.get(Backfill, backfill_id, "backfill")
    require_role(uow.ctx.actor, Role.COORDINATOR)
    require_coordinator_of(uow, uow.ctx.actor, backfill.org_id)
    return backfill


@dataclass(frozen=True)
class ApproveBackfill(Command):
    backfill_id: UUID

    def handle(self, uow: UnitOfWork) -> BackfillState:
        backfill = _load_backfill(uow, self.backfill_id)
        backfill.require_approver(uow.ctx)
        if backfill.is_approved:  # a retry: credited once already
            return BackfillState(backfill.id, backfill.status.value, backfill.minutes)
        backfill.require_submitted("approved")
        volunteer_timesheet(uow, backfill.volunteer_id).record_interval(
            uow.ctx, backfill.id, backfill.started_at, backfill.ended_at
        )
        credited = credit_service(
            uow, backfill.volunteer_id, backfill.id, backfill.org_id, backfill.minutes
        )
        backfill.approve(uow.ctx, credited)
        return BackfillState(backfill.id, backfill.status.value, backfill.minutes, credited)


@dataclass(frozen=True)
class RejectBackfill(Command):
    backfill_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> BackfillState:
        backfill = _load_backfill(uow, self.backfill_id)
        backfill.reject(uow.ctx, self.reason)
        return BackfillState(backfill.id, backfill.status.value, backfill.minutes)


# Disputes -----------------------------------------------------------------------------


def load_record(uow: UnitOfWork, record_id: UUID) -> tuple[CreditedRecord, SourceKind]:
    """The signup or back-fill with that id."""
    signup = uow.find(Signup, record_id)
    if signup is not None:
        return signup, SourceKind.SIGNUP
    backfill = uow.find(Backfill, record_id)
    if backfill is not None:
        return backfill, SourceKind.BACKFILL
    raise NotFound("record-not-found", f"no signup or back-fill with id {record_id}")


@dataclass(frozen=True)
class DisputeState:
    id: UUID
    status: str
    previous_minutes: int
    corrected_minutes: int | None = None
    reversed_credits: int = 0
    recredited_credits: int = 0


@dataclass(frozen=True)
class OpenDispute(Command):
    record_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> DisputeState:
        record, kind = load_record(uow, self.record_id)
        require_self_or_coordinator(uow, uow.ctx.actor, record.volunteer_id, record.org_id)
        uow.get(Volunteer, record.volunteer_id, "volunteer")
        Dispute.require_disputable(record, self.reason)
        sequence = 1
        while (earlier := uow.find(Dispute, dispute_id(record.id, sequence))) is not None:
            if earlier.is_open:
                raise Conflict(
                    "dispute-open",
                    f"dispute {earlier.id} of this record is still open; it must be resolved first",
                )
            sequence += 1
        dispute = uow.add(
            Dispute.open(uow.ctx, dispute_id(record.id, sequence), record, kind, self.reason)
        )
        return DisputeState(dispute.id, dispute.status.value, dispute.previous_minutes)


@dataclass(frozen=True)
class ResolveDispute(Command):
    dispute_id: UUID
    decision: Resolution
    reason: str
    minutes: int | None = None

    def handle(self, uow: UnitOfWork) -> DisputeState:
        dispute = uow.get(Dispute, self.dispute_id, "dispute")
        require_role(uow.ctx.actor, Role.COORDINATOR)
        require_coordinator_of(uow, uow.ctx.actor, dispute.org_id)
        record, _ = load_record(uow, dispute.source_id)
        uow.get(Volunteer, record.volunteer_id, "volunteer")
        previous = record.service_minutes
        reason = dispute.check_resolution(self.decision, self.minutes, self.reason, previous)
        if self.decision == Resolution.DISMISS:
            dispute.resolve(uow.ctx, self.decision, None, reason)
            return DisputeState(dispute.id, dispute.status.value, previous)
        assert self.minutes is not None
        account = uow.get(Account, account_id(record.volunteer_id))
        before = account.service_minutes
        reversed_credits = record.credits
        recredited = account.correct_service(
            uow.ctx,
            uow.rules,
            record.id,
            dispute.id,
            record.org_id,
            (previous, reversed_credits),
            self.minutes,
        )
        record.correct(uow.ctx, dispute.id, self.minutes, recredited, reason)
        dispute.resolve(uow.ctx, self.decision, self.minutes, reason)
        restate_stars(uow, record.volunteer_id, before, account.service_minutes)
        return DisputeState(
            dispute.id,
            dispute.status.value,
            previous,
            self.minutes,
            reversed_credits,
            recredited,
        )
