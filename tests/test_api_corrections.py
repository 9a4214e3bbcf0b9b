"""Back-fill (补录) with a second approver, and disputes resolved by a correction (reversal and
re-credit, the original kept), over HTTP on SQLite and PostgreSQL."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest

from ledger.accounts import Account
from ledger.awards import Award, star_award_id
from ledger.backfills import Backfill
from ledger.context import Role
from ledger.identity import account_id
from ledger.rules import Rules
from ledger.signups import Signup
from tests.conftest import make_settings
from tests.http import Api, Town, serve
from timebank.runtime import Runtime

Body = dict[str, Any]


def ok(r: httpx.Response, status: int = 200) -> Body:
    assert r.status_code == status, r.text
    return dict(r.json())


def refused(r: httpx.Response, status: int, code: str, *mentions: str) -> Body:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = dict(r.json())
    assert body["code"] == code, body
    for words in mentions:
        assert words in body["detail"], body
    return body


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def backfill_body(
    town: Town, volunteer: str, start: datetime, minutes: int, **changes: Any
) -> Body:
    return {
        "volunteer_id": volunteer,
        "org_id": town.team,
        "category": "elder_care",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
        "description": "陪同老人就医",
        "evidence": ["photo:hospital-visit.jpg"],
        **changes,
    }


def served(town: Town, volunteer: str, minutes: int, start: datetime | None = None) -> str:
    """A verified signup of `minutes` starting at `start`; returns the signup id."""
    start = start or ago(minutes=minutes + 5)
    activity = town.activity(starts_at=start - timedelta(minutes=30))["id"]
    r = town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
    signup = ok(r, 201)["id"]
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        ok(town.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()}))
    ok(town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}))
    return str(signup)


def events(town: Town, aggregate_id: str) -> list[Any]:
    return list(town.rt.app.events.get(UUID(aggregate_id)))


def trial_balance(town: Town) -> int:
    town.rt.runner.catch_up()
    with town.rt.db.read() as cur:
        cur.execute("SELECT SUM(balance) FROM tb_accounts")
        return int(cur.fetchone()[0] or 0)


def postings(town: Town, volunteer: str) -> list[tuple[str, str, int, str]]:
    """The volunteer's postings in log order (a correction's reversal before its re-credit):
    (debit, credit, minutes, kind)."""
    town.rt.runner.catch_up()
    account = f"volunteer:{volunteer}"
    with town.rt.db.read() as cur:
        cur.execute(
            "SELECT debit, credit, minutes, kind FROM tb_postings "
            "WHERE debit = %s OR credit = %s ORDER BY position, kind",
            (account, account),
        )
        return [(d, c, int(m), k) for d, c, m, k in cur.fetchall()]


def coordinators(town: Town) -> tuple[Api, Api]:
    """The maker (a coordinator of the team) and the checker (of the street above it)."""
    return town.client(Role.COORDINATOR, town.team), town.client(Role.COORDINATOR, town.street)


# Back-fill --------------------------------------------------------------------------------


def test_backfill_is_credited_once_and_only_after_a_second_coordinator_approves(
    town: Town,
) -> None:
    volunteer = town.volunteer()
    maker, checker = coordinators(town)
    me = town.client(Role.VOLUNTEER, volunteer)
    submitted_body = backfill_body(town, volunteer, ago(hours=5), 120)
    submitted = ok(maker.post("/v1/backfills", submitted_body), 201)
    assert (submitted["status"], submitted["minutes"]) == ("submitted", 120)
    assert submitted["position"] > 0
    backfill = submitted["id"]
    assert town.account(volunteer)["service_minutes"] == 0  # not before approval

    head = town.rt.runner.head()
    r = maker.post(f"/v1/backfills/{backfill}/approve", {})
    refused(r, 403, "same-approver", "submitter")
    assert town.rt.runner.head() == head
    detail = ok(me.get(f"/v1/backfills/{backfill}"))
    assert detail["status"] == "submitted" and detail["approved_by"] is None
    assert detail["submitted_by"].startswith("coordinator-")
    assert detail["description"] == "陪同老人就医"
    assert detail["evidence"] == ["photo:hospital-visit.jpg"]
    assert (detail["id"], detail["volunteer_id"], detail["org_id"]) == (
        backfill,
        volunteer,
        submitted_body["org_id"],
    )

    # concurrent retries by the checker credit the service exactly once
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: checker.post(f"/v1/backfills/{backfill}/approve"), range(8))
        )
    assert {r.status_code for r in results} == {200}, {r.text for r in results}
    assert {r.json()["status"] for r in results} == {"approved"}
    assert sum(r.json()["credited_minutes"] for r in results) == 120
    account = town.account(volunteer)
    assert (account["service_minutes"], account["earned_minutes"]) == (120, 120)
    detail = ok(me.get(f"/v1/backfills/{backfill}"))
    assert detail["status"] == "approved" and detail["approved_by"] != detail["submitted_by"]
    assert (detail["service_minutes"], detail["credits"]) == (120, 120)
    approved = [e for e in events(town, backfill) if isinstance(e, Backfill.Approved)]
    assert [(e.minutes, e.credits, e.role) for e in approved] == [(120, 120, "coordinator")]

    # with an Idempotency-Key the retry is answered from the first response
    second = ok(maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=9), 60)), 201)
    first = ok(checker.post(f"/v1/backfills/{second['id']}/approve", {}, key="approve-1"))
    head = town.rt.runner.head()
    again = ok(checker.post(f"/v1/backfills/{second['id']}/approve", {}, key="approve-1"))
    assert again == first and first["credited_minutes"] == 60
    assert town.rt.runner.head() == head
    assert town.account(volunteer)["service_minutes"] == 180
    stream = events(town, str(account_id(UUID(volunteer))))
    credited = [str(e.source_id) for e in stream if isinstance(e, Account.ServiceCredited)]
    assert sorted(credited) == sorted([backfill, second["id"]])

    # once decided, it stays decided
    refused(
        checker.post(f"/v1/backfills/{backfill}/reject", {"reason": "x"}), 409, "already-decided"
    )
    assert trial_balance(town) == 0


def test_backfill_rules_refuse_and_record_nothing(town: Town) -> None:
    volunteer = town.volunteer()
    maker, _ = coordinators(town)
    window = town.rt.settings.rules.backfill_window_days
    outsider = town.client(Role.COORDINATOR, town.org("别的街道", "street", town.district))
    me = town.client(Role.VOLUNTEER, volunteer)
    head = town.rt.runner.head()
    for changes, status, code in (
        ({"started_at": ago(days=window + 1).isoformat()}, 422, "outside-backfill-window"),
        ({"ended_at": ago(hours=6).isoformat()}, 422, "invalid-interval"),
        ({"ended_at": ago(hours=-2).isoformat()}, 422, "time-in-future"),
        ({"description": "   "}, 422, "description-required"),
        ({"category": None}, 422, "category-required"),
        ({"activity_id": "00000000-0000-4000-8000-000000000000"}, 404, "activity-not-found"),
        ({"volunteer_id": "00000000-0000-4000-8000-000000000000"}, 404, "volunteer-not-found"),
        ({"description": "陪同\x00就医"}, 422, "validation-failed"),
        ({"evidence": ["photo:\x1b[0m.jpg"]}, 422, "validation-failed"),
    ):
        r = maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=5), 60, **changes))
        refused(r, status, code)
    body = backfill_body(town, volunteer, ago(days=3), 25 * 60)
    refused(maker.post("/v1/backfills", body), 422, "invalid-interval", "24 hours")
    body = backfill_body(town, volunteer, ago(hours=5), 60)
    del body["description"]
    refused(maker.post("/v1/backfills", body), 422, "description-required")
    # who may submit: a coordinator of the organisation (or above), or an admin
    refused(outsider.post("/v1/backfills", body | {"description": "x"}), 403, "outside-scope")
    refused(me.post("/v1/backfills", body | {"description": "x"}), 403, "forbidden-role")
    assert town.rt.runner.head() == head

    # inside the window, minutes rounded down; evidence is optional
    start = ago(days=window - 1)
    body = backfill_body(town, volunteer, start, 0, evidence=[])
    body["ended_at"] = (start + timedelta(minutes=90, seconds=40)).isoformat()
    created = ok(maker.post("/v1/backfills", body), 201)
    assert (created["status"], created["minutes"]) == ("submitted", 90)

    # with an activity, its category and campaign are the back-fill's
    activity = ok(
        town.admin.post(
            "/v1/activities",
            {
                "org_id": town.team,
                "title": "学雷锋",
                "category": "environment",
                "starts_at": ago(days=2).isoformat(),
                "ends_at": ago(days=1).isoformat(),
                "capacity": 5,
                "campaign": "学雷锋志愿服务月",
            },
        ),
        201,
    )["id"]
    body = backfill_body(town, volunteer, ago(days=2), 60, activity_id=activity)
    refused(maker.post("/v1/backfills", body), 422, "category-mismatch")
    del body["category"]
    with_activity = ok(maker.post("/v1/backfills", body), 201)
    detail = ok(town.admin.get(f"/v1/backfills/{with_activity['id']}"))
    assert (detail["category"], detail["campaign"], detail["activity_id"]) == (
        "environment",
        "学雷锋志愿服务月",
        activity,
    )
    elsewhere = town.activity(org=town.org("另一队", "team", town.street))["id"]
    body = backfill_body(town, volunteer, ago(days=4), 60, activity_id=elsewhere, category=None)
    refused(
        town.admin.post("/v1/backfills", body | {"org_id": town.team}),
        422,
        "activity-outside-organisation",
    )

    # rejection needs a reason; decided once
    backfill = created["id"]
    refused(town.admin.post(f"/v1/backfills/{backfill}/reject", {}), 422, "reason-required")
    refused(
        outsider.post(f"/v1/backfills/{backfill}/reject", {"reason": "x"}), 403, "outside-scope"
    )
    rejected = ok(maker.post(f"/v1/backfills/{backfill}/reject", {"reason": "no evidence"}))
    assert rejected["status"] == "rejected" and rejected["credited_minutes"] == 0
    refused(town.admin.post(f"/v1/backfills/{backfill}/approve"), 409, "already-decided")
    refused(
        town.admin.post(f"/v1/backfills/{backfill}/reject", {"reason": "x"}), 409, "already-decided"
    )
    detail = ok(town.admin.get(f"/v1/backfills/{backfill}"))
    assert (detail["status"], detail["rejection_reason"]) == ("rejected", "no evidence")
    assert town.account(volunteer)["service_minutes"] == 0

    # who may read it
    other = town.client(Role.VOLUNTEER, town.volunteer())
    refused(other.get(f"/v1/backfills/{backfill}"), 403, "outside-scope")
    refused(outsider.get(f"/v1/backfills/{backfill}"), 403, "outside-scope")
    ok(me.get(f"/v1/backfills/{backfill}"))
    ok(town.client(Role.AUDITOR).get(f"/v1/backfills/{backfill}"))
    refused(town.admin.get(f"/v1/backfills/{volunteer}"), 404, "backfill-not-found")


def test_backfilled_time_never_overlaps_other_service(town: Town) -> None:
    volunteer = town.volunteer()
    maker, checker = coordinators(town)
    # checked in and out from 3 h to 2 h ago: a back-fill across it is refused at once
    served(town, volunteer, 60, ago(hours=3))
    r = maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=3, minutes=30), 60))
    refused(r, 409, "overlapping-service")

    # a pending back-fill does not block a check-in, but then it cannot be approved
    pending = ok(
        maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=6), 120)), 201
    )
    served(town, volunteer, 30, ago(hours=5))
    head = town.rt.runner.head()
    refused(checker.post(f"/v1/backfills/{pending['id']}/approve"), 409, "overlapping-service")
    assert town.rt.runner.head() == head
    assert ok(town.admin.get(f"/v1/backfills/{pending['id']}"))["status"] == "submitted"
    assert town.account(volunteer)["service_minutes"] == 90

    # an approved back-fill blocks check-ins and other back-fills in its interval
    done = ok(maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=10), 60)), 201)
    ok(checker.post(f"/v1/backfills/{done['id']}/approve"))
    twin = ok(maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=12), 60)), 201)
    refused(
        maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=9, minutes=30), 60)),
        409,
        "overlapping-service",
    )
    activity = town.activity(starts_at=ago(hours=11))["id"]
    signup = ok(
        town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer}), 201
    )
    r = town.admin.post(
        f"/v1/signups/{signup['id']}/check-in", {"at": ago(hours=9, minutes=30).isoformat()}
    )
    refused(r, 409, "overlapping-service")
    # two pending back-fills of one interval: only the first approved is credited
    clash = ok(maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=12), 60)), 201)
    ok(checker.post(f"/v1/backfills/{twin['id']}/approve"))
    refused(checker.post(f"/v1/backfills/{clash['id']}/approve"), 409, "overlapping-service")
    assert town.account(volunteer)["service_minutes"] == 90 + 60 + 60


def test_backfilled_intervals_do_not_count_as_check_ins(town: Town) -> None:
    volunteer = town.volunteer()
    maker, checker = coordinators(town)
    zone = ZoneInfo(town.rt.settings.rules.timezone)
    day = datetime.now(zone).date() - timedelta(days=2)

    def local(hour: int) -> datetime:
        return datetime.combine(day, time(hour), zone)

    limit = town.rt.settings.rules.max_check_ins_per_day
    for n in range(limit + 1):
        body = backfill_body(town, volunteer, local(6 + 2 * n), 60)
        ok(
            checker.post(
                f"/v1/backfills/{ok(maker.post('/v1/backfills', body), 201)['id']}/approve"
            )
        )
    activity = town.activity(starts_at=local(5))["id"]
    signup = ok(
        town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer}), 201
    )
    at = local(8 + 2 * limit)
    for action, moment in (("check-in", at), ("check-out", at + timedelta(minutes=45))):
        ok(town.admin.post(f"/v1/signups/{signup['id']}/{action}", {"at": moment.isoformat()}))
    assert town.account(volunteer)["service_minutes"] == 60 * (limit + 1)  # not yet verified


# Disputes and corrections -----------------------------------------------------------------


def test_dispute_lifecycle_correction_up_and_down_keeps_the_original(town: Town) -> None:
    volunteer = town.volunteer()
    me = town.client(Role.VOLUNTEER, volunteer)
    team = town.client(Role.COORDINATOR, town.team)
    signup = served(town, volunteer, 100)
    issuance = f"issuance:{town.team}"
    account = f"volunteer:{volunteer}"

    nul = {"record_id": signup, "reason": "少\x00记"}
    refused(me.post("/v1/disputes", nul), 422, "validation-failed", "reason")
    opened = ok(me.post("/v1/disputes", {"record_id": signup, "reason": "我服务了两个多小时"}), 201)
    assert (opened["status"], opened["previous_minutes"]) == ("open", 100)
    dispute = opened["id"]
    refused(me.post("/v1/disputes", {"record_id": signup, "reason": "again"}), 409, "dispute-open")
    refused(me.post("/v1/disputes", {"record_id": signup}), 422, "reason-required")
    detail = ok(me.get(f"/v1/disputes/{dispute}"))
    assert (detail["status"], detail["record_id"], detail["record_kind"]) == (
        "open",
        signup,
        "signup",
    )

    resolve = f"/v1/disputes/{dispute}/resolve"
    head = town.rt.runner.head()
    for body, status, code in (
        ({"decision": "correct", "reason": "r"}, 422, "invalid-minutes"),
        ({"decision": "correct", "minutes": 1441, "reason": "r"}, 422, "validation-failed"),
        ({"decision": "correct", "minutes": 100, "reason": "r"}, 422, "unchanged-minutes"),
        ({"decision": "correct", "minutes": 130}, 422, "reason-required"),
        ({"decision": "dismiss", "minutes": 130, "reason": "r"}, 422, "invalid-minutes"),
    ):
        refused(team.post(resolve, body), status, code)
    refused(me.post(resolve, {"decision": "dismiss", "reason": "r"}), 403, "forbidden-role")
    assert town.rt.runner.head() == head

    up = ok(team.post(resolve, {"decision": "correct", "minutes": 130, "reason": "签到表为准"}))
    assert {k: up[k] for k in ("status", "previous_minutes", "corrected_minutes")} == {
        "status": "corrected",
        "previous_minutes": 100,
        "corrected_minutes": 130,
    }
    assert (up["reversed_credits"], up["recredited_credits"]) == (100, 130)
    refused(team.post(resolve, {"decision": "dismiss", "reason": "r"}), 409, "dispute-resolved")
    balances = town.account(volunteer)
    assert {k: balances[k] for k in ("service_minutes", "balance_minutes", "earned_minutes")} == {
        "service_minutes": 130,
        "balance_minutes": 130,
        "earned_minutes": 130,  # a correction changes earned, never spent
    }
    assert balances["spent_minutes"] == 0
    assert postings(town, volunteer) == [
        (issuance, account, 100, "service"),
        (account, issuance, 100, "reversal"),
        (issuance, account, 130, "service"),
    ]
    # the original verification is kept; the correction is a new event
    stream = events(town, signup)
    verified = [e for e in stream if isinstance(e, Signup.Verified)]
    corrected = [e for e in stream if isinstance(e, Signup.Corrected)]
    assert [(e.minutes, e.credits) for e in verified] == [(100, 100)]
    assert [(str(e.dispute_id), e.minutes, e.credits) for e in corrected] == [(dispute, 130, 130)]
    assert ok(me.get(f"/v1/signups/{signup}"))["verified_minutes"] == 130
    assert ok(me.get(f"/v1/disputes/{dispute}"))["status"] == "corrected"

    # a later dispute starts from the corrected figure: dismissed, then corrected down
    second = ok(team.post("/v1/disputes", {"record_id": signup, "reason": "on their behalf"}), 201)
    assert second["previous_minutes"] == 130 and second["id"] != dispute
    dismissed = ok(
        team.post(f"/v1/disputes/{second['id']}/resolve", {"decision": "dismiss", "reason": "ok"})
    )
    assert (dismissed["status"], dismissed["corrected_minutes"]) == ("dismissed", None)
    third = ok(me.post("/v1/disputes", {"record_id": signup, "reason": "too much"}), 201)
    down = ok(
        team.post(
            f"/v1/disputes/{third['id']}/resolve",
            {"decision": "correct", "minutes": 40, "reason": "left early"},
        )
    )
    assert (down["previous_minutes"], down["reversed_credits"], down["recredited_credits"]) == (
        130,
        130,
        40,
    )
    balances = town.account(volunteer)
    assert (balances["service_minutes"], balances["available_minutes"]) == (40, 40)
    assert postings(town, volunteer)[3:] == [
        (account, issuance, 130, "reversal"),
        (issuance, account, 40, "service"),
    ]
    assert trial_balance(town) == 0


def test_only_credited_records_of_ones_own_can_be_disputed(town: Town) -> None:
    volunteer, stranger = town.volunteer(), town.volunteer()
    me = town.client(Role.VOLUNTEER, volunteer)
    outsider = town.client(Role.COORDINATOR, town.org("别的街道", "street", town.district))
    signup = served(town, volunteer, 30)
    dispute = {"record_id": signup, "reason": "wrong"}
    refused(
        town.client(Role.VOLUNTEER, stranger).post("/v1/disputes", dispute), 403, "not-yourself"
    )
    refused(outsider.post("/v1/disputes", dispute), 403, "outside-scope")
    refused(me.post("/v1/disputes", dispute | {"record_id": stranger}), 404, "record-not-found")

    # a rejected signup and a back-fill awaiting approval credited nothing
    activity = town.activity(starts_at=ago(hours=6))["id"]
    rejected = ok(
        town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer}), 201
    )["id"]
    for action, at in (("check-in", ago(hours=5)), ("check-out", ago(hours=4))):
        ok(town.admin.post(f"/v1/signups/{rejected}/{action}", {"at": at.isoformat()}))
    refused(me.post("/v1/disputes", dispute | {"record_id": rejected}), 409, "not-credited")
    ok(
        town.admin.post(
            f"/v1/signups/{rejected}/verify", {"decision": "reject", "reason": "absent"}
        )
    )
    refused(me.post("/v1/disputes", dispute | {"record_id": rejected}), 409, "not-credited")
    maker, checker = coordinators(town)
    backfill = ok(
        maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=9), 60)), 201
    )["id"]
    refused(me.post("/v1/disputes", dispute | {"record_id": backfill}), 409, "not-credited")

    # an approved back-fill can be disputed (here by a coordinator on the volunteer's behalf)
    ok(checker.post(f"/v1/backfills/{backfill}/approve"))
    opened = ok(maker.post("/v1/disputes", dispute | {"record_id": backfill}), 201)
    detail = ok(town.client(Role.AUDITOR).get(f"/v1/disputes/{opened['id']}"))
    assert (detail["record_kind"], detail["previous_minutes"]) == ("backfill", 60)
    refused(
        town.client(Role.VOLUNTEER, stranger).get(f"/v1/disputes/{opened['id']}"),
        403,
        "outside-scope",
    )
    refused(outsider.get(f"/v1/disputes/{opened['id']}"), 403, "outside-scope")
    refused(
        outsider.post(
            f"/v1/disputes/{opened['id']}/resolve", {"decision": "dismiss", "reason": "r"}
        ),
        403,
        "outside-scope",
    )
    resolved = ok(
        checker.post(
            f"/v1/disputes/{opened['id']}/resolve",
            {"decision": "correct", "minutes": 75, "reason": "sign-in sheet"},
        )
    )
    assert resolved["status"] == "corrected"
    detail = ok(me.get(f"/v1/backfills/{backfill}"))
    assert (
        detail["minutes"],
        detail["service_minutes"],
        detail["credits"],
        detail["corrections"],
    ) == (
        60,
        75,
        75,
        1,
    )
    assert [type(e).__name__ for e in events(town, backfill)] == [
        "Submitted",
        "Approved",
        "Corrected",
    ]
    assert town.account(volunteer)["service_minutes"] == 30 + 75
    assert trial_balance(town) == 0


def test_a_correction_cannot_take_back_credits_already_spent(town: Town) -> None:
    volunteer = town.volunteer()
    signup = served(town, volunteer, 60)
    donation = {
        "from_volunteer_id": volunteer,
        "to_org_id": town.team,
        "minutes": 50,
        "kind": "donation",
    }
    ok(town.admin.post("/v1/transfers", donation), 201)
    dispute = ok(town.admin.post("/v1/disputes", {"record_id": signup, "reason": "too much"}), 201)
    resolve = f"/v1/disputes/{dispute['id']}/resolve"
    head = town.rt.runner.head()
    r = town.admin.post(resolve, {"decision": "correct", "minutes": 0, "reason": "absent"})
    refused(r, 409, "insufficient-balance", "50 minutes are missing")
    r = town.admin.post(resolve, {"decision": "correct", "minutes": 20, "reason": "late"})
    refused(r, 409, "insufficient-balance", "30 minutes are missing")
    assert town.rt.runner.head() == head
    assert ok(town.admin.get(f"/v1/disputes/{dispute['id']}"))["status"] == "open"
    ok(town.admin.post(resolve, {"decision": "correct", "minutes": 50, "reason": "late"}))
    balances = town.account(volunteer)
    assert (balances["available_minutes"], balances["service_minutes"]) == (0, 50)
    assert trial_balance(town) == 0


# Under a balance cap, with low star thresholds ----------------------------------------------


@pytest.fixture
def capped(database_url: str) -> Iterator[Town]:
    rules = Rules(balance_cap_minutes=100, star_thresholds_hours=(1, 2, 3, 4, 5))
    rt = Runtime(make_settings(database_url, rules=rules))
    try:
        rt.start()
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


def test_credits_under_the_cap_and_stars_from_backfills_and_corrections(capped: Town) -> None:
    town = capped
    volunteer = town.volunteer()
    maker, checker = coordinators(town)
    signup = served(town, volunteer, 90, ago(hours=3))
    verified = [e for e in events(town, signup) if isinstance(e, Signup.Verified)]
    assert [(e.minutes, e.credits) for e in verified] == [(90, 90)]
    assert town.rt.service.load(Award, star_award_id(UUID(volunteer), 1), "award").level == 1

    backfill = ok(
        maker.post("/v1/backfills", backfill_body(town, volunteer, ago(hours=8), 60)), 201
    )
    approved = ok(checker.post(f"/v1/backfills/{backfill['id']}/approve"))
    assert (approved["minutes"], approved["credited_minutes"]) == (60, 10)  # the cap is 100
    detail = ok(town.admin.get(f"/v1/backfills/{backfill['id']}"))
    assert (detail["service_minutes"], detail["credits"]) == (60, 10)
    balances = town.account(volunteer)
    assert (balances["service_minutes"], balances["balance_minutes"], balances["stars"]) == (
        150,
        100,
        2,
    )
    assert town.rt.service.load(Award, star_award_id(UUID(volunteer), 2), "award").level == 2

    # a correction reverses the 10 credits posted and re-credits up to the cap
    dispute = ok(
        town.admin.post("/v1/disputes", {"record_id": backfill["id"], "reason": "more"}), 201
    )
    up = ok(
        town.admin.post(
            f"/v1/disputes/{dispute['id']}/resolve",
            {"decision": "correct", "minutes": 150, "reason": "whole afternoon"},
        )
    )
    assert (up["reversed_credits"], up["recredited_credits"]) == (10, 10)
    balances = town.account(volunteer)
    assert (balances["service_minutes"], balances["balance_minutes"], balances["stars"]) == (
        240,
        100,
        4,
    )
    for level in (3, 4):
        assert town.rt.service.load(Award, star_award_id(UUID(volunteer), level), "award")
    corrected = [
        e
        for e in events(town, str(account_id(UUID(volunteer))))
        if isinstance(e, Account.ServiceCorrected)
    ]
    assert [(e.previous_minutes, e.corrected_minutes) for e in corrected] == [(60, 150)]
    assert trial_balance(town) == 0
