"""The OpenAPI document, shaped for the clients generated from it: short tags, operation ids
from the route functions (get_account: getAccount), optional parameters and bodies declared by
their type alone, and on every operation the problems it may answer with and the headers of
its responses."""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.problems import MEDIA_TYPE, TITLES
from api.schemas.common import ProblemOut

TAGS: list[dict[str, Any]] = [
    {"name": "organisations", "description": "The organisation tree and its venues."},
    {
        "name": "volunteers",
        "description": "Registration, look-up, family links and membership transfers.",
    },
    {"name": "activities", "description": "Activities: publication and completion."},
    {
        "name": "signups",
        "description": "Signups, check-in and check-out, and the verification that credits them.",
    },
    {
        "name": "backfills",
        "description": "Service entered afterwards (补录), with a second approver.",
    },
    {"name": "disputes", "description": "Disputed records, resolved by a correction."},
    {"name": "trainings", "description": "Trainings (培训): recorded apart from service time."},
    {"name": "evaluations", "description": "Evaluations (评价) of verified service."},
    {
        "name": "awards",
        "description": "Stars and commendations, their public notice (公示) and objections.",
    },
    {"name": "accounts", "description": "Balances, statements and transfers of time credits."},
    {"name": "rewards", "description": "Rewards listed by venues."},
    {"name": "redemptions", "description": "Reservations of rewards and their hand-out (兑换)."},
    {"name": "records", "description": "Service records (档案) of volunteers."},
    {
        "name": "certificates",
        "description": "Certificates of service (志愿服务证明), their public check and their "
        "proof bundles.",
    },
    {"name": "rankings", "description": "Rankings of teams and volunteers by service time."},
    {"name": "reports", "description": "Organisation reports, as JSON and as CSV."},
    {"name": "audit", "description": "Audit trails: every event, who did it, when and why."},
    {
        "name": "log",
        "description": "The log as a Merkle tree: signed checkpoints and proofs for anyone; "
        "its entries for auditors.",
    },
    {
        "name": "tokens",
        "description": "API tokens: listed and revoked by admins; never shown after creation.",
    },
    {"name": "operations", "description": "Liveness and readiness, without a token."},
]

REQUEST_ID = {
    "description": "the request's id: the `X-Request-ID` it came with if that is a UUID, "
    "else a new UUID; every log line and every event of the request carries it",
    "schema": {"type": "string", "format": "uuid"},
}
RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}
LOCATION = {
    "description": "the path of the resource the request created",
    "schema": {"type": "string", "format": "uri-reference"},
}
NULL = {"type": "null"}


def operation_id(route: APIRoute) -> str:
    """The route function's name in camel case: get_account gives getAccount."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def location(description: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route whose 201 has a Location of its own description."""
    return {201: {"headers": {"Location": {**LOCATION, "description": description}}}}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf [X, null]` as X: a parameter or body that may be left out is absent, not null."""
    options = schema.get("anyOf")
    if not options or len(options) != 2 or NULL not in options:
        return schema
    (kept,) = (option for option in options if option != NULL)
    if "$ref" in kept:
        return dict(kept)
    return {**kept, **{key: value for key, value in schema.items() if key != "anyOf"}}


def _problem_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """401, 403, 404, 422 and 503 (the store does not answer, or a read waited for
    min_position in vain) where a token is needed; 400, 409 and 413 for commands. The public
    operations of the API (the log's checkpoint and proofs): 404, 422 and 503."""
    if "security" not in operation:
        return [404, 422, 503] if path.startswith("/v1/") else []
    statuses = [401, 403, 404, 422, 503]
    if method == "post":
        statuses += [400, 409, 413]
    return sorted(statuses)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds to an OpenAPI document what FastAPI leaves out: the problems every operation may
    answer with (its specific statuses, and `default` for any other), all of them
    application/problem+json; X-Request-ID on every response, Retry-After on a 503 and Location
    on a 201. Optional parameters and request bodies are declared by their type alone."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}), ProblemOut=problem_schema)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if not parameter.get("required"):
                    parameter["schema"] = _without_null(parameter["schema"])
            body = operation.get("requestBody")
            if body is not None and not body.get("required"):
                for media in body["content"].values():
                    media["schema"] = _without_null(media["schema"])
            responses = operation.setdefault("responses", {})
            for status in _problem_statuses(path, method, operation):
                responses[str(status)] = {"description": TITLES[status], "content": content}
            responses["default"] = {
                "description": "any other refusal or failure, as a problem",
                "content": content,
            }
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = REQUEST_ID
                if status in ("429", "503"):
                    headers["Retry-After"] = RETRY_AFTER
                if status == "429":
                    response["content"] = content
                if status == "201":
                    headers.setdefault("Location", LOCATION)
            operation["responses"] = dict(sorted(responses.items(), key=_status_order))
    return schema


def _status_order(item: tuple[str, Any]) -> tuple[bool, str]:
    return item[0] == "default", item[0]


def install(app: FastAPI) -> None:
    """Serves the shaped document at /openapi.json (built once, on the first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
