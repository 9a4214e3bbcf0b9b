from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep
from api.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The stores answer and the read models follow the log",
    responses={200: {"model": Readiness}, 503: {"model": Readiness}},
)
def readyz(rt: RuntimeDep) -> JSONResponse:
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
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
