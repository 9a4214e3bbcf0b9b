"""Scenario 1: ledger commands (verify, transfer, redeem) from concurrent in-process clients
through LedgerService.execute, each acknowledged after its transaction commits; beside the
library's one-transaction-per-command pattern, pgbench-style single-row inserts and
100-row insert batches at the same concurrency on the same database."""

import random
from dataclasses import dataclass

from bench.database import BenchStore
from bench.dataset import prepare_services
from bench.load import LoadResult, no_state, run_ops
from bench.references import BATCH, Rate, durable_inserts, library_one_transaction_per_command
from bench.report import Budget, Figure, Reference, Report
from bench.stats import summarise
from bench.world import World
from ledger.accounts import TransferKind
from ledger.commands.attendance import VerifySignup
from ledger.commands.base import Command
from ledger.commands.exchange import Redeem, Transfer
from ledger.signups import Decision
from timebank.settings import Settings

SCENARIO = "1 ledger commands"


@dataclass(frozen=True)
class LedgerOp:
    kind: str
    command: Command


def prepare(world: World) -> list[LedgerOp]:
    """Checked-out services to verify (signed up, checked in and out beforehand), transfers
    (exchanges and donations) and redemptions, in random order."""
    each = world.profile.ledger_each
    signups, result = prepare_services(world, world.funded, each, verify=False)
    if result.error_count:
        world.say(f"  {result.error_count} services could not be prepared: {dict(result.errors)}")
    rng = random.Random(1)
    town = world.the_town
    ops = [LedgerOp("verify", VerifySignup(s, Decision.APPROVE)) for s in signups]
    for n in range(each):
        sender, recipient = rng.sample(world.funded, 2)
        if n % 2:
            command = Transfer(sender, 1, TransferKind.DONATION, to_org_id=town.team)
        else:
            command = Transfer(sender, 1, TransferKind.EXCHANGE, to_volunteer_id=recipient)
        ops.append(LedgerOp("transfer", command))
    for _ in range(each):
        reward = rng.choice(town.rewards)
        ops.append(LedgerOp("redeem", Redeem(rng.choice(world.funded), reward)))
    rng.shuffle(ops)
    return ops


def _kind(op: LedgerOp) -> str:
    return op.kind


def warm_up(world: World) -> LoadResult:
    """An untimed pass before the measured one: an exchange of one minute from each funded
    volunteer to the next, so that their accounts are in the service's memory, as they are
    in a service that has been running (the bulk build grows the log behind its back)."""
    funded = world.funded
    ops = [
        LedgerOp("warm-up", Transfer(sender, 1, TransferKind.EXCHANGE, to_volunteer_id=recipient))
        for sender, recipient in zip(funded, funded[1:] + funded[:1], strict=True)
    ]
    return measure(world, ops)


def measure(world: World, ops: list[LedgerOp]) -> LoadResult:
    def execute(_: None, op: LedgerOp) -> int | None:
        outcome = world.rt.service.execute(world.ctx(), op.command)
        if op.kind == "transfer":
            world.acked_postings.append(str(outcome.body["id"]))
        return outcome.position

    return run_ops(ops, world.clients, execute, no_state, _kind)


@dataclass(frozen=True)
class References:
    library: Rate
    single: Rate
    batched: Rate


def measure_references(world: World, store: BenchStore, settings: Settings) -> References:
    seconds = world.profile.reference_seconds
    clients = world.clients
    world.say("  reference: library one transaction per command")
    library = library_one_transaction_per_command(store, settings, clients, seconds)
    world.say("  reference: single-row durable inserts")
    single = durable_inserts(store, clients, seconds, rows=1)
    world.say(f"  reference: {BATCH}-row insert batches")
    batched = durable_inserts(store, clients, seconds, rows=BATCH)
    return References(library, single, batched)


def report(report: Report, world: World, result: LoadResult, refs: References) -> None:
    clients = world.clients
    rate = result.rate
    lib = Reference("library one-txn-per-command", refs.library.per_second, "commands/s")
    single = Reference("pgbench-style single-row inserts", refs.single.per_second, "rows/s")
    batched = Reference(f"batched inserts x{BATCH}", refs.batched.per_second, "rows/s")
    kinds = ", ".join(
        f"{k} {len(v)} (p99 {summarise(v).p99_ms or 0:.0f} ms)"
        for k, v in sorted(result.latencies.items())
    )
    add = report.add
    add(
        Figure(
            SCENARIO,
            f"throughput, {clients} clients",
            rate,
            "commands/s",
            (lib, single, batched),
            Budget(">=", 5000, "commands/s"),
            note=(
                f"{result.ok} commands in {result.elapsed:.2f} s ({kinds}), after an untimed "
                f"warm-up of one transfer from each of the {len(world.funded):,} funded volunteers"
            ),
        )
    )
    add(
        Figure(
            SCENARIO,
            "vs library one-txn-per-command",
            rate / lib.value if lib.value else None,
            "x",
            (lib,),
            Budget(">=", 10, "x"),
        )
    )
    add(
        Figure(
            SCENARIO,
            "vs single-row inserts",
            rate / single.value if single.value else None,
            "x",
            (single,),
            Budget(">=", 1, "x"),
        )
    )
    report_latencies(report, result, refs)


def report_latencies(report: Report, result: LoadResult, refs: References) -> None:
    """Latency percentiles beside the library's and the single-row inserts', and errors."""
    add = report.add
    mine = summarise(result.all_latencies())
    theirs = summarise(refs.library.result.all_latencies())
    inserts = summarise(refs.single.result.all_latencies())
    for label, value, ref, insert in (
        ("p50", mine.p50_ms, theirs.p50_ms, inserts.p50_ms),
        ("p95", mine.p95_ms, theirs.p95_ms, inserts.p95_ms),
        ("p99", mine.p99_ms, theirs.p99_ms, inserts.p99_ms),
    ):
        add(
            Figure(
                SCENARIO,
                f"latency {label}",
                value,
                "ms",
                (
                    Reference(f"library save {label}", ref, "ms"),
                    Reference(f"single-row insert {label}", insert, "ms"),
                ),
            )
        )
    errors = ", ".join(f"{k} x{n}" for k, n in result.errors.most_common(5))
    add(
        Figure(
            SCENARIO,
            "errors",
            result.error_count,
            "",
            (Reference("commands attempted", result.ok + result.error_count, ""),),
            note=errors,
        )
    )
