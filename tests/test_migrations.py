"""Migrations create every register's tables and drop them again, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from helsegraf.cli import _check_database as check_database
from helsegraf.cli import app
from helsegraf.config import Settings
from helsegraf.migrate import _config, downgrade, missing_tables, pending_migrations, upgrade
from helsegraf.models import METADATA
from helsegraf.registers import STORES


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_with_a_version_table_per_store(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)

    upgrade(settings)

    tables = _tables(empty_database_url)
    for store in STORES:
        assert set(METADATA[store].tables) <= tables, store
        assert f"alembic_version_{store}" in tables
    assert missing_tables(settings) == []


def test_migrated_columns_match_the_models(empty_database_url: str) -> None:
    upgrade(Settings(database_url=empty_database_url))

    engine = create_engine(empty_database_url)
    try:
        inspector = inspect(engine)
        for store in STORES:
            for name, table in METADATA[store].tables.items():
                migrated = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
                assert migrated == {c.name: c.nullable for c in table.columns}, name
    finally:
        engine.dispose()


def test_downgrade_drops_every_table(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    upgrade(settings)

    downgrade(settings)

    remaining = {t for t in _tables(empty_database_url) if not t.startswith("alembic_version")}
    assert remaining == set()
    assert len(missing_tables(settings)) == sum(len(METADATA[s].tables) for s in STORES)


def test_upgrade_twice_is_a_no_op(empty_database_url: str) -> None:
    settings = Settings(database_url=empty_database_url)
    upgrade(settings)

    upgrade(settings)

    assert missing_tables(settings) == []


def test_each_register_can_live_in_its_own_database(tmp_path) -> None:
    urls = {store: f"sqlite:///{tmp_path / f'{store}.db'}" for store in STORES}
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'shared.db'}", register_urls=urls)

    upgrade(settings)

    for store, url in urls.items():
        assert set(METADATA[store].tables) <= _tables(url)
        others = {t for s in STORES if s != store for t in METADATA[s].tables}
        assert not others & _tables(url), f"{store}'s database holds another register's tables"
    assert _tables(f"sqlite:///{tmp_path / 'shared.db'}") == set()


def test_migrate_brings_an_older_schema_up_to_date_and_keeps_the_data(empty_database_url: str, capsys) -> None:
    runner = CliRunner()
    settings = Settings(database_url=empty_database_url)
    assert runner.invoke(app, ["seed", "--database-url", empty_database_url, "--persons", "300"]).exit_code == 0
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:  # back to the schema before the patients' birth date and gender
            config = _config("flr")
            config.attributes["connection"] = connection
            command.downgrade(config, "flr_0001")
        with engine.connect() as connection:
            before = connection.execute(text("SELECT count(*) FROM flr_list_membership")).scalar_one()
        behind = pending_migrations(settings)
        check_database(settings)  # what `helsegraf serve` says before it starts
        warned = capsys.readouterr().err

        migrated = runner.invoke(app, ["migrate", "--database-url", empty_database_url])
        again = runner.invoke(app, ["migrate", "--database-url", empty_database_url])

        with engine.connect() as connection:
            after = connection.execute(text("SELECT count(*) FROM flr_list_membership")).scalar_one()
            # Each list gets one period of its listetak, open status and fixed salary: today's, over its validity.
            terms = connection.execute(text(
                "SELECT count(*) FROM flr_gp_contract c JOIN flr_gp_contract_terms t ON t.contract_id = c.id "
                "AND t.valid_from = c.valid_from AND t.max_patients = c.max_patients AND t.is_open = c.is_open "
                "AND t.fixed_salary = c.fixed_salary")).scalar_one()  # fmt: skip
            contracts = connection.execute(text("SELECT count(*) FROM flr_gp_contract")).scalar_one()
        columns = {c["name"] for c in inspect(engine).get_columns("flr_list_membership")}
        columns |= {c["name"] for c in inspect(engine).get_columns("flr_gp_contract")}
        columns |= {c["name"] for c in inspect(engine).get_columns("flr_gp_period")}
    finally:
        engine.dispose()

    assert behind == {"flr": ("flr_0001", "flr_0007")}
    assert "the flr schema is at flr_0001, this version needs flr_0007; run `helsegraf migrate`" in " ".join(
        warned.split()
    )
    assert migrated.exit_code == 0, migrated.output
    assert "flr: flr_0001 -> flr_0007" in migrated.output
    assert pending_migrations(settings) == {}
    assert {"patient_birth_date", "patient_gender", "fixed_salary", "gp_gender"} <= columns
    assert after == before > 0
    assert terms == contracts > 0
    assert again.exit_code == 0
    assert "nothing to do" in again.output


def test_migrate_reports_an_unreachable_database_without_a_trace() -> None:
    result = CliRunner().invoke(app, ["migrate", "--database-url", "postgresql://postgres@127.0.0.1:9/nowhere"])

    assert result.exit_code == 2
    assert "database error" in result.output
    assert "Traceback" not in result.output


def test_a_schema_from_a_newer_version_is_named_not_migrated(empty_database_url: str, capsys) -> None:
    settings = Settings(database_url=empty_database_url)
    upgrade(settings)
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version_flr SET version_num = 'flr_0099'"))
    finally:
        engine.dispose()

    check_database(settings)
    warned = " ".join(capsys.readouterr().err.split())
    result = CliRunner().invoke(app, ["migrate", "--database-url", empty_database_url])

    assert "the flr schema is at flr_0099, which this version of helsegraf does not know" in warned
    assert result.exit_code == 2
    assert "a newer version migrated it" in result.output
    assert "Traceback" not in result.output


def test_migrate_names_the_database_of_the_register_that_failed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HELSEGRAF_HOME", str(tmp_path / "new-home"))
    monkeypatch.setenv("HELSEGRAF_FLR_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/flr_elsewhere")

    result = CliRunner().invoke(app, ["migrate"])

    assert result.exit_code == 2
    assert "127.0.0.1:9/flr_elsewhere: OperationalError" in " ".join(result.output.split())
    # The default SQLite file was created in the new home for the registers before FLR.
    assert (tmp_path / "new-home").is_dir()


def test_every_followed_register_keeps_its_sync_cursor_in_its_own_database(tmp_path) -> None:
    """hpr_0003, ar_0003, kodeverk_0003 (and the later chains' sync revisions) add the engine's bookkeeping."""
    from helsegraf.sync import SYNCABLE  # noqa: PLC0415

    urls = {store: f"sqlite:///{tmp_path / f'{store}.db'}" for store in STORES}
    upgrade(Settings(database_url=f"sqlite:///{tmp_path / 'shared.db'}", register_urls=urls))

    assert {"preg", "bed", "hpr", "ar", "kodeverk"} <= set(SYNCABLE)
    for register in SYNCABLE:
        assert {f"{register}_sync_cursor", f"{register}_sync_skip"} <= _tables(urls[register]), register


def test_preg_keys_compare_bytes_on_postgresql_and_the_persons_person_id_is_not_indexed(
    empty_database_url: str,
) -> None:
    """preg_0007: PREG's identifier keys are `COLLATE "C"` on PostgreSQL, and keep their order; SQLite is unchanged."""
    from helsegraf.models.preg import IdentificationNumber, Person  # noqa: PLC0415

    upgrade(Settings(database_url=empty_database_url))
    engine = create_engine(empty_database_url)
    numbers = ["01017012345", "31129912345", "15056700001", "41017012345"]  # a D-number starts at 4
    try:
        with engine.begin() as conn:
            conn.execute(IdentificationNumber.__table__.insert(), [  # type: ignore[attr-defined]
                {"number": n, "person_id": f"p-{n}", "number_type": "NationalIdentityNumber", "status": "InUse"}
                for n in numbers
            ])  # fmt: skip
            ordered = list(conn.scalars(text("SELECT number FROM preg_identification_number ORDER BY number")))
        inspector = inspect(engine)
        person_indexes = {i["name"] for i in inspector.get_indexes("preg_person")}
        collations = {
            (table, c["name"]): getattr(c["type"], "collation", None)
            for table in ("preg_person", "preg_identification_number", "preg_address", "preg_parent_relation")
            for c in inspector.get_columns(table)
        }
    finally:
        engine.dispose()

    assert ordered == sorted(numbers)  # digits: byte order is their order
    assert "ix_preg_person_person_id" not in person_indexes
    assert {"ix_preg_person_replaced_by", "ix_preg_person_municipality_code"} <= person_indexes
    keys = [("preg_person", "nin"), ("preg_person", "replaced_by"), ("preg_identification_number", "number"),
            ("preg_identification_number", "person_id"), ("preg_address", "nin"),
            ("preg_parent_relation", "child_nin"), ("preg_parent_relation", "parent_nin")]  # fmt: skip
    expected = "C" if empty_database_url.startswith("postgresql") else None
    assert {key: collations[key] for key in keys} == dict.fromkeys(keys, expected)
    # Names and words keep the database's own collation (their order is a reader's).
    assert collations[("preg_person", "family_name")] is None
    assert collations[("preg_address", "kind")] is None
    assert Person.__table__.c.nin.type.dialect_impl(engine.dialect).collation == expected  # type: ignore[attr-defined]
