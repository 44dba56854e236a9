"""Hive Gateway: 401 for bad tokens, a named unavailable register, no identity number in its log, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import free_port
from helsegraf.authz.tokens import DEV_AUDIENCE, DEV_ISSUER, AuthSettings, dev_key, mint
from helsegraf.federation import running
from test_federation import require_node

QUERY = "query($nin: ID!) { person(nin: $nin) { nin name { full } gp { gpHerId } } }"


def _dev_token(home: Path, key=None, **claims) -> str:
    now = int(time.time())
    payload = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "tester", "iat": now, "nbf": now, "exp": now + 600,
               "scope": "preg:identity flr:read", **claims}  # fmt: skip
    signing = key or dev_key(home)
    kid = jwt.get_unverified_header(mint(home, role="admin"))["kid"]
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, signing, algorithm="ES256",
                      headers={"kid": kid})  # fmt: skip


@pytest.fixture(scope="module")
def federation(sqlite_nation, tmp_path_factory):
    """The federated layout on the SQLite nation, with its processes."""
    require_node()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    work = tmp_path_factory.mktemp("federation") / "work"
    with running(sqlite_nation.settings, work=work, gateway_port=free_port(), base_port=0,
                 started=processes) as url:  # fmt: skip
        yield url, processes, work


def test_the_gateway_refuses_every_bad_token_with_401(federation, sqlite_nation, tmp_path) -> None:
    url, _processes, _work = federation
    home = sqlite_nation.settings.home
    stranger = ec.generate_private_key(ec.SECP256R1())
    bad = {
        "expired": _dev_token(home, exp=int(time.time()) - 3600),
        "not yet valid": _dev_token(home, nbf=int(time.time()) + 3600),
        "wrong audience": _dev_token(home, aud="someone-else"),
        "wrong issuer": _dev_token(home, iss="https://evil.example"),
        "missing subject": _dev_token(home, sub=None),
        "signed by another key": _dev_token(home, key=stranger),
        "from another HELSEGRAF_HOME": mint(tmp_path / "other-home", role="admin"),
        "HS256": jwt.encode(
            {"sub": "x", "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "exp": int(time.time()) + 60},
            "a-secret-long-enough-for-hmac-sha256-keys",
            algorithm="HS256",
        ),
        "garbage": "this.is.garbage",
        "not bearer": None,
    }
    variables = {"nin": sqlite_nation.samples["personWithGp"]}
    answers = {}

    with httpx.Client(timeout=30) as client:
        for kind, bearer in bad.items():
            header = "Basic dXNlcjpwYXNz" if bearer is None else f"Bearer {bearer}"
            headers = {"authorization": header, "x-request-id": f"bad-{len(answers)}"}
            answers[kind] = client.post(url, json={"query": QUERY, "variables": variables}, headers=headers)
        good = client.post(url, json={"query": QUERY, "variables": variables},
                           headers={"authorization": f"Bearer {mint(home, role='admin')}"})  # fmt: skip
        anonymous = client.post(url, json={"query": QUERY, "variables": variables})

    wrong = {kind: (r.status_code, r.text[:200]) for kind, r in answers.items() if r.status_code != 401}
    assert not wrong, wrong
    for response in answers.values():
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["x-request-id"].startswith("bad-")
    assert "is unknown: the gateway knows the keys of" in answers["from another HELSEGRAF_HOME"].text
    assert answers["expired"].json()["errors"][0]["message"] == "the token has expired"
    assert good.status_code == 200
    assert good.json()["data"]["person"]["name"]["full"]
    assert anonymous.status_code == 200
    assert anonymous.json()["data"]["person"]["name"] is None


def test_an_unavailable_register_is_named_and_no_identity_number_is_logged(federation, sqlite_nation) -> None:
    url, processes, work = federation
    nin = sqlite_nation.samples["personWithGp"]
    bearer = mint(sqlite_nation.settings.home, role="admin")
    flr = processes["flr"]
    os.killpg(flr.pid, signal.SIGKILL)
    flr.wait()

    with httpx.Client(timeout=30) as client:
        answers = [client.post(url, json={"query": QUERY, "variables": {"nin": nin}},
                               headers={"authorization": f"Bearer {bearer}"}) for _ in range(3)]  # fmt: skip
        inline = client.post(url, json={"query": f'{{ person(nin: "{nin}") {{ gp {{ gpHerId }} }} }}'},
                             headers={"authorization": f"Bearer {bearer}"})  # fmt: skip
    time.sleep(0.5)  # let the gateway flush its log
    log = (work / "gateway.log").read_text()

    body = answers[0].json()
    assert body["data"]["person"]["nin"] == nin
    assert body["data"]["person"]["name"]["full"]  # PREG still answers
    assert body["data"]["person"]["gp"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["register"] == "flr"
    assert "flr register is unavailable" in error["message"]
    assert inline.json()["errors"][0]["extensions"]["register"] == "flr"
    assert "the flr subgraph is unavailable" in log
    assert nin not in log
    assert '"nin"' not in log
    assert "variables" not in log


def _ports_free(ports: list[int]) -> list[int]:
    """Return the ports something still listens on (a connect probe on loopback)."""
    taken = []
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    return taken


def _consecutive_free_ports(count: int) -> int:
    for _ in range(200):
        base = free_port()
        if base + count < 65000 and not _ports_free(list(range(base, base + count))):
            try:
                for port in range(base, base + count):
                    with socket.socket() as sock:
                        sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    pytest.fail("no run of free ports")
    return 0


def _descendants(pid: int) -> set[int]:
    """Return every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_helsegraf_federation_stops_every_process_and_frees_every_port(sqlite_nation, tmp_path,
                                                                                    signum) -> None:  # fmt: skip
    require_node()
    base = _consecutive_free_ports(7)
    gateway_port = free_port()
    ports = [gateway_port, *range(base, base + 7)]
    env = {**os.environ, "HELSEGRAF_HOME": str(sqlite_nation.settings.home)}
    command = [sys.executable, "-m", "helsegraf.cli", "federation", "--database-url",
               sqlite_nation.settings.effective_database_url, "--port", str(gateway_port), "--base-port", str(base),
               "--work", str(tmp_path / "work")]  # fmt: skip
    output_path = tmp_path / "federation.out"
    with output_path.open("wb") as output_file:
        process = subprocess.Popen(command, env=env, stdout=output_file, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{gateway_port}/readiness", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    assert process.poll() is None, output_path.read_text()
    started = _descendants(process.pid)
    assert len(started) >= 8  # 7 subgraphs and the gateway (and whatever they started)
    assert not set(range(base, base + 7)) - set(_ports_free(ports))

    process.send_signal(signum)
    code = process.wait(timeout=60)
    output = output_path.read_text()

    assert code == 0, output
    assert "stopped" in output
    assert not _alive(started), f"left running: {_alive(started)}"
    assert not _ports_free(ports)


def test_the_gateway_verifies_production_tokens_against_the_jwks_url(sqlite_nation, tmp_path) -> None:
    require_node()
    from test_tokens import JwksServer  # noqa: PLC0415

    jwks = JwksServer()
    jwks.add_key("prod-1")
    auth = AuthSettings(mode="production", jwks_url=jwks.url, issuer="https://helseid.example",
                        audience="helsegraf-api", jwks_min_refetch_s=0)  # fmt: skip
    settings = replace(sqlite_nation.settings, auth=auth)
    query = {"query": f"{{ healthPersonnel(hprNumber: {sqlite_nation.samples['gpHprNumber']}) {{ hprNumber }} }}"}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        with running(settings, work=tmp_path / "work", gateway_port=free_port(), base_port=0,
                     registers=("hpr",)) as url:  # fmt: skip
            good = httpx.post(url, json=query, headers={"authorization": f"Bearer {jwks.token('prod-1')}"}, timeout=30)
            forged = httpx.post(url, json=query, headers={"authorization": f"Bearer {jwks.token('prod-1', stranger)}"},
                                timeout=30)  # fmt: skip
            jwks.add_key("prod-2")
            rotated = httpx.post(url, json=query, headers={"authorization": f"Bearer {jwks.token('prod-2')}"},
                                 timeout=30)  # fmt: skip
            jwks.failing = True
            during_outage = httpx.post(url, json=query, headers={"authorization": f"Bearer {jwks.token('prod-1')}"},
                                       timeout=30)  # fmt: skip
    finally:
        jwks.close()

    assert good.status_code == 200, good.text
    assert good.json()["data"]["healthPersonnel"]["hprNumber"] == sqlite_nation.samples["gpHprNumber"]
    assert forged.status_code == 401
    assert forged.json()["errors"][0]["message"] == "the token's signature does not verify"
    assert rotated.status_code == 200, rotated.text
    assert during_outage.status_code == 200, during_outage.text
