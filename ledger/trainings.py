"""Trainings (培训) and evaluations (评价): part of a volunteer's record, never service time."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Invalid
from ledger.identity import derived_id


class Training(LedgerAggregate):
    class Held(LedgerAggregate.Created):
        org_id: UUID
        title: str
        held_at: datetime
        minutes: int
        volunteer_ids: list[UUID]

    def __init__(
        self, org_id: UUID, title: str, held_at: datetime, minutes: int, volunteer_ids: list[UUID]
    ) -> None:
        self.org_id = org_id
        self.title = title
        self.held_at = held_at
        self.minutes = minutes
        self.volunteer_ids = volunteer_ids

    @classmethod
    def hold(
        cls,
        ctx: Context,
        org_id: UUID,
        title: str,
        held_at: datetime,
        minutes: int,
        volunteer_ids: list[UUID],
    ) -> "Training":
        bounds.TITLE.check(title)
        bounds.MOMENT.check(held_at)
        bounds.TRAINING_MINUTES.check(minutes)
        if not 1 <= len(volunteer_ids) <= bounds.PARTICIPANTS:
            raise Invalid(
                "invalid-participants",
                f"a training has between 1 and {bounds.PARTICIPANTS} participants",
            )
        if len(set(volunteer_ids)) != len(volunteer_ids):
            raise Invalid("duplicate-participant", "a volunteer is listed more than once")
        training: Training = cls.new(
            ctx,
            cls.Held,
            id=uuid4(),
            org_id=org_id,
            title=title.strip(),
            held_at=held_at,
            minutes=minutes,
            volunteer_ids=list(volunteer_ids),
        )
        return training


class Evaluator(StrEnum):
    ORGANISER = "organiser"
    BENEFICIARY = "beneficiary"  # the served person, recorded by the organiser on their behalf


def evaluation_id(signup_id: UUID, by: Evaluator) -> UUID:
    return derived_id(signup_id, f"evaluation:{by.value}")


class Evaluation(LedgerAggregate):
    class Given(LedgerAggregate.Created):
        signup_id: UUID
        volunteer_id: UUID
        activity_id: UUID
        org_id: UUID
        score: int
        by: str
        comment: str

    def __init__(
        self,
        signup_id: UUID,
        volunteer_id: UUID,
        activity_id: UUID,
        org_id: UUID,
        score: int,
        by: str,
        comment: str,
    ) -> None:
        self.signup_id = signup_id
        self.volunteer_id = volunteer_id
        self.activity_id = activity_id
        self.org_id = org_id
        self.score = score
        self.by = Evaluator(by)
        self.comment = comment

    @classmethod
    def give(
        cls,
        ctx: Context,
        signup_id: UUID,
        volunteer_id: UUID,
        activity_id: UUID,
        org_id: UUID,
        score: int,
        by: Evaluator,
        comment: str,
    ) -> "Evaluation":
        bounds.SCORE.check(score)
        bounds.REASON.check(comment)
        evaluation: Evaluation = cls.new(
            ctx,
            cls.Given,
            id=evaluation_id(signup_id, by),
            signup_id=signup_id,
            volunteer_id=volunteer_id,
            activity_id=activity_id,
            org_id=org_id,
            score=score,
            by=by.value,
            comment=comment.strip(),
        )
        return evaluation
