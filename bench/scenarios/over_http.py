"""Scenario 2: commands over HTTP. Concurrent HTTP clients post verifications and transfers
with a coordinator's token to the real API (`timebank serve` in its own process); beside
GET /healthz at the same concurrency (the HTTP stack with no work) and the in-process rate of
scenario 1."""

import random
from dataclasses import dataclass
from typing import Any

from bench.client import ApiClient
from bench.dataset import prepare_services
from bench.load import LoadResult, run_for, run_ops
from bench.report import Budget, Figure, Reference, Report
from bench.server import default_workers, layout
from bench.stats import summarise
from bench.world import World

SCENARIO = "2 over HTTP"


@dataclass(frozen=True)
class HttpOp:
    kind: str
    path: str
    body: dict[str, Any]


def prepare(world: World) -> list[HttpOp]:
    """Checked-out services to verify over HTTP, and exchanges, interleaved."""
    each = world.profile.http_each
    signups, result = prepare_services(world, world.funded, each, verify=False)
    if result.error_count:
        world.say(f"  {result.error_count} services could not be prepared: {dict(result.errors)}")
    rng = random.Random(2)
    ops: list[HttpOp] = []
    for signup in signups:
        ops.append(HttpOp("verify", f"/v1/signups/{signup}/verify", {"decision": "approve"}))
        sender, recipient = rng.sample(world.funded, 2)
        body = {
            "from_volunteer_id": str(sender),
            "to_volunteer_id": str(recipient),
            "minutes": 1,
            "kind": "exchange",
        }
        ops.append(HttpOp("transfer", "/v1/transfers", body))
    return ops


@dataclass(frozen=True)
class Healthz:
    rate: float
    p50_ms: float | None
    p99_ms: float | None


def healthz(world: World, base_url: str, token: str) -> Healthz:
    def client() -> ApiClient:
        return ApiClient(base_url, token)

    def get(api: ApiClient) -> None:
        api.get("/healthz")

    seconds = max(world.profile.reference_seconds / 2, 0.3)
    result = run_for(seconds, world.clients, get, client, close=ApiClient.close, kind="healthz")
    latency = summarise(result.all_latencies())
    return Healthz(result.rate, latency.p50_ms, latency.p99_ms)


def _kind(op: HttpOp) -> str:
    return op.kind


def measure(world: World, base_url: str, token: str, ops: list[HttpOp]) -> LoadResult:
    def client() -> ApiClient:
        return ApiClient(base_url, token)

    def post(api: ApiClient, op: HttpOp) -> int | None:
        body = api.post(op.path, op.body)
        if op.kind == "transfer":
            world.acked_postings.append(str(body["id"]))
        position = body.get("position")
        return int(position) if position is not None else None

    return run_ops(ops, world.clients, post, client, _kind, close=ApiClient.close)


def report(
    report: Report, world: World, result: LoadResult, health: Healthz, in_process: float | None
) -> None:
    latency = summarise(result.all_latencies())
    kinds = ", ".join(f"{k} {len(v)}" for k, v in sorted(result.latencies.items()))
    refs = [Reference(f"GET /healthz, {world.clients} clients", health.rate, "requests/s")]
    if in_process is not None:
        refs.append(Reference("in-process commands (scenario 1)", in_process, "commands/s"))
    add = report.add
    add(
        Figure(
            SCENARIO,
            f"throughput, {world.clients} clients",
            result.rate,
            "commands/s",
            tuple(refs),
            Budget(">=", 1500, "commands/s"),
            note=f"{result.ok} commands in {result.elapsed:.2f} s ({kinds}); "
            + layout(default_workers(world.rt.settings.store.is_sqlite)),
        )
    )
    add(
        Figure(
            SCENARIO,
            "latency p99",
            latency.p99_ms,
            "ms",
            (Reference("GET /healthz p99", health.p99_ms, "ms"),),
            Budget("<", 100, "ms"),
        )
    )
    add(
        Figure(
            SCENARIO,
            "latency p50",
            latency.p50_ms,
            "ms",
            (Reference("GET /healthz p50", health.p50_ms, "ms"),),
        )
    )
    add(Figure(SCENARIO, "latency p95", latency.p95_ms, "ms"))
    errors = ", ".join(f"{k} x{n}" for k, n in result.errors.most_common(5))
    add(
        Figure(
            SCENARIO,
            "errors",
            result.error_count,
            "",
            (Reference("requests", result.ok + result.error_count, ""),),
            note=errors,
        )
    )
