"""The access log by month: PostgreSQL partitions, created ahead of time, and retention.

On PostgreSQL `audit_access_log` is partitioned by range of `at`, one partition per calendar month
(UTC) named `audit_access_log_yYYYYmMM`, plus a default partition that catches a row whose month has
no partition yet (so a missing partition never fails a write, and so never a response). The months
ahead are created at every `helsegraf migrate` and whenever a server starts and then daily; a month that
found rows in the default partition gets them moved into its own partition when it is created.

Retention drops whole months: a partition is dropped in one statement, however many rows it holds,
and no row of a kept month is touched. On SQLite (the demo) the log is one table and retention deletes
rows. helsegraf keeps the log for as long as the operator says (`--keep-months`, or
`HELSEGRAF_ACCESS_LOG_RETENTION_MONTHS`); with no setting nothing is ever removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Delete, MetaData, Table, delete, text

from helsegraf.models.audit import AccessLogEntry

TABLE = "audit_access_log"
DEFAULT = f"{TABLE}_default"
LOG: Table = AccessLogEntry.__table__  # type: ignore[assignment]
MONTHS_AHEAD = 2  # the current month and the two after it always have their partition


def month_start(day: date) -> date:
    """Return the first day of `day`'s month."""
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """Return the first day of the month `count` months after `month` (before it when negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    """Return the name of `month`'s partition: `audit_access_log_y2026m12`."""
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def _bound(month: date) -> str:
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


def _older(table: Table, before: date) -> Delete:
    """Delete `table`'s rows before `before`, bound through the model's time type (as the rows were written)."""
    return delete(table).where(table.c.at < datetime(before.year, before.month, 1, tzinfo=UTC))


def is_partitioned(connection: Connection) -> bool:
    """Tell whether this database holds the access log as a partitioned table (PostgreSQL)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE})
    return kind.scalar() == "p"


def partitions(connection: Connection) -> list[date]:
    """Return the months that have a partition of their own, oldest first."""
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": TABLE},
    )
    months = []
    for (name,) in rows:
        suffix = name.removeprefix(f"{TABLE}_y")
        if suffix != name and len(suffix) == 7 and suffix[4] == "m":  # noqa: PLR2004 - "YYYYmMM"
            months.append(date(int(suffix[:4]), int(suffix[5:]), 1))
    return sorted(months)


def ensure_partitions(
    connection: Connection, months: list[date] | None = None, *, today: date | None = None
) -> list[date]:
    """Create the partitions of `months` (default: this month and the next two) that do not exist yet.

    Rows of such a month that already sit in the default partition are moved into the new partition in
    the same transaction. Returns the months created. Does nothing where the log is not partitioned.
    """
    if not is_partitioned(connection):
        return []
    if months is None:
        this = month_start(today or datetime.now(UTC).date())
        months = [add_months(this, i) for i in range(MONTHS_AHEAD + 1)]
    existing = set(partitions(connection))
    created = []
    for month in sorted({month_start(m) for m in months} - existing):
        name, lower, upper = partition_name(month), _bound(month), _bound(add_months(month, 1))
        strays = connection.execute(
            text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE at >= :lo AND at < :hi)"),  # noqa: S608 - our names
            {"lo": lower, "hi": upper},
        ).scalar()
        if strays:
            # PostgreSQL refuses a partition whose range the default partition holds rows of: build the
            # month's table beside the log, move its rows out of the default partition, then attach it.
            connection.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
            connection.execute(
                text(
                    f"WITH moved AS (DELETE FROM {DEFAULT} WHERE at >= :lo AND at < :hi RETURNING *) "  # noqa: S608
                    f"INSERT INTO {name} SELECT * FROM moved"
                ),
                {"lo": lower, "hi": upper},
            )
            connection.execute(
                text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{lower}') TO ('{upper}')")
            )
        else:
            connection.execute(
                text(f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM ('{lower}') TO ('{upper}')")
            )
        created.append(month)
    return created


@dataclass(frozen=True)
class Pruned:
    """What a retention run removed: whole months (PostgreSQL) and rows (SQLite, the default partition)."""

    before: date
    months: tuple[date, ...]
    rows: int


def prune(connection: Connection, keep_months: int, *, today: date | None = None) -> Pruned:
    """Remove the log entries of months before the last `keep_months` whole months and the current one.

    `keep_months=12` on 2026-12-15 keeps everything from 2025-12-01: the current month and the twelve
    before it. On PostgreSQL the old months' partitions are dropped; on SQLite the rows are deleted.
    """
    if keep_months < 1:
        msg = "keep at least one month of the access log"
        raise ValueError(msg)
    before = add_months(month_start(today or datetime.now(UTC).date()), -keep_months)
    if not is_partitioned(connection):
        result = connection.execute(_older(LOG, before))
        return Pruned(before, (), result.rowcount or 0)
    dropped = tuple(m for m in partitions(connection) if add_months(m, 1) <= before)
    for month in dropped:
        connection.execute(text(f"DROP TABLE {partition_name(month)}"))
    default = Table(DEFAULT, MetaData(), *(column._copy() for column in LOG.columns))  # noqa: SLF001 - SQLAlchemy's copy
    strays = connection.execute(_older(default, before))
    return Pruned(before, dropped, strays.rowcount or 0)
