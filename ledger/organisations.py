"""The organisation tree: district > street > community, station or team; venues."""

from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Invalid

ALLOWED_PARENTS: dict[str, set[str | None]] = {
    "district": {None},
    "street": {"district"},
    "community": {"street", "district"},
    "station": {"street", "community", "district"},
    "team": {"district", "street", "community", "station", "team"},
    "venue": {"district", "street", "community", "station", "team"},
}


class OrgKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    STATION = "station"
    TEAM = "team"
    VENUE = "venue"


class Organisation(LedgerAggregate):
    class Registered(LedgerAggregate.Created):
        class_version = 2  # v2: population within bounds.POPULATION

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Recorded before the bound was enforced: a population beyond it is unknown.
            population = state["population"]
            if population is not None and not 0 <= population <= bounds.POPULATION.high:
                state["population"] = None

        name: str
        kind: str
        parent_id: UUID | None
        path: list[UUID]
        population: int | None

    def __init__(
        self,
        name: str,
        kind: str,
        parent_id: UUID | None,
        path: list[UUID],
        population: int | None,
    ) -> None:
        self.name = name
        self.kind = OrgKind(kind)
        self.parent_id = parent_id
        self.path = list(path)  # ancestors from the root down to and including itself
        self.population = population

    @classmethod
    def register(
        cls,
        ctx: Context,
        org_id: UUID,
        name: str,
        kind: OrgKind,
        parent: "Organisation | None",
        population: int | None,
    ) -> "Organisation":
        bounds.NAME.check(name)
        parent_kind = parent.kind.value if parent else None
        if parent_kind not in ALLOWED_PARENTS[kind.value]:
            where = f"under a {parent_kind}" if parent_kind else "without a parent"
            raise Invalid("invalid-parent", f"a {kind.value} cannot be registered {where}")
        if population is not None:
            bounds.POPULATION.check(population)
        path = [*parent.path, org_id] if parent else [org_id]
        org: Organisation = cls.new(
            ctx,
            cls.Registered,
            id=org_id,
            name=name.strip(),
            kind=kind.value,
            parent_id=parent.id if parent else None,
            path=path,
            population=population,
        )
        return org

    def is_within(self, ancestor_id: UUID) -> bool:
        return ancestor_id in self.path
