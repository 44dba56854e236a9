"""The access log by month: partitions on PostgreSQL, created ahead, strays moved, retention by whole months."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, insert, text
from typer.testing import CliRunner

from conftest import db_rows, token
from helsegraf.authz import log_partitions
from helsegraf.authz.log_partitions import add_months, ensure_partitions, partition_name, partitions, prune
from helsegraf.cli import app
from helsegraf.config import Settings
from helsegraf.migrate import _config, downgrade, prune_access_log, upgrade
from helsegraf.models.audit import AccessLogEntry

LOG = AccessLogEntry.__table__
THIS_MONTH = datetime.now(UTC).date().replace(day=1)


def row(at: datetime, nin: str = "01817000001", **values: object) -> dict[str, object]:
    return {"at": at, "request_id": uuid.uuid4().hex, "nin": nin, "role": "clinician", "fields": "name", **values}


def utc(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


@pytest.fixture
def audit(empty_database_url: str):
    settings = Settings(database_url=empty_database_url)
    upgrade(settings, ["audit"])
    engine = create_engine(empty_database_url)
    yield settings, engine
    engine.dispose()


def where(engine, request_id: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT tableoid::regclass FROM audit_access_log WHERE request_id = :r"), {"r": request_id}
            ).scalar_one()
        )


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_log_is_partitioned_by_month_with_the_coming_months_ready(audit) -> None:
    _settings, engine = audit
    with engine.connect() as connection:
        assert log_partitions.is_partitioned(connection)
        months = partitions(connection)
        kinds = dict(connection.execute(text(
            "SELECT relname, relkind FROM pg_class WHERE relname LIKE 'audit_access_log%' AND relkind IN ('r', 'p')"
        )).all())  # fmt: skip
        key = connection.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_audit_access_log'"
        )).scalar_one()  # fmt: skip

    assert months == [THIS_MONTH, add_months(THIS_MONTH, 1), add_months(THIS_MONTH, 2)]
    assert kinds["audit_access_log"] == "p"
    assert kinds["audit_access_log_default"] == "r"
    assert key == "PRIMARY KEY (id, at)"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_row_lands_in_its_month_and_a_month_without_a_partition_never_fails_a_write(audit) -> None:
    _settings, engine = audit
    now, later = row(datetime.now(UTC)), row(utc(2031, 5, 17))
    with engine.begin() as connection:
        connection.execute(insert(LOG), [now, later])

    assert where(engine, now["request_id"]) == partition_name(THIS_MONTH)
    assert where(engine, later["request_id"]) == "audit_access_log_default"

    with engine.begin() as connection:  # the month gets its partition: its stray row moves in with it
        created = ensure_partitions(connection, [date(2031, 5, 1)])
    assert created == [date(2031, 5, 1)]
    assert where(engine, later["request_id"]) == "audit_access_log_y2031m05"
    with engine.begin() as connection:
        assert ensure_partitions(connection, [date(2031, 5, 1)]) == []  # idempotent
        count = connection.execute(text("SELECT count(*) FROM audit_access_log")).scalar_one()
    assert count == 2


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_retention_drops_whole_old_months_and_keeps_every_row_of_the_rest(audit) -> None:
    _settings, engine = audit
    today = date(2026, 12, 15)
    with engine.begin() as connection:
        ensure_partitions(connection, [date(2025, m, 1) for m in range(1, 13)])
        connection.execute(insert(LOG), [row(utc(2025, m, 9)) for m in range(1, 13)] + [row(utc(2024, 6, 3))])
        pruned = prune(connection, 11, today=today)
        left = [r.at for r in connection.execute(text("SELECT at FROM audit_access_log ORDER BY at"))]
        months = partitions(connection)

    assert pruned.before == date(2026, 1, 1)
    assert pruned.months == tuple(date(2025, m, 1) for m in range(1, 13))
    assert pruned.rows == 1  # the 2024 row sat in the default partition
    assert left == []
    assert date(2025, 12, 1) not in months

    with engine.begin() as connection:
        connection.execute(insert(LOG), [row(utc(2026, 1, 2)), row(utc(2026, 12, 1))])
        again = prune(connection, 11, today=today)
        kept = connection.execute(text("SELECT count(*) FROM audit_access_log")).scalar_one()
    assert (again.months, again.rows) == ((), 0)
    assert kept == 2


def test_retention_on_either_database_keeps_the_current_month_and_the_ones_asked_for(audit) -> None:
    _settings, engine = audit
    today = date(2026, 12, 15)
    with engine.begin() as connection:
        ensure_partitions(connection, [date(2026, m, 1) for m in range(1, 13)])
        connection.execute(insert(LOG), [row(utc(2026, m, 28)) for m in range(1, 13)])
        pruned = prune(connection, 3, today=today)
        left = sorted(r.at.month for r in connection.execute(LOG.select()))

    assert pruned.before == date(2026, 9, 1)
    assert left == [9, 10, 11, 12]
    with engine.begin() as connection, pytest.raises(ValueError, match="at least one month"):
        prune(connection, 0, today=today)


def test_prune_access_log_command(audit) -> None:
    settings, engine = audit
    with engine.begin() as connection:
        connection.execute(insert(LOG), [row(utc(2001, 3, 4)), row(datetime.now(UTC))])
    runner = CliRunner()

    missing = runner.invoke(app, ["prune-access-log", "--database-url", settings.database_url])
    zero = runner.invoke(app, ["prune-access-log", "--keep-months", "0", "--database-url", settings.database_url])
    done = runner.invoke(app, ["prune-access-log", "--keep-months", "6", "--database-url", settings.database_url])

    assert missing.exit_code == 2
    assert "--keep-months" in missing.output
    assert "Traceback" not in missing.output
    assert zero.exit_code == 2
    assert done.exit_code == 0, done.output
    assert "kept the access log from" in done.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_access_log")).scalar_one() == 1
    assert prune_access_log(settings, 6).rows == 0


def test_migrating_keeps_every_entry_and_the_ids_go_on(empty_database_url: str) -> None:
    from alembic import command  # noqa: PLC0415

    settings = Settings(database_url=empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            config = _config("audit")
            config.attributes["connection"] = connection
            command.upgrade(config, "audit_0002")
            old = [
                (utc(2024, 2, 29), "01817000001"),
                (utc(2026, 7, 1), "01817000001"),
                (utc(2026, 7, 2), "02817000002"),
            ]
            connection.execute(insert(LOG), [row(at, nin) for at, nin in old])  # audit_0002 has the same columns
        upgrade(settings, ["audit"])
        with engine.begin() as connection:
            kept = [(r.id, r.nin, r.at) for r in connection.execute(LOG.select().order_by(LOG.c.id))]
            connection.execute(insert(LOG), [row(datetime.now(UTC))])
            newest = connection.execute(text("SELECT max(id) FROM audit_access_log")).scalar_one()
            months = partitions(connection) if engine.dialect.name == "postgresql" else []
        downgrade(settings, ["audit"])  # and back down: one table, every row (then nothing, at the base)
    finally:
        engine.dispose()

    assert [(i, n) for i, n, _ in kept] == [(1, "01817000001"), (2, "01817000001"), (3, "02817000002")]
    assert [at.astimezone(UTC) for *_, at in kept] == [utc(2024, 2, 29), utc(2026, 7, 1), utc(2026, 7, 2)]
    assert newest == 4
    if engine.dialect.name == "postgresql":
        assert {date(2024, 2, 1), date(2026, 7, 1), THIS_MONTH} <= set(months)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_downgrading_the_partitions_keeps_every_entry(audit) -> None:
    from alembic import command  # noqa: PLC0415

    _settings, engine = audit
    with engine.begin() as connection:
        connection.execute(insert(LOG), [row(utc(2026, 1, 5)), row(utc(2033, 1, 5)), row(datetime.now(UTC))])
    with engine.begin() as connection:
        config = _config("audit")
        config.attributes["connection"] = connection
        command.downgrade(config, "audit_0002")
    with engine.connect() as connection:
        kind = connection.execute(text("SELECT relkind FROM pg_class WHERE relname = 'audit_access_log'")).scalar_one()
        count = connection.execute(text("SELECT count(*) FROM audit_access_log")).scalar_one()
        left = connection.execute(
            text("SELECT count(*) FROM pg_class WHERE relname LIKE 'audit_access_log_y%'")
        ).scalar_one()
    assert (kind, count, left) == ("r", 3, 0)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_release_through_the_graph_is_written_to_this_months_partition_and_read_back(graph, nation) -> None:
    citizen = nation.samples["personWithGp"]
    request_id = uuid.uuid4().hex
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"],
                      org_number=nation.samples["officeOrgNumber"])  # fmt: skip

    await graph.data("query($n: ID!) { person(nin: $n) { name { full } } }", {"n": citizen}, token=clinician,
                     **{"x-purpose": request_id, "x-request-id": request_id})  # fmt: skip
    mine = await graph.data("{ me { accessLog(first: 1) { edges { node { purpose } } } } }",
                            token=token(nation, "citizen", pid=citizen))  # fmt: skip

    [placed] = db_rows(
        nation, "SELECT tableoid::regclass AS p FROM audit_access_log WHERE request_id = :r", r=request_id
    )
    assert str(placed.p) == partition_name(THIS_MONTH)
    assert mine["me"]["accessLog"]["edges"][0]["node"]["purpose"] == request_id


async def test_pages_of_several_persons_logs_come_newest_first_in_one_statement(graph, nation) -> None:
    a, b = (r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin DESC LIMIT 2 OFFSET 11"))
    marker = uuid.uuid4().hex
    rows = [row(utc(2025 + i % 2, 1 + i % 12, 1 + i % 27), a, purpose=f"{marker}-a{i}") for i in range(25)]
    rows += [row(utc(2026, 3, 1 + i), b, purpose=f"{marker}-b{i}") for i in range(3)]
    engine = nation.engine()
    try:
        with engine.begin() as connection:
            ensure_partitions(connection, sorted({month_of(r["at"]) for r in rows}))
            connection.execute(insert(LOG), rows)
    finally:
        engine.dispose()
    page = """query($a: ID!, $b: ID!, $after: String) {
      a: person(nin: $a) { accessLog(first: 10, after: $after) { totalCount edges { node { purpose } }
                                                                 pageInfo { hasNextPage endCursor } } }
      b: person(nin: $b) { accessLog(first: 10) { totalCount edges { node { purpose } } } } }"""
    auditor = token(nation, "admin")

    seen, after, statements = [], None, []
    while True:
        body = await graph.query(page, {"a": a, "b": b, "after": after}, token=auditor, **{"x-purpose": "tilsyn"})
        log = body["data"]["a"]["accessLog"]
        seen += [e["node"]["purpose"] for e in log["edges"]]
        statements.append(body["extensions"]["sql"]["statements"])
        if not log["pageInfo"]["hasNextPage"]:
            break
        after = log["pageInfo"]["endCursor"]
    ours = [p for p in seen if p and p.startswith(marker)]
    b_log = body["data"]["b"]["accessLog"]

    assert ours == [f"{marker}-a{i}" for i in range(24, -1, -1)]  # inserted in order: ids rise with the list
    assert log["totalCount"] == len(seen) + len(statements) - 1  # each earlier page's read was logged after it
    b_purposes = [e["node"]["purpose"] for e in b_log["edges"]]
    assert b_purposes == ["tilsyn"] * (len(statements) - 1) + [f"{marker}-b{i}" for i in (2, 1, 0)]
    # One statement per page shape (a's pages after a cursor, b's first page), whatever the logs hold.
    assert statements[1:] == [statements[0] + 1] * (len(statements) - 1)


def month_of(at: datetime) -> date:
    return at.date().replace(day=1)
