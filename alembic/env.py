"""Alembic environment: migrates one store (a register or the access log) per run.

Every register has its own branch (branch label = register name) and its own version table
(`alembic_version_<store>`), so registers that live in separate databases migrate
independently, and registers that share a database do not see each other's history.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from helsegraf.config import Settings
from helsegraf.models import METADATA

config = context.config


def _store() -> str:
    store = config.attributes.get("store") or context.get_x_argument(as_dictionary=True).get("store")
    if store not in METADATA:
        msg = f"pass the store to migrate: -x store=<one of {', '.join(METADATA)}>"
        raise SystemExit(msg)
    return str(store)


def _run(connection: Connection, store: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA[store],
        version_table=f"alembic_version_{store}",
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=lambda name, type_, _parent: type_ != "table" or name.startswith(f"{store}_"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the store's migrations on the given connection, or on the configured URL."""
    store = _store()
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, store)
        return
    engine = create_engine(Settings.from_env().url_for(store))
    with engine.begin() as conn:
        _run(conn, store)
    engine.dispose()


run_migrations_online()
