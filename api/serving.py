"""How the API is served: uvicorn's configuration, and its HTTP protocol with deadlines.

uvicorn closes a connection that idles between requests (`timeout_keep_alive`), but not one
that opens and sends nothing, nor one that sends a request slowly, a header at a time or a
body a byte a minute (slowloris): each would hold a connection and a slot forever. The
protocol here gives each request's line and headers `header_timeout` seconds from their first
byte (or from the connection's opening), and its body `body_timeout` seconds between two of
its parts; past either it answers 408 and closes. A request whose line and headers outgrow
MAX_HEAD_BYTES is answered 431."""

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from timebank.settings import Settings

MAX_HEAD_BYTES = 32 * 1024


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration with the deadlines of DeadlineProtocol (it travels to worker
    processes whole, so they keep to the same)."""

    def __init__(
        self, app: Any, header_timeout: float, body_timeout: float, **options: Any
    ) -> None:
        super().__init__(app, http=DeadlineProtocol, **options)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout


class DeadlineProtocol(HttpToolsProtocol):
    def __init__(self, config: ServerConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout = config.header_timeout
        self.body_timeout = config.body_timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = 0  # None once the head is complete
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still in the head after this data (a head that ends in it, body and all, is fine).
        head = self._head_bytes
        if head is not None and head > MAX_HEAD_BYTES and not self.transport.is_closing():
            self._refuse(b"431 Request Header Fields Too Large", b"request head too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._disarm()
        super().on_headers_complete()
        if not self.transport.is_closing():
            self._arm(self.body_timeout)

    def on_body(self, body: bytes) -> None:
        self._arm(self.body_timeout)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._head_bytes = 0  # the next request's head, if any, comes next
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the app is answering what it has; nothing more will come
            return
        self._refuse(b"408 Request Timeout", b"the request took too long to arrive")

    def _refuse(self, status: bytes, message: bytes) -> None:
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: "
            + str(len(message)).encode()
            + b"\r\nconnection: close\r\n\r\n"
            + message
        )
        self.transport.close()
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()


def server_config(
    app: Any, settings: Settings, host: str, port: int, **options: Any
) -> ServerConfig:
    """uvicorn's configuration for the app (an app, or an import string with factory=True)."""
    return ServerConfig(
        app,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        host=host,
        port=port,
        timeout_keep_alive=settings.keep_alive_seconds,
        log_config=None,
        access_log=False,
        **options,
    )
