"""Scenario 9: the log as a Merkle tree, over the log the bench built. The tree built from
empty (`LogTree.catch_up`) beside reading the same events (the floor under it), inclusion
proofs at random positions, and `timebank audit` over the whole log, whose SPEC line is a
million events in under 30 s."""

import random
import time

from bench.profile import REBUILD_EVENTS
from bench.report import Budget, Figure, Reference, Report
from bench.stats import summarise
from bench.world import World
from timebank.audit import VerifierKey, audit

SCENARIO = "9 log"
AUDIT_SECONDS = Budget("<", 30, "s")  # for REBUILD_EVENTS events


def _per_second(events: int, seconds: float) -> float | None:
    return events / seconds if seconds > 0 else None


def read_rate(world: World, batch_size: int) -> float | None:
    """The log read as the tree builder and the audit read it: stored records, in batches."""
    recorder = world.rt.recorder
    events, position = 0, 0
    started = time.perf_counter()
    while batch := recorder.select_notifications(start=position + 1, limit=batch_size):
        events += len(batch)
        position = batch[-1].id
    return _per_second(events, time.perf_counter() - started)


def measure(world: World, report: Report) -> bool:
    """Adds the figures; returns whether the audit of the untouched log passed."""
    rt = world.rt
    tree = rt.log_tree
    # The bench's own store, and no builder runs now (the API process has stopped): the
    # tree is dropped and built again from the first event.
    with rt.db.transaction() as cur:
        for table in ("tb_log_nodes", "tb_log_leaves", "tb_log_tree"):
            cur.execute(f"DELETE FROM {table}")
    read = read_rate(world, tree.batch_size)
    started = time.perf_counter()
    head = tree.catch_up()
    built = time.perf_counter() - started
    report.add(
        Figure(
            SCENARIO,
            "tree append, from empty",
            _per_second(head.tree_size, built),
            "events/s",
            (Reference("log read", read, "events/s"),),
            note=f"{head.tree_size} events in {built:.2f} s (batches of {tree.batch_size})",
        )
    )

    positions = [n.id for n in rt.recorder.select_notifications(start=1, limit=head.tree_size)]
    chosen = random.Random(9).choices(positions, k=world.profile.read_samples)
    seconds = []
    for position in chosen:
        started = time.perf_counter()
        tree.inclusion(position, head.tree_size)
        seconds.append(time.perf_counter() - started)
    proofs = summarise(seconds)
    report.add(
        Figure(
            SCENARIO,
            f"inclusion proof p99, tree of {head.tree_size:,} leaves",
            proofs.p99_ms,
            "ms",
            (Reference("p50", proofs.p50_ms, "ms"), Reference("proofs", proofs.count, "")),
        )
    )

    tree.sign_checkpoint()
    audit_read = read_rate(world, 10_000)
    started = time.perf_counter()
    found = audit(rt.recorder, rt.db, VerifierKey.of(tree.key))
    audited = time.perf_counter() - started
    rate = _per_second(found.events, audited)
    report.add(
        Figure(
            SCENARIO,
            "audit of the whole log",
            rate,
            "events/s",
            (Reference("log read", audit_read, "events/s"),),
            note=f"{found.events} events and every stored checkpoint in {audited:.2f} s",
        )
    )
    measured = found.events >= REBUILD_EVENTS
    how = "measured" if measured else f"extrapolated from {found.events:,} events"
    report.add(
        Figure(
            SCENARIO,
            f"audit, {REBUILD_EVENTS:,} events ({how})",
            REBUILD_EVENTS / rate if rate else None,
            "s",
            (Reference(f"audit of {found.events:,} events", audited, "s"),),
            AUDIT_SECONDS,
        )
    )
    if not found.passed:
        report.failures.append(f"9 log: the audit found {found.findings[0].message}")
    return found.passed
