"""The access log in the graph: `Person.accessLog`, readable by the person themself or with audit:read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from helsegraf.authz.requirements import ACCESS_LOG
from helsegraf.registers import PREG
from helsegraf.schema.base import Connection, Info, connection, decode_cursor, page_size, personal


@strawberry.type(description="Who looked: the caller's identity as their token stated it.")
class Actor:
    """The subject, role, HPR number, organisation and client of a caller."""

    subject: str | None = strawberry.field(description="The token's subject.")
    role: str | None = strawberry.field(description="citizen, clinician, integrator, analyst or admin.")
    hpr_number: int | None = strawberry.field(description="The caller's HPR number, for health personnel.")
    org_number: str | None = strawberry.field(description="The caller's organisation (orgnr_parent).")
    client_id: str | None = strawberry.field(description="The calling system's client id.")


@strawberry.type(description="One release of a person's data (logg over bruk): who, when, why, which field groups.")
class AccessLogEntry:
    """An access-log entry."""

    at: datetime = strawberry.field(description="When the data was released.")
    actor: Actor = strawberry.field(description="Who received it.")
    purpose: str | None = strawberry.field(description="The purpose the caller stated (X-Purpose header).")
    fields: list[str] = strawberry.field(description="The field groups released: identity, address, family, gp, ...")


@strawberry.type
class PersonAudit:
    """The access log's field on Person."""

    nin: strawberry.ID

    @personal(ACCESS_LOG, description="Who has seen this person's data, newest first (the person, or audit:read).")
    async def access_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AccessLogEntry] | None:
        """Return a page of the person's access log."""
        size, before_id = page_size(first), decode_cursor(info, "access", after)
        numbers = await _numbers(info, self)
        rows = await info.context.loaders.access_log.load((numbers, before_id, size))
        total = await info.context.loaders.access_log_count.load(numbers)
        items = [(row.id, _entry(row)) for row in rows]
        return connection(info, "access", items, size, total, before_id)


async def _numbers(info: Info, person: Any) -> tuple[str, ...]:
    """Return every number the person's log may be under: the one now in use and those it replaced.

    Entries are written under the number in use when the data left; after a change of number (or a
    merged duplicate) the older entries are still the person's.
    """
    current = str(getattr(person, "subject", None) or person.nin)
    if PREG not in info.context.registers:
        return (current,)
    return (current, *await info.context.loaders.former_numbers.load(current))


def _entry(row: Any) -> AccessLogEntry:
    r = row  # a Row of audit_access_log
    actor = Actor(
        subject=r.subject, role=r.role, hpr_number=r.hpr_number, org_number=r.org_number, client_id=r.client_id
    )
    # Entries are written in UTC; SQLite hands them back without their offset, which the graph must not drop.
    at = r.at if r.at.tzinfo is not None else r.at.replace(tzinfo=UTC)
    return AccessLogEntry(at=at, actor=actor, purpose=r.purpose, fields=r.fields.split())
