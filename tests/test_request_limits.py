"""What a request may cost the server before it is refused, tried over raw sockets as an
attacker would send them: bodies beyond the limit (announced or chunked), bodies from
strangers (refused unread), connections that send nothing, heads and bodies that trickle in,
heads too large, and idempotency keys of no use."""

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from ledger.context import Role
from tests.conftest import make_settings
from tests.http import Town, serve
from timebank.runtime import Runtime

LIMIT = 8 * 1024
SECONDS = 1.0  # the header and body deadlines of these tests


@pytest.fixture
def tight(database_url: str) -> Iterator[Town]:
    """A town served with small limits and short deadlines."""
    rt = Runtime(
        make_settings(
            database_url,
            max_body_bytes=LIMIT,
            header_timeout_seconds=SECONDS,
            body_timeout_seconds=SECONDS,
            keep_alive_seconds=1,
        )
    )
    rt.start()
    try:
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


def connect(town: Town) -> socket.socket:
    host, port = town.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and whatever else the server sends until it closes the connection (or
    pauses for long)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
        if b"\r\n\r\n" in data and _complete(data):
            break
    status = int(data.split(b" ", 2)[1]) if data else 0
    return status, data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def head(path: str, token: str | None, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def token(town: Town) -> str:
    return town.rt.tokens.create(Role.ADMIN, f"limits-{time.monotonic_ns()}")


def problem_code(data: bytes) -> str:
    code: str = json.loads(data.partition(b"\r\n\r\n")[2])["code"]
    return code


def test_a_body_beyond_the_limit_is_refused_before_it_is_read(tight: Town) -> None:
    with connect(tight) as sock:  # announced: refused without waiting for a byte of it
        sock.sendall(head("/v1/organisations", token(tight), Content_Length=str(50 * 2**20)))
        started = time.monotonic()
        status, data = answer(sock)
        assert status == 413 and problem_code(data) == "body-too-large", data[:300]
        assert time.monotonic() - started < SECONDS
    big = {"name": "x" * LIMIT, "kind": "district"}
    r = tight.admin.post("/v1/organisations", big)
    assert r.status_code == 413 and r.json()["code"] == "body-too-large", r.text

    with connect(tight) as sock:  # not announced: counted as it arrives
        sock.sendall(head("/v1/organisations", token(tight), Transfer_Encoding="chunked"))
        chunk = b"x" * 4096
        for _ in range(4):
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        status, data = answer(sock)
        assert status == 413, data[:300]


def test_a_stranger_is_refused_before_the_body_is_read(tight: Town) -> None:
    for who in (None, "tb_not-a-token"):
        with connect(tight) as sock:
            sock.sendall(head("/v1/organisations", who, Content_Length=str(LIMIT - 1)))
            started = time.monotonic()
            status, data = answer(sock)  # nothing of the body was sent
            assert status == 401, data[:300]
            assert problem_code(data) == ("unauthenticated" if who is None else "invalid-token")
            assert time.monotonic() - started < SECONDS


def test_slow_or_silent_clients_lose_their_connection(tight: Town) -> None:
    with connect(tight) as sock:  # sends nothing at all
        started = time.monotonic()
        status, _ = answer(sock)
        assert status == 408 and SECONDS * 0.8 < time.monotonic() - started < SECONDS * 4

    with connect(tight) as sock:  # a request line and one header, then nothing
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        started = time.monotonic()
        status, _ = answer(sock)
        assert status == 408 and time.monotonic() - started < SECONDS * 4

    with connect(tight) as sock:  # a trickle that would never end: one byte at a time
        started = time.monotonic()
        try:
            for byte in b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 1000:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass  # closed under the sender
        assert time.monotonic() - started < SECONDS * 6

    with connect(tight) as sock:  # half a body, then nothing
        sock.sendall(head("/v1/organisations", token(tight), Content_Length="100") + b'{"na')
        started = time.monotonic()
        status, data = answer(sock)
        assert status == 408, data[:300]
        assert time.monotonic() - started < SECONDS * 4


def test_an_idle_connection_is_closed_after_its_answer(tight: Town) -> None:
    with connect(tight) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        status, _ = answer(sock)
        assert status == 200
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server: keep-alive ran out
        assert time.monotonic() - started < 4


def test_a_head_too_large_is_refused(tight: Town) -> None:
    with connect(tight) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 40_000)
        status, _ = answer(sock)
        assert status == 431


@pytest.mark.parametrize("key", ["", "x" * 201, "密钥", "a b", "tab\tkey"])
def test_idempotency_keys_are_short_visible_ascii(town: Town, key: str) -> None:
    r = httpx.post(
        town.base_url + "/v1/organisations",
        json={"name": "新区", "kind": "district"},
        headers=[*town.admin.client.headers.raw, (b"Idempotency-Key", key.encode())],
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "urn:timebank:problem:invalid-idempotency-key"
    assert r.json()["errors"][0]["location"] == ["header", "Idempotency-Key"]
