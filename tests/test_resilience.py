"""Resilience: a database outage is answered with SERVICE_UNAVAILABLE and survived; shutdown finishes in-flight work."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from dataclasses import replace

import h11
import httpx
import orjson
import pytest

from conftest import db_rows, free_port, running_server
from helsegraf.config import HttpSettings

PUBLIC = {"query": "{ gpContracts(first: 3) { totalCount edges { node { id office { name } } } } }"}


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut (an outage) and restored, on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.sockets: list[socket.socket] = []
        self.server: socket.socket | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def stop(self) -> None:
        """Cut every connection and stop listening: to the app, the database is gone."""
        if self.server is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept(): close() alone does not
                self.server.shutdown(socket.SHUT_RDWR)
            self.server.close()
            self.server = None
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()


@pytest.fixture
def proxied(postgres_nation):
    """The PostgreSQL nation, reached through a proxy that the test can cut."""
    url = postgres_nation.settings.effective_database_url
    host_port, database = url.split("@", 1)[1].split("/", 1)
    host, port = host_port.split(":") if ":" in host_port else (host_port, "5432")
    proxy = Proxy((host, int(port)))
    proxy.start()
    settings = replace(
        postgres_nation.settings, database_url=f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"
    )
    yield proxy, settings
    proxy.stop()


def _until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


@pytest.mark.postgres
def test_a_database_outage_is_survived_and_recovered_from(proxied) -> None:
    proxy, settings = proxied

    with running_server(settings, env={"HELSEGRAF_POOL_TIMEOUT_S": "1"}) as server:
        url = server.url
        before = httpx.post(f"{url}/graphql", json=PUBLIC, timeout=10)
        proxy.stop()
        during = httpx.post(f"{url}/graphql", json=PUBLIC, timeout=10)
        ready_during = httpx.get(f"{url}/readyz", timeout=10)
        alive_during = httpx.get(f"{url}/healthz", timeout=10)
        proxy.start()
        recovered = _until(lambda: httpx.post(f"{url}/graphql", json=PUBLIC, timeout=10).status_code == 200, 30)
        after = httpx.post(f"{url}/graphql", json=PUBLIC, timeout=10)
        ready_after = httpx.get(f"{url}/readyz", timeout=10)

    assert before.status_code == 200
    assert before.json()["data"]["gpContracts"]["totalCount"] > 0
    assert during.status_code == 503
    [error] = during.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "unavailable" in error["message"]
    assert "Traceback" not in during.text
    assert "psycopg" not in during.text
    assert ready_during.status_code == 503
    assert alive_during.status_code == 200
    assert recovered, "the server did not answer again after the database came back"
    assert after.json() == before.json()
    assert ready_after.status_code == 200


@pytest.mark.postgres
async def test_the_server_starts_with_its_database_down(make_graph) -> None:
    graph = await make_graph(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
                             http=HttpSettings(pool_timeout_s=1.0))  # fmt: skip

    ready = await graph.client.get("/readyz")
    started = time.monotonic()
    response = await graph.post(PUBLIC["query"])

    assert ready.status_code == 503
    assert set(ready.json()["stores"].values()) == {"down"}
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert time.monotonic() - started < 10


def test_shutdown_finishes_requests_in_flight(sqlite_nation) -> None:
    """SIGTERM while a request is being served: the request is answered in full, new connections are refused.

    The request is held in flight deterministically: its body is sent all but its last byte, so the server has
    accepted it and waits for the rest; the signal comes, and only then is the last byte sent.
    """
    nins = [r.nin for r in db_rows(sqlite_nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 1000")]
    document = "query($n: [ID!]!) { persons(nins: $n) { nin gp { contract { office { name } } } } }"
    body = orjson.dumps({"query": document, "variables": {"n": nins}})

    with running_server(sqlite_nation.settings, env={"HELSEGRAF_MAX_COST": "10000000"}) as server:
        host, port = server.url.removeprefix("http://").split(":")
        client = h11.Connection(our_role=h11.CLIENT)
        request = h11.Request(method="POST", target="/graphql", headers=[
            ("Host", host), ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("Connection", "close")])  # fmt: skip
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(client.send(request) + client.send(h11.Data(data=body[:-1])))
            time.sleep(0.5)  # the server accepts the connection and waits for the body's last byte
            server.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _accepts(host, int(port)):
                time.sleep(0.05)
            refused_while_in_flight = not _accepts(host, int(port))
            connection.sendall(client.send(h11.Data(data=body[-1:])) + client.send(h11.EndOfMessage()))
            response, content = _read_response(client, connection)
        exit_code = server.process.wait(timeout=30)

    assert refused_while_in_flight, "the server kept accepting connections after SIGTERM"
    assert response.status_code == 200
    persons = orjson.loads(content)["data"]["persons"]
    assert [p["nin"] for p in persons] == nins
    # uvicorn finishes in-flight requests, then re-raises the signal it caught, so the exit reports SIGTERM.
    assert exit_code in {0, -signal.SIGTERM}


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _read_response(client: h11.Connection, connection: socket.socket) -> tuple[h11.Response, bytes]:
    response: h11.Response | None = None
    content = b""
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            client.receive_data(connection.recv(65536))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            content += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            assert response is not None, "the connection closed before a response came"
            return response, content
