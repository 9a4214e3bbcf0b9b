"""Concurrent clients: threads that start together and time each operation they run."""

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ledger.errors import DomainError

S = TypeVar("S")
T = TypeVar("T")


class RequestFailed(Exception):
    """An operation that got an answer other than success (e.g. an HTTP error status)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_code(error: Exception) -> str:
    if isinstance(error, DomainError | RequestFailed):
        return error.code
    return type(error).__name__


@dataclass
class LoadResult:
    elapsed: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)  # per kind, successes
    errors: Counter[str] = field(default_factory=Counter)  # "kind: code" -> count
    acks: list[tuple[float, int]] = field(default_factory=list)  # (perf_counter, log position)

    @property
    def ok(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def all_latencies(self) -> list[float]:
        return [s for samples in self.latencies.values() for s in samples]

    def merge(self, kind: str, seconds: float, position: int | None, done_at: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if position is not None:
            self.acks.append((done_at, position))


# An operation runs with its client's state and returns the log position it was
# acknowledged at, if it has one.
Operation = Callable[[S, T], int | None]


def run_ops(
    ops: Sequence[T],
    clients: int,
    do: Operation[S, T],
    client: Callable[[], S],
    kind: Callable[[T], str],
    close: Callable[[S], None] | None = None,
) -> LoadResult:
    """Runs every op once across `clients` threads, in order of the sequence; each thread
    gets its own client state."""
    result = LoadResult()
    lock = threading.Lock()
    next_index = [0]
    barrier = threading.Barrier(clients + 1)

    def take() -> T | None:
        with lock:
            i = next_index[0]
            if i >= len(ops):
                return None
            next_index[0] = i + 1
        return ops[i]

    def worker() -> None:
        try:
            state = client()
        except BaseException:
            barrier.abort()
            raise
        local = LoadResult()
        try:
            barrier.wait()
            while (op := take()) is not None:
                started = time.perf_counter()
                try:
                    position = do(state, op)
                except Exception as e:
                    local.errors[f"{kind(op)}: {error_code(e)}"] += 1
                    continue
                done = time.perf_counter()
                local.merge(kind(op), done - started, position, done)
        finally:
            if close is not None:
                close(state)
            with lock:
                for k, samples in local.latencies.items():
                    result.latencies.setdefault(k, []).extend(samples)
                result.errors.update(local.errors)
                result.acks.extend(local.acks)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result


def run_for(
    seconds: float,
    clients: int,
    do: Callable[[S], None],
    client: Callable[[], S],
    close: Callable[[S], None] | None = None,
    kind: str = "op",
) -> LoadResult:
    """Each of `clients` threads repeats `do` until `seconds` have passed."""
    result = LoadResult()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    deadline = [float("inf")]

    def worker() -> None:
        try:
            state = client()
        except BaseException:
            barrier.abort()
            raise
        samples: list[float] = []
        errors: Counter[str] = Counter()
        try:
            barrier.wait()
            while (started := time.perf_counter()) < deadline[0]:
                try:
                    do(state)
                except Exception as e:
                    errors[f"{kind}: {error_code(e)}"] += 1
                    continue
                samples.append(time.perf_counter() - started)
        finally:
            if close is not None:
                close(state)
            with lock:
                result.latencies.setdefault(kind, []).extend(samples)
                result.errors.update(errors)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    deadline[0] = started + seconds
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result


def no_state() -> None:
    return None
