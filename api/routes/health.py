from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep
from api.schemas.health import (
    FailureOut,
    Health,
    LogTreeCheck,
    ProjectionCheck,
    Readiness,
    StoreCheck,
)

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Answers while the process serves HTTP, whatever the state of its stores.

    Who: anyone; it takes no token."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store answers and no read model is stuck",
    responses={
        200: {"model": Readiness},
        503: {
            "model": Readiness,
            "description": "the store does not answer, or a read model is stuck",
        },
    },
)
async def readyz(rt: RuntimeDep) -> JSONResponse:
    """Answers at once from what this process knows (a thread of its own asks the store a few
    times a second), whatever the database does: 503 while the store does not answer or
    while a read model cannot apply the next event, naming it, its position and the kind of
    error (its text, which may quote a row, is for `timebank projections status` and the log);
    each read model's lag behind the log, in events, either way, and the log's Merkle tree's.

    Who: anyone; it takes no token."""
    health, runner = rt.health, rt.runner
    head = rt.log_head() if health.head is not None else None
    projections = {
        name: ProjectionCheck(
            position=position,
            lag=None if head is None else max(head - position, 0),
            failure=FailureOut(
                position=failure.position,
                error=failure.kind,  # its text may quote a row: operators read it, not anyone
                failed_since=failure.failed_since,
                attempts=failure.attempts,
            )
            if failure
            else None,
        )
        for name, position in runner.positions.items()
        for failure in [runner.failures.current.get(name)]
    }
    built = rt.log_tree.built
    log_tree = LogTreeCheck(
        tree_size=built.tree_size,
        position=built.position,
        lag=None if head is None else max(head - built.position, 0),
    )
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
        log_tree=log_tree,
    )
    if problems:
        return JSONResponse(body.model_dump(mode="json"), 503, {"Retry-After": "1"})
    return JSONResponse(body.model_dump(mode="json"))
