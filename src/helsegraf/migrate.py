"""Run Alembic migrations for every store, each against its own database URL."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from helsegraf.authz.log_partitions import Pruned, ensure_partitions, prune
from helsegraf.config import Settings
from helsegraf.registers import AUDIT, STORES


def script_location() -> Path:
    """Return the migrations folder: packaged in a wheel, or the checkout's `alembic/`."""
    packaged = Path(__file__).parent / "_alembic"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "alembic"


def _config(store: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["store"] = store
    return cfg


def _run(settings: Settings, stores: Iterable[str], *, target: str) -> None:
    for store in stores:
        engine = create_engine(settings.url_for(store), hide_parameters=True)
        try:
            with engine.begin() as connection:
                cfg = _config(store)
                cfg.attributes["connection"] = connection
                if target == "head":
                    command.upgrade(cfg, f"{store}@head")
                    if store == AUDIT:
                        ensure_partitions(connection)
                else:
                    command.downgrade(cfg, f"{store}@base")
        finally:
            engine.dispose()


def upgrade(settings: Settings, stores: Iterable[str] = STORES) -> None:
    """Create or upgrade each store's tables to the newest revision."""
    _run(settings, stores, target="head")


def downgrade(settings: Settings, stores: Iterable[str] = STORES) -> None:
    """Drop each store's tables by running its migrations down to the base."""
    _run(settings, stores, target="base")


class UnknownRevisionError(Exception):
    """A store's database is at a revision this version does not know (a newer version migrated it)."""


def pending_migrations(settings: Settings, stores: Iterable[str] = STORES) -> dict[str, tuple[str | None, str]]:
    """Return the stores whose database is behind the newest revision: store -> (current, newest).

    Raises UnknownRevisionError for a store at a revision this version does not have.
    """
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    script = ScriptDirectory.from_config(_config(next(iter(STORES))))
    known = {revision.revision for revision in script.walk_revisions()}
    behind: dict[str, tuple[str | None, str]] = {}
    for store in stores:
        newest = _head(script, store)
        engine = create_engine(settings.url_for(store), hide_parameters=True)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"version_table": f"alembic_version_{store}"})
                current = context.get_current_revision()
        finally:
            engine.dispose()
        if current is not None and current not in known:
            msg = (f"the {store} schema is at {current}, which this version of helsegraf does not know "
                   f"(it knows up to {newest}): a newer version migrated it")  # fmt: skip
            raise UnknownRevisionError(msg)
        if current != newest:
            behind[store] = (current, newest)
    return behind


def _head(script: ScriptDirectory, store: str) -> str:
    [head] = script.get_revisions(f"{store}@head")
    return str(head.revision)


def missing_tables(settings: Settings, stores: Iterable[str] = STORES) -> list[str]:
    """Return the tables the models define that a store's database does not have."""
    from helsegraf.models import METADATA  # noqa: PLC0415 - keep the CLI's start-up light

    missing: list[str] = []
    for store in stores:
        engine = create_engine(settings.url_for(store), hide_parameters=True)
        try:
            existing = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        missing += [name for name in METADATA[store].tables if name not in existing]
    return missing


def prune_access_log(settings: Settings, keep_months: int) -> Pruned:
    """Remove the access log's months older than the last `keep_months` (authz/log_partitions.py).

    The months ahead are created in the same transaction, so a server that runs this daily keeps its
    partitions ready too.
    """
    engine = create_engine(settings.url_for(AUDIT), hide_parameters=True)
    try:
        with engine.begin() as connection:
            ensure_partitions(connection)
            return prune(connection, keep_months)
    finally:
        engine.dispose()
