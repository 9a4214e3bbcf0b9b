"""Records: the service record (档案) of each volunteer, rankings, public notices of awards and
the organisation report, built from one pass over the log.

The projection keeps its own directory (it reads no other projection's tables) and stores no
personal data: no names, ID numbers, phones or birth dates; volunteers appear by id and
volunteer number only.

Definitions (the README quotes them):

- Service time changes only through two events: `Account.ServiceCredited` adds its
  `service_minutes` and `Account.ServiceCorrected` adds `corrected - previous`. Each change is
  one service fact (tb_rec_facts).
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
    "tb_rec_facts",
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


def periods(service_date: str, campaign: str | None) -> list[str]:
    """The periods a service on `service_date` (YYYY-MM-DD) counts in."""
    keys = [service_date[:4], service_date[:7]]
    if campaign:
        keys.append(CAMPAIGN_PREFIX + campaign)
    return keys


UPSERT_MEMBER_MINUTES = (
    "INSERT INTO tb_rec_member_minutes (org_id, period, minutes) VALUES (%s, %s, %s) "
    "ON CONFLICT (org_id, period) DO UPDATE SET "
    "minutes = tb_rec_member_minutes.minutes + excluded.minutes"
)
UPSERT_VOLUNTEER_MINUTES = (
    "INSERT INTO tb_rec_volunteer_minutes (org_id, period, volunteer_id, minutes) "
    "VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (org_id, period, volunteer_id) DO UPDATE SET "
    "minutes = tb_rec_volunteer_minutes.minutes + excluded.minutes"
)
UPSERT_CATEGORY_MINUTES = (
    "INSERT INTO tb_rec_category_minutes (org_id, period, category, minutes) "
    "VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (org_id, period, category) DO UPDATE SET "
    "minutes = tb_rec_category_minutes.minutes + excluded.minutes"
)
UPSERT_PERSONAL_MINUTES = (
    "INSERT INTO tb_rec_personal_minutes (volunteer_id, period, minutes) VALUES (%s, %s, %s) "
    "ON CONFLICT (volunteer_id, period) DO UPDATE SET "
    "minutes = tb_rec_personal_minutes.minutes + excluded.minutes"
)
INSERT_SOURCE = (
    "INSERT INTO tb_rec_sources (id, kind, volunteer_id, org_id, activity_id, title, category, "
    "campaign, service_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (id) DO NOTHING"
)
MEMBERS_DELTA = (
    "UPDATE tb_rec_orgs SET members = members + %s "
    "WHERE id IN (SELECT ancestor_id FROM tb_rec_org_tree WHERE org_id = %s)"
)


def _ancestors(cur: Cursor, org_id: str) -> list[str]:
    cur.execute("SELECT ancestor_id FROM tb_rec_org_tree WHERE org_id = %s", (org_id,))
    return [str(row[0]) for row in cur.fetchall()]


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
                    "UPDATE tb_rec_activities SET completed = %s, beneficiaries = %s, "
                    "completed_at = %s WHERE id = %s",
                    (
                        True,
                        event.beneficiaries,
                        utc_text(event.occurred_at),
                        str(event.originator_id),
                    ),
                )
            case Signup.Requested():
                self._signup(cur, event)
            case Backfill.Submitted():
                self._backfill(cur, event)
            case Account.ServiceCredited():
                credits = event.posting["minutes"] if event.posting else 0
                minutes = event.service_minutes
                self._fact(cur, event, position, "credit", minutes, minutes, credits, minutes)
            case Account.ServiceCorrected():
                credits = event.recredit["minutes"] if event.recredit else 0
                delta = event.corrected_minutes - event.previous_minutes
                corrected, previous = event.corrected_minutes, event.previous_minutes
                self._fact(cur, event, position, "correction", delta, corrected, credits, previous)
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
            "INSERT INTO tb_rec_activities (id, org_id, title, category, campaign, starts_at, "
            "service_date, year, month) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                str(event.originator_id),
                str(event.org_id),
                event.title,
                event.category,
                event.campaign,
                utc_text(event.starts_at),
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
            "SELECT title, category, campaign, service_date FROM tb_rec_activities WHERE id = %s",
            (str(event.activity_id),),
        )
        row = cur.fetchone()
        title, category, campaign, service_date = (
            (str(row[0]), str(row[1]), row[2], str(row[3]))
            if row
            else ("", "other", None, self.local_date(event.starts_at))
        )
        cur.execute(
            INSERT_SOURCE,
            (
                str(event.originator_id),
                "signup",
                str(event.volunteer_id),
                str(event.org_id),
                str(event.activity_id),
                title,
                category,
                campaign,
                service_date,
            ),
        )

    def _backfill(self, cur: Cursor, event: Any) -> None:
        title = event.description
        if event.activity_id is not None:
            cur.execute(
                "SELECT title FROM tb_rec_activities WHERE id = %s", (str(event.activity_id),)
            )
            row = cur.fetchone()
            if row:
                title = str(row[0])
        cur.execute(
            INSERT_SOURCE,
            (
                str(event.originator_id),
                "backfill",
                str(event.volunteer_id),
                str(event.org_id),
                str(event.activity_id) if event.activity_id else None,
                title,
                event.category,
                event.campaign,
                self.local_date(event.started_at),
            ),
        )

    # Service time ------------------------------------------------------------------------

    def _source(self, cur: Cursor, event: Any) -> tuple[str, str, str, str | None, str | None]:
        """(volunteer, category, service date, campaign, attributed home) of the credited
        source; a source the log never introduced is recorded as one of kind `unknown`."""
        source_id = str(event.source_id)
        cur.execute(
            "SELECT volunteer_id, category, service_date, campaign, home_org_id "
            "FROM tb_rec_sources WHERE id = %s",
            (source_id,),
        )
        row = cur.fetchone()
        if row:
            return str(row[0]), str(row[1]), str(row[2]), row[3], row[4]
        cur.execute(
            "SELECT id FROM tb_rec_volunteers WHERE account_id = %s", (str(event.originator_id),)
        )
        volunteer = cur.fetchone()
        volunteer_id = str(volunteer[0]) if volunteer else ""
        service_date = self.local_date(event.occurred_at)
        cur.execute(
            INSERT_SOURCE,
            (
                source_id,
                "unknown",
                volunteer_id,
                str(event.org_id),
                None,
                "",
                "other",
                None,
                service_date,
            ),
        )
        return volunteer_id, "other", service_date, None, None

    def _fact(
        self,
        cur: Cursor,
        event: Any,
        position: int,
        kind: str,
        delta: int,
        minutes: int,
        credits: int,
        original: int,
    ) -> None:
        volunteer_id, category, service_date, campaign, home = self._source(cur, event)
        if home is None:
            cur.execute("SELECT home_org_id FROM tb_rec_volunteers WHERE id = %s", (volunteer_id,))
            row = cur.fetchone()
            home = str(row[0]) if row else ""
        org_id = str(event.org_id)
        cur.execute(
            "INSERT INTO tb_rec_facts (position, kind, volunteer_id, source_id, home_org_id, "
            "org_id, category, campaign, service_date, year, month, minutes, recorded_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                position,
                kind,
                volunteer_id,
                str(event.source_id),
                home,
                org_id,
                category,
                campaign,
                service_date,
                service_date[:4],
                service_date[:7],
                delta,
                utc_text(event.timestamp),
            ),
        )
        cur.execute(
            "UPDATE tb_rec_sources SET minutes = %s, credits = %s, credited = %s, "
            "home_org_id = COALESCE(home_org_id, %s), "
            "original_minutes = COALESCE(original_minutes, %s), "
            "corrections = corrections + %s, "
            "credited_at = COALESCE(credited_at, %s) WHERE id = %s",
            (
                minutes,
                credits,
                True,
                home,
                original,
                1 if kind == "correction" else 0,
                utc_text(event.occurred_at),
                str(event.source_id),
            ),
        )
        if delta == 0:
            return
        cur.execute(
            "UPDATE tb_rec_volunteers SET service_minutes = service_minutes + %s WHERE id = %s",
            (delta, volunteer_id),
        )
        keys = periods(service_date, campaign)
        members = _ancestors(cur, home)
        organisers = _ancestors(cur, org_id)
        cur.executemany(UPSERT_MEMBER_MINUTES, [(a, p, delta) for a in members for p in keys])
        cur.executemany(
            UPSERT_VOLUNTEER_MINUTES, [(a, p, volunteer_id, delta) for a in members for p in keys]
        )
        cur.executemany(
            UPSERT_CATEGORY_MINUTES, [(a, p, category, delta) for a in organisers for p in keys]
        )
        cur.executemany(UPSERT_PERSONAL_MINUTES, [(volunteer_id, p, delta) for p in keys])

    # Recognition -------------------------------------------------------------------------

    def _training(self, cur: Cursor, event: Any) -> None:
        training_id = str(event.originator_id)
        held_on = self.local_date(event.held_at)
        year, month = held_on[:4], held_on[:7]
        org_id = str(event.org_id)
        cur.execute(
            "INSERT INTO tb_rec_trainings (id, org_id, title, held_at, held_on, year, month, "
            "minutes, participants) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                training_id,
                org_id,
                event.title,
                utc_text(event.held_at),
                held_on,
                year,
                month,
                event.minutes,
                len(event.volunteer_ids),
            ),
        )
        volunteers = [str(v) for v in dict.fromkeys(event.volunteer_ids)]
        cur.executemany(
            "INSERT INTO tb_rec_training_attendance (training_id, volunteer_id, org_id, held_on, "
            "year, month, minutes) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(training_id, v, org_id, held_on, year, month, event.minutes) for v in volunteers],
        )
        cur.executemany(
            "UPDATE tb_rec_volunteers SET training_minutes = training_minutes + %s WHERE id = %s",
            [(event.minutes, v) for v in volunteers],
        )

    def _award_status(self, cur: Cursor, event: Any, status: AwardStatus) -> None:
        cur.execute(
            "UPDATE tb_rec_awards SET status = %s, decided_at = %s WHERE id = %s",
            (status.value, utc_text(event.occurred_at), str(event.originator_id)),
        )
