"""Commands that recognise service without crediting it: activity completion, trainings,
evaluations, commendations, objections, and the review and confirmation of awards."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from ledger.activities import Activity
from ledger.awards import Award, AwardKind, Review
from ledger.commands.base import Command, UnitOfWork
from ledger.commands.permissions import (
    coordinates,
    require_coordinator_of,
    require_role,
)
from ledger.context import Role
from ledger.errors import Conflict, Forbidden, Invalid
from ledger.organisations import Organisation
from ledger.signups import Signup, SignupStatus
from ledger.trainings import Evaluation, Evaluator, Training, evaluation_id
from ledger.volunteers import Volunteer

MAX_NAMED = 5  # outside volunteers named in a refusal


def require_members_in_scope(uow: UnitOfWork, volunteers: list[Volunteer]) -> None:
    """Admin, or a coordinator whose subtree holds every volunteer's home organisation."""
    outside = [v for v in volunteers if not coordinates(uow, uow.ctx.actor, v.home_org_id)]
    if not outside:
        return
    if len(outside) == 1:
        detail = f"volunteer {outside[0].id} is not a member of an organisation you coordinate"
    else:
        named = ", ".join(str(v.id) for v in outside[:MAX_NAMED])
        more = f" and {len(outside) - MAX_NAMED} more" if len(outside) > MAX_NAMED else ""
        detail = (
            f"{len(outside)} volunteers are not members of an organisation you coordinate: "
            f"{named}{more}"
        )
    raise Forbidden("outside-scope", detail)


@dataclass(frozen=True)
class Completion:
    id: UUID
    status: str
    beneficiaries: int


@dataclass(frozen=True)
class CompleteActivity(Command):
    activity_id: UUID
    beneficiaries: int

    def handle(self, uow: UnitOfWork) -> Completion:
        activity = uow.get(Activity, self.activity_id, "activity")
        require_role(uow.ctx.actor, Role.COORDINATOR)
        require_coordinator_of(uow, uow.ctx.actor, activity.org_id)
        activity.complete(uow.ctx, self.beneficiaries)
        return Completion(activity.id, "completed", self.beneficiaries)


@dataclass(frozen=True)
class TrainingHeld:
    id: UUID
    participants: int


@dataclass(frozen=True)
class HoldTraining(Command):
    org_id: UUID
    title: str
    held_at: datetime
    minutes: int
    volunteer_ids: tuple[UUID, ...]

    def handle(self, uow: UnitOfWork) -> TrainingHeld:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        org = uow.get(Organisation, self.org_id, "organisation")
        require_coordinator_of(uow, uow.ctx.actor, org.id)
        training = Training.hold(
            uow.ctx, org.id, self.title, self.held_at, self.minutes, list(self.volunteer_ids)
        )
        participants = [uow.get(Volunteer, v, "volunteer") for v in self.volunteer_ids]
        require_members_in_scope(uow, participants)
        uow.add(training)
        return TrainingHeld(training.id, len(training.volunteer_ids))


@dataclass(frozen=True)
class EvaluationGiven:
    id: UUID
    signup_id: UUID
    volunteer_id: UUID
    score: int
    by: str


@dataclass(frozen=True)
class Evaluate(Command):
    """The organiser's evaluation, or the served person's recorded on their behalf."""

    signup_id: UUID
    score: int
    by: Evaluator
    comment: str = ""

    def handle(self, uow: UnitOfWork) -> EvaluationGiven:
        signup = uow.get(Signup, self.signup_id, "signup")
        require_role(uow.ctx.actor, Role.COORDINATOR)
        require_coordinator_of(uow, uow.ctx.actor, signup.org_id)
        if signup.status != SignupStatus.VERIFIED:
            raise Conflict(
                "not-verified", f"a signup that is {signup.status} cannot be evaluated yet"
            )
        uow.get(Volunteer, signup.volunteer_id, "volunteer")  # the comment is about them
        if uow.find(Evaluation, evaluation_id(signup.id, self.by)) is not None:
            raise Conflict(
                "already-evaluated", f"the {self.by.value} has already evaluated this service"
            )
        evaluation = Evaluation.give(
            uow.ctx,
            signup.id,
            signup.volunteer_id,
            signup.activity_id,
            signup.org_id,
            self.score,
            self.by,
            self.comment,
        )
        uow.add(evaluation)
        return EvaluationGiven(
            evaluation.id, signup.id, signup.volunteer_id, evaluation.score, self.by.value
        )


@dataclass(frozen=True)
class AwardState:
    id: UUID
    status: str
    notice_ends_at: datetime


@dataclass(frozen=True)
class Commend(Command):
    volunteer_id: UUID
    org_id: UUID
    title: str
    reason: str

    def handle(self, uow: UnitOfWork) -> AwardState:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        org = uow.get(Organisation, self.org_id, "organisation")
        require_coordinator_of(uow, uow.ctx.actor, org.id)
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        require_members_in_scope(uow, [volunteer])
        if not self.reason.strip():
            raise Invalid("reason-required", "a commendation needs a reason")
        award = Award.announce(
            uow.ctx,
            uow.rules,
            uuid4(),
            volunteer.id,
            org.id,
            AwardKind.COMMENDATION,
            self.title,
            self.reason,
        )
        uow.add(award)
        return AwardState(award.id, award.status.value, award.notice_ends_at)


@dataclass(frozen=True)
class ObjectionFiled:
    id: UUID
    award_id: UUID
    status: str


@dataclass(frozen=True)
class FileObjection(Command):
    """Anyone may object to an award while its public notice runs."""

    award_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> ObjectionFiled:
        award = uow.get(Award, self.award_id, "award")
        objection_id = uuid4()
        award.object(uow.ctx, objection_id, self.reason)
        return ObjectionFiled(objection_id, award.id, award.status.value)


@dataclass(frozen=True)
class ReviewAward(Command):
    award_id: UUID
    decision: Review
    reason: str

    def handle(self, uow: UnitOfWork) -> AwardState:
        award = uow.get(Award, self.award_id, "award")
        require_role(uow.ctx.actor, Role.COORDINATOR)
        require_coordinator_of(uow, uow.ctx.actor, award.org_id)
        award.review(uow.ctx, self.decision, self.reason)
        return AwardState(award.id, award.status.value, award.notice_ends_at)


@dataclass(frozen=True)
class ConfirmAward(Command):
    """Makes an award final once its notice has ended with no objection open: run by the
    system's sweeper, or by a coordinator of the awarding organisation."""

    award_id: UUID

    def handle(self, uow: UnitOfWork) -> AwardState:
        award = uow.get(Award, self.award_id, "award")
        actor = uow.ctx.actor
        if actor.role is not Role.SYSTEM:
            require_role(actor, Role.COORDINATOR)
            require_coordinator_of(uow, actor, award.org_id)
        award.confirm(uow.ctx)
        return AwardState(award.id, award.status.value, award.notice_ends_at)
