"""PREG loaders: persons by nin, parents by child, children by parent."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import or_, select

from helsegraf.db import Database
from helsegraf.loaders.base import MAX_BATCH, GroupLoader, RowLoader
from helsegraf.models.preg import (
    AddressPeriod,
    Guardianship,
    GuardianWithoutId,
    IdentificationNumber,
    LegalCapacity,
    ParentalResponsibility,
    ParentRelation,
    Person,
    ResponsibilityWithoutId,
)
from helsegraf.registers import PREG

PERSON = Person.__table__
RELATION = ParentRelation.__table__
# Statements are module constants: the database layer compiles each once (see db.Database._template).
PERSONS = select(PERSON)
PARENTS = select(RELATION).order_by(RELATION.c.role.desc())
CHILDREN = select(RELATION).order_by(RELATION.c.child_nin)
NUMBER = IdentificationNumber.__table__
NUMBERS = select(NUMBER).order_by(NUMBER.c.valid_from, NUMBER.c.number)
ADDRESS = AddressPeriod.__table__
ADDRESSES = select(ADDRESS).order_by(ADDRESS.c.kind, ADDRESS.c.valid_from)
HELD = ParentalResponsibility.__table__
RESPONSIBILITIES = select(HELD).order_by(HELD.c.child_nin, HELD.c.responsible_nin)
GUARDIANSHIP = Guardianship.__table__
GUARDIANSHIPS = select(GUARDIANSHIP).order_by(GUARDIANSHIP.c.guardian_nin)
HELD_WITHOUT_ID = ResponsibilityWithoutId.__table__
RESPONSIBILITIES_WITHOUT_ID = select(HELD_WITHOUT_ID).order_by(HELD_WITHOUT_ID.c.position)
GUARDIAN_WITHOUT_ID = GuardianWithoutId.__table__
GUARDIANS_WITHOUT_ID = select(GUARDIAN_WITHOUT_ID).order_by(GUARDIAN_WITHOUT_ID.c.position)
CAPACITY = LegalCapacity.__table__
CAPACITIES = select(CAPACITY).order_by(CAPACITY.c.valid_from, CAPACITY.c.kind)


class PregLoaders:
    """The PREG register's loaders of one request."""

    db: Database

    @cached_property
    def person_by_nin(self) -> RowLoader[str]:
        """PersonByNinLoader: a person's row, under the number now in use when the asked one was replaced."""
        return RedirectingPersonLoader(self.db, PREG, PERSONS, PERSON.c.nin)

    @cached_property
    def former_numbers(self) -> FormerNumbersLoader:
        """FormerNumbersByNinLoader: the replaced numbers that now lead to a person's current one."""
        return FormerNumbersLoader(self.db)

    @cached_property
    def parents_by_child(self) -> GroupLoader[str]:
        """ParentsByChildLoader: a person's parent relations."""
        return GroupLoader(self.db, PREG, PARENTS, RELATION.c.child_nin)

    @cached_property
    def numbers_by_nin(self) -> NumbersByNinLoader:
        """NumbersByNinLoader: every identification number of the person (or persons) a number belongs to."""
        return NumbersByNinLoader(self.db)

    @cached_property
    def children_by_parent(self) -> GroupLoader[str]:
        """ChildrenByParentLoader: a person's child relations."""
        return GroupLoader(self.db, PREG, CHILDREN, RELATION.c.parent_nin)

    @cached_property
    def responsibility_by_child(self) -> GroupLoader[str]:
        """ResponsibilityByChildLoader: who holds parental responsibility for a child (foreldreansvar)."""
        return GroupLoader(self.db, PREG, RESPONSIBILITIES, HELD.c.child_nin)

    @cached_property
    def responsibility_by_holder(self) -> GroupLoader[str]:
        """ResponsibilityByHolderLoader: the children a person holds parental responsibility for."""
        return GroupLoader(self.db, PREG, RESPONSIBILITIES, HELD.c.responsible_nin)

    @cached_property
    def guardianship_by_nin(self) -> GroupLoader[str]:
        """GuardianshipByNinLoader: a person's guardians (vergemål, fremtidsfullmakt)."""
        return GroupLoader(self.db, PREG, GUARDIANSHIPS, GUARDIANSHIP.c.nin)

    @cached_property
    def responsibility_without_id_by_nin(self) -> GroupLoader[str]:
        """ResponsibilityWithoutIdByNinLoader: a person's responsibility entries whose other end has no number."""
        return GroupLoader(self.db, PREG, RESPONSIBILITIES_WITHOUT_ID, HELD_WITHOUT_ID.c.nin)

    @cached_property
    def guardians_without_id_by_nin(self) -> GroupLoader[str]:
        """GuardiansWithoutIdByNinLoader: a person's guardians who have no number."""
        return GroupLoader(self.db, PREG, GUARDIANS_WITHOUT_ID, GUARDIAN_WITHOUT_ID.c.nin)

    @cached_property
    def legal_capacity_by_nin(self) -> GroupLoader[str]:
        """LegalCapacityByNinLoader: the periods a person's legal capacity was restricted."""
        return GroupLoader(self.db, PREG, CAPACITIES, CAPACITY.c.nin)

    @cached_property
    def addresses_by_nin(self) -> GroupLoader[str]:
        """AddressesByNinLoader: a person's address periods of every kind, oldest first."""
        return GroupLoader(self.db, PREG, ADDRESSES, ADDRESS.c.nin)


MAX_REDIRECTS = 4  # a number replaced, whose replacement was replaced, ...: a chain this long is enough


class Redirected:
    """The row of the person a replaced number now belongs to, remembering the number that was asked."""

    def __init__(self, row: Any, asked_nin: str) -> None:
        self._row, self.asked_nin = row, asked_nin

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


class RedirectingPersonLoader(RowLoader[str]):
    """Loads persons by nin and follows `replaced_by` (a changed nin, a merged duplicate) to the current row.

    The redirect costs a statement only when an asked number was replaced; an unknown number stays None.
    """

    async def batch_load_fn(self, keys: Any) -> list[Any]:
        """Fetch the rows, then the rows their replacements point at."""
        rows = await super().batch_load_fn(keys)
        answers: list[Any] = list(rows)
        for _ in range(MAX_REDIRECTS):
            targets = {r.replaced_by for r in answers if r is not None and r.replaced_by}
            if not targets:
                break
            found = {
                r.nin: r for r in await self.db.fetch_by_keys(self.store, self.statement, self.column, sorted(targets))
            }
            answers = [found.get(r.replaced_by, r) if r is not None and r.replaced_by else r for r in answers]
        return [
            Redirected(answer, key) if answer is not None and answer.nin != key else answer
            for key, answer in zip(keys, answers, strict=True)
        ]


class NumbersByNinLoader(DataLoader):  # type: ignore[type-arg]
    """Loads, for each number, all numbers of the person it identifies (through Persontjenesten's person id).

    Two statements per batch: the persons the numbers belong to, then those persons' numbers. A merged
    duplicate's number belongs to both records, so both records' numbers are listed.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=MAX_BATCH)
        self.db = db

    async def batch_load_fn(self, nins: Any) -> list[list[Any]]:
        """Fetch the numbers of the persons the numbers name."""
        owners: dict[str, list[str]] = {}
        for row in await self.db.fetch_by_keys(PREG, NUMBERS, NUMBER.c.number, list(nins)):
            owners.setdefault(row.number, []).append(row.person_id)
        ids = sorted({pid for pids in owners.values() for pid in pids})
        by_person: dict[str, list[Any]] = {}
        for row in await self.db.fetch_by_keys(PREG, NUMBERS, NUMBER.c.person_id, ids) if ids else []:
            by_person.setdefault(row.person_id, []).append(row)
        answers = []
        for nin in nins:
            rows = [row for pid in owners.get(nin, []) for row in by_person.get(pid, [])]
            answers.append(list({row.number: row for row in rows}.values()))
        return answers


REPLACED = select(PERSON.c.nin, PERSON.c.replaced_by)


class FormerNumbersLoader(DataLoader):  # type: ignore[type-arg]
    """The numbers that were replaced by a person's current one (a changed nin, a merged duplicate), chains followed.

    One statement per step back along the chains (usually one, finding none), for every person of the batch.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=MAX_BATCH)
        self.db = db

    async def batch_load_fn(self, nins: Any) -> list[tuple[str, ...]]:
        """Walk the replacements back from each current number."""
        owner = {nin: nin for nin in nins}
        former: dict[str, list[str]] = {nin: [] for nin in nins}
        frontier = list(nins)
        for _ in range(MAX_REDIRECTS):
            rows = await self.db.fetch_by_keys(PREG, REPLACED, PERSON.c.replaced_by, frontier)
            frontier = []
            for row in rows:
                if row.nin not in owner:
                    owner[row.nin] = owner[row.replaced_by]
                    former[owner[row.nin]].append(row.nin)
                    frontier.append(row.nin)
            if not frontier:
                break
        return [tuple(sorted(former[nin])) for nin in nins]


async def current_number(db: Database, nin: str) -> str:
    """Return the number now in use for the person `nin` names (itself when it was never replaced)."""
    for _ in range(MAX_REDIRECTS):
        [row] = await db.fetch_by_keys(PREG, REPLACED, PERSON.c.nin, [nin]) or [None]
        if row is None or not row.replaced_by:
            return nin
        nin = row.replaced_by
    return nin


RESPONSIBILITY = ParentalResponsibility.__table__
CHILD_ROWS = select(PERSON.c.nin, PERSON.c.birth_date, PERSON.c.address_protection)


async def children_of(db: Database, parent_nin: str) -> list[Any]:
    """Return `(nin, birth_date, address_protection)` of the children a person is responsible for.

    Parental responsibility (foreldreansvar) decides where the register holds it for a child: a
    parent without it is not responsible. For a child with no responsibility registered, being the
    registered parent is what counts (the register's older records carry only parenthood).
    """
    candidates = [r.child_nin for r in await db.fetch_by_keys(PREG, CHILDREN, RELATION.c.parent_nin, [parent_nin])]
    responsibility = await db.fetch(
        PREG,
        select(RESPONSIBILITY).where(
            or_(
                RESPONSIBILITY.c.responsible_nin == parent_nin, db.in_keys(PREG, RESPONSIBILITY.c.child_nin, candidates)
            )
            if candidates
            else RESPONSIBILITY.c.responsible_nin == parent_nin
        ),
    )
    holders: dict[str, set[str]] = {}
    for row in responsibility:
        holders.setdefault(row.child_nin, set()).add(row.responsible_nin)
    children = [c for c in dict.fromkeys([*candidates, *holders]) if c not in holders or parent_nin in holders[c]]
    return await db.fetch_by_keys(PREG, CHILD_ROWS, PERSON.c.nin, children) if children else []
