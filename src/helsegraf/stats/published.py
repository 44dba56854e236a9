"""Published reference dates: a reference date's counts of persons are made once, then kept.

The registers keep validity dates, not the time a row was registered: a membership registered after a
quarter end but dated before it (a correction, a late change of GP; a death registered days later ends
one before it), or an approval in HPR registered late, would change that quarter end's counts when asked
again, and an analyst polling a past reference date would see the one cell that moved, the changed
person's. So the first table that needs a reference date's counts of persons makes the date's grouped
scans (FLR: listed persons and the sum of their record keys per list, age group and gender, with the
lists' attributes at the date; HPR: persons with a valid approval and their key sum per
helsepersonellkategori and for every category together) and stores them here, in helsegraf's own store
beside the query log, as one publication; every later table of that date, by any route, is answered
from the stored scans. What is stored is grouped rows (at most lists x 10 age groups x 2 genders per
date, a few tens of thousands at national scale, and a row per category), never persons, and a key sum
is kept modulo 256 (all a cell key needs).

A publication stored before HPR's rows were kept (migration audit_0006) has none: its health personnel
are published the first time a table of the date needs them, once, in the same way (`personnel`).

**Once.** Two first requests at the same time both make the scan; the first to insert the date's
publication row wins (insert-if-absent on the primary key, in the transaction that writes its rows),
the other throws its own scan away and reads the winner's: both answer from the same rows.

**The secret.** Key sums are made under the statistics secret; a publication is stored under the
secret's identity (a keyed hash of it, never the secret). After a rotation no publication of the new
identity exists: the date is published anew from the registers as they are then, and writing it
deletes every publication made under another secret, so stored key sums never outlive a rotation.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from helsegraf.db import write_rows
from helsegraf.models.audit import (
    StatisticsPublication,
    StatisticsPublishedCell,
    StatisticsPublishedList,
    StatisticsPublishedPersonnel,
)
from helsegraf.models.base import table_of
from helsegraf.registers import AUDIT

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from helsegraf.db import Database

PUBLICATION: Final = table_of(StatisticsPublication)
PUBLISHED_LIST: Final = table_of(StatisticsPublishedList)
PUBLISHED_CELL: Final = table_of(StatisticsPublishedCell)
PUBLISHED_PERSONNEL: Final = table_of(StatisticsPublishedPersonnel)
TABLES: Final = (PUBLISHED_CELL, PUBLISHED_LIST, PUBLISHED_PERSONNEL, PUBLICATION)
UNKNOWN: Final = ""  # an age group or gender neither register gives (a primary-key column is never NULL)
ANY_CATEGORY: Final = ""  # health personnel of every category together, each person once
LIST_COLUMNS: Final = ("reference_date", "key_id", "contract_id", "municipality_code", "is_open", "fixed_salary",
                       "max_patients", "has_gp", "groups")  # fmt: skip
PERSONNEL_COLUMNS: Final = ("reference_date", "key_id", "category", "persons", "key_sum")
CELL_KEYS: Final = 256

# (list, municipality, open, fixed salary, listetak, has a fastlege) at the reference date
ListRow = tuple[int, str, bool, bool, int, bool]
# (list, age group or None, gender or None, listed persons, key sum)
CellRow = tuple[int, str | None, str | None, int, int]
# (helsepersonellkategori or ANY_CATEGORY, persons with a valid approval, key sum)
PersonnelRow = tuple[str, int, int]


@dataclass(frozen=True)
class Scan:
    """A reference date's grouped scans: lists, listed persons, health personnel.

    Its lists' attributes, its listed persons per list, age group and gender, and its health personnel
    per category (None: stored, not read until a table needs them).
    """

    lists: list[ListRow]
    cells: list[CellRow]
    personnel: list[PersonnelRow] | None = None


def key_identity(secret: bytes) -> str:
    """Return a statistics secret's identity: a keyed hash of it, 16 hex digits (telling nothing of the secret)."""
    return hmac.new(secret, b"helsegraf statistics publications", hashlib.sha256).hexdigest()[:16]


T = TypeVar("T")


async def _stored_once(
    on: date, read: Callable[[], Awaitable[T | None]], make: Callable[[], Awaitable[T]],
    write: Callable[[T], Awaitable[bool]], as_stored: Callable[[T], T],
) -> T:  # fmt: skip
    """Return what is stored for a reference date, else `make`'s, stored first (once, insert-if-absent)."""
    stored = await read()
    if stored is not None:
        return stored
    made = await make()
    if await write(made):
        return as_stored(made)
    stored = await read()  # another request published the date first: its rows are the answer
    if stored is None:  # it was deleted meanwhile (a rotation of the secret elsewhere): nothing stands published
        raise RuntimeError(f"the publication of {on.isoformat()} went away while it was read")
    return stored


async def published(db: Database, on: date, key_id: str, make: Callable[[], Awaitable[Scan]]) -> Scan:
    """Return a reference date's published scan: the stored one, else `make`'s, stored first (once)."""
    return await _stored_once(on, lambda: _read(db, on, key_id), make,
                              lambda scan: _write(db, on, key_id, scan), _as_stored)  # fmt: skip


async def personnel(
    db: Database, on: date, key_id: str, make: Callable[[], Awaitable[list[PersonnelRow]]]
) -> list[PersonnelRow]:
    """Return a published date's health personnel: the stored rows, else `make`'s, stored first (once).

    `make` runs for a publication stored before health personnel were kept (migration audit_0006).
    """
    return await _stored_once(on, lambda: _read_personnel(db, on, key_id), make,
                              lambda rows: _write_personnel(db, on, key_id, rows), _personnel_as_stored)  # fmt: skip
    rows = await make()
    if await _write_personnel(db, on, key_id, rows):
        return _personnel_as_stored(rows)
    stored = await _read_personnel(db, on, key_id)  # another request published them first
    if stored is None:
        raise RuntimeError(f"the publication of {on.isoformat()} went away while it was read")
    return stored


def _as_stored(scan: Scan) -> Scan:
    """Return a scan as it reads back from the store (key sums modulo 256)."""
    rows = None if scan.personnel is None else _personnel_as_stored(scan.personnel)
    return Scan(scan.lists, [(c, a, g, n, k % CELL_KEYS) for c, a, g, n, k in scan.cells], rows)


def _personnel_as_stored(rows: list[PersonnelRow]) -> list[PersonnelRow]:
    return [(c, n, k % CELL_KEYS) for c, n, k in rows]


async def _read(db: Database, on: date, key_id: str) -> Scan | None:
    p = PUBLICATION.c
    found = await db.fetch(AUDIT, select(p.reference_date).where(p.reference_date == on, p.key_id == key_id))
    if not found:
        return None
    # The publication's rows were committed with its row: once it is seen, they are all there.
    lists_rows = await db.fetch(AUDIT, _of(PUBLISHED_LIST, on, key_id))
    lists = [(int(r.contract_id), r.municipality_code, bool(r.is_open), bool(r.fixed_salary), int(r.max_patients),
              bool(r.has_gp)) for r in lists_rows]  # fmt: skip
    if any(r.groups is None for r in lists_rows):  # stored before audit_0006: a row per group
        cells = [(int(r.contract_id), r.age_group or None, r.gender or None, int(r.persons), int(r.key_sum))
                 for r in await db.fetch(AUDIT, _of(PUBLISHED_CELL, on, key_id))]  # fmt: skip
    else:
        cells = [cell for r in lists_rows for cell in unpack(int(r.contract_id), r.groups)]
    return Scan(lists, cells)


def pack(cells: list[CellRow]) -> dict[int, str]:
    """Return each list's grouped rows as one text: `age group,gender,persons,key sum` joined by `;`.

    An age group or gender neither register gives is empty; key sums are kept modulo 256. (A row per
    group was 107,500 rows to write and read per publication at 5.5 million persons; packed per list,
    5,375: the same grouped counts, never persons.)
    """
    texts: dict[int, list[str]] = {}
    for c, a, g, n, k in cells:
        texts.setdefault(c, []).append(f"{a or UNKNOWN},{g or UNKNOWN},{n},{k % CELL_KEYS}")
    return {c: ";".join(groups) for c, groups in texts.items()}


def unpack(contract_id: int, text: str) -> list[CellRow]:
    """Return a list's grouped rows from its packed text (`pack`)."""
    cells: list[CellRow] = []
    for group in text.split(";") if text else ():
        age, gender, persons, key_sum = group.split(",")
        cells.append((contract_id, age or None, gender or None, int(persons), int(key_sum)))
    return cells


async def _read_personnel(db: Database, on: date, key_id: str) -> list[PersonnelRow] | None:
    """Return a publication's health personnel, or None if it has none (stored before they were kept)."""
    rows = await db.fetch(AUDIT, _of(PUBLISHED_PERSONNEL, on, key_id))
    if not any(r.category == ANY_CATEGORY for r in rows):  # written with every category's row, or not at all
        return None
    return [(r.category, int(r.persons), int(r.key_sum)) for r in rows]


def _of(table: Any, on: date, key_id: str) -> Any:
    columns = [c for c in table.columns if c.key not in {"reference_date", "key_id"}]
    return select(*columns).where(table.c.reference_date == on, table.c.key_id == key_id)


async def _write(db: Database, on: date, key_id: str, scan: Scan) -> bool:
    """Store a scan as the date's publication, unless one is there already; tell whether this one was stored."""
    dialect = postgresql if db.is_postgres(AUDIT) else sqlite
    claim = (dialect.insert(PUBLICATION)
             .values(reference_date=on, key_id=key_id, published_at=datetime.now(UTC))
             .on_conflict_do_nothing().returning(PUBLICATION.c.reference_date))  # fmt: skip
    p = PUBLICATION.c
    async with db.engine(AUDIT).begin() as conn:
        # On PostgreSQL a concurrent claim of the same date waits here for the first one's transaction,
        # then inserts nothing; on SQLite the database's write lock orders the two.
        if (await conn.execute(claim)).first() is None:  # (rowcount is not told on every driver)
            return False
        # Publications made under a secret no longer in use (their rows scanned only when there are some).
        if (await conn.execute(select(p.key_id).where(p.key_id != key_id).limit(1))).first() is not None:
            for table in TABLES:
                await conn.execute(delete(table).where(table.c.key_id != key_id))
        groups = pack(scan.cells)
        await write_rows(conn, PUBLISHED_LIST, LIST_COLUMNS,
                         [(on, key_id, *x, groups.get(x[0], "")) for x in scan.lists])  # fmt: skip
        if scan.personnel is not None:
            await _insert_personnel(conn, on, key_id, scan.personnel)
    return True


async def _write_personnel(db: Database, on: date, key_id: str, rows: list[PersonnelRow]) -> bool:
    """Store health personnel in a publication that has none, unless another request did; tell whether these were."""
    dialect = postgresql if db.is_postgres(AUDIT) else sqlite
    total = next(((n, k) for c, n, k in rows if c == ANY_CATEGORY), (0, 0))
    claim = (dialect.insert(PUBLISHED_PERSONNEL)
             .values(reference_date=on, key_id=key_id, category=ANY_CATEGORY, persons=total[0],
                     key_sum=total[1] % CELL_KEYS)
             .on_conflict_do_nothing().returning(PUBLISHED_PERSONNEL.c.category))  # fmt: skip
    p = PUBLICATION.c
    async with db.engine(AUDIT).begin() as conn:
        # The row of every category together is the claim (insert-if-absent on its key, as a publication's own).
        if (await conn.execute(claim)).first() is None:
            return False
        there = await conn.execute(select(p.reference_date).where(p.reference_date == on, p.key_id == key_id))
        if there.first() is None:  # deleted by a rotation since it was read: nothing to complete
            raise RuntimeError(f"the publication of {on.isoformat()} went away while it was read")
        await _insert_personnel(conn, on, key_id, [r for r in rows if r[0] != ANY_CATEGORY])
    return True


async def _insert_personnel(conn: Any, on: date, key_id: str, rows: list[PersonnelRow]) -> None:
    await write_rows(conn, PUBLISHED_PERSONNEL, PERSONNEL_COLUMNS,
                     [(on, key_id, c, n, k % CELL_KEYS) for c, n, k in rows])  # fmt: skip
