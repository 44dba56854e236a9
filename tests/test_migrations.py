"""Migrations create every register's tables and drop them again, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from helsegraf.config import Settings
from helsegraf.migrate import downgrade, missing_tables, upgrade
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
