"""Token verification (production JWKS or the development key) and development tokens.

Production verifies against a JWKS (URL or file), issuer, audience, expiry and not-before with a
small leeway, and only RS256, ES256 and PS256: never `none`, never HMAC. Development signs and
verifies with an ES256 key generated on first use under HELSEGRAF_HOME (never committed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helsegraf.authz.principal import HPR_CLAIM, ORG_CLAIM, PID_CLAIM, ROLE_CLAIM, ROLE_SCOPES, Principal

ALGORITHMS: Final = ("RS256", "ES256", "PS256")
LEEWAY_SECONDS: Final = 30
DEV_ISSUER: Final = "helsegraf-development"
DEV_AUDIENCE: Final = "helsegraf"
DEV_KEY_FILE: Final = "dev-signing-key.pem"


class InvalidTokenError(Exception):
    """A present token that cannot be trusted: answered with 401 UNAUTHENTICATED."""


class AuthConfigError(Exception):
    """Authentication is configured inconsistently (e.g. production mode without a JWKS)."""


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are verified: `development` (local key), `production` (JWKS), or `disabled` (benchmarks only)."""

    mode: str = "development"
    jwks_url: str | None = None
    jwks_file: str | None = None
    issuer: str | None = None
    audience: str | None = None
    redactions_as_errors: bool = False
    jwks_min_refetch_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        """Read HELSEGRAF_AUTH_* variables."""
        mode = env.get("HELSEGRAF_AUTH_MODE", "development").strip().lower()
        if mode not in {"development", "production"}:
            msg = f"HELSEGRAF_AUTH_MODE must be development or production, got {mode!r}"
            raise AuthConfigError(msg)
        return cls(
            mode=mode,
            jwks_url=env.get("HELSEGRAF_AUTH_JWKS_URL") or None,
            jwks_file=env.get("HELSEGRAF_AUTH_JWKS_FILE") or None,
            issuer=env.get("HELSEGRAF_AUTH_ISSUER") or None,
            audience=env.get("HELSEGRAF_AUTH_AUDIENCE") or None,
            redactions_as_errors=env.get("HELSEGRAF_AUTH_REDACTIONS_AS_ERRORS", "").lower() in {"1", "true", "yes"},
            jwks_min_refetch_s=_seconds(env, "HELSEGRAF_AUTH_JWKS_MIN_REFETCH_S", cls.jwks_min_refetch_s),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        msg = f"{name} must be a number of seconds (0 or more), got {raw[:KID_ECHO_LIMIT]!r}"
        raise AuthConfigError(msg)
    return value


def dev_key(home: Path) -> ec.EllipticCurvePrivateKey:
    """Return the development signing key, generating it (mode 0600) on first use."""
    path = home / DEV_KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            msg = f"{path} is not an EC private key; delete it to generate a new one"
            raise AuthConfigError(msg)
        return key
    home.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def _kid(key: ec.EllipticCurvePublicKey) -> str:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    return f"dev-{jwk['x'][:12]}"


def dev_public_jwks(home: Path) -> dict[str, Any]:
    """Return the public half of the development key as a JWKS (what a gateway verifies dev tokens with)."""
    public = dev_key(home).public_key()
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    return {"keys": [{**jwk, "kid": _kid(public), "use": "sig", "alg": "ES256"}]}


def mint(
    home: Path,
    *,
    role: str,
    pid: str | None = None,
    hpr_number: int | None = None,
    org_number: str | None = None,
    scopes: tuple[str, ...] = (),
    ttl_seconds: int = 3600,
    subject: str | None = None,
    client_id: str = "helsegraf-dev-client",
    now: float | None = None,
) -> str:
    """Sign a development token for a role preset (extra scopes added)."""
    key = dev_key(home)
    issued = int(now if now is not None else time.time())
    granted = tuple(dict.fromkeys((*ROLE_SCOPES[role], *scopes)))
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": subject or f"dev-{role}-{uuid.uuid4().hex[:8]}",
        "iat": issued, "nbf": issued, "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex,
        "scope": " ".join(granted), "client_id": client_id, ROLE_CLAIM: role,
    }  # fmt: skip
    if pid:
        claims[PID_CLAIM] = pid
    if hpr_number is not None:
        claims[HPR_CLAIM] = str(hpr_number)
    if org_number:
        claims[ORG_CLAIM] = org_number
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": _kid(key.public_key())})


VERIFIED_CACHE_SIZE: Final = 4096
JWKS_FETCH_TIMEOUT_S: Final = 5.0
JWKS_LIFETIME_S: Final = 300.0
KID_ECHO_LIMIT: Final = 40
log = logging.getLogger("helsegraf.auth")


def _kid_text(kid: object) -> str:
    text = repr(kid)
    return text if len(text) <= KID_ECHO_LIMIT else text[:KID_ECHO_LIMIT] + "..."


class RemoteKeySet:
    """The signing keys of a JWKS URL, fetched asynchronously and refreshed without blocking requests.

    PyJWT's PyJWKClient fetches with urllib on the calling thread (the event loop) and refetches for
    every unknown `kid`, so this keeps its own cache: known keys are answered from memory; a key set
    older than JWKS_LIFETIME_S is refreshed in the background; an unknown `kid` triggers at most one
    fetch per `min_refetch_s` (concurrent requests share it); a failed fetch keeps the known keys.
    """

    def __init__(self, url: str, *, min_refetch_s: float) -> None:
        self.url = url
        self.min_refetch_s = min_refetch_s
        self.keys: dict[str, Any] = {}
        self.only_key: Any = None
        self.fetched_at = float("-inf")
        self.attempted_at = float("-inf")
        self.fetches = 0
        self._lock: asyncio.Lock | None = None
        self._refresh: asyncio.Task[None] | None = None

    async def key(self, kid: str | None) -> Any:
        """Return the key for `kid` (None: the only key, if there is exactly one), or None if unknown."""
        found = self._known(kid)
        now = time.monotonic()
        if found is not None:
            if now - self.fetched_at > JWKS_LIFETIME_S and now - self.attempted_at >= self.min_refetch_s:
                self._refresh_in_background()
            return found
        if now - self.attempted_at >= self.min_refetch_s:
            await self._fetch_once(now)
        return self._known(kid)

    def describe(self) -> str:
        """Say which keys this server knows, for the 401 of a token signed with another."""
        kids = ", ".join(sorted(self.keys)) or "none (the key set could not be fetched)"
        return f"this server knows the keys {kids} of the JWKS at {self.url}"

    def _known(self, kid: str | None) -> Any:
        return self.only_key if kid is None else self.keys.get(kid)

    def _refresh_in_background(self) -> None:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._fetch_once(time.monotonic()))

    async def _fetch_once(self, asked_at: float) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.attempted_at >= asked_at:  # another request fetched while this one waited
                return
            self.attempted_at = time.monotonic()
            await self._fetch()

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=JWKS_FETCH_TIMEOUT_S) as client:
                response = await client.get(self.url, headers={"accept": "application/json"})
                response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.warning("cannot fetch the JWKS at %s (%s); keeping the %d keys known", self.url,
                        exc.__class__.__name__, len(self.keys))  # fmt: skip
            return
        self.keys = {k.key_id: k.key for k in keyset.keys if k.key_id}
        self.only_key = keyset.keys[0].key if len(keyset.keys) == 1 else None
        self.fetched_at = time.monotonic()


class Verifier:
    """Verifies bearer tokens and turns them into principals.

    A token that verified is remembered until it expires (at most VERIFIED_CACHE_SIZE of them, the
    least recently used forgotten first), so a client that reuses its token pays for the signature
    check once, not on every request. A remembered token is accepted only within the same expiry
    (and leeway) as a fresh check would allow; the key is the whole token text, so any other text
    (a changed signature, claims or header) is checked in full. With a JWKS URL, a remembered token is
    also accepted only while the key that verified it is still the one the key set holds for its `kid`:
    a key withdrawn from the JWKS (rotated out, or revoked) stops its tokens at the next refresh, as it
    does for tokens not seen before.
    """

    def __init__(self, settings: AuthSettings, home: Path) -> None:
        self.settings = settings
        # token -> (principal, exp, the kid and key that verified it)
        self._verified: dict[str, tuple[Principal, float, str | None, Any]] = {}
        self.remote: RemoteKeySet | None = None
        self._keys: dict[str | None, Any] = {}
        self._known = ""
        if settings.mode == "development":
            public = dev_key(home).public_key()
            self._keys = {_kid(public): public, None: public}
            self._known = (f"this server knows only the development key {_kid(public)} "
                           f"({home / DEV_KEY_FILE}; set HELSEGRAF_HOME to use another)")  # fmt: skip
            self.issuer, self.audience = settings.issuer or DEV_ISSUER, settings.audience or DEV_AUDIENCE
        elif settings.mode == "production":
            if not (settings.jwks_url or settings.jwks_file) or not settings.issuer or not settings.audience:
                msg = ("production mode needs HELSEGRAF_AUTH_JWKS_URL or HELSEGRAF_AUTH_JWKS_FILE, "
                       "HELSEGRAF_AUTH_ISSUER and HELSEGRAF_AUTH_AUDIENCE")  # fmt: skip
                raise AuthConfigError(msg)
            self.issuer, self.audience = settings.issuer, settings.audience
            if settings.jwks_file:
                keyset = jwt.PyJWKSet.from_json(Path(settings.jwks_file).read_text())
                self._keys = {k.key_id: k.key for k in keyset.keys}
                if len(keyset.keys) == 1:  # a token without "kid" may use the only key
                    self._keys[None] = keyset.keys[0].key
                kids = ", ".join(sorted(str(k) for k in self._keys if k is not None))
                self._known = f"this server knows the keys {kids} of {settings.jwks_file}"
            else:
                self.remote = RemoteKeySet(str(settings.jwks_url), min_refetch_s=settings.jwks_min_refetch_s)

    @property
    def enabled(self) -> bool:
        """Tell whether tokens are verified at all (not in the benchmark-only disabled mode)."""
        return self.settings.mode != "disabled"

    async def _key_for(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidTokenError("the token's key id (kid) must be a string")
        if self.remote is not None:
            key = await self.remote.key(kid)
            known = self.remote.describe()
        else:
            key, known = self._keys.get(kid), self._known
        if key is None:
            what = (
                "has no key id and more than one key is known" if kid is None else f"key id {_kid_text(kid)} is unknown"
            )
            msg = f"the token's {what}: {known}"
            raise InvalidTokenError(msg)
        return key

    async def verify(self, authorization: str | None) -> Principal:
        """Return the principal of an Authorization header; raise InvalidTokenError for a bad token."""
        from helsegraf.authz.principal import ANONYMOUS  # noqa: PLC0415

        if authorization is None:
            return ANONYMOUS
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "the Authorization header must be 'Bearer <token>'"
            raise InvalidTokenError(msg)
        token = token.strip()
        cached = self._verified.pop(token, None)
        if (
            cached is not None
            and cached[1] > time.time() - LEEWAY_SECONDS
            and (self.remote is None or await self._still_held(cached))  # only a JWKS URL's keys change
        ):
            self._verified[token] = cached  # now the most recently used
            return cached[0]
        verified = await self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the least recently used
        self._verified[token] = verified
        return verified[0]

    async def _still_held(self, cached: tuple[Principal, float, str | None, Any]) -> bool:
        """Tell whether the key that verified a remembered token is still the JWKS URL's key for its kid.

        Asking the key set also keeps its background refresh going when every client reuses its token (a
        known key is answered from memory).
        """
        if self.remote is None:
            return True
        key = await self.remote.key(cached[2])
        return key is not None and bool(key == cached[3])  # a refetched key set holds equal, new key objects

    async def _verify(self, token: str) -> tuple[Principal, float, str | None, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            msg = "the token is not a JWT"
            raise InvalidTokenError(msg) from None
        if header.get("alg") not in ALGORITHMS:
            msg = f"token algorithm {_kid_text(header.get('alg'))} is not accepted; use one of {', '.join(ALGORITHMS)}"
            raise InvalidTokenError(msg)
        key = await self._key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidTokenError("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidTokenError("the token comes from an untrusted issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidTokenError("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"the token is invalid: {exc}") from None
        return Principal.from_claims(claims), float(claims["exp"]), header.get("kid"), key
