"""Security headers and an `X-Request-Id` on every response, and CORS for the configured frontend origins."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_MAX: Final = 128
REQUEST_ID: Final = re.compile(rf"[A-Za-z0-9._:-]{{1,{REQUEST_ID_MAX}}}")
log = logging.getLogger("helsegraf.errors")

HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
# Responses may carry personal data: never store them in a shared or browser cache.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Add the security headers (and `Cache-Control: no-store` on /graphql) to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and decorate the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        graphql = scope["path"].startswith("/graphql")

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name for name, _ in headers}
                headers += [h for h in HEADERS if h[0] not in present]
                if graphql and b"cache-control" not in present:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, decorated)


def request_id_of(scope: Scope) -> str:
    """Return the request's id: the caller's `X-Request-Id` when it is well formed, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            return sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return uuid.uuid4().hex


class RequestIds:
    """Give every HTTP request an id (`request.state.request_id`) and every response its `X-Request-Id`.

    Every answer carries it: GraphQL answers, refusals (400, 401, 405, 406, 413, 415), the GraphiQL page,
    static files, health checks, and a 500 from an exception nothing else caught (answered here, as a
    GraphQL error body, with no trace of the exception).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its id; add the id to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = False

        async def with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if not any(name == b"x-request-id" for name, _ in headers):
                    headers.append(header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        except Exception:
            log.exception("unexpected failure in request %s", request_id)
            if started:
                raise
            error = {"message": "Internal server error", "extensions": {"code": "INTERNAL", "requestId": request_id}}
            body = orjson.dumps({"errors": [error]})
            await with_id({"type": "http.response.start", "status": 500,
                           "headers": [(b"content-type", b"application/json"),
                                       (b"content-length", str(len(body)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
