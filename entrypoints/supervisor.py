"""uvicorn's supervisor of the HTTP worker processes of `serve --workers N`, which also says
when a worker has ended (died and been replaced, retired by a restart or a scale-down, or
stopped with the rest), so that the metrics drop what described it alone."""

from collections.abc import Callable
from socket import socket

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess


class WorkerSupervisor(Multiprocess):
    def __init__(self, config: Config, sockets: list[socket], on_exit: Callable[[int], None]):
        super().__init__(config, sockets)
        self._on_exit = on_exit

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._ended(self._pids())

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._ended(before - self._pids())

    def handle_signals(self) -> None:
        before = self._pids()
        super().handle_signals()
        self._ended(before - self._pids())

    def _pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.pid is not None}

    def _ended(self, pids: set[int]) -> None:
        for pid in pids:
            self._on_exit(pid)
