"""Rankings of the records view (projections/records/projection.py defines attribution).

Rankings:
- teams: the organisations of one kind in an organisation's subtree (itself included), each
  with the service minutes attributed to its members in the period (member attribution),
  its current members and the per-capita minutes (total // members, null without members).
  `rank` orders by total and `per_capita_rank` by per-capita minutes, both descending;
  equal values share a rank (1, 2, 2, 4); ties are listed by organisation id.
- volunteers: the volunteers with service minutes attributed to the organisation's subtree
  in the period, most minutes first; equal minutes share a rank and are listed by volunteer id.
"""

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from projections.db import Database
from projections.periods import Period


def _competition_ranks(values: list[int | None]) -> list[int | None]:
    """Ranks of values sorted descending (None last, unranked): equal values share a rank."""
    ranks: list[int | None] = []
    for i, value in enumerate(values):
        if value is None:
            ranks.append(None)
        elif i and values[i - 1] == value:
            ranks.append(ranks[-1])
        else:
            ranks.append(i + 1)
    return ranks


# Rankings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamStanding:
    org_id: UUID
    name: str
    kind: str
    total_minutes: int
    members: int
    per_capita_minutes: int | None
    rank: int = 0
    per_capita_rank: int | None = None


class RankingSort(StrEnum):
    TOTAL = "total"
    PER_CAPITA = "per_capita"


def team_key(team: TeamStanding, sort: RankingSort) -> tuple[int, UUID]:
    """Where a team stands in the `sort` order: its value ranked on, shifted up by one so that
    per-capita without members (0) comes after every value, and its id for ties."""
    value = team.total_minutes if sort == RankingSort.TOTAL else team.per_capita_minutes
    return (0 if value is None else value + 1, team.org_id)


def team_ranking(
    db: Database,
    org_id: UUID,
    period: Period,
    kind: str,
    sort: RankingSort = RankingSort.TOTAL,
    after: tuple[int, UUID] | None = None,
    limit: int | None = None,
) -> list[TeamStanding]:
    """The organisations of `kind` in the subtree ordered by `sort` (see the module docstring):
    at most `limit` of them after the team_key `after`."""
    with db.read() as cur:
        cur.execute(
            "SELECT o.id, o.name, o.kind, o.members, COALESCE(m.minutes, 0) "
            "FROM tb_rec_org_tree t JOIN tb_rec_orgs o ON o.id = t.org_id "
            "LEFT JOIN tb_rec_member_minutes m ON m.org_id = o.id AND m.period = %s "
            "WHERE t.ancestor_id = %s AND o.kind = %s",
            (period.key, str(org_id), kind),
        )
        rows = [(UUID(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in cur.fetchall()]
    teams = [
        TeamStanding(oid, name, org_kind, total, members, total // members if members else None)
        for oid, name, org_kind, members, total in rows
    ]
    ranks: dict[RankingSort, dict[UUID, int | None]] = {}
    for order in RankingSort:
        teams.sort(key=lambda t: _descending(team_key(t, order)))
        values = [team_key(t, order)[0] or None for t in teams]
        ranks[order] = dict(zip((t.org_id for t in teams), _competition_ranks(values), strict=True))
    teams.sort(key=lambda t: _descending(team_key(t, sort)))
    if after is not None:
        teams = [t for t in teams if _descending(team_key(t, sort)) > _descending(after)]
    return [
        dataclasses.replace(
            t,
            rank=ranks[RankingSort.TOTAL][t.org_id] or 0,
            per_capita_rank=ranks[RankingSort.PER_CAPITA][t.org_id],
        )
        for t in teams[:limit]
    ]


def _descending(key: tuple[int, UUID]) -> tuple[int, str]:
    return (-key[0], str(key[1]))


@dataclass(frozen=True)
class VolunteerStanding:
    rank: int
    volunteer_id: UUID
    volunteer_number: str | None
    minutes: int


RANKED = "FROM tb_rec_volunteer_minutes WHERE org_id = %s AND period = %s AND minutes > 0"


def volunteer_ranking(
    db: Database,
    org_id: UUID,
    period: Period,
    after: tuple[int, UUID | str] | None,
    limit: int,
) -> list[VolunteerStanding]:
    """Volunteers by minutes attributed to the subtree in the period, most first, ties by
    volunteer id; at most `limit` of them after the (minutes, volunteer id) of `after`."""
    base = (str(org_id), period.key)
    page_after = ""
    params: tuple[Any, ...] = base
    if after is not None:
        page_after = " AND (vm.minutes < %s OR (vm.minutes = %s AND vm.volunteer_id > %s))"
        params = (*base, after[0], after[0], str(after[1]))
    with db.read() as cur:
        cur.execute(
            "SELECT vm.volunteer_id, v.number, vm.minutes FROM tb_rec_volunteer_minutes vm "
            "LEFT JOIN tb_rec_volunteers v ON v.id = vm.volunteer_id "
            "WHERE vm.org_id = %s AND vm.period = %s AND vm.minutes > 0"
            + page_after
            + " ORDER BY vm.minutes DESC, vm.volunteer_id LIMIT %s",
            (*params, limit),
        )
        rows = [(str(r[0]), r[1], int(r[2])) for r in cur.fetchall()]
        if not rows:
            return []
        first_minutes, first_id = rows[0][2], rows[0][0]
        cur.execute(f"SELECT COUNT(*) {RANKED} AND minutes > %s", (*base, first_minutes))
        above = int(cur.fetchone()[0])
        cur.execute(
            f"SELECT COUNT(*) {RANKED} AND minutes = %s AND volunteer_id < %s",
            (*base, first_minutes, first_id),
        )
        offset = above + int(cur.fetchone()[0])  # rows listed before the first of this page
    standings: list[VolunteerStanding] = []
    for i, (vid, number, minutes) in enumerate(rows):
        if i == 0:
            rank = above + 1
        elif minutes == rows[i - 1][2]:
            rank = standings[-1].rank
        else:
            rank = offset + i + 1
        standings.append(VolunteerStanding(rank, UUID(vid), number, minutes))
    return standings
