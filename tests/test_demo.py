"""The demo town: seeded through commands on a real store, checked through the read models."""

import random
from collections import Counter
from datetime import UTC, date, datetime
from uuid import UUID

from stdnum.cn import ric

from ledger.activities import Activity
from ledger.organisations import Organisation, OrgKind
from ledger.volunteers import Volunteer
from timebank.demo import ACTIVITIES, SEED, VOLUNTEERS, DemoTown, _people, seed_demo
from timebank.runtime import Runtime


def test_seed_demo_creates_the_promised_town(runtime: Runtime) -> None:
    town = seed_demo(runtime)
    runtime.runner.catch_up()
    assert set(runtime.runner.read_positions().values()) == {runtime.runner.head()}

    with runtime.db.read() as cur:
        cur.execute("SELECT count(*), sum(balance) FROM tb_accounts WHERE kind = 'volunteer'")
        volunteers, volunteer_minutes = cur.fetchone()
        cur.execute("SELECT count(*) FROM tb_accounts WHERE kind = 'volunteer' AND balance > 0")
        (positive,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM tb_accounts WHERE balance < 0 AND kind = 'volunteer'")
        (negative,) = cur.fetchone()
        cur.execute("SELECT sum(balance) FROM tb_accounts")
        (trial_balance,) = cur.fetchone()
        cur.execute("SELECT kind, count(*) FROM tb_postings GROUP BY kind")
        postings = {str(kind): int(n) for kind, n in cur.fetchall()}
        cur.execute("SELECT status, count(*) FROM tb_redemptions GROUP BY status")
        redemptions = {str(status): int(n) for status, n in cur.fetchall()}

    assert volunteers == VOLUNTEERS == len(town.volunteer_ids)
    assert positive >= 100 and negative == 0 and int(volunteer_minutes) > 0
    assert int(trial_balance) == 0
    assert postings["service"] >= 200
    assert postings["gift"] >= 1 and postings["donation"] >= 1
    assert postings["redemption"] == redemptions["fulfilled"] >= 1
    assert redemptions.get("reserved", 0) >= 1

    orgs = [runtime.service.load(Organisation, i, "organisation") for i in town_org_ids(town)]
    kinds = Counter(o.kind for o in orgs)
    assert kinds == {
        OrgKind.DISTRICT: 1,
        OrgKind.STREET: 1,
        OrgKind.COMMUNITY: 3,
        OrgKind.TEAM: 6,
        OrgKind.VENUE: 1,
    }
    assert len(town.reward_ids) >= 3

    activities = [runtime.service.load(Activity, i, "activity") for i in town.activity_ids]
    assert len(activities) == len(ACTIVITIES) == 30
    assert len({a.category for a in activities}) >= 10
    assert sum(1 for a in activities if a.waitlist) >= 1  # upcoming ones fill up

    today = datetime.now(UTC).date()
    linked = 0
    party = 0
    for volunteer_id in town.volunteer_ids:
        v = runtime.service.load(Volunteer, volunteer_id, "volunteer")
        assert ric.is_valid(v.id_number)
        assert age(date.fromisoformat(v.birth_date), today) >= 18
        assert len(v.phone) == 11 and v.phone.startswith("1")
        linked += bool(v.family)
        party += v.party_member
    assert linked == 2 * 20
    assert 0 < party < VOLUNTEERS
    assert town.counts["verifications"] >= 150


def town_org_ids(town: DemoTown) -> list[UUID]:
    return [town.district_id, town.street_id, *town.community_ids, *town.team_ids, town.venue_id]


def age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def test_demo_people_are_reproducible() -> None:
    today = date(2025, 3, 5)
    first = _people(random.Random(SEED), today)
    again = _people(random.Random(SEED), today)
    assert first == again
    assert len({p.id_number for p in first}) == VOLUNTEERS
    assert all(ric.is_valid(p.id_number) for p in first)
