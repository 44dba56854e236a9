"""The fakes' stand-in for HelseID: client credentials in, a bearer or DPoP-bound token out.

HelseID issues Persontjenesten tokens to a client that authenticates with a signed client assertion
(private_key_jwt, RFC 7523) or, in test environments, a client secret. The fake accepts both for the
one client it is configured with: an assertion is checked for its signature (the client's registered
public key), audience (this token endpoint), expiry and a `jti` not seen before; a DPoP proof on the
token request (RFC 9449) binds the token to the proof's key. Persontjenesten's fake checks, when told
to require DPoP, every request's proof against the token (`check`). Enhetsregisteret needs none.
Errors say what is wrong (`error_description`), never the credential.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from helsegraf.sync.credentials import (
    ASSERTION_TYPE,
    CredentialError,
    ReplayCache,
    public_key_of,
    verify_assertion,
    verify_proof,
)

TOKEN_LIFETIME_S = 3600
MAX_FORM_BYTES = 64 * 1024


async def url_form(request: Request) -> dict[str, list[str]]:
    """Parse an application/x-www-form-urlencoded body (the only form the contracts use).

    Starlette's `request.form()` needs python-multipart for any form; the contracts' bodies are all
    URL-encoded, which the standard library parses.
    """
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass(frozen=True)
class Issued:
    """A token's expiry and, for a DPoP-bound token, the thumbprint of the key it is bound to."""

    expires: float
    jkt: str | None = None


def _refused(error: str, description: str, status: int = 401) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class TokenIssuer:
    """Issues and checks tokens for one client (a secret, or a registered public key, or both)."""

    def __init__(
        self,
        client_id: str = "helsegraf-sync",
        client_secret: str | None = "rehearsal-secret",  # noqa: S107 - the fake's documented rehearsal client
        *,
        public_key: str | bytes | None = None,
        audience: str | None = None,
        require_dpop: bool = False,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.public_key = public_key_of(public_key) if public_key is not None else None
        self.audience = audience  # None: the URL the token request was sent to
        self.require_dpop = require_dpop
        self._tokens: dict[str, Issued] = {}
        self._assertions = ReplayCache()
        self._proofs = ReplayCache()
        self.issued = 0

    def verify(self, authorization: str | None) -> bool:
        """Tell whether an Authorization header carries a live bearer token of this issuer."""
        scheme, _, token = (authorization or "").partition(" ")
        issued = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return issued is not None and issued.jkt is None and issued.expires > time.monotonic()

    def check(self, request: Request) -> str | None:
        """Return why a resource request is refused (None when its token, and DPoP proof if required, are good)."""
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        issued = self._tokens.get(token)
        if issued is None or issued.expires <= time.monotonic():
            return "the access token is missing, unknown or expired"
        if issued.jkt is None:
            if self.require_dpop:
                return "a DPoP-bound token is required"
            return None if scheme.lower() == "bearer" else "a bearer token goes with the Bearer scheme"
        if scheme.lower() != "dpop":
            return "a DPoP-bound token goes with the DPoP scheme"
        try:
            jkt = verify_proof(request.headers.get("dpop"), request.method, str(request.url), self._proofs, token)
        except CredentialError as exc:
            return str(exc)
        return None if jkt == issued.jkt else "the DPoP proof is signed by another key than the token is bound to"

    def revoke_all(self) -> None:
        """Forget every token (the client must fetch a new one)."""
        self._tokens.clear()

    def _authenticate(self, form: dict[str, str], request: Request) -> str | None:
        """Return why the client's credentials are refused, or None."""
        if not secrets.compare_digest(form.get("client_id", ""), self.client_id):
            return "unknown client"
        if "client_assertion" in form:
            return self._assertion_refused(form, request)
        if self.client_secret is None:
            return "this client authenticates with a signed client assertion (private_key_jwt)"
        if not secrets.compare_digest(form.get("client_secret", ""), self.client_secret):
            return "wrong client secret"
        return None

    def _assertion_refused(self, form: dict[str, str], request: Request) -> str | None:
        """Return why a client assertion (private_key_jwt) is refused, or None."""
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return f"client_assertion_type must be {ASSERTION_TYPE}"
        if self.public_key is None:
            return "no key is registered for this client"
        audience = self.audience or str(request.url.replace(query=""))
        try:
            verify_assertion(form["client_assertion"], self.public_key, self.client_id, audience, self._assertions)
        except CredentialError as exc:
            return str(exc)
        return None

    async def endpoint(self, request: Request) -> JSONResponse:
        """POST /connect/token: the OAuth 2 client-credentials grant."""
        fields = await url_form(request)
        form = {key: values[0] for key, values in fields.items()}
        if form.get("grant_type") != "client_credentials":
            return _refused("unsupported_grant_type", "grant_type must be client_credentials", 400)
        refused = self._authenticate(form, request)
        if refused is not None:
            return _refused("invalid_client", refused)
        jkt: str | None = None
        if request.headers.get("dpop") is not None or self.require_dpop:
            try:
                jkt = verify_proof(request.headers.get("dpop"), "POST", str(request.url), self._proofs)
            except CredentialError as exc:
                return _refused("invalid_dpop_proof", str(exc), 400)
        token = secrets.token_urlsafe(32)
        self._tokens[token] = Issued(time.monotonic() + TOKEN_LIFETIME_S, jkt)
        self.issued += 1
        body: dict[str, Any] = {"access_token": token, "token_type": "DPoP" if jkt else "Bearer",
                                "expires_in": TOKEN_LIFETIME_S, "scope": str(form.get("scope", ""))}  # fmt: skip
        return JSONResponse(body)
