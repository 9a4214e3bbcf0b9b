"""The trainings an organisation's subtree held, from the records view: a page of them, the
latest held first, each with how many volunteers took part."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.db import Database, utc_text


@dataclass(frozen=True)
class HeldTraining:
    id: UUID
    org_id: UUID
    org_name: str | None
    title: str
    held_at: datetime
    minutes: int
    participants: int


def training_key(training: HeldTraining) -> tuple[str, UUID]:
    return (utc_text(training.held_at), training.id)


def held_trainings(
    db: Database, org_id: UUID, after: tuple[Any, ...] | None, limit: int
) -> list[HeldTraining]:
    """At most `limit` trainings of org_id's subtree held before `after` (held_at, id)."""
    condition, params = "", [str(org_id)]
    if after is not None:
        # held_at is stored as UTC text of one width (utc_text), so it sorts as it reads.
        condition = " AND (t.held_at < %s OR (t.held_at = %s AND t.id > %s))"
        params += [str(after[0]), str(after[0]), str(after[1])]
    with db.read() as cur:
        cur.execute(
            "SELECT t.id, t.org_id, o.name, t.title, t.held_at, t.minutes, "
            "(SELECT COUNT(*) FROM tb_rec_training_attendance a WHERE a.training_id = t.id) "
            "FROM tb_rec_trainings t LEFT JOIN tb_rec_orgs o ON o.id = t.org_id "
            "WHERE t.org_id IN (SELECT org_id FROM tb_rec_org_tree WHERE ancestor_id = %s)"
            + condition
            + " ORDER BY t.held_at DESC, t.id LIMIT %s",
            (*params, limit),
        )
        return [
            HeldTraining(
                id=UUID(r[0]),
                org_id=UUID(r[1]),
                org_name=r[2],
                title=str(r[3]),
                held_at=datetime.fromisoformat(str(r[4])),
                minutes=int(r[5]),
                participants=int(r[6]),
            )
            for r in cur.fetchall()
        ]
