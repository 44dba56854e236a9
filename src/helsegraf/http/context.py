"""The request context: the caller (from the bearer token), their guard, loaders and today's date."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.requests import Request

from helsegraf.authz.access_log import AccessLogUnavailableError, write_entries
from helsegraf.authz.guard import Guard
from helsegraf.authz.principal import Principal
from helsegraf.authz.tokens import InvalidTokenError, Verifier
from helsegraf.config import Settings
from helsegraf.db import Database
from helsegraf.http.errors import FORBIDDEN, UNAUTHENTICATED, error_body
from helsegraf.http.graphql_http import ReleaseRefusedError, RequestError
from helsegraf.http.observability import REFUSED
from helsegraf.loaders import Loaders
from helsegraf.models.preg import ParentRelation, Person
from helsegraf.registers import PREG
from helsegraf.schema.base import Context, OpenGuard

OSLO = ZoneInfo("Europe/Oslo")
CHILD_AGE_LIMIT = 16
BIRTH_DATES = select(Person.__table__.c.nin, Person.__table__.c.birth_date)


def oslo_today() -> date:
    """Return today's date in Norway, the default `at` of every time-bound edge."""
    return datetime.now(OSLO).date()


async def children_under(db: Database, parent_nin: str, today: date, limit: int = CHILD_AGE_LIMIT) -> frozenset[str]:
    """Return the nins of a parent's registered children younger than `limit` years today."""
    relation, person = ParentRelation.__table__, Person.__table__
    children = [
        r.child_nin
        for r in await db.fetch(PREG, select(relation.c.child_nin).where(relation.c.parent_nin == parent_nin))
    ]
    if not children:
        return frozenset()
    born_after = date(today.year - limit, today.month, min(today.day, 28))
    rows = await db.fetch_by_keys(PREG, BIRTH_DATES, person.c.nin, children)
    return frozenset(r.nin for r in rows if r.birth_date > born_after)


@dataclass
class ContextFactory:
    """Builds each request's context, and finishes each response (redactions, access log, SQL stats)."""

    settings: Settings
    db: Database
    verifier: Verifier | None

    async def __call__(self, request: Request, request_id: str) -> Context:
        """Authenticate the caller and build the context; a bad token is answered with 401."""
        today = oslo_today()
        guard: Any = OpenGuard()
        if self.verifier is not None:
            try:
                principal = await self.verifier.verify(request.headers.get("authorization"))
            except InvalidTokenError as exc:
                REFUSED.labels("token").inc()
                raise RequestError(str(exc), status=401, code=UNAUTHENTICATED,
                                   **{"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None  # fmt: skip
            children = await children_under(self.db, principal.pid, today) if principal.pid else frozenset()
            guard = Guard(principal, children)
        return Context(
            db=self.db,
            loaders=Loaders(self.db),
            registers=self.settings.registers,
            today=today,
            guard=guard,
            request=request,
            request_id=request_id,
            sql=request.state.sql,
        )

    async def finish(self, context: Context, body: dict[str, Any]) -> None:
        """Report redactions, write the access log before anything leaves, and add debug SQL stats."""
        guard = context.guard
        if isinstance(guard, Guard):
            if guard.redactions:
                body["extensions"]["redactions"] = guard.redactions
                if self.settings.auth.redactions_as_errors:
                    body.setdefault("errors", []).extend(_forbidden(r) for r in guard.redactions)
            if guard.released_groups and body.get("data") is not None:
                await self._log(context, guard.principal, guard.released_groups)
        if self.settings.debug and context.sql is not None:
            body["extensions"]["sql"] = {"statements": context.sql.statements, "ms": context.sql.milliseconds}

    async def _log(self, context: Context, principal: Principal, released: dict[str, set[str]]) -> None:
        purpose = context.request.headers.get("x-purpose") if context.request is not None else None
        started = time.perf_counter()
        try:
            await write_entries(self.db, principal=principal, request_id=context.request_id, purpose=purpose,
                                released=released, at=datetime.now(UTC))  # fmt: skip
        except AccessLogUnavailableError as exc:
            raise ReleaseRefusedError(str(exc)) from exc
        if context.request is not None:
            context.request.state.log_ms = (time.perf_counter() - started) * 1000


def _forbidden(redaction: dict[str, Any]) -> dict[str, Any]:
    body = error_body(f"not permitted: {redaction['reason']}", FORBIDDEN, reason=redaction["reason"])
    body["path"] = redaction["path"]
    return body
