from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep
from api.schemas import FailureOut, ProjectionCheck, Readiness, StoreCheck

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store answers and no read model is stuck",
    description="Answers at once from what this process knows (the store is asked a few "
    "times a second by a thread of its own), whatever the database does: 503 while the store "
    "does not answer or while a read model cannot apply the next event, naming it, its "
    "position and the error.",
    responses={200: {"model": Readiness}, 503: {"model": Readiness}},
)
async def readyz(rt: RuntimeDep) -> JSONResponse:
    health, runner = rt.health, rt.runner
    head = health.head
    projections = {
        name: ProjectionCheck(
            position=position,
            lag=None if head is None else max(head - position, 0),
            failure=FailureOut.model_validate(failure) if failure else None,
        )
        for name, position in runner.positions.items()
        for failure in [runner.failures.current.get(name)]
    }
    store = StoreCheck(available=health.available, error=health.error, log_head=head)
    problems = [] if store.available else ["the store does not answer"]
    problems += [
        f"read model {name} is stuck after position {check.position}: {check.failure.error}"
        for name, check in projections.items()
        if check.failure is not None
    ]
    body = Readiness(
        status="unavailable" if problems else "ready",
        problems=problems,
        store=store,
        projections=projections,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=503 if problems else 200)
