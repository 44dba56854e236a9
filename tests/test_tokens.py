"""Authentication: every kind of bad token is refused with 401 and no data; good tokens are accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import token
from helsegraf.authz.principal import PID_CLAIM, ROLE_CLAIM
from helsegraf.authz.tokens import DEV_AUDIENCE, DEV_ISSUER, AuthConfigError, AuthSettings, dev_key
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
