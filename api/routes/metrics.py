"""GET /metrics on the API port: the Prometheus metrics of every process of the server, for
the holder of TIMEBANK_METRICS_TOKEN only. Without that setting it is not there (404): the
metrics are then served only by the listener of TIMEBANK_METRICS_PORT, if any.

It is left out of the OpenAPI document: its token is not an API token and its answer is not
JSON."""

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from api.deps import RuntimeDep
from api.problems import ProblemError
from timebank.metrics import token_matches

router = APIRouter(tags=["operations"])
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, rt: RuntimeDep) -> Response:
    expected = rt.settings.metrics_token
    if expected is None:
        raise HTTPException(404)  # answered as any path that is not there
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ProblemError(401, "unauthenticated", "the metrics token is required", UNAUTHORIZED)
    if not token_matches(given.strip(), expected.get_secret_value()):
        raise ProblemError(401, "invalid-token", "that is not the metrics token", UNAUTHORIZED)
    body, content_type = rt.metrics.exposition(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})
