"""The real API as deployed: `timebank serve` in a process of its own, on a free port, so
that its memory is its own and its CPU is not shared with the bench's clients' interpreter.
On PostgreSQL it runs WORKERS HTTP worker processes beside the serving process, which runs
the projections and the sweeper; on SQLite, one process does it all."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.database import BenchStore

# HTTP worker processes on PostgreSQL. Measured on the 2-core machine: one worker beside the
# projections' process beats all in one process, and two workers, whose commands conflict
# across processes and cost more each, lose to one.
WORKERS = 1


def default_workers(is_sqlite: bool) -> int:
    return 0 if is_sqlite else WORKERS


def layout(workers: int) -> str:
    """How `timebank serve --workers` lays the API out, in words."""
    if not workers:
        return "one process serves HTTP and runs the projections"
    processes = "process" if workers == 1 else "processes"
    return f"{workers} HTTP worker {processes} beside the process that runs the projections"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int, field: str) -> int | None:
    """A memory figure of a live process from /proc (Linux): VmRSS now, VmHWM its peak."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def worker_pids(pid: int) -> list[int]:
    """The HTTP worker processes that uvicorn's supervisor `pid` has started (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += map(int, (task / "children").read_text().split())
    workers = []
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:  # not multiprocessing's resource tracker
            workers.append(child)
    return workers


class Server:
    def __init__(self, store: BenchStore, log_path: Path, workers: int | None = None) -> None:
        self.store = store
        self.workers = default_workers(store.is_sqlite) if workers is None else workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60) -> None:
        env = dict(os.environ)
        env.pop("TIMEBANK_ID_PEPPER_FILE", None)  # the run's own pepper and master key instead
        env.pop("TIMEBANK_MASTER_KEY_FILE", None)
        env.pop("TIMEBANK_SIGNING_KEY_FILE", None)
        if self.store.master_key_file:
            env["TIMEBANK_MASTER_KEY_FILE"] = self.store.master_key_file
        if self.store.signing_key_file:
            env["TIMEBANK_SIGNING_KEY_FILE"] = self.store.signing_key_file
        env.update(
            TIMEBANK_DATABASE_URL=self.store.url,
            TIMEBANK_ID_PEPPER=self.store.pepper,
            TIMEBANK_HOST="127.0.0.1",
            TIMEBANK_PORT=str(self.port),
        )
        command = [sys.executable, "-m", "entrypoints.cli", "serve", "--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_ready(self.process, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, process: "subprocess.Popen[bytes]", timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API server exited at start; see {self.log_path}")
            try:
                ready = httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200
                if ready and len(self.api_pids()) == max(self.workers, 1):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not become ready; see {self.log_path}")
            time.sleep(0.1)

    def api_pids(self) -> list[int]:
        """The processes that serve HTTP: the workers, or the server itself without them."""
        return worker_pids(self.pid) if self.workers else [self.pid]

    def _largest_mb(self, field: str) -> float | None:
        sizes = [kb for pid in self.api_pids() if (kb := status_kb(pid, field)) is not None]
        return max(sizes) / 1024 if sizes else None

    def rss_mb(self) -> float | None:
        """The resident set of the largest API process now."""
        return self._largest_mb("VmRSS")

    def peak_rss_mb(self) -> float | None:
        """The largest peak resident set of an API process."""
        return self._largest_mb("VmHWM")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
