"""A throwaway PostgreSQL 15 cluster of a test module's own, to stop, crash, restart and
freeze without touching the shared server everyone else's tests use.

    from tests.pg_cluster import pg_cluster  # noqa: F401  (the fixture, module scoped)

    def test_something(pg_cluster: PgCluster) -> None:
        url = pg_cluster.create_database("timebank_x")  # postgresql://postgres@127.0.0.1:P/...
        ...
        pg_cluster.stop("immediate")  # a crash: the next start runs WAL recovery
        pg_cluster.start()
        pg_cluster.pause()  # every process of the cluster SIGSTOPped: connections hang
        pg_cluster.resume()

The handle (`PgCluster`):

- `url(dbname="postgres")`: a libpq URL of a database on the cluster (trust auth, superuser
  `postgres`, 127.0.0.1 and the cluster's own port).
- `create_database(name)`: creates it; returns its `url`.
- `stop(mode="fast")`: `pg_ctl stop -m fast|immediate`, waiting until the server is gone; fast
  rolls back open transactions and checkpoints, immediate is a crash (no checkpoint).
- `start()`: starts it again (same port, same data), waiting until it accepts connections.
- `restart(mode="fast")`: `stop(mode)` then `start()`.
- `pause()` / `resume()`: SIGSTOP / SIGCONT every process of the cluster (the postmaster
  first, so it forks no new backend meanwhile): a database that accepts TCP connections in
  the kernel's backlog but answers nothing, as a hung host does. `stop` resumes first.
- `running`, `paused`, `port`, `data_dir`, `log()` (the server's log so far).

The cluster is made by `initdb` in a fresh directory under the system temp directory (as
root, initdb and pg_ctl run as the `postgres` user, which owns the directory), listens on a
free port on 127.0.0.1 only, with its socket in that directory, `fsync` and
`synchronous_commit` on (durability is what the fault tests check) and a small
`shared_buffers`. It starts in 2-3 s. The fixture stops it (immediately) and removes the
directory even when a test fails. A test process killed outright cannot: the next cluster
made on this machine stops and removes those whose test process is gone (each directory
names its owner's pid in `owner.pid`).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import psycopg
import pytest

BIN = Path(os.environ.get("TIMEBANK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"  # the user the cluster runs as when the tests run as root
StopMode = Literal["fast", "immediate"]

CONFIG = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 200
shared_buffers = 32MB
fsync = on
synchronous_commit = on
full_page_writes = on
log_min_messages = warning
log_connections = off
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


class PgCluster:
    """One PostgreSQL cluster in a directory of its own; see the module's docstring."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.log_file = root / "server.log"
        self.port = 0
        self.paused = False
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            self._as_owner = ["runuser", "-u", OWNER, "--"]
            shutil.chown(root, OWNER, OWNER)
        root.chmod(0o700)

    # Life ------------------------------------------------------------------------------

    def init(self) -> None:
        """initdb (without its final sync to disk: only the server's own writes are under
        test) and the configuration."""
        self._run(
            BIN / "initdb",
            "-D",
            str(self.data_dir),
            "--auth=trust",
            f"--username={OWNER}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.port = _free_port()
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(CONFIG.format(port=self.port, socket_dir=self.root))

    def start(self) -> None:
        """Starts the server and waits until it accepts connections (up to 60 s: a start
        after an immediate stop first replays the WAL)."""
        self._run(
            BIN / "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
            "-t", "60",
        )  # fmt: skip
        self.paused = False

    def stop(self, mode: StopMode = "fast") -> None:
        """Stops the server (`fast`: a clean shutdown; `immediate`: a crash) and waits until
        every process of it has exited. A paused cluster is resumed first."""
        if self.paused:
            self.resume()
        if not self.running:
            return
        self._run(BIN / "pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60")

    def restart(self, mode: StopMode = "fast") -> None:
        self.stop(mode)
        self.start()

    def pause(self) -> None:
        """SIGSTOPs the postmaster, then every process it forked."""
        postmaster = self._postmaster_pid()
        if postmaster is None:
            raise RuntimeError("the cluster is not running")
        os.kill(postmaster, signal.SIGSTOP)
        self.paused = True
        for pid in _children(postmaster):
            _signal(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONTs every process of the cluster, the postmaster last."""
        postmaster = self._postmaster_pid()
        if postmaster is not None:
            for pid in _children(postmaster):
                _signal(pid, signal.SIGCONT)
            _signal(postmaster, signal.SIGCONT)
        self.paused = False

    def destroy(self) -> None:
        """Stops it (immediately) whatever its state, and removes its directory."""
        try:
            self.stop("immediate")
        except Exception:
            postmaster = self._postmaster_pid()
            if postmaster is not None:
                _signal(postmaster, signal.SIGCONT)
                _signal(postmaster, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    # Use -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        postmaster = self._postmaster_pid()
        return postmaster is not None and Path(f"/proc/{postmaster}").exists()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{OWNER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # Inside ----------------------------------------------------------------------------

    def _postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except (FileNotFoundError, PermissionError):
            return None
        return int(first) if first.strip().isdigit() else None

    def _run(self, *command: str | Path) -> None:
        done = subprocess.run(
            [*self._as_owner, *map(str, command)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}\n{self.log()[-4000:]}"
            )


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


PREFIX = "timebank-pg-"


def reap_orphans() -> None:
    """Stops and removes the clusters left by test processes that no longer exist."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((root / "owner.pid").read_text())
        except (FileNotFoundError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            PgCluster(root).destroy()


def start_cluster() -> PgCluster:
    """A new cluster, started; its port is chosen again if another process took it."""
    if not (BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL binaries in {BIN}")
    reap_orphans()
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / "owner.pid").write_text(str(os.getpid()))
    cluster = PgCluster(root)
    try:
        cluster.init()
        for attempt in range(3):
            try:
                cluster.start()
                break
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in cluster.log():
                    raise
                cluster.port = _free_port()
                with (cluster.data_dir / "postgresql.auto.conf").open("a") as conf:
                    conf.write(f"port = {cluster.port}\n")
        deadline = time.monotonic() + 10
        while True:  # pg_ctl -w has seen it up; make sure TCP answers too
            try:
                psycopg.connect(cluster.url(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    except BaseException:
        cluster.destroy()
        raise
    return cluster


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """One private cluster for the module; gone afterwards, whatever happened."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()
