"""The demo sign-in: a few sample citizens and their tokens, for the citizen app on a development server.

It stands in for the identity provider (ID-porten through HelseID) that signs citizens in in production, and
exists only with development signing (`HELSEGRAF_AUTH_MODE=development`): a production server has no such
routes. It mints tokens only for the sample citizens it lists, never for a number the caller chooses, only
to callers on this machine (loopback: a development server reachable from elsewhere hands no tokens to the
network), and answers in the shape of an OAuth 2.0 token response (RFC 6749 §5.1), so that the app's code
after sign-in is the same as in production.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.http.samples import Samples

# (sample id from `helsegraf sample`, how the sign-in page describes the citizen in bokmål)
CITIZENS: Final = (
    ("personWithGp", "Innbygger med fastlege"),
    ("personWithoutGp", "Innbygger uten fastlege"),
    ("parentOfChild", "Forelder med barn under 16 år"),
    ("parentOfChildrenUnderAndOver16", "Forelder med barn under 16 år og et barn på 16"),
    ("parentOfProtectedChild", "Forelder til et barn med beskyttet adresse"),
    ("adultWithProtectedAddress", "Innbygger med beskyttet adresse"),
)
TOKEN_TTL_SECONDS: Final = 3600
CLIENT_ID: Final = "helsegraf-citizen-app"
MAX_BODY_BYTES: Final = 1024
NO_STORE: Final = {"cache-control": "no-store", "pragma": "no-cache"}
ELSEWHERE: Final = "the demo sign-in answers only on the machine the server runs on (loopback)"


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex  # set by middleware.RequestIds


def _error(request: Request, status: int, error: str, description: str) -> Response:
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers={**NO_STORE, "x-request-id": _request_id(request)})


def _from_this_machine(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:  # not an IP address (a Unix socket, say): not known to be this machine
        return False


async def _chosen(request: Request) -> Any:
    """Return the `citizen` of a JSON body (None when absent), or the error response to a malformed request."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _error(request, 415, "invalid_request", 'send {"citizen": "<id>"} as application/json')
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return _error(request, 413, "invalid_request", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        payload: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _error(request, 400, "invalid_request", "the body is not valid JSON")
    return payload.get("citizen") if isinstance(payload, dict) else None


async def _offered(samples: Samples) -> list[dict[str, str]] | None:
    ids = await samples.get()
    if ids is None:
        return None
    return [{"id": key, "nin": str(ids[key]), "description": text} for key, text in CITIZENS if ids.get(key)]


def demo_signin_routes(settings: Settings, samples: Samples) -> list[Route]:
    """Return the routes `GET /demo/citizens` and `POST /demo/token` (only for development signing)."""
    if settings.auth.mode != "development":
        return []
    unavailable = "the sample citizens cannot be read from the database (is it seeded? run `helsegraf seed`)"

    async def citizens(request: Request) -> Response:
        if not _from_this_machine(request):
            return _error(request, 403, "access_denied", ELSEWHERE)
        offered = await _offered(samples)
        if offered is None:
            return _error(request, 503, "temporarily_unavailable", unavailable)
        body = {"citizens": offered, "tokenTtlSeconds": TOKEN_TTL_SECONDS}
        return JSONResponse(body, headers={**NO_STORE, "x-request-id": _request_id(request)})

    async def token(request: Request) -> Response:
        if not _from_this_machine(request):
            return _error(request, 403, "access_denied", ELSEWHERE)
        chosen = await _chosen(request)
        if isinstance(chosen, Response):
            return chosen
        offered = await _offered(samples)
        if offered is None:
            return _error(request, 503, "temporarily_unavailable", unavailable)
        nin = next((c["nin"] for c in offered if c["id"] == chosen), None)
        if nin is None:
            known = ", ".join(c["id"] for c in offered)
            return _error(request, 400, "invalid_request", f"citizen must be one of {known} (GET /demo/citizens)")
        access_token = mint(settings.home, role="citizen", pid=nin, ttl_seconds=TOKEN_TTL_SECONDS, client_id=CLIENT_ID)
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS}
        return JSONResponse(body, headers={**NO_STORE, "x-request-id": _request_id(request)})

    return [Route("/demo/citizens", citizens, methods=["GET"]), Route("/demo/token", token, methods=["POST"])]
