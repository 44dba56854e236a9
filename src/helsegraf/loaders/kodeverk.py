"""Kodeverk loaders: code systems by name or OID, codes by system and value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import bindparam, or_, select
from sqlalchemy.engine import Row

from helsegraf.db import Database
from helsegraf.loaders.base import GroupLoader
from helsegraf.models.kodeverk import Code, CodeSystem, CodeVersion
from helsegraf.registers import KODEVERK

CODE = Code.__table__
SYSTEM = CodeSystem.__table__
KOMMUNE = "3402"
CODES_IN_SYSTEM = select(CODE).where(CODE.c.system_oid == bindparam("system"))
CODES_BY_VALUE = select(CODE).order_by(CODE.c.value)
VERSION = CodeVersion.__table__
VERSIONS_IN_SYSTEM = (
    select(VERSION).where(VERSION.c.system_oid == bindparam("system")).order_by(VERSION.c.version, VERSION.c.value)
)


class CodeLoader(DataLoader):  # type: ignore[type-arg]
    """CodeBySystemAndValueLoader: one statement per system in a batch (usually one)."""

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=10_000)
        self.db = db

    async def batch_load_fn(self, keys: Sequence[tuple[str, str]]) -> list[Row[Any] | None]:
        """Fetch the codes of a batch of `(system OID, value)` keys."""
        by_system: dict[str, list[str]] = defaultdict(list)
        for system, value in keys:
            by_system[system].append(value)
        found: dict[tuple[str, str], Row[Any]] = {}
        for system, values in by_system.items():
            for row in await self.db.fetch_by_keys(
                KODEVERK, CODES_IN_SYSTEM, CODE.c.value, sorted(set(values)), system=system
            ):
                found[row.system_oid, row.value] = row
        return [found.get(key) for key in keys]


class CodeVersionsLoader(DataLoader):  # type: ignore[type-arg]
    """CodeVersionsBySystemAndValueLoader: every version's text of codes, one statement per system in a batch."""

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=10_000)
        self.db = db

    async def batch_load_fn(self, keys: Sequence[tuple[str, str]]) -> list[list[Row[Any]]]:
        """Fetch the versions of a batch of `(system OID, value)` keys, oldest version first."""
        by_system: dict[str, list[str]] = defaultdict(list)
        for system, value in keys:
            by_system[system].append(value)
        found: dict[tuple[str, str], list[Row[Any]]] = defaultdict(list)
        for system, values in by_system.items():
            for row in await self.db.fetch_by_keys(
                KODEVERK, VERSIONS_IN_SYSTEM, VERSION.c.value, sorted(set(values)), system=system
            ):
                found[row.system_oid, row.value].append(row)
        return [found.get(key, []) for key in keys]


class KodeverkLoaders:
    """The Kodeverk register's loaders of one request."""

    db: Database

    @cached_property
    def code(self) -> CodeLoader:
        """CodeBySystemAndValueLoader."""
        return CodeLoader(self.db)

    @cached_property
    def code_versions(self) -> CodeVersionsLoader:
        """CodeVersionsBySystemAndValueLoader."""
        return CodeVersionsLoader(self.db)

    @cached_property
    def codes_by_system(self) -> GroupLoader[str]:
        """CodesBySystemLoader: every code of a system, by OID."""
        return GroupLoader(self.db, KODEVERK, CODES_BY_VALUE, CODE.c.system_oid)


async def find_system(db: Database, system: str) -> Row[Any] | None:
    """Return a code system by OID or by name (case-insensitive)."""
    statement = select(SYSTEM).where(or_(SYSTEM.c.oid == system, SYSTEM.c.name == system.lower()))
    rows = await db.fetch(KODEVERK, statement)
    return rows[0] if rows else None
