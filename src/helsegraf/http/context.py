"""The request context: the caller (from the bearer token), their guard, loaders and today's date.

`ContextFactory.finish` turns what the guard recorded into the response's redactions and the access
log: the log holds exactly the releases that reached the response (authz/release.py), and it is
written before anything leaves.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from starlette.requests import Request

from helsegraf.authz.access_log import AccessLogUnavailableError, GroupCommit, entry_rows
from helsegraf.authz.guard import Guard, children_under_16
from helsegraf.authz.opaque import Sealer, load_secret
from helsegraf.authz.principal import Principal
from helsegraf.authz.tokens import InvalidTokenError, Verifier
from helsegraf.config import Settings
from helsegraf.db import Database
from helsegraf.http.errors import FORBIDDEN, SERVICE_UNAVAILABLE, UNAUTHENTICATED, error_body, is_unavailable
from helsegraf.http.graphql_http import ReleaseRefusedError, RequestError
from helsegraf.http.observability import REFUSED
from helsegraf.loaders import Loaders
from helsegraf.loaders.preg import children_of, current_number
from helsegraf.schema.base import Context, OpenGuard

OSLO = ZoneInfo("Europe/Oslo")
PURPOSE_MAX_CHARACTERS: Final = 500
CLAIM_MAX_CHARACTERS: Final = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def oslo_today() -> date:
    """Return today's date in Norway, the default `at` of every time-bound edge."""
    return datetime.now(OSLO).date()


def stated_purpose(request: Request) -> str | None:
    """Return the X-Purpose header as the caller wrote it (UTF-8), refusing what cannot be stored whole."""
    raw = next((value for name, value in request.headers.raw if name.lower() == b"x-purpose"), None)
    if raw is None:
        return None
    try:
        purpose = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("X-Purpose must be UTF-8 text") from None
    if len(purpose) > PURPOSE_MAX_CHARACTERS:
        raise RequestError(f"X-Purpose is {len(purpose):,} characters long; at most {PURPOSE_MAX_CHARACTERS} are kept")
    if _CONTROL.search(purpose):
        raise RequestError("X-Purpose must not contain control characters")
    return purpose or None


def _storable(principal: Principal) -> None:
    """Refuse a token whose claims the access log could not store whole."""
    for name, value in (("sub", principal.subject), ("client_id", principal.client_id), ("role", principal.role)):
        if value is not None and (len(value) > CLAIM_MAX_CHARACTERS or _CONTROL.search(value)):
            msg = (
                f"the token's {name} claim is longer than {CLAIM_MAX_CHARACTERS} characters or holds control characters"
            )
            raise InvalidTokenError(msg)


@dataclass
class ContextFactory:
    """Builds each request's context, and finishes each response (redactions, access log, SQL stats)."""

    settings: Settings
    db: Database
    verifier: Verifier | None

    def __post_init__(self) -> None:
        self.sealer = Sealer(load_secret(self.settings.home, self.settings.id_secret))
        self.access_log = GroupCommit(self.db)

    async def __call__(self, request: Request, request_id: str) -> Context:
        """Authenticate the caller and build the context; a bad token is answered with 401."""
        today = oslo_today()
        purpose = stated_purpose(request)
        guard: Any = OpenGuard()
        if self.verifier is not None:
            try:
                principal = await self.verifier.verify(request.headers.get("authorization"))
                _storable(principal)
            except InvalidTokenError as exc:
                REFUSED.labels("token").inc()
                raise RequestError(str(exc), status=401, code=UNAUTHENTICATED,
                                   **{"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None  # fmt: skip
            children, own = await self._citizen(principal, today)
            guard = Guard(principal, children, own_numbers=own)
        db = self.db.for_request()  # the request's reads of one level share round trips (db.py)
        return Context(
            db=db,
            loaders=Loaders(db),
            registers=self.settings.registers,
            today=today,
            sealer=self.sealer,
            guard=guard,
            request=request,
            request_id=request_id,
            sql=request.state.sql,
            fast=self.settings.fast_paths,
            purpose=purpose,
        )

    async def _citizen(self, principal: Principal, today: date) -> tuple[dict[str, bool], frozenset[str]]:
        """Return the signed-in citizen's children under 16 and their own numbers (PREG unavailable: 503).

        A token may still carry a number the register has since replaced (a new fødselsnummer): the
        citizen is the person it now leads to, under either number.
        """
        if not principal.pid:
            return {}, frozenset()
        try:
            current = await current_number(self.db, principal.pid)
            return children_under_16(await children_of(self.db, current), today), frozenset({principal.pid, current})
        except Exception as exc:
            if is_unavailable(exc):
                raise RequestError("a register's database is unavailable; try again shortly", status=503,
                                   code=SERVICE_UNAVAILABLE, **{"Retry-After": "5"}) from None  # fmt: skip
            raise

    async def finish(self, context: Context, body: dict[str, Any]) -> None:
        """Report redactions, write the access log before anything leaves, and add debug SQL stats."""
        guard = context.guard
        if isinstance(guard, Guard):
            data = body.get("data")
            redactions = [r for r in guard.redactions_as_lists() if _reached(data, r["path"])]
            if redactions:
                body["extensions"]["redactions"] = redactions
                if self.settings.auth.redactions_as_errors:
                    body.setdefault("errors", []).extend(_forbidden(r) for r in redactions)
            errors = body.get("errors")
            if not errors and isinstance(data, dict) and self.settings.fast_paths:
                released = guard.released_without_errors()  # nothing was nulled: every record is in `data`
            else:
                released = guard.released_in(data, [e["path"] for e in errors or () if e.get("path")])
            if released:
                await self._log(context, guard.principal, released)
        if self.settings.debug and context.sql is not None:
            body["extensions"]["sql"] = {"statements": context.sql.statements, "roundTrips": context.sql.round_trips,
                                         "ms": context.sql.milliseconds}  # fmt: skip

    async def _log(self, context: Context, principal: Principal, released: dict[Any, Any]) -> None:
        started = time.perf_counter()
        rows = entry_rows(principal=principal, request_id=context.request_id, purpose=context.purpose,
                          released=released, at=datetime.now(UTC))  # fmt: skip
        try:
            await self.access_log.write(rows)
        except AccessLogUnavailableError as exc:
            raise ReleaseRefusedError(str(exc)) from exc
        if context.request is not None:
            context.request.state.log_ms = (time.perf_counter() - started) * 1000


def _reached(data: Any, path: list[str | int]) -> bool:
    """Tell whether a redacted field's parent is in the response (a parent nulled by an error hides it)."""
    value = data
    for key in path[:-1]:
        if isinstance(value, dict) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return False
    return isinstance(value, dict | list)


def _forbidden(redaction: dict[str, Any]) -> dict[str, Any]:
    body = error_body(f"not permitted: {redaction['reason']}", FORBIDDEN, reason=redaction["reason"])
    body["path"] = redaction["path"]
    return body
