"""Records: the service record (档案) of each volunteer, rankings, public notices of awards and
the organisation report, built from one pass over the log.

The projection keeps its own directory (it reads no other projection's tables) and stores no
personal data: no names, ID numbers, phones or birth dates; volunteers appear by id and
volunteer number only.

Definitions (the README quotes them):

- Service time changes only through two events: `Account.ServiceCredited` adds its
  `service_minutes` and `Account.ServiceCorrected` adds `corrected - previous`. Each change is
  one service fact; facts are not kept one by one: each is added at once to the
  pre-aggregated totals below and sets the current minutes and credits of its source.
- A fact belongs to the service it credits (a signup or a back-fill, its "source"): the
  category and campaign of the activity (or of the back-fill), and the service date, which is
  the local date (rules.timezone) of the activity's start for a signup and of `started_at` for
  a back-fill. Its periods are the calendar year `YYYY` and month `YYYY-MM` of that date, and
  `campaign:<name>` when the source has a campaign.
- Member attribution (rankings, active volunteers, member totals): a fact counts for the
  volunteer's home organisation and all its ancestors. A credit is attributed to the home
  organisation the volunteer has when the credit is recorded; a correction is attributed like
  the credit it corrects (so a membership transfer moves attribution from then on and never
  rewrites what was credited before it).
- Organiser attribution (service time by category in the organisation report): a fact counts
  for the organisation that recorded the service (the credit's issuing `org_id`) and all its
  ancestors.
- Members of an organisation are the volunteers whose current home organisation is in its
  subtree; a membership transfer moves them at once.
- An activity is held in a period when it is completed and its service date is in the period
  (or, for a campaign period, it belongs to the campaign). Its beneficiaries (人次) are those
  recorded on completion.
- A training counts for the organisation that held it and its ancestors, on the local date of
  `held_at`. Trainings carry no campaign: for a campaign period they are counted over the
  campaign's span, from the earliest to the latest service date of its activities.
- Pre-aggregated totals keep every ranking an index lookup: per organisation and period the
  member minutes (tb_rec_member_minutes), per organisation, period and volunteer
  (tb_rec_volunteer_minutes), per organisation, period and category by organiser
  (tb_rec_category_minutes), and per volunteer and period whatever the attribution
  (tb_rec_personal_minutes, for the party-member duty).
- Awards (tb_rec_awards) keep the time and log position of their first announcement, and
  the total of objections ever filed. `decided_at` is when an award was last reviewed,
  confirmed or revoked (`Award.Revoked`: a correction took service time back below a star's
  threshold; status `revoked`). `Award.Renewed` announces a withdrawn or revoked star again:
  status `in_notice`, the renewal's `notice_ends_at`, and `decided_at` cleared.

Applying a batch: the directory and service-time events (the bulk of the log) are applied in
memory over the rows they need, read at once when the batch starts, and written in a few
statements; the other events are rare and written one by one, after what the batch gathered
so far has been written.
"""

from datetime import datetime
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import Account, Posting
from ledger.activities import Activity
from ledger.awards import Award, AwardStatus, Review
from ledger.backfills import Backfill
from ledger.disputes import Dispute
from ledger.organisations import Organisation
from ledger.privacy import PERSONAL_EVENTS
from ledger.rules import Rules
from ledger.signups import Signup
from ledger.trainings import Evaluation, Training
from ledger.volunteers import Volunteer
from projections.base import Batch, ProjectionCursor, topic
from projections.db import utc_text
from projections.records.gather import GATHERED, Gathered
from projections.records.tables import NAME, TABLES


class RecordsProjection:
    name: str = NAME
    tables: tuple[str, ...] = TABLES
    topics: frozenset[str] = frozenset(
        topic(cls)
        for cls in (
            *GATHERED,
            Activity.Completed,
            Volunteer.Erased,
            Dispute.Opened,
            Dispute.Resolved,
            Training.Held,
            Evaluation.Given,
            Award.Announced,
            Award.Objected,
            Award.Reviewed,
            Award.Confirmed,
            Award.Revoked,
            Award.Renewed,
        )
    )

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def local_date(self, moment: datetime) -> str:
        return self.rules.local_date(moment).isoformat()

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_batch(cur, [(event, position)])

    def apply_batch(self, cur: ProjectionCursor, batch: Batch) -> None:
        gathered = Gathered(self.local_date, cur, batch)
        for event, position in batch:
            if isinstance(event, GATHERED):
                self._gather(gathered, event)
            else:
                gathered.write(cur)
                self._write(cur, event, position)
        gathered.write(cur)

    def _gather(self, gathered: Gathered, event: Any) -> None:
        match event:
            case Organisation.Registered():
                gathered.organisation(event)
            case Volunteer.Registered():
                gathered.volunteer(event)
            case Volunteer.MembershipTransferred():
                gathered.transfer(event)
            case Activity.Published():
                gathered.activity(event)
            case Signup.Requested():
                gathered.signup(event)
            case Backfill.Submitted():
                gathered.backfill(event)
            case Account.ServiceCredited():
                credits = Posting.of(event.posting).minutes if event.posting else 0
                minutes = event.service_minutes
                gathered.fact(event, "credit", minutes, minutes, credits, minutes)
            case Account.ServiceCorrected():
                credits = Posting.of(event.recredit).minutes if event.recredit else 0
                delta = event.corrected_minutes - event.previous_minutes
                corrected, previous = event.corrected_minutes, event.previous_minutes
                gathered.fact(event, "correction", delta, corrected, credits, previous)

    def _write(self, cur: ProjectionCursor, event: Any, position: int) -> None:
        match event:
            case Activity.Completed():
                cur.execute(
                    "UPDATE tb_rec_activities SET completed = %s, beneficiaries = %s WHERE id = %s",
                    (True, event.beneficiaries, str(event.originator_id)),
                )
            case Volunteer.Erased():
                self._erase(cur, str(event.originator_id))
            case Dispute.Opened():
                self._dispute_opened(cur, event)
            case Dispute.Resolved():
                self._dispute_resolved(cur, event, position)
            case Training.Held():
                self._training(cur, event)
            case Evaluation.Given():
                self._evaluation(cur, event, position)
            case Award.Announced():
                self._award_announced(cur, event, position)
            case Award.Objected():
                cur.execute(
                    "UPDATE tb_rec_awards SET status = %s, objections = objections + 1 "
                    "WHERE id = %s",
                    (AwardStatus.OBJECTED.value, str(event.originator_id)),
                )
            case Award.Reviewed():
                status = (
                    AwardStatus.WITHDRAWN
                    if event.decision == Review.WITHDRAW
                    else AwardStatus.IN_NOTICE
                )
                self._award_status(cur, event, status)
            case Award.Confirmed():
                self._award_status(cur, event, AwardStatus.CONFIRMED)
            case Award.Revoked():
                self._award_status(cur, event, AwardStatus.REVOKED)
            case Award.Renewed():
                cur.execute(
                    "UPDATE tb_rec_awards SET status = %s, notice_ends_at = %s, decided_at = NULL "
                    "WHERE id = %s",
                    (
                        AwardStatus.IN_NOTICE.value,
                        utc_text(event.notice_ends_at),
                        str(event.originator_id),
                    ),
                )

    def _erase(self, cur: ProjectionCursor, volunteer_id: str) -> None:
        """The erased values of the volunteer's free text, as a rebuild writes them once
        their data key is destroyed: the description a back-fill without an activity is
        titled with, their disputes' reasons and the comments of their evaluations."""
        description = PERSONAL_EVENTS[Backfill.Submitted].erased["description"]
        cur.execute(
            "UPDATE tb_rec_sources SET title = %s WHERE volunteer_id = %s AND kind = %s "
            "AND (activity_id IS NULL "
            "OR activity_id NOT IN (SELECT id FROM tb_rec_activities))",
            (description, volunteer_id, "backfill"),
        )
        cur.execute(
            "UPDATE tb_rec_disputes SET requested_reason = %s WHERE volunteer_id = %s",
            (PERSONAL_EVENTS[Dispute.Opened].erased["reason"], volunteer_id),
        )
        cur.execute(
            "UPDATE tb_rec_evaluations SET comment = %s WHERE volunteer_id = %s",
            (PERSONAL_EVENTS[Evaluation.Given].erased["comment"], volunteer_id),
        )

    def _dispute_opened(self, cur: ProjectionCursor, event: Any) -> None:
        cur.execute(
            "INSERT INTO tb_rec_disputes (id, volunteer_id, source_id, source_kind, "
            "org_id, previous_minutes, requested_reason, opened_at, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open')",
            (
                str(event.originator_id),
                str(event.volunteer_id),
                str(event.source_id),
                event.source_kind,
                str(event.org_id),
                event.previous_minutes,
                event.reason,
                utc_text(event.occurred_at),
            ),
        )

    def _dispute_resolved(self, cur: ProjectionCursor, event: Any, position: int) -> None:
        cur.execute(
            "UPDATE tb_rec_disputes SET status = %s, corrected_minutes = %s, "
            "resolution_reason = %s, resolved_at = %s, resolved_position = %s "
            "WHERE id = %s",
            (
                event.decision,
                event.minutes,
                event.reason,
                utc_text(event.occurred_at),
                position,
                str(event.originator_id),
            ),
        )

    def _evaluation(self, cur: ProjectionCursor, event: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO tb_rec_evaluations (id, volunteer_id, signup_id, activity_id, "
            "org_id, score, evaluator, comment, given_at, position) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                str(event.originator_id),
                str(event.volunteer_id),
                str(event.signup_id),
                str(event.activity_id),
                str(event.org_id),
                event.score,
                event.by,
                event.comment,
                utc_text(event.occurred_at),
                position,
            ),
        )

    def _award_announced(self, cur: ProjectionCursor, event: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO tb_rec_awards (id, volunteer_id, org_id, kind, level, title, "
            "reason, status, notice_ends_at, announced_at, position) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                str(event.originator_id),
                str(event.volunteer_id),
                str(event.org_id),
                event.kind,
                event.level,
                event.title,
                event.reason,
                AwardStatus.IN_NOTICE.value,
                utc_text(event.notice_ends_at),
                utc_text(event.occurred_at),
                position,
            ),
        )

    def _training(self, cur: ProjectionCursor, event: Any) -> None:
        training_id = str(event.originator_id)
        held_on = self.local_date(event.held_at)
        year, month = held_on[:4], held_on[:7]
        org_id = str(event.org_id)
        cur.execute(
            "INSERT INTO tb_rec_trainings (id, org_id, title, held_at, held_on, year, month, "
            "minutes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                training_id,
                org_id,
                event.title,
                utc_text(event.held_at),
                held_on,
                year,
                month,
                event.minutes,
            ),
        )
        cur.executemany(
            "INSERT INTO tb_rec_training_attendance (training_id, volunteer_id, org_id, held_on, "
            "year, month) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (training_id, str(v), org_id, held_on, year, month)
                for v in dict.fromkeys(event.volunteer_ids)
            ],
        )
        cur.execute(
            "UPDATE tb_rec_volunteers SET training_minutes = training_minutes + %s WHERE id IN "
            "(SELECT volunteer_id FROM tb_rec_training_attendance WHERE training_id = %s)",
            (event.minutes, training_id),
        )

    def _award_status(self, cur: ProjectionCursor, event: Any, status: AwardStatus) -> None:
        cur.execute(
            "UPDATE tb_rec_awards SET status = %s, decided_at = %s WHERE id = %s",
            (status.value, utc_text(event.occurred_at), str(event.originator_id)),
        )
