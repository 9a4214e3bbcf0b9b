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
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import Account
from ledger.activities import Activity
from ledger.awards import Award, AwardStatus, Review
from ledger.backfills import Backfill
from ledger.commands import account_id
from ledger.disputes import Dispute
from ledger.organisations import Organisation
from ledger.rules import Rules
from ledger.signups import Signup
from ledger.trainings import Evaluation, Training
from ledger.volunteers import Volunteer
from projections.db import Cursor, utc_text
from projections.runner import topic

NAME = "records"
TABLES = (
    "tb_rec_orgs",
    "tb_rec_org_tree",
    "tb_rec_volunteers",
    "tb_rec_activities",
    "tb_rec_campaigns",
    "tb_rec_sources",
    "tb_rec_member_minutes",
    "tb_rec_volunteer_minutes",
    "tb_rec_category_minutes",
    "tb_rec_personal_minutes",
    "tb_rec_disputes",
    "tb_rec_trainings",
    "tb_rec_training_attendance",
    "tb_rec_evaluations",
    "tb_rec_awards",
)
CAMPAIGN_PREFIX = "campaign:"


def periods(service_date: str, campaign: str | None) -> tuple[str, str, str | None]:
    """The periods a service on `service_date` (YYYY-MM-DD) counts in: its year, its month
    and its campaign's (None without a campaign)."""
    return service_date[:4], service_date[:7], CAMPAIGN_PREFIX + campaign if campaign else None


# The (at most three) periods of a fact, as rows; a missing campaign period is NULL.
PERIODS = "(SELECT %s AS period UNION ALL SELECT %s UNION ALL SELECT %s) p"
UPSERT_MEMBER_MINUTES = (
    "INSERT INTO tb_rec_member_minutes (org_id, period, minutes) "
    f"SELECT t.ancestor_id, p.period, %s FROM tb_rec_org_tree t, {PERIODS} "
    "WHERE t.org_id = %s AND p.period IS NOT NULL "
    "ON CONFLICT (org_id, period) DO UPDATE SET "
    "minutes = tb_rec_member_minutes.minutes + excluded.minutes"
)
UPSERT_VOLUNTEER_MINUTES = (
    "INSERT INTO tb_rec_volunteer_minutes (org_id, period, volunteer_id, minutes) "
    f"SELECT t.ancestor_id, p.period, %s, %s FROM tb_rec_org_tree t, {PERIODS} "
    "WHERE t.org_id = %s AND p.period IS NOT NULL "
    "ON CONFLICT (org_id, period, volunteer_id) DO UPDATE SET "
    "minutes = tb_rec_volunteer_minutes.minutes + excluded.minutes"
)
UPSERT_CATEGORY_MINUTES = (
    "INSERT INTO tb_rec_category_minutes (org_id, period, category, minutes) "
    f"SELECT t.ancestor_id, p.period, %s, %s FROM tb_rec_org_tree t, {PERIODS} "
    "WHERE t.org_id = %s AND p.period IS NOT NULL "
    "ON CONFLICT (org_id, period, category) DO UPDATE SET "
    "minutes = tb_rec_category_minutes.minutes + excluded.minutes"
)
UPSERT_PERSONAL_MINUTES = (
    "INSERT INTO tb_rec_personal_minutes (volunteer_id, period, minutes) "
    f"SELECT %s, p.period, %s FROM {PERIODS} WHERE p.period IS NOT NULL "
    "ON CONFLICT (volunteer_id, period) DO UPDATE SET "
    "minutes = tb_rec_personal_minutes.minutes + excluded.minutes"
)
INSERT_SOURCE = (
    "INSERT INTO tb_rec_sources (id, kind, volunteer_id, org_id, activity_id, title, category, "
    "campaign, service_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (id) DO NOTHING"
)
INSERT_SIGNUP_SOURCE = (  # with what the log said of its activity, if anything
    "INSERT INTO tb_rec_sources (id, kind, volunteer_id, org_id, activity_id, title, category, "
    "campaign, service_date) SELECT %s, 'signup', %s, %s, %s, COALESCE(a.title, ''), "
    "COALESCE(a.category, 'other'), a.campaign, COALESCE(a.service_date, %s) "
    "FROM (SELECT 1 AS one) x LEFT JOIN tb_rec_activities a ON a.id = %s WHERE x.one = 1 "
    "ON CONFLICT (id) DO NOTHING"
)
INSERT_BACKFILL_SOURCE = (
    "INSERT INTO tb_rec_sources (id, kind, volunteer_id, org_id, activity_id, title, category, "
    "campaign, service_date) VALUES (%s, 'backfill', %s, %s, %s, "
    "COALESCE((SELECT title FROM tb_rec_activities WHERE id = %s), %s), %s, %s, %s) "
    "ON CONFLICT (id) DO NOTHING"
)
CREDIT_SOURCE = (  # a first credit attributes the source to the volunteer's home at the time
    "UPDATE tb_rec_sources SET minutes = %s, credits = %s, credited = %s, "
    "home_org_id = COALESCE(home_org_id, (SELECT v.home_org_id FROM tb_rec_volunteers v "
    "WHERE v.id = tb_rec_sources.volunteer_id), ''), "
    "original_minutes = COALESCE(original_minutes, %s), corrections = corrections + %s, "
    "credited_at = COALESCE(credited_at, %s) WHERE id = %s "
    "RETURNING volunteer_id, category, service_date, campaign, home_org_id"
)
MEMBERS_DELTA = (
    "UPDATE tb_rec_orgs SET members = members + %s "
    "WHERE id IN (SELECT ancestor_id FROM tb_rec_org_tree WHERE org_id = %s)"
)


class RecordsProjection:
    name: str = NAME
    tables: tuple[str, ...] = TABLES
    topics: frozenset[str] = frozenset(
        topic(cls)
        for cls in (
            Organisation.Registered,
            Volunteer.Registered,
            Volunteer.MembershipTransferred,
            Activity.Published,
            Activity.Completed,
            Signup.Requested,
            Backfill.Submitted,
            Account.ServiceCredited,
            Account.ServiceCorrected,
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
        self.zone = ZoneInfo(rules.timezone)

    def local_date(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).date().isoformat()

    def apply(self, cur: Cursor, event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case Organisation.Registered():
                self._organisation(cur, event)
            case Volunteer.Registered():
                cur.execute(
                    "INSERT INTO tb_rec_volunteers (id, account_id, number, home_org_id, "
                    "party_member, registered_on) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        str(event.originator_id),
                        str(account_id(event.originator_id)),
                        event.number,
                        str(event.home_org_id),
                        bool(event.party_member),
                        self.local_date(event.occurred_at),
                    ),
                )
                cur.execute(MEMBERS_DELTA, (1, str(event.home_org_id)))
            case Volunteer.MembershipTransferred():
                cur.execute(
                    "UPDATE tb_rec_volunteers SET home_org_id = %s WHERE id = %s",
                    (str(event.to_org_id), str(event.originator_id)),
                )
                cur.execute(MEMBERS_DELTA, (-1, str(event.from_org_id)))
                cur.execute(MEMBERS_DELTA, (1, str(event.to_org_id)))
            case Activity.Published():
                self._activity(cur, event)
            case Activity.Completed():
                cur.execute(
                    "UPDATE tb_rec_activities SET completed = %s, beneficiaries = %s WHERE id = %s",
                    (True, event.beneficiaries, str(event.originator_id)),
                )
            case Signup.Requested():
                self._signup(cur, event)
            case Backfill.Submitted():
                self._backfill(cur, event)
            case Account.ServiceCredited():
                credits = event.posting["minutes"] if event.posting else 0
                minutes = event.service_minutes
                self._fact(cur, event, "credit", minutes, minutes, credits, minutes)
            case Account.ServiceCorrected():
                credits = event.recredit["minutes"] if event.recredit else 0
                delta = event.corrected_minutes - event.previous_minutes
                corrected, previous = event.corrected_minutes, event.previous_minutes
                self._fact(cur, event, "correction", delta, corrected, credits, previous)
            case Dispute.Opened():
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
            case Dispute.Resolved():
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
            case Training.Held():
                self._training(cur, event)
            case Evaluation.Given():
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
            case Award.Announced():
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

    # Directory ---------------------------------------------------------------------------

    def _organisation(self, cur: Cursor, event: Any) -> None:
        org_id = str(event.originator_id)
        cur.execute(
            "INSERT INTO tb_rec_orgs (id, name, kind, parent_id, population) "
            "VALUES (%s, %s, %s, %s, %s)",
            (
                org_id,
                event.name,
                event.kind,
                str(event.parent_id) if event.parent_id else None,
                event.population,
            ),
        )
        cur.executemany(
            "INSERT INTO tb_rec_org_tree (ancestor_id, org_id) VALUES (%s, %s)",
            [(ancestor, org_id) for ancestor in dict.fromkeys([*map(str, event.path), org_id])],
        )

    def _activity(self, cur: Cursor, event: Any) -> None:
        service_date = self.local_date(event.starts_at)
        cur.execute(
            "INSERT INTO tb_rec_activities (id, org_id, title, category, campaign, "
            "service_date, year, month) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                str(event.originator_id),
                str(event.org_id),
                event.title,
                event.category,
                event.campaign,
                service_date,
                service_date[:4],
                service_date[:7],
            ),
        )
        if event.campaign:
            cur.execute(
                "INSERT INTO tb_rec_campaigns (name, first_date, last_date) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET "
                "first_date = CASE WHEN excluded.first_date < tb_rec_campaigns.first_date "
                "THEN excluded.first_date ELSE tb_rec_campaigns.first_date END, "
                "last_date = CASE WHEN excluded.last_date > tb_rec_campaigns.last_date "
                "THEN excluded.last_date ELSE tb_rec_campaigns.last_date END",
                (event.campaign, service_date, service_date),
            )

    def _signup(self, cur: Cursor, event: Any) -> None:
        cur.execute(
            INSERT_SIGNUP_SOURCE,
            (
                str(event.originator_id),
                str(event.volunteer_id),
                str(event.org_id),
                str(event.activity_id),
                self.local_date(event.starts_at),
                str(event.activity_id),
            ),
        )

    def _backfill(self, cur: Cursor, event: Any) -> None:
        activity_id = str(event.activity_id) if event.activity_id else None
        cur.execute(
            INSERT_BACKFILL_SOURCE,
            (
                str(event.originator_id),
                str(event.volunteer_id),
                str(event.org_id),
                activity_id,
                activity_id,
                event.description,
                event.category,
                event.campaign,
                self.local_date(event.started_at),
            ),
        )

    # Service time ------------------------------------------------------------------------

    def _unknown_source(self, cur: Cursor, event: Any) -> None:
        """Records a credited source the log never introduced, as one of kind `unknown`."""
        cur.execute(
            "SELECT id FROM tb_rec_volunteers WHERE account_id = %s", (str(event.originator_id),)
        )
        volunteer = cur.fetchone()
        cur.execute(
            INSERT_SOURCE,
            (
                str(event.source_id),
                "unknown",
                str(volunteer[0]) if volunteer else "",
                str(event.org_id),
                None,
                "",
                "other",
                None,
                self.local_date(event.occurred_at),
            ),
        )

    def _fact(
        self,
        cur: Cursor,
        event: Any,
        kind: str,
        delta: int,
        minutes: int,
        credits: int,
        original: int,
    ) -> None:
        credit = (
            minutes,
            credits,
            True,
            original,
            1 if kind == "correction" else 0,
            utc_text(event.occurred_at),
            str(event.source_id),
        )
        cur.execute(CREDIT_SOURCE, credit)
        row = cur.fetchone()
        if row is None:
            self._unknown_source(cur, event)
            cur.execute(CREDIT_SOURCE, credit)
            row = cur.fetchone()
        if delta == 0:
            return
        volunteer_id, category, home = str(row[0]), str(row[1]), str(row[4])
        keys = periods(str(row[2]), row[3])
        cur.execute(
            "UPDATE tb_rec_volunteers SET service_minutes = service_minutes + %s WHERE id = %s",
            (delta, volunteer_id),
        )
        cur.execute(UPSERT_MEMBER_MINUTES, (delta, *keys, home))
        cur.execute(UPSERT_VOLUNTEER_MINUTES, (volunteer_id, delta, *keys, home))
        cur.execute(UPSERT_CATEGORY_MINUTES, (category, delta, *keys, str(event.org_id)))
        cur.execute(UPSERT_PERSONAL_MINUTES, (volunteer_id, delta, *keys))

    # Recognition -------------------------------------------------------------------------

    def _training(self, cur: Cursor, event: Any) -> None:
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

    def _award_status(self, cur: Cursor, event: Any, status: AwardStatus) -> None:
        cur.execute(
            "UPDATE tb_rec_awards SET status = %s, decided_at = %s WHERE id = %s",
            (status.value, utc_text(event.occurred_at), str(event.originator_id)),
        )
