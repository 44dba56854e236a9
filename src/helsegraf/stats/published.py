"""Published reference dates: a reference date's counts of persons are made once, then kept.

The registers keep validity dates, not the time a row was registered: a membership registered after a
quarter end but dated before it (a correction, a late change of GP; a death registered days later ends
one before it) would change that quarter end's counts when asked again, and an analyst polling a past
reference date would see the one cell that moved, the changed person's. So the first table that needs
a reference date's counts of listed persons makes the grouped scan of that date (listed persons and the
sum of their record keys per list, age group and gender, with the lists' attributes at the date) and
stores it here, in helsegraf's own store beside the query log; every later table of that date, by any
route, is answered from the stored scan. What is stored is grouped rows (at most lists x 10 age groups
x 2 genders per date, a few tens of thousands at national scale), never persons, and a key sum is kept
modulo 256 (all a cell key needs).

**Once.** Two first requests at the same time both make the scan; the first to insert the date's
publication row wins (insert-if-absent on the primary key, in the transaction that writes its rows),
the other throws its own scan away and reads the winner's: both answer from the same rows.

**The secret.** Key sums are made under the statistics secret; a publication is stored under the
secret's identity (a keyed hash of it, never the secret). After a rotation no publication of the new
identity exists: the date is published anew from the registers as they are then, and writing it
deletes every publication made under another secret, so stored key sums never outlive a rotation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from helsegraf.models.audit import StatisticsPublication, StatisticsPublishedCell, StatisticsPublishedList
from helsegraf.models.base import table_of
from helsegraf.registers import AUDIT

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from helsegraf.db import Database

PUBLICATION: Final = table_of(StatisticsPublication)
PUBLISHED_LIST: Final = table_of(StatisticsPublishedList)
PUBLISHED_CELL: Final = table_of(StatisticsPublishedCell)
UNKNOWN: Final = ""  # an age group or gender neither register gives (a primary-key column is never NULL)
CELL_KEYS: Final = 256

# (list, municipality, open, fixed salary, listetak, has a fastlege) at the reference date
ListRow = tuple[int, str, bool, bool, int, bool]
# (list, age group or None, gender or None, listed persons, key sum)
CellRow = tuple[int, str | None, str | None, int, int]


@dataclass(frozen=True)
class Scan:
    """A reference date's grouped scan: its lists' attributes and its listed persons per list, age group, gender."""

    lists: list[ListRow]
    cells: list[CellRow]


def key_identity(secret: bytes) -> str:
    """Return a statistics secret's identity: a keyed hash of it, 16 hex digits (telling nothing of the secret)."""
    return hmac.new(secret, b"helsegraf statistics publications", hashlib.sha256).hexdigest()[:16]


async def published(db: Database, on: date, key_id: str, make: Callable[[], Awaitable[Scan]]) -> Scan:
    """Return a reference date's published scan: the stored one, else `make`'s, stored first (once)."""
    stored = await _read(db, on, key_id)
    if stored is not None:
        return stored
    scan = await make()
    if await _write(db, on, key_id, scan):
        return _as_stored(scan)
    stored = await _read(db, on, key_id)  # another request published the date first: its rows are the answer
    if stored is None:  # it was deleted meanwhile (a rotation of the secret elsewhere): nothing stands published
        raise RuntimeError(f"the publication of {on.isoformat()} went away while it was read")
    return stored


def _as_stored(scan: Scan) -> Scan:
    """Return a scan as it reads back from the store (key sums modulo 256)."""
    return Scan(scan.lists, [(c, a, g, n, k % CELL_KEYS) for c, a, g, n, k in scan.cells])


async def _read(db: Database, on: date, key_id: str) -> Scan | None:
    p = PUBLICATION.c
    found = await db.fetch(AUDIT, select(p.reference_date).where(p.reference_date == on, p.key_id == key_id))
    if not found:
        return None
    # The publication's rows were committed with its row: once it is seen, they are all there.
    lists_rows, cell_rows = await asyncio.gather(
        db.fetch(AUDIT, _of(PUBLISHED_LIST, on, key_id)), db.fetch(AUDIT, _of(PUBLISHED_CELL, on, key_id))
    )
    lists = [(int(r.contract_id), r.municipality_code, bool(r.is_open), bool(r.fixed_salary), int(r.max_patients),
              bool(r.has_gp)) for r in lists_rows]  # fmt: skip
    cells = [(int(r.contract_id), r.age_group or None, r.gender or None, int(r.persons), int(r.key_sum))
             for r in cell_rows]  # fmt: skip
    return Scan(lists, cells)


def _of(table: Any, on: date, key_id: str) -> Any:
    columns = [c for c in table.columns if c.key not in {"reference_date", "key_id"}]
    return select(*columns).where(table.c.reference_date == on, table.c.key_id == key_id)


async def _write(db: Database, on: date, key_id: str, scan: Scan) -> bool:
    """Store a scan as the date's publication, unless one is there already; tell whether this one was stored."""
    dialect = postgresql if db.is_postgres(AUDIT) else sqlite
    claim = (dialect.insert(PUBLICATION)
             .values(reference_date=on, key_id=key_id, published_at=datetime.now(UTC))
             .on_conflict_do_nothing().returning(PUBLICATION.c.reference_date))  # fmt: skip
    async with db.engine(AUDIT).begin() as conn:
        # On PostgreSQL a concurrent claim of the same date waits here for the first one's transaction,
        # then inserts nothing; on SQLite the database's write lock orders the two.
        if (await conn.execute(claim)).first() is None:  # (rowcount is not told on every driver)
            return False
        for table in (PUBLISHED_CELL, PUBLISHED_LIST, PUBLICATION):  # made under a secret no longer in use
            await conn.execute(delete(table).where(table.c.key_id != key_id))
        shared = {"reference_date": on, "key_id": key_id}
        if scan.lists:
            await conn.execute(insert(PUBLISHED_LIST), [
                {**shared, "contract_id": c, "municipality_code": m, "is_open": o, "fixed_salary": f, "max_patients": x,
                 "has_gp": g} for c, m, o, f, x, g in scan.lists])  # fmt: skip
        if scan.cells:
            await conn.execute(insert(PUBLISHED_CELL), [
                {**shared, "contract_id": c, "age_group": a or UNKNOWN, "gender": g or UNKNOWN, "persons": n,
                 "key_sum": k % CELL_KEYS} for c, a, g, n, k in scan.cells])  # fmt: skip
    return True
