"""Reads of the aggregates themselves, as the last command left them (no read model between),
each with its read permission; the API serves them as they are."""

import copy
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from ledger.activities import Activity
from ledger.awards import Award
from ledger.backfills import Backfill
from ledger.commands.permissions import (
    coordinates,
    is_redemption_party,
    require_role,
    require_signup_reader,
    require_training_reader,
    viewer_of,
)
from ledger.context import Context, Role
from ledger.disputes import Dispute
from ledger.engine.service import LedgerService
from ledger.errors import Forbidden
from ledger.identity import normalise_volunteer_number, number_claim_id
from ledger.organisations import Organisation
from ledger.privacy import PERSONAL_EVENTS, Viewer, masked_for, personal_data
from ledger.rewards import Redemption, Reward
from ledger.signups import Signup
from ledger.trainings import Evaluation, Training
from ledger.volunteers import Volunteer, VolunteerNumber

T = TypeVar("T", Backfill, Dispute, Evaluation)


@dataclass(frozen=True)
class ActivityView:
    activity: Activity
    organiser: bool  # the caller coordinates the organising organisation: sees the check-in code


@dataclass(frozen=True)
class RedemptionView:
    redemption: Redemption
    holder: bool  # the volunteer or the venue's desk: sees the code


@dataclass(frozen=True)
class VolunteerView:
    volunteer: Volunteer
    personal_data: dict[str, Any]  # as ledger/privacy.py shows them to the caller
    viewer: Viewer

    @property
    def masked(self) -> bool:
        return masked_for(self.viewer)


class AggregateReads:
    def __init__(self, service: LedgerService) -> None:
        self.service = service

    def organisation(self, org_id: UUID) -> Organisation:
        """Any role."""
        return self.service.load(Organisation, org_id, "organisation")

    def volunteer(self, ctx: Context, volunteer_id: UUID) -> VolunteerView:
        """Any role; each field as ledger/privacy.py shows it to the caller."""
        return self._view(ctx, self.service.load(Volunteer, volunteer_id, "volunteer"))

    def volunteer_by_number(self, ctx: Context, number: str) -> VolunteerView:
        """A desk, a coordinator, an auditor or an admin; personal data as for `volunteer`."""
        require_role(ctx.actor, Role.DESK, Role.COORDINATOR, Role.AUDITOR)
        claim = self.service.load(
            VolunteerNumber, number_claim_id(normalise_volunteer_number(number)), "volunteer"
        )
        return self._view(ctx, self.service.load(Volunteer, claim.volunteer_id, "volunteer"))

    def _view(self, ctx: Context, volunteer: Volunteer) -> VolunteerView:
        viewer = viewer_of(self.service.reader(ctx), ctx.actor, volunteer)
        return VolunteerView(volunteer, personal_data(volunteer, viewer), viewer)

    def activity(self, ctx: Context, activity_id: UUID) -> ActivityView:
        """Any role; the check-in code only for coordinators of the organising organisation
        or above and admins."""
        activity = self.service.load(Activity, activity_id, "activity")
        organiser = coordinates(self.service.reader(ctx), ctx.actor, activity.org_id)
        return ActivityView(activity, organiser)

    def signup(self, ctx: Context, signup_id: UUID) -> Signup:
        signup = self.service.load(Signup, signup_id, "signup")
        reader = self.service.reader(ctx)
        require_signup_reader(reader, ctx.actor, signup.volunteer_id, signup.org_id)
        return signup

    def backfill(self, ctx: Context, backfill_id: UUID) -> Backfill:
        backfill = self.service.load(Backfill, backfill_id, "backfill")
        reader = self.service.reader(ctx)
        require_signup_reader(reader, ctx.actor, backfill.volunteer_id, backfill.org_id)
        return self._erased_if_due(backfill, Backfill.Submitted)

    def dispute(self, ctx: Context, dispute_id: UUID) -> Dispute:
        dispute = self.service.load(Dispute, dispute_id, "dispute")
        reader = self.service.reader(ctx)
        require_signup_reader(reader, ctx.actor, dispute.volunteer_id, dispute.org_id)
        return self._erased_if_due(dispute, Dispute.Opened)

    def training(self, ctx: Context, training_id: UUID) -> Training:
        training = self.service.load(Training, training_id, "training")
        reader = self.service.reader(ctx)
        require_training_reader(reader, ctx.actor, training.org_id, training.volunteer_ids)
        return training

    def evaluation(self, ctx: Context, evaluation_id: UUID) -> Evaluation:
        evaluation = self.service.load(Evaluation, evaluation_id, "evaluation")
        reader = self.service.reader(ctx)
        require_signup_reader(reader, ctx.actor, evaluation.volunteer_id, evaluation.org_id)
        return self._erased_if_due(evaluation, Evaluation.Given)

    def _erased_if_due(self, aggregate: T, created_by: type) -> T:
        """The free text about an erased volunteer as erased, whatever the store or a copy
        kept in memory still holds (the sealed text reads as erased once the volunteer's key
        is destroyed, but a copy loaded before then would not)."""
        volunteer = self.service.load(Volunteer, aggregate.volunteer_id, "volunteer")
        if not volunteer.erased:
            return aggregate
        shown = copy.copy(aggregate)
        for name, erased in PERSONAL_EVENTS[created_by].erased.items():
            setattr(shown, name, copy.copy(erased))
        return shown

    def award(self, award_id: UUID) -> Award:
        """Any role (awards are public notices)."""
        return self.service.load(Award, award_id, "award")

    def reward(self, reward_id: UUID) -> Reward:
        """Any role."""
        return self.service.load(Reward, reward_id, "reward")

    def redemption(self, ctx: Context, redemption_id: UUID) -> RedemptionView:
        """The volunteer, the desk of the reward's venue, an auditor or an admin; the code
        for the volunteer and admins only (a desk that saw it could hand it out alone)."""
        redemption = self.service.load(Redemption, redemption_id, "redemption")
        actor = ctx.actor
        party = is_redemption_party(actor, redemption.volunteer_id, redemption.venue_id)
        if not party and actor.role is not Role.AUDITOR:
            raise Forbidden("outside-scope", "only the volunteer, the venue's desk or an auditor")
        return RedemptionView(redemption, party and actor.role is not Role.DESK)
