"""HelseID credentials of the PREG sync: private_key_jwt (RFC 7523) and DPoP (RFC 9449) against the fakes.

The sync signs a client assertion with its configured key; the fake HelseID checks its signature,
audience, expiry and jti; with DPoP the token is bound to the proof's key and the fake Persontjenesten
checks every call's proof (htm, htu, iat, ath, jti). Each fault gives a clear error, and no key,
secret, assertion or token reaches a log line. The good paths sync into both backends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import create_engine, text

from conftest import create_postgres_database, drop_postgres_database
from helsegraf.config import Settings
from helsegraf.data.nation import generate
from helsegraf.migrate import upgrade
from helsegraf.sync import sources_from_env
from helsegraf.sync.credentials import ASSERTION_TYPE, ClientKey, CredentialError, DPoPKey, load_private_key
from helsegraf.sync.engine import Backoff, Engine, SyncError
from helsegraf.sync.preg import PregAdapter, PregSource
from helsegraf.upstream.auth import TokenIssuer
from helsegraf.upstream.server import Upstream

BASE = "http://upstream/persontjenesten"
TOKEN_URL = f"{BASE}/connect/token"
CLIENT = "helsegraf-sync"
PERSONS = 120


def pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()  # fmt: skip


def public_pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Fake:
    upstream: Upstream
    issuer: TokenIssuer
    client: httpx.AsyncClient
    url: str


@pytest.fixture
async def fake(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Fake]:
    """Persontjenesten's fake with a HelseID that knows the client by its public key (no secret); DPoP required."""
    issuer = TokenIssuer(CLIENT, None, public_key=public_pem(RSA_KEY), require_dpop=getattr(request, "param", True))
    upstream = Upstream(generate(PERSONS, 7), frozenset({"preg"}), issuer=issuer)
    url = f"sqlite:///{tmp_path / 'synced.db'}" if backend == "sqlite" else create_postgres_database("helsegraf_cred")
    upgrade(Settings(home=tmp_path, database_url=url), stores=["preg"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream.app()), base_url="http://upstream",
                                 timeout=5) as client:  # fmt: skip
        yield Fake(upstream, issuer, client, url)
    if backend != "sqlite":
        drop_postgres_database(url)


def source(key: Any = RSA_KEY, *, dpop: bool = True, **changes: Any) -> PregSource:
    return PregSource(BASE, TOKEN_URL, CLIENT, client_key=ClientKey(key, "k1"), dpop=DPoPKey() if dpop else None,
                      **changes)  # fmt: skip


async def sync(fake: Fake, preg: PregSource, workers: int = 0) -> PregAdapter:
    adapter = PregAdapter(preg, workers=workers)
    engine = Engine(adapter, fake.url, fake.client, backoff=Backoff(base_s=0.01, cap_s=0.02), max_attempts=2)
    try:
        await engine.run_once()
    finally:
        engine.close()
    return adapter


def persons(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM preg_person")).scalar_one())
    finally:
        engine.dispose()


async def test_a_signed_assertion_and_dpop_proofs_sync_the_nation(fake: Fake) -> None:
    adapter = await sync(fake, source())

    assert persons(fake.url) == len(fake.upstream.preg.people)
    assert adapter._scheme == "DPoP"  # noqa: SLF001 - the token HelseID issued is bound to the proof's key
    assert fake.issuer.issued == 1


async def test_bulk_calls_in_workers_carry_proofs_made_in_the_engine(fake: Fake, monkeypatch) -> None:
    """The worker path (HELSEGRAF_SYNC_WORKERS): each call's headers, its own DPoP proof included, come from the
    engine; the workers run in threads here so that they reach the in-memory fake."""
    from helsegraf.sync import preg  # noqa: PLC0415

    def fetch(api: str, headers: dict[str, str], timeout: float | None, chunk: list[str], copy: bool) -> Any:
        del timeout

        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.upstream.app())) as client:
                return await client.post(f"{api}/person/bulk-by-id?{preg.BULK_QUERY}", content=preg.bulk_form(chunk),
                                         headers={**headers, **preg.FORM})  # fmt: skip

        return preg.map_answer(preg.check(asyncio.run(call()), "person/bulk-by-id").content, copy=copy)

    pool = ThreadPoolExecutor(2)
    monkeypatch.setattr(preg, "fetch_and_map", fetch)
    monkeypatch.setattr(PregAdapter, "_workers", lambda _self: pool)
    try:
        await sync(fake, source(), workers=2)
    finally:
        pool.shutdown()

    assert persons(fake.url) == len(fake.upstream.preg.people)


@pytest.mark.parametrize("fake", [False], indirect=True)
async def test_without_dpop_the_assertion_gets_a_bearer_token(fake: Fake) -> None:
    adapter = await sync(fake, source(dpop=False))

    assert persons(fake.url) == len(fake.upstream.preg.people)
    assert adapter._scheme == "Bearer"  # noqa: SLF001


async def test_an_assertion_signed_with_another_key_is_refused_clearly(fake: Fake) -> None:
    with pytest.raises(SyncError, match=r"HTTP 401 \(invalid_client: the client assertion's signature does not verify"):
        await sync(fake, source(OTHER_KEY))

    assert persons(fake.url) == 0


@dataclass(frozen=True)
class StaleKey(ClientKey):
    """Signs assertions as if it were an hour ago."""

    def assertion(self, client_id: str, audience: str, now: float | None = None) -> str:
        return super().assertion(client_id, audience, (now or time.time()) - 3600)


async def test_an_expired_assertion_and_a_wrong_audience_are_refused_clearly(fake: Fake) -> None:
    with pytest.raises(SyncError, match="the client assertion has expired"):
        await sync(fake, PregSource(BASE, TOKEN_URL, CLIENT, client_key=StaleKey(RSA_KEY), dpop=DPoPKey()))
    with pytest.raises(SyncError, match="audience is not this token endpoint"):
        await sync(fake, source(audience="https://helseid-sts.nhn.no/connect/token"))


async def test_a_replayed_assertion_is_refused(fake: Fake) -> None:
    assertion = ClientKey(RSA_KEY).assertion(CLIENT, TOKEN_URL)
    form = {"grant_type": "client_credentials", "client_id": CLIENT, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}  # fmt: skip
    dpop = DPoPKey()

    first = await fake.client.post(TOKEN_URL, data=form, headers={"dpop": dpop.proof("POST", TOKEN_URL)})
    again = await fake.client.post(TOKEN_URL, data=form, headers={"dpop": dpop.proof("POST", TOKEN_URL)})

    assert first.status_code == 200, first.json()
    assert first.json()["token_type"] == "DPoP"
    assert again.status_code == 401
    assert again.json() == {
        "error": "invalid_client",
        "error_description": "the client assertion's jti was used before",
    }


async def test_persontjenesten_refuses_a_missing_or_invalid_dpop_proof(fake: Fake) -> None:
    dpop = DPoPKey()
    form = {"grant_type": "client_credentials", "client_id": CLIENT, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": ClientKey(RSA_KEY).assertion(CLIENT, TOKEN_URL)}  # fmt: skip
    token = (await fake.client.post(TOKEN_URL, data=form, headers={"dpop": dpop.proof("POST", TOKEN_URL)})).json()
    access = token["access_token"]
    url = f"{BASE}/api/legal-basis/event/latest"
    auth = {"authorization": f"DPoP {access}", "api-version": "2"}

    async def get(**headers: str) -> httpx.Response:
        return await fake.client.get(url, headers={**auth, **headers})

    good_proof = dpop.proof("GET", url, access)
    cases = {
        "missing": await get(),
        "other url": await get(dpop=dpop.proof("GET", f"{BASE}/api/legal-basis/event", access)),
        "other method": await get(dpop=dpop.proof("POST", url, access)),
        "no ath": await get(dpop=dpop.proof("GET", url)),
        "stale": await get(dpop=dpop.proof("GET", url, access, now=time.time() - 600)),
        "other key": await get(dpop=DPoPKey().proof("GET", url, access)),
        "not a jwt": await get(dpop="not-a-proof"),
        "bearer": await fake.client.get(
            url,
            headers={"authorization": f"Bearer {access}", "api-version": "2", "dpop": dpop.proof("GET", url, access)},
        ),
    }
    good = await get(dpop=good_proof)
    replayed = await get(dpop=good_proof)

    details = {name: (r.status_code, r.json()["detail"]) for name, r in cases.items()}
    assert details == {
        "missing": (401, "the DPoP proof is missing"),
        "other url": (401, "the DPoP proof is for another request (htm or htu differ)"),
        "other method": (401, "the DPoP proof is for another request (htm or htu differ)"),
        "no ath": (401, "the DPoP proof's ath does not match the access token"),
        "stale": (401, "the DPoP proof's iat is too old or in the future"),
        "other key": (401, "the DPoP proof is signed by another key than the token is bound to"),
        "not a jwt": (401, "the DPoP proof is not a JWT"),
        "bearer": (401, "a DPoP-bound token goes with the DPoP scheme"),
    }
    assert all('DPoP error="invalid_dpop_proof"' in r.headers["www-authenticate"] for r in cases.values())
    assert good.status_code == 200
    assert (replayed.status_code, replayed.json()["detail"]) == (401, "the DPoP proof's jti was used before")


async def test_a_sync_without_dpop_against_a_service_requiring_it_stops_with_a_clear_error(fake: Fake) -> None:
    with pytest.raises(SyncError, match=r"HTTP 400 \(invalid_dpop_proof: the DPoP proof is missing\)"):
        await sync(fake, source(dpop=False))

    assert persons(fake.url) == 0


async def test_no_key_secret_assertion_or_token_reaches_a_log_line(fake: Fake, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    key_text = pem(RSA_KEY)
    sent: list[str] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request.content.decode() + " " + " ".join(request.headers.values()))

    fake.client.event_hooks["request"].append(keep)
    adapter = await sync(fake, source())
    with pytest.raises(SyncError):
        await sync(fake, source(OTHER_KEY))

    logged = caplog.text + "".join(capsys.readouterr())
    secrets = [line for line in key_text.splitlines() if "-----" not in line]
    secrets.append(adapter._token or "no token")  # noqa: SLF001
    secrets += [part for request in sent for part in request.split() if part.startswith("client_assertion=")]
    assert len(secrets) > 3
    assert [s for s in secrets if s in logged] == []
    assert "PRIVATE KEY" not in logged
    assert repr(source()).count("RSAPrivateKey") == 0


def test_keys_come_from_a_file_or_the_environment_and_bad_ones_are_named_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "helseid.pem"
    path.write_text(pem(RSA_KEY))
    env = {"HELSEGRAF_SYNC_PREG_URL": "https://persontjenesten.example/", "HELSEGRAF_SYNC_PREG_CLIENT_ID": CLIENT,
           "HELSEGRAF_SYNC_PREG_TOKEN_URL": "https://helseid-sts.example/connect/token",
           "HELSEGRAF_SYNC_PREG_CLIENT_KEY_FILE": str(path), "HELSEGRAF_SYNC_PREG_KEY_ID": "k1",
           "HELSEGRAF_SYNC_PREG_DPOP": "1"}  # fmt: skip
    from_file = sources_from_env(env).preg
    ec_key = ec.generate_private_key(ec.SECP256R1())
    inline = {k: v for k, v in env.items() if k != "HELSEGRAF_SYNC_PREG_CLIENT_KEY_FILE"}
    from_env = sources_from_env({**inline, "HELSEGRAF_SYNC_PREG_CLIENT_KEY": pem(ec_key)}).preg
    secret_only = sources_from_env({k: v for k, v in inline.items() if k != "HELSEGRAF_SYNC_PREG_DPOP"}
                                   | {"HELSEGRAF_SYNC_PREG_CLIENT_SECRET": "s3cret"}).preg  # fmt: skip

    assert from_file.client_key is not None
    assert from_file.client_key.key_id == "k1"
    assert from_file.dpop is not None
    assert from_env.client_key is not None
    assert from_env.client_key.assertion(CLIENT, "aud").count(".") == 2
    assert (secret_only.client_key, secret_only.dpop, secret_only.client_secret) == (None, None, "s3cret")
    assert "s3cret" not in repr(secret_only)
    with pytest.raises(CredentialError, match="is not an unencrypted PEM private key") as bad:
        sources_from_env({**inline, "HELSEGRAF_SYNC_PREG_CLIENT_KEY": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"})
    assert "c2VjcmV0" not in str(bad.value)
    with pytest.raises(CredentialError, match="cannot read"):
        sources_from_env({**env, "HELSEGRAF_SYNC_PREG_CLIENT_KEY_FILE": str(tmp_path / "missing.pem")})
    with pytest.raises(CredentialError, match="RSA or an EC P-256"):
        load_private_key(pem(ec.generate_private_key(ec.SECP384R1())))


def test_helsegraf_sync_signs_in_to_the_rehearsal_helseid_with_its_key_and_dpop(tmp_path: Path, monkeypatch) -> None:
    """The operator's path over real HTTP: `helsegraf upstream` knows the public key and requires DPoP."""
    from test_sync_cli import upstream as running_upstream  # noqa: PLC0415

    key_file, public_file, wrong_file = tmp_path / "helseid.pem", tmp_path / "helseid.pub.pem", tmp_path / "other.pem"
    key_file.write_text(pem(RSA_KEY))
    public_file.write_text(public_pem(RSA_KEY))
    wrong_file.write_text(pem(OTHER_KEY))
    fake_env = {"HELSEGRAF_UPSTREAM_PREG_CLIENT_PUBLIC_KEY_FILE": str(public_file), "HELSEGRAF_UPSTREAM_PREG_DPOP": "1"}
    for name, value in fake_env.items():
        monkeypatch.setenv(name, value)  # read by the upstream process the helper starts
    with running_upstream(tmp_path, "--day-seconds", "0", "--registers", "preg", persons=200) as url:
        runs = {}
        for name, key in (("good", key_file), ("wrong", wrong_file)):
            env = {**os.environ, "HELSEGRAF_HOME": str(tmp_path), "HELSEGRAF_UPSTREAM_URL": url,
                   "HELSEGRAF_SYNC_PREG_CLIENT_KEY_FILE": str(key), "HELSEGRAF_SYNC_PREG_DPOP": "1"}  # fmt: skip
            command = [sys.executable, "-m", "helsegraf.cli", "sync", "--once", "--registers", "preg",
                       "--database-url", f"sqlite:///{tmp_path / name}.db"]  # fmt: skip
            runs[name] = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)

    assert runs["good"].returncode == 0, runs["good"].stderr
    assert persons(f"sqlite:///{tmp_path / 'good'}.db") == 200
    assert runs["wrong"].returncode == 1
    assert "the client assertion's signature does not verify" in " ".join(runs["wrong"].stderr.split())
    everything = "".join(r.stdout + r.stderr for r in runs.values())
    assert "Traceback" not in everything
    assert [line for line in pem(RSA_KEY).splitlines() + pem(OTHER_KEY).splitlines()
            if "-----" not in line and line in everything] == []  # fmt: skip
