"""audit: the access log partitioned by month on PostgreSQL, read by (person, id)

At national scale the log grows by billions of rows a year. On PostgreSQL `audit_access_log` becomes a
table partitioned by range of `at`, one partition per month plus a default one
(authz/log_partitions.py), so that retention drops whole months and a person's log is read from small
per-month indexes. The primary key becomes (id, at), as PostgreSQL requires the partition key in it;
ids still come from the same sequence. The person indexes are on (nin, id) and (subject_hpr_number, id),
the order a person's log is paged in. Existing rows are moved into their months' partitions.

SQLite (the demo) keeps one table; only its indexes change.

Revision ID: audit_0003
Revises: audit_0002
Create Date: 2026-12-02 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

from helsegraf.authz import log_partitions

revision: str = "audit_0003"
down_revision: str | Sequence[str] | None = "audit_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "id, at, request_id, nin, subject_hpr_number, subject, role, hpr_number, org_number, client_id, purpose, "
    "scopes, fields"
)


OLD = ("ix_audit_access_log_nin_at", "ix_audit_access_log_subject_hpr_number_at")
NEW = ("ix_audit_access_log_nin_id", "ix_audit_access_log_subject_hpr_number_id")


def _person_indexes(names: tuple[str, str], order: str) -> None:
    op.create_index(names[0], "audit_access_log", ["nin", order], unique=False)
    op.create_index(names[1], "audit_access_log", ["subject_hpr_number", order], unique=False)


def _drop(names: tuple[str, str]) -> None:
    for name in names:
        op.drop_index(name, table_name="audit_access_log")


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        _drop(OLD)
        _person_indexes(NEW, "id")
        return
    op.execute("ALTER SEQUENCE audit_access_log_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE audit_access_log RENAME TO audit_access_log_unpartitioned")
    for name in OLD:
        op.execute(f"DROP INDEX {name}")
    op.execute(
        "ALTER TABLE audit_access_log_unpartitioned "
        "RENAME CONSTRAINT pk_audit_access_log TO pk_audit_access_log_unpartitioned"
    )
    op.execute(
        """
        CREATE TABLE audit_access_log (
            id BIGINT NOT NULL DEFAULT nextval('audit_access_log_id_seq'),
            at TIMESTAMP WITH TIME ZONE NOT NULL,
            request_id TEXT NOT NULL,
            nin VARCHAR(11),
            subject_hpr_number INTEGER,
            subject TEXT,
            role TEXT,
            hpr_number INTEGER,
            org_number VARCHAR(9),
            client_id TEXT,
            purpose TEXT,
            scopes TEXT,
            fields TEXT NOT NULL,
            CONSTRAINT pk_audit_access_log PRIMARY KEY (id, at)
        ) PARTITION BY RANGE (at)
        """
    )
    op.execute("CREATE TABLE audit_access_log_default PARTITION OF audit_access_log DEFAULT")
    _person_indexes(NEW, "id")
    span = bind.execute(sa.text("SELECT min(at), max(at) FROM audit_access_log_unpartitioned")).one()
    months = _months(span[0], span[1]) if span[0] is not None else []
    this = log_partitions.month_start(datetime.now(UTC).date())
    months += [log_partitions.add_months(this, i) for i in range(log_partitions.MONTHS_AHEAD + 1)]
    log_partitions.ensure_partitions(bind, months)
    op.execute(f"INSERT INTO audit_access_log ({COLUMNS}) SELECT {COLUMNS} FROM audit_access_log_unpartitioned")  # noqa: S608
    op.execute("DROP TABLE audit_access_log_unpartitioned")
    op.execute("ALTER SEQUENCE audit_access_log_id_seq OWNED BY audit_access_log.id")


def _months(first: datetime, last: datetime) -> list[date]:
    month, end = log_partitions.month_start(first.astimezone(UTC).date()), last.astimezone(UTC).date()
    months = []
    while month <= end:
        months.append(month)
        month = log_partitions.add_months(month, 1)
    return months


def downgrade() -> None:
    """Revert this revision: one table again, with every row."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        _drop(NEW)
        _person_indexes(OLD, "at")
        return
    op.execute("ALTER SEQUENCE audit_access_log_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE audit_access_log RENAME TO audit_access_log_partitioned")
    op.execute(
        "ALTER TABLE audit_access_log_partitioned "
        "RENAME CONSTRAINT pk_audit_access_log TO pk_audit_access_log_partitioned"
    )
    for name in NEW:
        op.execute(f"DROP INDEX {name}")
    op.execute(
        "CREATE TABLE audit_access_log (LIKE audit_access_log_partitioned INCLUDING DEFAULTS, "
        "CONSTRAINT pk_audit_access_log PRIMARY KEY (id))"
    )
    op.execute(f"INSERT INTO audit_access_log ({COLUMNS}) SELECT {COLUMNS} FROM audit_access_log_partitioned")  # noqa: S608
    op.execute("DROP TABLE audit_access_log_partitioned")
    op.execute("ALTER SEQUENCE audit_access_log_id_seq OWNED BY audit_access_log.id")
    _person_indexes(OLD, "at")
