"""AR loaders: communication parties by HER-id, parent, organisation and HPR number; their addresses."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement

from helsegraf.db import Database
from helsegraf.loaders.base import GroupLoader, RowLoader
from helsegraf.models.ar import (
    Certificate,
    CommunicationParty,
    CoverageArea,
    ElectronicAddress,
    FutureElectronicAddress,
    PhysicalAddress,
)
from helsegraf.registers import AR

PARTY = CommunicationParty.__table__
ADDRESS = ElectronicAddress.__table__
PHYSICAL = PhysicalAddress.__table__
CERTIFICATE = Certificate.__table__
COVERAGE = CoverageArea.__table__
FUTURE = FutureElectronicAddress.__table__
PHYSICALS = select(PHYSICAL).order_by(PHYSICAL.c.id)
CERTIFICATES = select(CERTIFICATE).order_by(CERTIFICATE.c.valid_from, CERTIFICATE.c.usage, CERTIFICATE.c.id)
COVERAGES = select(COVERAGE).order_by(COVERAGE.c.id)
FUTURES = select(FUTURE).order_by(FUTURE.c.valid_from, FUTURE.c.id)


class addresses_of(ColumnElement[str]):  # noqa: N801 - reads as the SQL function it renders
    """A party's electronic addresses as one text value, `type:address` lines in id order (dialect-specific SQL)."""

    inherit_cache = True
    type = String()

    def __init__(self, party: Any) -> None:
        self.party = party


@compiles(addresses_of, "postgresql")
def _addresses_postgresql(element: addresses_of, compiler: Any, **kw: Any) -> str:
    her_id = compiler.process(element.party.c.her_id, **kw)
    # `her_id` is the compiled column reference, never a value: nothing from a caller reaches this text.
    return (f"(SELECT string_agg(a.type || ':' || a.address, E'\\n' ORDER BY a.id) "  # noqa: S608
            f"FROM ar_electronic_address AS a WHERE a.her_id = {her_id})")  # fmt: skip


@compiles(addresses_of, "sqlite")
def _addresses_sqlite(element: addresses_of, compiler: Any, **kw: Any) -> str:
    her_id = compiler.process(element.party.c.her_id, **kw)
    return (f"(SELECT group_concat(x, char(10)) FROM (SELECT a.type || ':' || a.address AS x "  # noqa: S608
            f"FROM ar_electronic_address AS a WHERE a.her_id = {her_id} ORDER BY a.id))")  # fmt: skip


# A party always comes with its electronic addresses (a few per party): one statement, not two levels.
PARTIES = select(PARTY, addresses_of(PARTY).label("addresses"))
PARTIES_BY_HER_ID = PARTIES.order_by(PARTY.c.her_id)
_PARENT, _CHILD = PARTY.alias("parent"), PARTY.alias("child")
PARENT_PARTIES = select(
    _CHILD.c.her_id.label("child_her_id"), *_PARENT.c, addresses_of(_PARENT).label("addresses")
).join(_PARENT, _PARENT.c.her_id == _CHILD.c.parent_her_id)


class ArLoaders:
    """The AR register's loaders of one request."""

    db: Database

    @cached_property
    def party_by_her_id(self) -> RowLoader[int]:
        """CommunicationPartyByHerIdLoader: a party's row."""
        return RowLoader(self.db, AR, PARTIES, PARTY.c.her_id)

    @cached_property
    def parent_party_by_her_id(self) -> RowLoader[int]:
        """ParentPartyByHerIdLoader: the party a party belongs to, in one self-join (e.g. a GP's office)."""
        return RowLoader(self.db, AR, PARENT_PARTIES, _CHILD.c.her_id, key_name="child_her_id")

    @cached_property
    def parties_by_parent(self) -> GroupLoader[int]:
        """CommunicationPartiesByParentLoader: a party's children."""
        return GroupLoader(self.db, AR, PARTIES_BY_HER_ID, PARTY.c.parent_her_id)

    @cached_property
    def parties_by_org(self) -> GroupLoader[str]:
        """CommunicationPartiesByOrgNumberLoader: the parties registered on an organisation number."""
        return GroupLoader(self.db, AR, PARTIES_BY_HER_ID, PARTY.c.org_number)

    @cached_property
    def parties_by_hpr(self) -> GroupLoader[int]:
        """CommunicationPartiesByHprNumberLoader: a health worker's person parties."""
        return GroupLoader(self.db, AR, PARTIES_BY_HER_ID, PARTY.c.hpr_number)

    @cached_property
    def physical_addresses_by_her_id(self) -> GroupLoader[int]:
        """PhysicalAddressesByHerIdLoader: visit (RES) and postal (PST) addresses."""
        return GroupLoader(self.db, AR, PHYSICALS, PHYSICAL.c.her_id)

    @cached_property
    def certificates_by_her_id(self) -> GroupLoader[int]:
        """CertificatesByHerIdLoader: encryption and signing certificates, oldest first."""
        return GroupLoader(self.db, AR, CERTIFICATES, CERTIFICATE.c.her_id)

    @cached_property
    def coverage_by_her_id(self) -> GroupLoader[int]:
        """CoverageAreasByHerIdLoader: what a service covers."""
        return GroupLoader(self.db, AR, COVERAGES, COVERAGE.c.her_id)

    @cached_property
    def future_addresses_by_her_id(self) -> GroupLoader[int]:
        """FutureElectronicAddressesByHerIdLoader: addresses published ahead of the day they apply."""
        return GroupLoader(self.db, AR, FUTURES, FUTURE.c.her_id)
