"""The volunteers whose home is an organisation or one below it, by volunteer number."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from projections.db import Database


@dataclass(frozen=True)
class Member:
    id: UUID
    number: str
    home_org_id: UUID
    registered_on: str
    service_minutes: int


def members(db: Database, org_id: UUID, after: tuple[Any, ...] | None, limit: int) -> list[Member]:
    bound, params = (
        ("", ())
        if after is None
        else (
            " AND (v.number > %s OR (v.number = %s AND v.id > %s))",
            (after[0], after[0], after[1]),
        )
    )
    with db.read() as cur:
        cur.execute(
            "SELECT v.id, v.number, v.home_org_id, v.registered_on, v.service_minutes "
            "FROM tb_rec_volunteers v JOIN tb_rec_org_tree t ON t.org_id = v.home_org_id "
            f"WHERE t.ancestor_id = %s{bound} ORDER BY v.number, v.id LIMIT %s",
            (str(org_id), *params, limit),
        )
        return [Member(UUID(r[0]), r[1], UUID(r[2]), r[3], int(r[4])) for r in cur.fetchall()]


def member_key(member: Member) -> tuple[str, str]:
    return (member.number, str(member.id))
