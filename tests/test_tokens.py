"""Authentication: every kind of bad token is refused with 401 and no data; good tokens are accepted."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import token
from helsegraf.authz.principal import PID_CLAIM, ROLE_CLAIM
from helsegraf.authz.tokens import DEV_AUDIENCE, DEV_ISSUER, AuthConfigError, AuthSettings, dev_key, mint
from helsegraf.http.app import create_app

QUERY = "query($nin: ID!) { person(nin: $nin) { name { full } } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes) -> dict:
    now = int(time.time())
    claims = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "tester", "iat": now, "nbf": now, "exp": now + 600,
              "scope": "preg:identity", ROLE_CLAIM: "integrator"}  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(nation, claims: dict, key=None, **headers) -> str:
    signing = key or dev_key(nation.settings.home)
    kid = jwt.get_unverified_header(token(nation))["kid"]
    return jwt.encode(claims, signing, algorithm="ES256", headers={"kid": kid, **headers})


def _tampered(signed: str) -> str:
    """Swap the payload of a signed token for one that claims more scopes, keeping the signature."""
    header, _, signature = signed.split(".")
    payload = _b64(json.dumps(_claims(scope="preg:identity preg:address audit:read")).encode())
    return f"{header}.{payload}.{signature}"


def _hs256_with_public_key(nation) -> str:
    public = (
        dev_key(nation.settings.home)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    signature = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _alg_none() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


BAD_TOKENS = {
    "expired": lambda n: _signed(n, _claims(exp=int(time.time()) - 3600)),
    "not yet valid": lambda n: _signed(n, _claims(nbf=int(time.time()) + 3600)),
    "wrong issuer": lambda n: _signed(n, _claims(iss="https://evil.example")),
    "wrong audience": lambda n: _signed(n, _claims(aud="someone-else")),
    "bad signature": lambda n: _signed(n, _claims(), key=ec.generate_private_key(ec.SECP256R1())),
    "tampered payload": lambda n: _tampered(_signed(n, _claims())),
    "alg none": lambda _n: _alg_none(),
    "HS256 with the public key": _hs256_with_public_key,
    "garbage": lambda _n: "this.is.garbage",
    "not a jwt": lambda _n: "xyz",
    "missing subject": lambda n: _signed(n, _claims(sub=None)),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_bad_token_is_refused_with_401_and_no_data(graph, nation, kind: str) -> None:
    bad = BAD_TOKENS[kind](nation)

    response = await graph.post(QUERY, {"nin": nation.samples["personWithGp"]}, token=bad)

    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "Basic dXNlcjpwYXNz", "bearer  "])
async def test_malformed_authorization_header_is_refused(graph, nation, header: str) -> None:
    response = await graph.client.post(
        "/graphql", json={"query": QUERY, "variables": {"nin": nation.samples["personWithGp"]}},
        headers={"authorization": header},
    )  # fmt: skip

    assert response.status_code == 401
    assert "data" not in response.json()


async def test_no_header_is_anonymous_and_sees_no_personal_data(graph, nation) -> None:
    response = await graph.post(QUERY, {"nin": nation.samples["personWithGp"]}, token=None)

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"person": {"name": None}}
    assert body["extensions"]["redactions"] == [{"path": ["person", "name"], "reason": "UNAUTHENTICATED"}]


async def test_a_good_token_within_leeway_is_accepted(graph, nation) -> None:
    recent = _signed(nation, _claims(exp=int(time.time()) - 10))

    body = await graph.query(QUERY, {"nin": nation.samples["personWithGp"]}, token=recent)

    assert body["data"]["person"]["name"]["full"]


async def test_production_mode_verifies_against_a_jwks_file(make_graph, nation, tmp_path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "prod-1", "use": "sig", "alg": "RS256"}]}))
    auth = AuthSettings(mode="production", jwks_file=str(tmp_path / "jwks.json"), issuer="https://helseid.example",
                        audience="helsegraf-api")  # fmt: skip
    graph = await make_graph(auth=auth)
    good = jwt.encode(_claims(iss="https://helseid.example", aud="helsegraf-api", **{PID_CLAIM: None}), key,
                      algorithm="RS256", headers={"kid": "prod-1"})  # fmt: skip

    accepted = await graph.post(QUERY, {"nin": nation.samples["personWithGp"]}, token=good)
    development = await graph.post(QUERY, {"nin": nation.samples["personWithGp"]}, token=token(nation))

    assert accepted.status_code == 200
    assert accepted.json()["data"]["person"]["name"]
    assert development.status_code == 401


def test_production_mode_without_a_jwks_refuses_to_start(nation) -> None:
    with pytest.raises(AuthConfigError, match="JWKS"):
        create_app(replace(nation.settings, auth=AuthSettings(mode="production")))


class JwksServer:
    """A real HTTP server publishing a JWKS: it counts fetches, can fail, and can hold a fetch open."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.failing = False
        self.release = threading.Event()
        self.release.set()
        self.waiting = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                owner.waiting.set()
                owner.release.wait(10)
                if owner.failing:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": [owner.jwk(kid) for kid in owner.keys]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, kid: str) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**public, "kid": kid, "use": "sig", "alg": "RS256"}

    def token(self, kid: str, key=None) -> str:
        claims = _claims(iss="https://helseid.example", aud="helsegraf-api", **{PID_CLAIM: None})
        return jwt.encode(claims, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks():
    server = JwksServer()
    server.add_key("prod-1")
    yield server
    server.close()


def _remote(jwks: JwksServer, min_refetch_s: float = 30.0) -> AuthSettings:
    return AuthSettings(mode="production", jwks_url=jwks.url, issuer="https://helseid.example",
                        audience="helsegraf-api", jwks_min_refetch_s=min_refetch_s)  # fmt: skip


async def test_a_jwks_url_is_fetched_once_and_random_key_ids_cannot_force_refetches(make_graph, nation, jwks) -> None:
    graph = await make_graph(auth=_remote(jwks))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nin = nation.samples["personWithGp"]

    good = [await graph.post(QUERY, {"nin": nin}, token=jwks.token("prod-1")) for _ in range(3)]
    random_kids = [await graph.post(QUERY, {"nin": nin}, token=jwks.token(f"kid-{i}", stranger)) for i in range(20)]

    assert [r.status_code for r in good] == [200, 200, 200]
    assert all(r.status_code == 401 for r in random_kids)
    message = random_kids[0].json()["errors"][0]["message"]
    assert "'kid-0' is unknown" in message
    assert "prod-1" in message
    assert jwks.url in message
    assert jwks.fetches == 1  # unknown kids within the refetch interval of the first fetch fetch nothing


async def test_a_rotated_key_is_fetched_and_known_keys_survive_a_failing_jwks(make_graph, nation, jwks) -> None:
    graph = await make_graph(auth=_remote(jwks, min_refetch_s=0))
    nin = nation.samples["personWithGp"]
    first = await graph.post(QUERY, {"nin": nin}, token=jwks.token("prod-1"))
    jwks.add_key("prod-2")

    rotated = await graph.post(QUERY, {"nin": nin}, token=jwks.token("prod-2"))
    jwks.failing = True
    jwks.add_key("prod-3")
    during_outage = await graph.post(QUERY, {"nin": nin}, token=jwks.token("prod-1"))
    unknown_during_outage = await graph.post(QUERY, {"nin": nin}, token=jwks.token("prod-3"))

    assert first.status_code == 200
    assert rotated.status_code == 200, rotated.text
    assert during_outage.status_code == 200, during_outage.text
    assert unknown_during_outage.status_code == 401
    assert "prod-1, prod-2" in unknown_during_outage.json()["errors"][0]["message"]


async def test_a_slow_jwks_does_not_hold_up_other_requests(make_graph, nation, jwks) -> None:
    graph = await make_graph(auth=_remote(jwks))
    jwks.release.clear()

    pending = asyncio.ensure_future(graph.post(QUERY, {"nin": nation.samples["personWithGp"]},
                                               token=jwks.token("prod-1")))  # fmt: skip
    await asyncio.to_thread(jwks.waiting.wait, 10)
    health = await graph.client.get("/healthz")
    anonymous = await graph.post(QUERY, {"nin": nation.samples["personWithGp"]}, token=None)
    still_waiting = not pending.done()
    jwks.release.set()
    answered = await pending

    assert health.status_code == 200
    assert anonymous.status_code == 200
    assert still_waiting  # the JWKS fetch was still open while the event loop served the others
    assert answered.status_code == 200


async def test_a_development_token_from_another_home_names_the_key_this_server_knows(make_graph, nation,
                                                                                     tmp_path) -> None:  # fmt: skip
    graph = await make_graph()
    elsewhere = mint(tmp_path / "other-home", role="admin")

    response = await graph.post(QUERY, {"nin": nation.samples["personWithGp"]}, token=elsewhere)

    message = response.json()["errors"][0]["message"]
    assert response.status_code == 401
    assert "is unknown" in message
    assert "this server knows only the development key dev-" in message
    assert str(nation.settings.home) in message
    assert "HELSEGRAF_HOME" in message


def test_the_min_refetch_interval_is_validated() -> None:
    with pytest.raises(AuthConfigError, match="HELSEGRAF_AUTH_JWKS_MIN_REFETCH_S"):
        AuthSettings.from_env({"HELSEGRAF_AUTH_JWKS_MIN_REFETCH_S": "soon"})


async def test_a_remembered_token_is_checked_once_and_refused_once_it_expires(nation, monkeypatch) -> None:
    """The verified-token cache saves the signature check, never the expiry: past exp + leeway it is refused."""
    from helsegraf.authz import tokens  # noqa: PLC0415

    decoded: list[str] = []
    decode = tokens.jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda token, *a, **k: decoded.append(token) or decode(token, *a, **k))
    verifier = tokens.Verifier(AuthSettings(), nation.settings.home)
    expires = int(time.time()) - tokens.LEEWAY_SECONDS + 2  # accepted for about two more seconds (the leeway)
    ending = _signed(nation, _claims(exp=expires, sub="ending"))

    first = await verifier.verify(f"Bearer {ending}")
    again = await verifier.verify(f"Bearer {ending}")

    assert first == again
    assert first.subject == "ending"
    assert decoded == [ending]  # the second request did not check the signature again
    await asyncio.sleep(max(0.0, expires + tokens.LEEWAY_SECONDS - time.time()) + 0.05)
    with pytest.raises(tokens.InvalidTokenError, match="expired"):
        await verifier.verify(f"Bearer {ending}")
    assert decoded == [ending, ending]  # refused by a full check, not by the stale memory
    with pytest.raises(tokens.InvalidTokenError, match="signature"):  # another text is checked in full
        await verifier.verify(f"Bearer {_tampered(_signed(nation, _claims(sub='other')))}")


async def test_the_verified_token_cache_is_bounded_and_forgets_the_least_recently_used(nation, monkeypatch) -> None:
    from helsegraf.authz import tokens  # noqa: PLC0415

    decoded: list[str] = []
    decode = tokens.jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda token, *a, **k: decoded.append(token) or decode(token, *a, **k))
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 2)
    verifier = tokens.Verifier(AuthSettings(), nation.settings.home)
    a, b, c = (_signed(nation, _claims(sub=name)) for name in "abc")

    for bearer in (a, b, a, c):  # `a` used again before `c` arrives: `b` is the least recently used
        await verifier.verify(f"Bearer {bearer}")
    assert decoded == [a, b, c]
    assert (await verifier.verify(f"Bearer {a}")).subject == "a"
    assert decoded == [a, b, c]  # still remembered
    assert (await verifier.verify(f"Bearer {b}")).subject == "b"
    assert decoded == [a, b, c, b]  # forgotten, so checked again
    assert len(verifier._verified) == 2  # noqa: SLF001 - the bound itself
