from uuid import UUID

from fastapi import APIRouter

from api.deps import ActorDep, CommanderDep, QueriesDep
from api.schemas.common import CreatedOut
from api.schemas.organisations import OrganisationIn, OrganisationOut
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
