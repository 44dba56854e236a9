"""HelseID credentials: a signed client assertion (private_key_jwt, RFC 7523) and DPoP proofs (RFC 9449).

PyJWT signs and verifies the JWTs and turns keys into JWKs; `cryptography` loads and makes the keys.
What PyJWT lacks is written here, small: the RFC 7638 thumbprint of a JWK (DPoP binds a token to
it) and the DPoP proof's claims (`htm`, `htu`, `iat`, `jti`, `ath`) and their checks.

Keys come from configuration (a PEM file or the PEM itself in an environment variable) and are
never logged: errors about them say what is wrong without repeating them, and no object here
shows a key in its repr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S: Final = 60  # HelseID wants short-lived assertions
DPOP_TYP: Final = "dpop+jwt"
ALGORITHMS: Final = ("RS256", "PS256", "ES256")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CredentialError(ValueError):
    """A key or a proof that cannot be used; the message never contains key material."""


def load_private_key(pem: str | bytes, what: str = "the client key") -> PrivateKey:
    """Load an RSA or P-256 private key from PEM (PKCS#8 or traditional), refusing anything else."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CredentialError(f"{what} is not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey) or (
        isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        return key
    raise CredentialError(f"{what} must be an RSA or an EC P-256 key")


def key_from_env(env: Mapping[str, str], name: str) -> str | None:
    """Return a PEM from `<name>_FILE` (a path) or `<name>` (the PEM itself); None when neither is set."""
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CredentialError(f"{name}_FILE: cannot read {path} ({exc.strerror})") from None
    return env.get(name) or None


def algorithm(key: Any) -> str:
    """Return the JWS algorithm for a key: RS256 for RSA, ES256 for P-256."""
    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) else "RS256"


def public_jwk(key: PrivateKey) -> dict[str, Any]:
    """Return the public JWK of a private key."""
    public = key.public_key()
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True) if isinstance(public, ec.EllipticCurvePublicKey) \
        else jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)  # fmt: skip
    return dict(jwk)


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


THUMBPRINT_MEMBERS: Final = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of a public JWK (PyJWT has none)."""
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(m not in jwk for m in members):
        raise CredentialError("the JWK is not an EC or RSA public key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def token_hash(access_token: str) -> str:
    """Return `ath`: the base64url SHA-256 of an access token."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def htu(url: str) -> str:
    """Return a URL as DPoP's `htu` compares it: without query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass(frozen=True)
class ClientKey:
    """The client's signing key for HelseID, with its key id (repr shows neither key nor material)."""

    key: PrivateKey = field(repr=False)
    key_id: str | None = None

    def assertion(self, client_id: str, audience: str, now: float | None = None) -> str:
        """Return a client assertion: iss = sub = client_id, aud = the token endpoint, short-lived, a fresh jti."""
        issued = int(now if now is not None else time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": issued, "nbf": issued,
                  "exp": issued + ASSERTION_LIFETIME_S, "jti": str(uuid.uuid4())}  # fmt: skip
        headers = {"typ": "JWT", **({"kid": self.key_id} if self.key_id else {})}
        return jwt.encode(claims, self.key, algorithm=algorithm(self.key), headers=headers)


@dataclass(frozen=True)
class DPoPKey:
    """The key a client proves possession of (DPoP): an EC P-256 key of this process unless configured."""

    key: PrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()), repr=False)

    @property
    def jwk(self) -> dict[str, Any]:
        """Return the public JWK that goes in every proof's header."""
        return public_jwk(self.key)

    def proof(self, method: str, url: str, access_token: str | None = None, now: float | None = None) -> str:
        """Return a DPoP proof for one request (`ath` binds it to the access token when there is one)."""
        claims: dict[str, Any] = {"htm": method.upper(), "htu": htu(url), "jti": str(uuid.uuid4()),
                                  "iat": int(now if now is not None else time.time())}  # fmt: skip
        if access_token is not None:
            claims["ath"] = token_hash(access_token)
        headers = {"typ": DPOP_TYP, "jwk": self.jwk}
        return jwt.encode(claims, self.key, algorithm=algorithm(self.key), headers=headers)


@dataclass
class ReplayCache:
    """The `jti` values seen until they expire (a replayed assertion or proof is refused)."""

    seen: dict[str, float] = field(default_factory=dict)

    def first_use(self, jti: str, until: float) -> bool:
        """Record `jti`; False when it was seen before."""
        now = time.time()
        for old in [j for j, expires in self.seen.items() if expires < now]:
            del self.seen[old]
        if jti in self.seen:
            return False
        self.seen[jti] = until
        return True


DPOP_WINDOW_S: Final = 60  # how far a proof's iat may be from the server's clock


def verify_proof(proof: str | None, method: str, url: str, replay: ReplayCache, access_token: str | None = None) -> str:
    """Check a DPoP proof (typ, signature by its own JWK, htm, htu, iat, jti, ath); return the key's thumbprint."""
    if not proof:
        raise CredentialError("the DPoP proof is missing")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.InvalidTokenError:
        raise CredentialError("the DPoP proof is not a JWT") from None
    jwk = header.get("jwk")
    if header.get("typ") != DPOP_TYP or header.get("alg") not in ALGORITHMS or not isinstance(jwk, dict):
        raise CredentialError("the DPoP proof's header must have typ dpop+jwt, an asymmetric alg and a jwk")
    if "d" in jwk:
        raise CredentialError("the DPoP proof's jwk must be a public key")
    try:
        key = jwt.PyJWK(jwk).key
        claims = jwt.decode(proof, key, algorithms=[header["alg"]], options={"require": ["iat", "jti"]})
    except jwt.InvalidTokenError as exc:
        raise CredentialError(f"the DPoP proof does not verify ({exc.__class__.__name__})") from None
    if claims.get("htm") != method.upper() or claims.get("htu") != htu(url):
        raise CredentialError("the DPoP proof is for another request (htm or htu differ)")
    if abs(time.time() - float(claims["iat"])) > DPOP_WINDOW_S:
        raise CredentialError("the DPoP proof's iat is too old or in the future")
    if access_token is not None and claims.get("ath") != token_hash(access_token):
        raise CredentialError("the DPoP proof's ath does not match the access token")
    if not replay.first_use(str(claims["jti"]), time.time() + DPOP_WINDOW_S):
        raise CredentialError("the DPoP proof's jti was used before")
    return thumbprint(jwk)


def verify_assertion(assertion: str, public_key: Any, client_id: str, audience: str, replay: ReplayCache) -> None:
    """Check a client assertion: signature by the client's key, iss = sub = client, aud, exp, a fresh jti."""
    try:
        claims = jwt.decode(assertion, public_key, algorithms=list(ALGORITHMS), audience=audience,
                            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise CredentialError("the client assertion has expired") from None
    except jwt.InvalidAudienceError:
        raise CredentialError("the client assertion's audience is not this token endpoint") from None
    except jwt.InvalidSignatureError:
        raise CredentialError("the client assertion's signature does not verify with the client's key") from None
    except jwt.InvalidTokenError as exc:
        raise CredentialError(f"the client assertion is not valid ({exc.__class__.__name__})") from None
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise CredentialError("the client assertion's iss and sub must be the client id")
    if float(claims["exp"]) - float(claims["iat"]) > 5 * ASSERTION_LIFETIME_S:
        raise CredentialError("the client assertion lives too long")
    if not replay.first_use(str(claims["jti"]), float(claims["exp"])):
        raise CredentialError("the client assertion's jti was used before")


def public_key_of(pem: str | bytes) -> Any:
    """Load a PEM public key (or the public half of a private one), for the fake's client registry."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        return load_private_key(data, "the client's key").public_key()


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """Read a yes/no setting."""
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
