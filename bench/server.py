"""The real API as deployed: `timebank serve` in a process of its own, on a free port, so
that its memory is its own and its CPU is not shared with the bench's clients' interpreter."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.database import BenchStore


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


class Server:
    def __init__(self, store: BenchStore, log_path: Path) -> None:
        self.store = store
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
        env.update(
            TIMEBANK_DATABASE_URL=self.store.url,
            TIMEBANK_HOST="127.0.0.1",
            TIMEBANK_PORT=str(self.port),
        )
        command = [sys.executable, "-m", "timebank.cli", "serve"]
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
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not become ready; see {self.log_path}")
            time.sleep(0.1)

    def rss_mb(self) -> float | None:
        kb = status_kb(self.pid, "VmRSS")
        return None if kb is None else kb / 1024

    def peak_rss_mb(self) -> float | None:
        kb = status_kb(self.pid, "VmHWM")
        return None if kb is None else kb / 1024

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
