"""Bodies of the organisations routes."""

from typing import Annotated
from uuid import UUID

from pydantic import (
    Field,
    StrictInt,
)

from api.schemas.common import Body, Integral, Name, Out, within
from ledger import bounds
from ledger.organisations import OrgKind


class OrganisationIn(Body):
    name: Name
    kind: OrgKind
    parent_id: UUID | None = None
    population: (
        Annotated[
            StrictInt,
            within(bounds.POPULATION, "people living there (for the registration ratio)"),
            Integral,
        ]
        | None
    ) = None


class OrganisationOut(Out):
    id: UUID
    name: str
    kind: OrgKind
    parent_id: UUID | None
    path: list[UUID] = Field(description="ancestors from the root down to this organisation")
    population: int | None
