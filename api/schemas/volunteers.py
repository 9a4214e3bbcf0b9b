"""Bodies of the volunteers routes."""

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    Field,
    StrictBool,
)

from api.schemas.common import (
    BirthDate,
    Body,
    CreatedOut,
    Name,
    NextCursor,
    Out,
    Pin,
    Positioned,
    Text,
    View,
    length,
)
from ledger import bounds
from ledger.identity import DocumentType
from ledger.volunteers import Relation


class IdDocument(Body):
    type: DocumentType
    number: Annotated[str, length(bounds.ID_NUMBER)]


class VolunteerIn(Body):
    name: Name
    id_document: IdDocument
    phone: Annotated[str, length(bounds.PHONE)]
    birth_date: BirthDate
    party_member: StrictBool = False
    skills: list[Annotated[str, length(bounds.SKILL)]] = Field(
        default_factory=list, max_length=bounds.SKILLS
    )
    home_org_id: UUID


class VolunteerCreatedOut(CreatedOut):
    volunteer_number: str


class FamilyLinkOut(Out):
    relative_id: UUID
    relation: Relation


class VolunteerOut(Out):
    id: UUID
    volunteer_number: str
    name: str
    id_document: IdDocument
    phone: str
    birth_date: date | None = Field(
        description="null unless the caller is an admin, a coordinator of the home "
        "organisation or above, or the volunteer"
    )
    party_member: bool | None = Field(
        description="sensitive personal information (PIPL): null unless the caller is an "
        "admin, a coordinator of the home organisation or above, or the volunteer"
    )
    skills: list[str]
    home_org_id: UUID
    family: list[FamilyLinkOut] | None = Field(
        description="confirmed family links: null unless the caller is an admin, a "
        "coordinator of the home organisation or above, or the volunteer"
    )
    family_requests: list[FamilyLinkOut] | None = Field(
        description="links this volunteer asked for that the relative has not answered yet: "
        "null unless the caller is an admin, a coordinator of the home organisation or above, "
        "or the volunteer"
    )
    pii_masked: bool = Field(
        description="true when some personal data is masked or left out for this caller"
    )
    erased: bool = Field(
        description="true once the volunteer's personal data has been erased: name, ID "
        "number and phone read `已注销`, the birth date is null and the family lists are "
        "empty; hours, credits and records stay"
    )


class MembershipTransferIn(Body):
    to_org_id: UUID
    reason: Text


class MembershipOut(Positioned):
    id: UUID
    home_org_id: UUID


class ErasureIn(Body):
    reason: Text


class ErasureOut(Positioned):
    id: UUID
    erased: Literal[True]


class PinIn(Body):
    pin: Pin


class PinOut(Positioned):
    id: UUID
    pin_set: bool = Field(description="true: the PIN is set (it is never shown)")


class FamilyLinkIn(Body):
    relative_id: UUID
    relation: Relation = Field(description="what the relative is to the volunteer")


class FamilyLinkStateOut(Positioned):
    id: UUID = Field(description="the other volunteer of the link")
    relation: Relation = Field(description="what that volunteer is to the one in the path")
    status: Literal["confirmed", "pending", "declined"] = Field(
        description="confirmed: the link is in both volunteers' `family`; pending: it waits "
        "for the relative's answer; declined: the request is dropped"
    )


class MemberOut(View):
    id: UUID
    number: str = Field(description="the volunteer number")
    home_org_id: UUID
    registered_on: str = Field(description="the local date of the registration")
    service_minutes: int = Field(description="credited service, after corrections")


class MemberListOut(Out):
    items: list[MemberOut]
    next_cursor: NextCursor
    position: int = Field(description="the log position the records view had read")
