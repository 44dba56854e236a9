"""PREG loaders: persons by nin, parents by child, children by parent."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from sqlalchemy import select

from helsegraf.db import Database
from helsegraf.loaders.base import GroupLoader, RowLoader
from helsegraf.models.preg import ParentRelation, Person
from helsegraf.registers import PREG

PERSON = Person.__table__
RELATION = ParentRelation.__table__
# Statements are module constants: the database layer compiles each once (see db.Database._template).
PERSONS = select(PERSON)
PARENTS = select(RELATION).order_by(RELATION.c.role.desc())
CHILDREN = select(RELATION).order_by(RELATION.c.child_nin)


class PregLoaders:
    """The PREG register's loaders of one request."""

    db: Database

    @cached_property
    def person_by_nin(self) -> RowLoader[str]:
        """PersonByNinLoader: a person's row."""
        return RowLoader(self.db, PREG, PERSONS, PERSON.c.nin)

    @cached_property
    def parents_by_child(self) -> GroupLoader[str]:
        """ParentsByChildLoader: a person's parent relations."""
        return GroupLoader(self.db, PREG, PARENTS, RELATION.c.child_nin)

    @cached_property
    def children_by_parent(self) -> GroupLoader[str]:
        """ChildrenByParentLoader: a person's child relations."""
        return GroupLoader(self.db, PREG, CHILDREN, RELATION.c.parent_nin)


CHILD_ROWS = select(PERSON.c.nin, PERSON.c.birth_date, PERSON.c.address_protection)


async def children_of(db: Database, parent_nin: str) -> list[Any]:
    """Return `(nin, birth_date, address_protection)` of a person's registered children."""
    children = [r.child_nin for r in await db.fetch_by_keys(PREG, CHILDREN, RELATION.c.parent_nin, [parent_nin])]
    return await db.fetch_by_keys(PREG, CHILD_ROWS, PERSON.c.nin, children) if children else []
