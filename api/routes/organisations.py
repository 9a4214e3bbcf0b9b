from uuid import UUID

from fastapi import APIRouter

from api.deps import ActorDep, CommanderDep, ContextDep, MinPosition, QueriesDep
from api.pagination import PageDep
from api.schemas.common import CreatedOut
from api.schemas.organisations import OrganisationIn, OrganisationOut
from api.schemas.volunteers import MemberListOut, MemberOut
from api.schemas.worklist import OrgEntryOut, SubtreeOut
from ledger.commands.members import RegisterOrganisation

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


@router.post("", status_code=201, response_model=CreatedOut, summary="Register an organisation")
async def register_organisation(body: OrganisationIn, run: CommanderDep) -> dict[str, object]:
    """Registers an organisation (a district, street, community, station, team or venue)
    under `parent_id`, or at the top of the tree without one.

    Who: an admin, anywhere; a coordinator, below an organisation of their subtree (with
    `parent_id`)."""
    return await run.create(
        RegisterOrganisation(body.name, body.kind, body.parent_id, body.population),
        lambda made: f"/v1/organisations/{made['id']}",
    )


@router.get("", response_model=SubtreeOut, summary="List the organisations at the top of the tree")
def list_top_organisations(
    q: QueriesDep, ctx: ContextDep, page: PageDep, min_position: MinPosition = None
) -> SubtreeOut:
    """The organisations without a parent, by name: where an admin's or an auditor's look
    at the tree starts (each one's `GET /v1/organisations/{org_id}/subtree` goes on).

    Who: an auditor or an admin."""
    found = q.worklist.roots(ctx, page, min_position)
    return SubtreeOut(
        items=[OrgEntryOut.model_validate(e) for e in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get("/{org_id}", response_model=OrganisationOut, summary="Get an organisation")
def get_organisation(org_id: UUID, q: QueriesDep, _: ActorDep) -> OrganisationOut:
    """An organisation with its place in the tree (`path`: its ancestors from the root).

    Who: any role."""
    org = q.aggregates.organisation(org_id)
    return OrganisationOut(
        id=org.id,
        name=org.name,
        kind=org.kind,
        parent_id=org.parent_id,
        path=org.path,
        population=org.population,
    )


@router.get(
    "/{org_id}/volunteers",
    response_model=MemberListOut,
    summary="List the volunteers of an organisation subtree",
)
def members(
    org_id: UUID, q: QueriesDep, ctx: ContextDep, page: PageDep, min_position: MinPosition = None
) -> MemberListOut:
    """The volunteers whose home is the organisation or one below it, by volunteer number,
    with their credited service (personal data: `GET /v1/volunteers/{id}`).

    Who: a coordinator of the organisation or above; an auditor; an admin."""
    found = q.records.members(ctx, org_id, page, min_position)
    return MemberListOut(
        items=[MemberOut.model_validate(m) for m in found.items],
        next_cursor=found.next_cursor,
        position=found.position,
    )
