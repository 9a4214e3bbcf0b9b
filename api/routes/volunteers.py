from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, CommanderDep, ContextDep, QueriesDep
from api.openapi import location
from api.schemas.volunteers import (
    ErasureIn,
    ErasureOut,
    FamilyLinkIn,
    FamilyLinkOut,
    FamilyLinkStateOut,
    IdDocument,
    MembershipOut,
    MembershipTransferIn,
    PinIn,
    PinOut,
    VolunteerCreatedOut,
    VolunteerIn,
    VolunteerOut,
)
from ledger.commands.members import (
    AnswerFamilyLink,
    LinkFamily,
    RegisterVolunteer,
    SetPin,
    TransferMembership,
)
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
    volunteer, pii = found.volunteer, found.personal_data
    family: dict[str, str] | None = pii["family"]
    requests: dict[str, str] | None = pii["family_requests"]
    return VolunteerOut(
        id=volunteer.id,
        volunteer_number=volunteer.number,
        name=str(pii["name"]),
        id_document=IdDocument(type=DocumentType(volunteer.id_type), number=str(pii["id_number"])),
        phone=str(pii["phone"]),
        birth_date=pii["birth_date"],
        party_member=pii["party_member"],
        skills=volunteer.skills,
        home_org_id=volunteer.home_org_id,
        family=None
        if family is None
        else [
            FamilyLinkOut(relative_id=UUID(rid), relation=Relation(rel))
            for rid, rel in family.items()
        ],
        family_requests=None
        if requests is None
        else [
            FamilyLinkOut(relative_id=UUID(rid), relation=Relation(rel))
            for rid, rel in requests.items()
        ],
        pii_masked=found.masked,
        erased=volunteer.erased,
    )


@router.get("", response_model=VolunteerOut, summary="Look a volunteer up by volunteer number")
def find_volunteer_by_number(
    q: QueriesDep,
    ctx: ContextDep,
    number: Annotated[str, Query(max_length=32, pattern=PRINTABLE_PATTERN)],
) -> VolunteerOut:
    """The volunteer with this volunteer number (志愿者编号; only its digits count).
    Personal data as for `GET /v1/volunteers/{volunteer_id}`.

    Who: a desk, a coordinator, an auditor or an admin."""
    return _view(q.aggregates.volunteer_by_number(ctx, number))


@router.get("/{volunteer_id}", response_model=VolunteerOut, summary="Get a volunteer")
def get_volunteer(volunteer_id: UUID, q: QueriesDep, ctx: ContextDep) -> VolunteerOut:
    """A volunteer, as the README's "Personal data by role" table shows it to the caller.
    The name, ID number and phone are in full only for admins and coordinators of the home
    organisation or above, masked for everyone else, the volunteer included (at most a
    quarter of their characters kept); the birth date, party membership, family links and
    requests are for those and the volunteer themself, null for everyone else
    (`pii_masked` is true when anything is masked or null).

    Who: any role."""
    return _view(q.aggregates.volunteer(ctx, volunteer_id))


@router.post(
    "/{volunteer_id}/family-links",
    status_code=201,
    response_model=FamilyLinkStateOut,
    summary="Ask for a family link",
    responses=location("the volunteer, whose `family` or `family_requests` lists the link"),
)
async def link_family(
    volunteer_id: UUID, body: FamilyLinkIn, run: CommanderDep
) -> dict[str, object]:
    """Asks to link the volunteer to a relative (`relation` is what the relative is to the
    volunteer), so that hours can be given between them. The link needs the relative's
    consent: it is `confirmed` at once (both volunteers' `family` list it, the relative's
    with the inverse relation) when the caller may answer for the relative (an admin, a
    coordinator of the relative's home organisation or above) or the relative asked for the
    same link; otherwise it is `pending` in the volunteer's `family_requests`, and nothing is
    recorded on the relative until they confirm it (`.../family-links/{requester_id}/confirm`).
    Asking again as the same relation changes nothing; as another, it replaces the request.
    `id` is the relative's.

    Who: the volunteer themself; a coordinator of the volunteer's home organisation or
    above; an admin."""
    return await run.create(
        LinkFamily(volunteer_id, body.relative_id, body.relation),
        lambda _: f"/v1/volunteers/{volunteer_id}",
    )


ANSWER = """The answer of the volunteer in the path to the family link `requester_id` asked
for; `id` is the requester's and `relation` what the requester is to this volunteer. A 409
`no-family-request` when there is no such request (or it was answered).

Who: the volunteer themself; a coordinator of the volunteer's home organisation or above;
an admin."""


@router.post(
    "/{volunteer_id}/family-links/{requester_id}/confirm",
    response_model=FamilyLinkStateOut,
    summary="Confirm a family link asked for",
    description="Confirms: both volunteers' `family` list the link. " + ANSWER,
)
async def confirm_family_link(
    volunteer_id: UUID, requester_id: UUID, run: CommanderDep, _: ActorDep
) -> dict[str, object]:
    return await run.run(AnswerFamilyLink(volunteer_id, requester_id, confirm=True))


@router.post(
    "/{volunteer_id}/family-links/{requester_id}/decline",
    response_model=FamilyLinkStateOut,
    summary="Decline a family link asked for",
    description="Declines: the request is dropped, and nothing is linked. " + ANSWER,
)
async def decline_family_link(
    volunteer_id: UUID, requester_id: UUID, run: CommanderDep, _: ActorDep
) -> dict[str, object]:
    return await run.run(AnswerFamilyLink(volunteer_id, requester_id, confirm=False))


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


@router.post(
    "/{volunteer_id}/erase", response_model=ErasureOut, summary="Erase a volunteer's personal data"
)
async def erase_volunteer(
    volunteer_id: UUID, body: ErasureIn, run: CommanderDep
) -> dict[str, object]:
    """Erases the volunteer's personal data on request (PIPL), by crypto-shredding: the
    volunteer is recorded as erased, the key their personal fields are sealed under is
    destroyed, their PIN is forgotten and their tokens revoked. From then on every answer
    shows them with `erased: true`, name, ID number and phone as `已注销`, no birth date and
    no family, and the free text they wrote or that was written about them (back-fill
    descriptions and evidence, dispute reasons, evaluation comments) as `已注销`; hours,
    credits, postings, rankings and reports keep every figure. Nothing more is recorded
    about them: a command that would is a 409 `volunteer-erased`. Their ID document may
    register again, as a new volunteer. Answered once every read model shows the erasure;
    erasing again records nothing and answers the same (with a null position).

    Who: an admin."""
    erasure = run.rt.erasure
    outcome = await run_in_threadpool(
        erasure.erase, run.ctx, volunteer_id, body.reason, run.idempotency
    )
    return outcome.body
