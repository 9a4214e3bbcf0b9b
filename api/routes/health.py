from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep
from api.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Answers while the process serves HTTP, whatever the state of its stores.

    Who: anyone; it takes no token."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The stores answer and the read models follow the log",
    responses={
        200: {"model": Readiness},
        503: {"model": Readiness, "description": "a store does not answer"},
    },
)
def readyz(rt: RuntimeDep) -> JSONResponse:
    """Ready when the event store and the read models answer; each read model's lag behind
    the log, in events, is in `checks.lag`. A 503 names what does not answer.

    Who: anyone; it takes no token."""
    checks: dict[str, object] = {"read_models": rt.db.ping()}
    try:
        head = rt.runner.head()
        checks["event_store"] = True
    except Exception:
        head = 0
        checks["event_store"] = False
    checks["lag"] = {name: head - pos for name, pos in rt.runner.positions.items()}
    ready = bool(checks["read_models"] and checks["event_store"])
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    if ready:
        return JSONResponse(body.model_dump())
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "1"})
