"""The fakes' stand-in for HelseID: client credentials in, a bearer token out.

HelseID issues Persontjenesten tokens to a client that authenticates with a signed client assertion
(private_key_jwt) or, in test environments, a client secret. The fake accepts the secret form
(`grant_type=client_credentials`, `client_id`, `client_secret`, `scope`) for the one client it is
configured with, so the sync client's real token path is exercised; Enhetsregisteret needs none.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

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


class TokenIssuer:
    """Issues and checks bearer tokens for one client."""

    def __init__(self, client_id: str = "helsegraf-sync", client_secret: str = "rehearsal-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self._tokens: dict[str, float] = {}
        self.issued = 0

    def verify(self, authorization: str | None) -> bool:
        """Tell whether an Authorization header carries a live token of this issuer."""
        scheme, _, token = (authorization or "").partition(" ")
        expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return expires is not None and expires > time.monotonic()

    def revoke_all(self) -> None:
        """Forget every token (the client must fetch a new one)."""
        self._tokens.clear()

    async def endpoint(self, request: Request) -> JSONResponse:
        """POST /connect/token: the OAuth 2 client-credentials grant."""
        fields = await url_form(request)
        form = {key: values[0] for key, values in fields.items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not (
            secrets.compare_digest(str(form.get("client_id", "")), self.client_id)
            and secrets.compare_digest(str(form.get("client_secret", "")), self.client_secret)
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(32)
        self._tokens[token] = time.monotonic() + TOKEN_LIFETIME_S
        self.issued += 1
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S,
             "scope": str(form.get("scope", ""))}  # fmt: skip
        )
