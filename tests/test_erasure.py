"""Erasing a volunteer (crypto-shredding, PIPL), over HTTP on both stores: afterwards no
answer, read-model row or log line holds their personal data or the free text about them;
every figure stays; rebuilt read models answer the same; nothing more is recorded about
them; their document registers again as a new volunteer; and an erasure killed between its
steps completes when run again."""

import json
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric

from ledger.context import Role
from ledger.engine.service import LedgerService
from ledger.privacy import ERASED
from ledger.volunteers import Volunteer
from tests.http import Api, Town, serve
from tests.test_projection_runner import rebuild_all
from timebank.runtime import Runtime

NAME = "欧阳娜娜"
BODY = "110105194912310"
RESIDENT_ID = BODY + "02" + ric.calc_check_digit(BODY + "020")
PHONE = "15987654321"
DESCRIPTION = "替邻居王大妈买药送药"
EVIDENCE = "王大妈家签到表"
DISPUTE = "那天我多干了半小时"
COMMENT = "娜娜做事很细心"
PURPOSE = "报考北京大学"  # a certificate's
PERSONAL = (NAME, RESIDENT_ID, PHONE, DESCRIPTION, EVIDENCE, DISPUTE, COMMENT, PURPOSE)
PIN = "135790"


def registration(town: Town) -> dict[str, Any]:
    return {
        "name": NAME,
        "id_document": {"type": "resident_id", "number": RESIDENT_ID},
        "phone": PHONE,
        "birth_date": "1949-12-31",
        "party_member": True,
        "skills": ["护理"],
        "home_org_id": town.team,
    }


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json())


def served_signup(town: Town, volunteer: str, minutes: int) -> str:
    """Signs up, checks in and out `minutes` apart, and approves: the signup's id."""
    now = datetime.now(UTC)
    activity = town.activity(starts_at=now - timedelta(minutes=minutes + 60))
    path = f"/v1/activities/{activity['id']}/signups"
    signup = ok(town.admin.post(path, {"volunteer_id": volunteer}), 201)["id"]
    start = now - timedelta(minutes=minutes + 5)
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        ok(town.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()}))
    ok(town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}))
    return str(signup)


class Life:
    """A volunteer with a bit of everything: family, a PIN, a token, verified service with
    an evaluation and a dispute, an approved back-fill, a gift."""

    def __init__(self, town: Town) -> None:
        self.town = town
        admin = town.admin
        made = ok(admin.post("/v1/volunteers", registration(town)), 201)
        self.id, self.number = str(made["id"]), str(made["volunteer_number"])
        self.relative = town.volunteer()
        self.asked = town.volunteer()
        self.me = town.client(Role.VOLUNTEER, self.id)
        link = {"relative_id": self.relative, "relation": "child"}
        ok(admin.post(f"/v1/volunteers/{self.id}/family-links", link), 201)
        ask = {"relative_id": self.asked, "relation": "sibling"}
        ok(self.me.post(f"/v1/volunteers/{self.id}/family-links", ask), 201)
        ok(admin.post(f"/v1/volunteers/{self.id}/pin", {"pin": PIN}))
        self.signup = served_signup(town, self.id, 90)
        evaluation = {"signup_id": self.signup, "score": 5, "by": "organiser", "comment": COMMENT}
        self.evaluation = ok(admin.post("/v1/evaluations", evaluation), 201)["id"]
        opened = ok(
            self.me.post("/v1/disputes", {"record_id": self.signup, "reason": DISPUTE}), 201
        )
        self.dispute = opened["id"]
        resolution = {"decision": "dismiss", "reason": "核对无误"}
        ok(admin.post(f"/v1/disputes/{self.dispute}/resolve", resolution))
        start = datetime.now(UTC) - timedelta(days=3)
        backfill = {
            "volunteer_id": self.id,
            "org_id": town.team,
            "category": "elder_care",
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(minutes=45)).isoformat(),
            "description": DESCRIPTION,
            "evidence": [EVIDENCE],
        }
        self.backfill = ok(admin.post("/v1/backfills", backfill), 201)["id"]
        checker = town.client(Role.COORDINATOR, town.team)
        ok(checker.post(f"/v1/backfills/{self.backfill}/approve", {}))
        gift = {
            "from_volunteer_id": self.id,
            "to_volunteer_id": self.relative,
            "minutes": 10,
            "kind": "gift",
        }
        ok(admin.post("/v1/transfers", gift), 201)
        certificate = {
            "volunteer_id": self.id,
            "org_id": town.team,
            "from": (datetime.now(UTC) - timedelta(days=10)).date().isoformat(),
            "to": (datetime.now(UTC) + timedelta(days=1)).date().isoformat(),
            "purpose": PURPOSE,
        }
        issued = ok(checker.post("/v1/certificates", certificate), 201)
        self.certificate, self.certificate_number = issued["id"], issued["number"]
        town.rt.runner.catch_up()

    def answers(self, api: Api | None = None) -> dict[str, str]:
        """Every answer that shows the volunteer or their records, by path."""
        api = api or self.town.admin
        town, v, year = self.town, self.id, str(datetime.now(UTC).year)
        record = f"/v1/volunteers/{v}/record"
        paths: list[tuple[str, dict[str, str]]] = [
            (f"/v1/volunteers/{v}", {}),
            ("/v1/volunteers", {"number": self.number}),
            (f"/v1/accounts/{v}", {}),
            (f"/v1/accounts/{v}/statement", {}),
            (record, {}),
            *((f"{record}/{part}", {}) for part in ("services", "corrections", "evaluations")),
            (f"/v1/volunteers/{v}/audit-trail", {}),
            (f"/v1/signups/{self.signup}", {}),
            (f"/v1/backfills/{self.backfill}", {}),
            (f"/v1/disputes/{self.dispute}", {}),
            (f"/v1/evaluations/{self.evaluation}", {}),
            ("/v1/rankings/teams", {"org_id": town.district, "period": year}),
            ("/v1/rankings/volunteers", {"org_id": town.district, "period": year}),
            (f"/v1/reports/organisations/{town.district}", {"period": year}),
            (f"/v1/reports/organisations/{town.district}.csv", {"period": year}),
            (f"/v1/volunteers/{self.relative}", {}),
            (f"/v1/certificates/{self.certificate}", {}),
            (f"/v1/certificates/{self.certificate}/bundle", {}),
            ("/v1/certificates/check", {"number": self.certificate_number}),
        ]
        answers = {}
        for path, query in paths:
            r = api.get(path, **query)
            assert r.status_code == 200, (path, r.text)
            answers[path] = stable(r.json()) if path.endswith("/bundle") else r.text
        return answers

    def figures(self) -> dict[str, Any]:
        """The numbers: account, statement, rankings and the organisation report (not the
        position of the view that answered)."""
        town, v, year = self.town, self.id, str(datetime.now(UTC).year)
        period = {"org_id": town.district, "period": year}
        figures = {
            "account": ok(town.admin.get(f"/v1/accounts/{v}")),
            "statement": ok(town.admin.get(f"/v1/accounts/{v}/statement")),
            "teams": ok(town.admin.get("/v1/rankings/teams", **period)),
            "volunteers": ok(town.admin.get("/v1/rankings/volunteers", **period)),
            "report": ok(town.admin.get(f"/v1/reports/organisations/{town.district}", period=year)),
            "minutes": [
                (s["source_id"], s["minutes"], s["credits"])
                for s in ok(town.admin.get(f"/v1/volunteers/{v}/record/services"))["items"]
            ],
        }
        for answer in figures.values():
            if isinstance(answer, dict):
                answer.pop("position", None)
        return figures


def text_rows(rt: Runtime) -> list[str]:
    """Every value of every text column of every tb_ table, as text."""
    with rt.db.read() as cur:
        if rt.db.is_sqlite:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name LIKE 'tb\\_%'"
            )
        tables = [str(t) for (t,) in cur.fetchall() if str(t).startswith("tb_")]
        values: list[str] = []
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")
            values.extend(str(value) for row in cur.fetchall() for value in row)
    assert "tb_audit_trail" in tables and "tb_rec_evaluations" in tables
    return values


def leaks(texts: list[str]) -> list[tuple[str, str]]:
    return [(p, t[:200]) for t in texts for p in PERSONAL if p in t]


def stable(bundle: dict[str, Any]) -> str:
    """A bundle without what depends on the latest checkpoint (which the log's growth moves
    on): its content and the leaves of its events."""
    events = [bundle["certificate_event"], *bundle["evidence"]]
    return json.dumps([bundle["content"], [e["leaf"] for e in events]], ensure_ascii=False)


def erase(api: Api, volunteer: str, key: str | None = None) -> Any:
    return api.post(f"/v1/volunteers/{volunteer}/erase", {"reason": "本人申请注销"}, key=key)


def test_an_erased_volunteer_leaves_no_personal_data_and_every_figure(
    town: Town, capfd: pytest.CaptureFixture[str]
) -> None:
    rt = town.rt
    life = Life(town)
    assert leaks(list(life.answers().values()))  # they were there
    figures = life.figures()
    relative_before = ok(town.admin.get(f"/v1/accounts/{life.relative}")) | {"position": 0}

    erased = ok(erase(town.admin, life.id, key="erase-1"))
    assert erased["id"] == life.id and erased["erased"] is True
    assert isinstance(erased["position"], int)
    # answered once every read model shows it: no wait needed
    for projection in rt.runner.projections:
        assert rt.runner.position(projection.name) >= erased["position"]

    answers = life.answers()
    assert leaks(list(answers.values())) == []
    coordinator = town.client(Role.COORDINATOR, town.district)
    auditor = town.client(Role.AUDITOR)
    for api in (coordinator, auditor):
        assert leaks(list(life.answers(api).values())) == []
    assert leaks(text_rows(rt)) == []

    shown = ok(town.admin.get(f"/v1/volunteers/{life.id}"))
    assert shown["erased"] is True and shown["volunteer_number"] == life.number
    assert shown["name"] == shown["phone"] == shown["id_document"]["number"] == ERASED
    assert shown["birth_date"] is None and shown["family"] == shown["family_requests"] == []
    assert ok(town.admin.get(f"/v1/volunteers/{life.id}/record"))["erased"] is True
    record = ok(town.admin.get(f"/v1/volunteers/{life.id}/record/evaluations"))
    assert [e["comment"] for e in record["items"]] == [ERASED]
    assert ok(town.admin.get(f"/v1/disputes/{life.dispute}"))["reason"] == ERASED
    backfill = ok(town.admin.get(f"/v1/backfills/{life.backfill}"))
    assert backfill["description"] == ERASED and backfill["evidence"] == []

    # the figures stay, and so does the relative's account
    assert life.figures() == figures
    relative = ok(town.admin.get(f"/v1/accounts/{life.relative}"))
    assert relative | {"position": 0} == relative_before

    # the audit trail keeps who, role, when and why, and shows the erasure
    trail = ok(town.admin.get(f"/v1/volunteers/{life.id}/audit-trail", limit="100"))["entries"]
    types = [e["event_type"] for e in trail]
    assert "Volunteer.Erased" in types and "Volunteer.DataKeyDestroyed" in types
    assert all(e["actor"] and e["role"] and e["occurred_at"] for e in trail)
    assert any(e["reason"] == "核对无误" for e in trail)  # a coordinator's why stays

    # the keys, the PIN and the token
    assert rt.keys.destroyed(uuid.UUID(life.id))
    with rt.db.read() as cur:
        cur.execute("SELECT 1 FROM tb_volunteer_pins WHERE volunteer_id = %s", (life.id,))
        assert cur.fetchone() is None
    assert life.me.get(f"/v1/accounts/{life.id}").status_code == 401

    # rebuilding every read model gives the same answers
    rebuild_all(rt)
    assert life.answers() == answers
    assert leaks(text_rows(rt)) == []

    # again: the same answer, nothing recorded; the same key replays the first answer
    head = rt.recorder.max_notification_id()
    again = ok(erase(town.admin, life.id))
    assert again == {"id": life.id, "erased": True, "position": None}
    assert ok(erase(town.admin, life.id, key="erase-1")) == erased
    assert rt.recorder.max_notification_id() == head

    out, err = capfd.readouterr()
    assert [p for p in PERSONAL if p in out + err] == []


def test_nothing_more_is_recorded_about_an_erased_volunteer(town: Town) -> None:
    rt = town.rt
    life = Life(town)
    unverified_activity = town.activity()
    path = f"/v1/activities/{unverified_activity['id']}/signups"
    open_signup = ok(town.admin.post(path, {"volunteer_id": life.id}), 201)["id"]
    other_activity = town.activity()["id"]
    stranger = town.volunteer()
    ok(erase(town.admin, life.id))
    head = rt.recorder.max_notification_id()
    now = datetime.now(UTC)
    start = now - timedelta(days=2)
    refused = [
        town.admin.post(f"/v1/activities/{other_activity}/signups", {"volunteer_id": life.id}),
        town.admin.post(f"/v1/signups/{open_signup}/check-in", {"at": now.isoformat()}),
        town.admin.post(f"/v1/volunteers/{life.id}/pin", {"pin": PIN}),
        town.admin.post(
            f"/v1/volunteers/{life.id}/family-links",
            {"relative_id": stranger, "relation": "spouse"},
        ),
        town.admin.post(f"/v1/volunteers/{life.asked}/family-links/{life.id}/confirm"),
        town.admin.post(
            f"/v1/volunteers/{life.id}/transfer-membership",
            {"to_org_id": town.street, "reason": "搬家"},
        ),
        town.admin.post(
            "/v1/transfers",
            {
                "from_volunteer_id": life.relative,
                "to_volunteer_id": life.id,
                "minutes": 1,
                "kind": "gift",
            },
        ),
        town.admin.post(
            "/v1/transfers",
            {
                "from_volunteer_id": life.id,
                "to_volunteer_id": life.relative,
                "minutes": 1,
                "kind": "gift",
            },
        ),
        town.admin.post(
            "/v1/backfills",
            {
                "volunteer_id": life.id,
                "org_id": town.team,
                "category": "elder_care",
                "started_at": start.isoformat(),
                "ended_at": (start + timedelta(minutes=30)).isoformat(),
                "description": "补录",
            },
        ),
        town.admin.post("/v1/disputes", {"record_id": life.signup, "reason": "再议"}),
        town.admin.post(
            "/v1/commendations",
            {"volunteer_id": life.id, "org_id": town.team, "title": "优秀", "reason": "热心"},
        ),
    ]
    for r in refused:
        assert r.status_code == 409 and r.json()["type"].endswith("volunteer-erased"), r.text
    assert rt.recorder.max_notification_id() == head
    # cancelling what was under way is no new fact about them
    ok(town.admin.post(f"/v1/signups/{open_signup}/cancel", {"reason": "注销"}))


def test_the_document_of_an_erased_volunteer_registers_again_as_a_new_volunteer(
    town: Town,
) -> None:
    first = ok(town.admin.post("/v1/volunteers", registration(town)), 201)
    duplicate = town.admin.post("/v1/volunteers", registration(town))
    assert duplicate.status_code == 409 and "duplicate-volunteer" in duplicate.json()["type"]
    ok(erase(town.admin, first["id"]))
    again = ok(town.admin.post("/v1/volunteers", registration(town)), 201)
    assert again["id"] != first["id"] and again["volunteer_number"] != first["volunteer_number"]
    shown = ok(town.admin.get(f"/v1/volunteers/{again['id']}"))
    assert shown["name"] == NAME and shown["erased"] is False and shown["family"] == []
    town.rt.runner.catch_up()
    account = ok(town.admin.get(f"/v1/accounts/{again['id']}"))
    assert account["balance_minutes"] == 0 and account["service_minutes"] == 0
    # held again: a third registration is a duplicate
    third = town.admin.post("/v1/volunteers", registration(town))
    assert third.status_code == 409 and "duplicate-volunteer" in third.json()["type"]
    # the erased one stays erased
    assert ok(town.admin.get(f"/v1/volunteers/{first['id']}"))["erased"] is True


ERASER = textwrap.dedent(
    """
    import os, signal, sys, uuid
    from datetime import UTC, datetime
    from ledger.context import Actor, Context, Role
    from tests.conftest import make_settings
    from timebank import erasure
    from timebank.runtime import Runtime

    def dies(self, *args):
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(erasure.Erasure, sys.argv[3], dies)
    rt = Runtime(make_settings(sys.argv[1], pool_size=2))
    ctx = Context(Actor("eraser", Role.ADMIN), "erase-killed", datetime.now(UTC))
    rt.erasure.erase(ctx, uuid.UUID(sys.argv[2]), "本人申请注销")
    """
)


def erased_events(service: LedgerService, volunteer: str) -> list[str]:
    events = service.app.events.get(uuid.UUID(volunteer))
    return [
        type(e).__name__
        for e in events
        if isinstance(e, Volunteer.Erased | Volunteer.DataKeyDestroyed)
    ]


@pytest.mark.parametrize("killed_at", ["destroy_key", "record_key_destroyed"])
def test_an_erasure_killed_between_its_steps_completes_when_run_again(
    runtime: Runtime, killed_at: str
) -> None:
    rt = runtime
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        made = ok(town.admin.post("/v1/volunteers", registration(town)), 201)
        volunteer = str(made["id"])
        ok(town.admin.post(f"/v1/volunteers/{volunteer}/pin", {"pin": PIN}))
        token = town.client(Role.VOLUNTEER, volunteer)
        killed = subprocess.run(
            [sys.executable, "-c", ERASER, rt.settings.database_url, volunteer, killed_at],
            cwd=Path(__file__).parent.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        # where it stopped
        assert erased_events(rt.service, volunteer) == ["Erased"]
        key_gone = killed_at == "record_key_destroyed"
        assert rt.keys.destroyed(uuid.UUID(volunteer)) is key_gone
        with rt.db.read() as cur:
            cur.execute("SELECT 1 FROM tb_volunteer_pins WHERE volunteer_id = %s", (volunteer,))
            assert (cur.fetchone() is None) is key_gone
        # the document is free already: its release was recorded with the erasure
        ok(town.admin.post("/v1/volunteers", registration(town)), 201)

        done = ok(erase(town.admin, volunteer))
        assert done["id"] == volunteer and done["erased"] is True and done["position"] is None
        assert erased_events(rt.service, volunteer) == ["Erased", "DataKeyDestroyed"]
        assert rt.keys.destroyed(uuid.UUID(volunteer))
        with rt.db.read() as cur:
            cur.execute("SELECT 1 FROM tb_volunteer_pins WHERE volunteer_id = %s", (volunteer,))
            assert cur.fetchone() is None
        assert token.get(f"/v1/accounts/{volunteer}").status_code == 401
        shown = ok(town.admin.get(f"/v1/volunteers/{volunteer}"))
        assert shown["erased"] is True and shown["name"] == ERASED
        # and once more: nothing new
        ok(erase(town.admin, volunteer))
        assert erased_events(rt.service, volunteer) == ["Erased", "DataKeyDestroyed"]
        rt.runner.catch_up()
        assert leaks(text_rows(rt)) == []
