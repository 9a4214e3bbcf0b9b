"""Scenario 8: what sealing personal data costs. Registrations through LedgerService.execute
and cold loads of a volunteer (its events read from the store and opened), with the sealing
mapper and with the event library's plain one, each on a fresh store of the run's kind.

Registrations and loads run one at a time, from one client: the difference between the two
mappers is then the sealing's own work per operation, not time spent queueing behind the
interpreter lock or the pool. The plain side has a store of its own because a store whose
first registration is in plaintext is not served (timebank.runtime.PlaintextStore)."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from bench.database import BenchStore, create_sibling, drop_store
from bench.dataset import volunteer_registration
from bench.load import LoadResult, no_state, run_ops
from bench.report import Figure, Reference, Report
from bench.stats import summarise
from ledger.commands.base import Command
from ledger.commands.members import RegisterOrganisation
from ledger.context import Actor, Context, Role
from ledger.engine.service import LedgerService, TimebankApplication
from ledger.organisations import OrgKind
from timebank.runtime import Runtime, eventsourcing_env
from timebank.sealing import (
    KeyStore,
    SealingMapper,
    load_master_key,
    registrations_in_plaintext,
)
from timebank.settings import Settings

SCENARIO = "8 sealing personal data"
ADMIN = Actor("bench", Role.ADMIN)
WARM_UP = 20  # registrations before the timed ones: connections opened, code paths run once
UNCACHED = ("AGGREGATE_CACHE_MAXSIZE", "AGGREGATE_CACHE_FASTFORWARD")
ROUNDS = 10  # the two sides take turns, so that what else the machine does falls on both
PASSES = ("cold key", "warm key")  # the sealed side's timed loads, each beside a plain pass


@dataclass(frozen=True)
class Side:
    """One mapper's figures: the registrations, and each timed pass of loads by name."""

    registrations: LoadResult
    loads: dict[str, LoadResult]


@dataclass(frozen=True)
class Sealing:
    sealed: Side
    plain: Side
    count: int  # volunteers registered and loaded on each side
    database: str


def _ctx() -> Context:
    return Context(ADMIN, f"bench-{uuid4().hex}", datetime.now(UTC))


def _combined(results: list[LoadResult]) -> LoadResult:
    """One result of several timed turns: their operations, over their summed time."""
    total = LoadResult()
    for result in results:
        total.elapsed += result.elapsed
        for kind, samples in result.latencies.items():
            total.latencies.setdefault(kind, []).extend(samples)
        total.errors.update(result.errors)
    return total


def _turns(count: int) -> list[range]:
    size = -(-count // ROUNDS)
    return [range(n, min(n + size, count)) for n in range(0, count, size)]


class _Registrar:
    """Registers volunteers in one store's home organisation, remembering their ids."""

    def __init__(self, service: LedgerService) -> None:
        self.service = service
        self.home = self._run(RegisterOrganisation("基准区", OrgKind.DISTRICT))
        self.ids: list[UUID] = []

    def _run(self, command: Command) -> UUID:
        return UUID(str(self.service.execute(_ctx(), command).body["id"]))

    def register(self, numbers: range) -> LoadResult:
        def one(_: None, n: int) -> int | None:
            self.ids.append(self._run(volunteer_registration(n, self.home)))
            return None

        result = run_ops(numbers, 1, one, no_state, lambda _: "register")
        if result.error_count:  # the loads take the volunteers by their place in `ids`
            raise RuntimeError(f"registrations failed: {dict(result.errors)}")
        return result


def _loads(app: TimebankApplication, ids: list[UUID]) -> LoadResult:
    def load(_: None, volunteer_id: UUID) -> int | None:
        app.repository.get(volunteer_id)
        return None

    return run_ops(ids, 1, load, no_state, lambda _: "load")


def _loader(env: dict[str, str]) -> TimebankApplication:
    """An application of the store without the aggregate cache, so that each load reads the
    volunteer's events from the store and decodes them."""
    return TimebankApplication(env={k: v for k, v in env.items() if k not in UNCACHED})


def _frozen_clock() -> float:
    return 0.0


@dataclass
class _Store:
    """One side: its registrations and its loader of volunteers."""

    registrar: _Registrar
    loader: TimebankApplication


def _sealed(stack: ExitStack, settings: Settings) -> tuple[_Store, Runtime]:
    rt = Runtime(settings)
    stack.callback(rt.close)
    loader = _loader(eventsourcing_env(settings))
    stack.callback(loader.close)
    return _Store(_Registrar(rt.service), loader), rt


def _plain(stack: ExitStack, settings: Settings) -> _Store:
    rt = Runtime(settings)  # brings the fresh store's schema up; its service is not used
    stack.callback(rt.close)
    # The library's own mapper: nothing sealed or opened.
    env = {k: v for k, v in eventsourcing_env(settings).items() if k != "MAPPER_TOPIC"}
    service = LedgerService(TimebankApplication(env=env), settings.rules, rt.service.pepper)
    stack.callback(service.close)
    loader = _loader(env)
    stack.callback(loader.close)
    return _Store(_Registrar(service), loader)


def _check_mappers(sealed: TimebankApplication, plain: TimebankApplication) -> None:
    """Each side wrote what it is compared as: otherwise the figures compare nothing."""
    if registrations_in_plaintext(sealed.mapper, sealed.recorder):
        raise RuntimeError("the sealed side stored its registrations in plaintext")
    if not registrations_in_plaintext(plain.mapper, plain.recorder):
        raise RuntimeError("the plain side stored its registrations sealed")


@contextmanager
def _scratch_store(store: BenchStore) -> Iterator[BenchStore]:
    scratch = create_sibling(store)
    try:
        yield scratch
    finally:
        drop_store(scratch)


def measure(
    store: BenchStore,
    settings_for: Callable[[BenchStore], Settings],
    count: int,
    say: Callable[[str], None],
) -> Sealing:
    """Registers and loads `count` volunteers with each mapper, each on a fresh store beside
    the run's (dropped afterwards), the two taking turns."""
    with ExitStack() as stack:
        sealed_settings = settings_for(stack.enter_context(_scratch_store(store)))
        sealed, rt = _sealed(stack, sealed_settings)
        plain = _plain(stack, settings_for(stack.enter_context(_scratch_store(store))))
        say(f"8 sealing: {count} registrations, sealed and plain, in {ROUNDS} turns each")
        sealed.registrar.register(range(WARM_UP))  # untimed: connections, code paths
        plain.registrar.register(range(WARM_UP))
        registered: dict[str, list[LoadResult]] = {"sealed": [], "plain": []}
        for numbers in _turns(count):
            timed = range(WARM_UP + numbers.start, WARM_UP + numbers.stop)
            registered["sealed"].append(sealed.registrar.register(timed))
            registered["plain"].append(plain.registrar.register(timed))
        _check_mappers(sealed.registrar.service.app, plain.registrar.service.app)
        say(f"8 sealing: loading each of the {count} volunteers, three times on each side")
        mapper = sealed.loader.mapper
        assert isinstance(mapper, SealingMapper)
        master_key = load_master_key(sealed_settings)
        # An untimed pass first, with keys of its own, so that every timed pass reads from
        # a store whose pages are in memory; then a key store nobody has read from (each
        # load unwraps its volunteer's key) and the same one again (every key in its
        # cache). Its clock stands still so that no key leaves the cache between the two.
        mapper.keys = KeyStore(rt.db, master_key)
        _loads(sealed.loader, sealed.registrar.ids)
        _loads(plain.loader, plain.registrar.ids)
        mapper.keys = KeyStore(rt.db, master_key, clock=_frozen_clock)
        loads: dict[tuple[str, str], list[LoadResult]] = {}
        for name in PASSES:
            for turn in _turns(count):
                ids = slice(WARM_UP + turn.start, WARM_UP + turn.stop)
                for mapper_name, scratch in (("sealed", sealed), ("plain", plain)):
                    result = _loads(scratch.loader, scratch.registrar.ids[ids])
                    loads.setdefault((mapper_name, name), []).append(result)

    def side(name: str) -> Side:
        passes = {p: _combined(loads[name, p]) for p in PASSES}
        return Side(_combined(registered[name]), passes)

    database = "SQLite" if store.is_sqlite else "PostgreSQL"
    return Sealing(side("sealed"), side("plain"), count, database)


def _p50_us(result: LoadResult) -> float:
    return (summarise(result.all_latencies()).p50_ms or 0.0) * 1000


def _latencies(report: Report, name: str, sealed: LoadResult, plain: LoadResult) -> None:
    mine, theirs = summarise(sealed.all_latencies()), summarise(plain.all_latencies())
    for label, value, reference in (
        ("p50", mine.p50_ms, theirs.p50_ms),
        ("p99", mine.p99_ms, theirs.p99_ms),
    ):
        report.add(
            Figure(
                SCENARIO,
                f"{name} {label}",
                value,
                "ms",
                (Reference(f"plain mapper {label}", reference, "ms"),),
            )
        )


def report(report: Report, sealing: Sealing) -> None:
    """Each figure beside the plain mapper's in the same turns; what sealing adds to one
    operation is the difference of the medians, which the disk's slow commits move least."""
    add = report.add
    sealed, plain = sealing.sealed, sealing.plain
    plain_registration = _p50_us(plain.registrations)
    per_registration = _p50_us(sealed.registrations) - plain_registration
    per_load = {name: _p50_us(r) - _p50_us(plain.loads[name]) for name, r in sealed.loads.items()}
    share = per_registration / plain_registration * 100 if plain_registration else 0.0
    add(
        Figure(
            SCENARIO,
            "registrations, sealed",
            sealed.registrations.rate,
            "registrations/s",
            (Reference("plain mapper", plain.registrations.rate, "registrations/s"),),
            note=(
                f"{sealing.count:,} registrations through LedgerService.execute one at a time "
                f"(after {WARM_UP} untimed), each mapper on a fresh {sealing.database} store of "
                f"its own, the two taking {ROUNDS} turns; then each volunteer loaded one at a "
                "time with no aggregate cache, in turns too"
            ),
        )
    )
    _latencies(report, "registration", sealed.registrations, plain.registrations)
    add(
        Figure(
            SCENARIO,
            "sealing per registration (p50)",
            per_registration,
            "µs",
            (Reference("a plain registration p50", plain_registration, "µs"),),
            note=(
                f"sealing adds {per_registration:,.0f} µs to a registration ({share:,.0f}%: a "
                "data key made, wrapped and stored in a transaction of its own, four fields "
                f"sealed) and {per_load['cold key']:,.0f} µs to loading a volunteer whose key "
                f"is not in memory, {per_load['warm key']:,.0f} µs once it is (medians)"
            ),
        )
    )
    for name, result in sealed.loads.items():
        beside = plain.loads[name]
        add(
            Figure(
                SCENARIO,
                f"volunteer loads, {name}",
                result.rate,
                "loads/s",
                (Reference("plain mapper", beside.rate, "loads/s"),),
            )
        )
        _latencies(report, f"load, {name},", result, beside)
        add(
            Figure(
                SCENARIO,
                f"opening per load, {name} (p50)",
                per_load[name],
                "µs",
                (Reference("a plain load p50", _p50_us(beside), "µs"),),
            )
        )
