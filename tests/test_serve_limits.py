"""`helsegraf serve` bounds the request head and times out requests that do not arrive: raw sockets."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import httpx
import pytest

from conftest import running_server

ENV = {"HELSEGRAF_REQUEST_TIMEOUT_S": "2", "HELSEGRAF_MAX_HEADER_BYTES": "8192", "HELSEGRAF_MAX_HEADERS": "50"}


@pytest.fixture(scope="module")
def server(sqlite_nation):
    with running_server(sqlite_nation.settings, env=ENV) as running:
        yield running


def _connect(server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _answer(sock: socket.socket) -> tuple[int | None, bytes]:
    """Read until the server closes; return the status (None when it closed without answering) and the bytes."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    return status, data


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


HEAD = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def test_a_head_over_the_size_limit_is_431(server) -> None:
    with _connect(server) as sock:
        sock.sendall(HEAD + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        status, data = _answer(sock)
    assert status == 431
    assert b"8192 bytes" in data


def test_an_unfinished_huge_header_is_refused_as_it_arrives(server) -> None:
    """16 clients each start a 4 MB header and never finish it: refused, and the worker does not grow."""
    before = _rss_kb(server.process.pid)
    sockets = [_connect(server) for _ in range(16)]
    statuses = []
    for sock in sockets:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused (and closed) while sending
            sock.sendall(HEAD + b"X-Big: " + b"a" * 4_000_000)
    for sock in sockets:
        statuses.append(_answer(sock)[0])
        sock.close()
    grown_mb = (_rss_kb(server.process.pid) - before) / 1024

    assert set(statuses) <= {431, None}
    assert 431 in statuses
    assert grown_mb < 30, f"the worker grew by {grown_mb:.0f} MB"


def test_too_many_header_lines_is_431(server) -> None:
    with _connect(server) as sock:
        sock.sendall(HEAD + b"".join(b"X-H%d: v\r\n" % i for i in range(60)) + b"\r\n")
        status, data = _answer(sock)
    assert status == 431
    assert b"50 header lines" in data


def test_a_head_just_under_the_limits_is_served(server) -> None:
    headers = {"x-pad": "a" * 7000, **{f"x-h{i}": "v" for i in range(40)}}
    response = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"}, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Half", id="half a head"),
        pytest.param(HEAD + b'Content-Length: 100\r\n\r\n{"query"', id="half a body"),
    ],
)
def test_a_request_that_does_not_arrive_is_timed_out(server, sent: bytes) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        status, _ = _answer(sock)
        waited = time.monotonic() - started
    assert status in {408, None}
    if sent:
        assert status == 408
    assert 1.5 <= waited < 5, f"closed after {waited:.1f} s (deadline 2 s)"


def test_a_slow_drip_is_timed_out_whole(server) -> None:
    """The deadline is for the whole request: a byte every half second does not keep it open."""
    with _connect(server) as sock:
        started = time.monotonic()
        status = None
        for byte in HEAD:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.25)
            if time.monotonic() - started > 6:
                break
        status, _ = _answer(sock)
        waited = time.monotonic() - started
    assert status == 408
    assert waited < 5


def test_health_answers_while_connections_stall(server) -> None:
    stalled = [_connect(server) for _ in range(20)]
    for sock in stalled:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    health = httpx.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 200
    assert time.monotonic() - started < 1
    for sock in stalled:
        sock.close()


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        pytest.param(HEAD + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431, id="head too big"),
        pytest.param(HEAD + b"".join(b"X-%d: y\r\n" % i for i in range(60)) + b"\r\n", 431, id="too many headers"),
        pytest.param(b"GARBAGE\r\n\r\n", 400, id="not HTTP"),
        pytest.param(HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, id="two lengths"),
        pytest.param(HEAD + b"Content-Length: 100\r\n\r\n{", 408, id="body never finished"),
    ],
)
def test_every_refusal_of_the_server_itself_is_json_with_a_request_id(server, sent: bytes, status: int) -> None:
    with _connect(server) as sock:
        sock.sendall(sent)
        got, data = _answer(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])

    assert got == status
    assert headers[b"content-type"] == b"application/json"
    request_id = headers[b"x-request-id"].decode()
    error = httpx.Response(status, content=body).json()["errors"][0]
    assert error["extensions"]["requestId"] == request_id
    assert len(request_id) == 32
