"""A check-in nobody checks out closes itself: once the activity's window (its end plus the
grace period) has closed, the sweeper closes it at the window's end and flags it for the
coordinator, who verifies it like any other; until then it keeps the volunteer from checking
in elsewhere, and afterwards it no longer does."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger.commands.attendance import CheckIn
from ledger.context import Actor, Context, Role
from ledger.errors import Conflict
from ledger.identity import signup_id
from tests.http import Town

ADMIN = Actor("test-admin", Role.ADMIN)


def test_a_check_in_left_open_is_closed_at_the_window_end_and_flagged(town: Town) -> None:
    now = datetime.now(UTC)
    volunteer = town.volunteer()
    here = town.activity(starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=1))
    later = town.activity(starts_at=now + timedelta(hours=3), ends_at=now + timedelta(hours=5))
    signup = {}
    for activity in (here, later):
        r = town.admin.post(f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer})
        assert r.status_code == 201, r.text
        signup[activity["id"]] = r.json()["id"]
    checked_in = town.admin.post(
        f"/v1/signups/{signup[here['id']]}/check-in", {"at": (now - timedelta(hours=1)).isoformat()}
    )
    assert checked_in.status_code == 200, checked_in.text
    town.rt.runner.wait_for("attendance", checked_in.json()["position"], 5)

    assert town.rt.close_unattended_check_ins(now) == 0  # the window is still open
    window_end = now + timedelta(hours=1, minutes=town.rt.settings.rules.grace_minutes)
    after = window_end + timedelta(hours=2)
    elsewhere = CheckIn(signup_id(UUID(later["id"]), UUID(volunteer)), after)
    try:
        town.rt.service.execute(Context(ADMIN, "before-closing", after), elsewhere)
        raise AssertionError("checked in elsewhere while still checked in here")
    except Conflict as e:
        assert e.code == "overlapping-service"

    assert town.rt.close_unattended_check_ins(after) == 1
    assert town.rt.close_unattended_check_ins(after) == 0  # closed once
    closed = town.admin.get(f"/v1/signups/{signup[here['id']]}").json()
    assert closed["status"] == "checked_out" and closed["check_out_missed"] is True
    assert datetime.fromisoformat(closed["checked_out_at"]) == window_end
    assert closed["measured_minutes"] == 150  # from the check-in to the window's end
    town.rt.service.execute(Context(ADMIN, "after-closing", after), elsewhere)  # free again

    verified = town.admin.post(f"/v1/signups/{signup[here['id']]}/verify", {"decision": "approve"})
    assert verified.status_code == 200 and verified.json()["credited_minutes"] == 150
    town.rt.runner.catch_up()
    trail = town.admin.get(f"/v1/volunteers/{volunteer}/audit-trail", limit=100).json()
    missed = [e for e in trail["entries"] if e["event_type"] == "Signup.CheckOutMissed"]
    assert len(missed) == 1 and missed[0]["role"] == "system", missed
    with town.rt.db.read() as cur:
        cur.execute("SELECT count(*) FROM tb_open_check_ins")
        assert cur.fetchone()[0] == 1  # the check-in elsewhere, still open
