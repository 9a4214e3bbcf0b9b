from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, CommanderDep, ContextDep, QueriesDep
from api.openapi import location
from api.schemas.common import CreatedOut
from api.schemas.volunteers import (
    FamilyLinkIn,
    FamilyLinkOut,
    IdDocument,
    MembershipOut,
    MembershipTransferIn,
    PinIn,
    PinOut,
    VolunteerCreatedOut,
    VolunteerIn,
    VolunteerOut,
)
from ledger.commands.members import LinkFamily, RegisterVolunteer, SetPin, TransferMembership
from ledger.engine.reads import VolunteerView
from ledger.identity import DocumentType
from ledger.text import PRINTABLE_PATTERN
from ledger.volunteers import Relation

router = APIRouter(prefix="/v1/volunteers", tags=["volunteers"])


@router.post(
    "", status_code=201, response_model=VolunteerCreatedOut, summary="Register a volunteer"
)
async def register_volunteer(body: VolunteerIn, run: CommanderDep) -> dict[str, object]:
    """Registers a volunteer by real name and ID document, a member of `home_org_id` (not a
    venue), with an account; answers the new volunteer number. One registration per ID
    document: a second one is a 409 `duplicate-volunteer`.

    Who: an admin; a coordinator of the home organisation or above."""
    return await run.create(
        RegisterVolunteer(
            name=body.name,
            id_type=body.id_document.type,
            id_number=body.id_document.number,
            phone=body.phone,
            birth_date=body.birth_date.isoformat(),
            party_member=body.party_member,
            skills=tuple(body.skills),
            home_org_id=body.home_org_id,
        ),
        lambda made: f"/v1/volunteers/{made['id']}",
    )


def _view(found: VolunteerView) -> VolunteerOut:
    volunteer, pii, masked = found.volunteer, found.personal_data, found.masked
    return VolunteerOut(
        id=volunteer.id,
        volunteer_number=volunteer.number,
        name=str(pii["name"]),
        id_document=IdDocument(type=DocumentType(volunteer.id_type), number=str(pii["id_number"])),
        phone=str(pii["phone"]),
        birth_date=pii["birth_date"],
        party_member=volunteer.party_member,
        skills=volunteer.skills,
        home_org_id=volunteer.home_org_id,
        family=[
            FamilyLinkOut(relative_id=UUID(rid), relation=Relation(rel))
            for rid, rel in volunteer.family.items()
        ],
        pii_masked=masked,
    )


@router.get("", response_model=VolunteerOut, summary="Look a volunteer up by volunteer number")
def find_volunteer_by_number(
    q: QueriesDep,
    ctx: ContextDep,
    number: Annotated[str, Query(max_length=32, pattern=PRINTABLE_PATTERN)],
) -> VolunteerOut:
    """The volunteer with this volunteer number (志愿者编号; only its digits count).
    Personal data is masked except for admins and coordinators of the home organisation or
    above.

    Who: a desk, a coordinator, an auditor or an admin."""
    return _view(q.aggregates.volunteer_by_number(ctx, number))


@router.get("/{volunteer_id}", response_model=VolunteerOut, summary="Get a volunteer")
def get_volunteer(volunteer_id: UUID, q: QueriesDep, ctx: ContextDep) -> VolunteerOut:
    """A volunteer. Personal data (name, ID number, phone, birth date) is shown in full only
    to admins and coordinators of the home organisation or above; to everyone else masked,
    and the birth date null (`pii_masked` says which).

    Who: any role."""
    return _view(q.aggregates.volunteer(ctx, volunteer_id))


@router.post(
    "/{volunteer_id}/family-links",
    status_code=201,
    response_model=CreatedOut,
    summary="Link a family member",
    responses=location("the volunteer, whose `family` now lists the link"),
)
async def link_family(
    volunteer_id: UUID, body: FamilyLinkIn, run: CommanderDep
) -> dict[str, object]:
    """Links the volunteer to a relative (`relation` is what the relative is to the
    volunteer; the relative gets the inverse link), so that hours can be given between them.
    `id` is the relative's. Linking again as the same relation changes nothing.

    Who: the volunteer themself; a coordinator of the volunteer's home organisation or
    above; an admin."""
    return await run.create(
        LinkFamily(volunteer_id, body.relative_id, body.relation),
        lambda _: f"/v1/volunteers/{volunteer_id}",
    )


@router.post(
    "/{volunteer_id}/transfer-membership",
    response_model=MembershipOut,
    summary="Transfer a volunteer's membership",
)
async def transfer_membership(
    volunteer_id: UUID, body: MembershipTransferIn, run: CommanderDep, _: ActorDep
) -> dict[str, object]:
    """Moves the volunteer to another home organisation (关系转接; not a venue), with a
    reason; their history stays.

    Who: a coordinator of the current home organisation or of the new one (or above either);
    an admin."""
    return await run.run(TransferMembership(volunteer_id, body.to_org_id, body.reason))


@router.post("/{volunteer_id}/pin", response_model=PinOut, summary="Set a volunteer's PIN")
async def set_pin(volunteer_id: UUID, body: PinIn, run: CommanderDep) -> dict[str, object]:
    """Sets (or changes) the volunteer's PIN: six digits the volunteer types at a redemption
    desk as the proof that they are there. It is stored only as a slow salted hash, never
    shown; the log records that it was set and by whom.

    Who: the volunteer themself; a coordinator of the home organisation or above (for a
    volunteer without a phone; the volunteer may change it); an admin."""
    done = await run.run(SetPin(volunteer_id, body.pin))
    # Stored once the log says who set it: a failure here leaves the old PIN (or none), and a
    # retry of the request stores it.
    await run_in_threadpool(run.rt.secrets.set_pin, volunteer_id, body.pin)
    return done
