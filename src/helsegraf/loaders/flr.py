"""FLR loaders and queries: list memberships, contracts, GP periods, list sizes and pages."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import cached_property
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.engine import Row

from helsegraf.db import Database
from helsegraf.loaders.base import DatedLoader, GroupLoader, RowLoader, first_or_none, valid_at, valid_on_param
from helsegraf.models.flr import (
    TERM_COLUMNS,
    CoopMunicipality,
    GpContract,
    GpContractTerms,
    GpPeriod,
    ListMembership,
    OutOfOfficeLocation,
)
from helsegraf.registers import FLR

CONTRACT = GpContract.__table__
PERIOD = GpPeriod.__table__
MEMBERSHIP = ListMembership.__table__
TERMS = GpContractTerms.__table__


def contracts_with_terms(terms_valid: ColumnElement[bool]) -> tuple[Select[Any], dict[str, ColumnElement[Any]]]:
    """Return every contract column, with its listetak, open status and fixed salary of the period `terms_valid` picks.

    One statement over FLR's own tables: the contract, and the period of its terms valid at the date
    (periods do not overlap, so at most one). A contract without a period there (a row written outside
    the sync) gives its own columns. Also returns the three values as expressions, to filter on.
    """
    joined = CONTRACT.outerjoin(TERMS, and_(TERMS.c.contract_id == CONTRACT.c.id, terms_valid))
    terms: dict[str, ColumnElement[Any]] = {n: func.coalesce(TERMS.c[n], CONTRACT.c[n]) for n in TERM_COLUMNS}
    columns = [terms[c.key].label(c.key) if c.key in terms else c for c in CONTRACT.columns]
    return select(*columns).select_from(joined), terms


def contracts_at(on: date) -> tuple[Select[Any], dict[str, ColumnElement[Any]]]:
    """Return the contracts valid at a date, with their terms (listetak, open status, fixed salary) at that date."""
    statement, terms = contracts_with_terms(valid_at(TERMS, on))
    return statement.where(valid_at(CONTRACT, on)), terms


TERMS_BY_CONTRACT = select(TERMS).order_by(TERMS.c.valid_from)


MEMBERSHIPS_AT = select(MEMBERSHIP).where(valid_on_param(MEMBERSHIP)).order_by(MEMBERSHIP.c.valid_from.desc())
MEMBERSHIPS = select(MEMBERSHIP)
MEMBERSHIPS_NEWEST_FIRST = select(MEMBERSHIP).order_by(MEMBERSHIP.c.valid_from.desc())
LIST_SIZES_AT = (
    select(MEMBERSHIP.c.contract_id, func.count().label("size"))
    .where(valid_on_param(MEMBERSHIP))
    .group_by(MEMBERSHIP.c.contract_id)
)
CONTRACTS = select(CONTRACT)
CONTRACTS_BY_ID = select(CONTRACT).order_by(CONTRACT.c.id)
PERIODS = select(PERIOD).order_by(PERIOD.c.valid_from, PERIOD.c.id)
COOP = CoopMunicipality.__table__
OUT_OF_OFFICE = OutOfOfficeLocation.__table__
COOPS = select(COOP).order_by(COOP.c.municipality_code)
OUT_OF_OFFICES = select(OUT_OF_OFFICE).order_by(OUT_OF_OFFICE.c.valid_from, OUT_OF_OFFICE.c.id)


def _size(rows: list[Row[Any]]) -> int:
    return int(rows[0].size) if rows else 0


class FlrLoaders:
    """The FLR register's loaders of one request."""

    db: Database

    @cached_property
    def membership_by_nin_at(self) -> DatedLoader[str]:
        """MembershipByNinAtLoader: the list a person is on at a date."""
        return DatedLoader(self.db, FLR, MEMBERSHIPS_AT, MEMBERSHIP.c.nin, first_or_none)

    @cached_property
    def membership_by_id(self) -> RowLoader[int]:
        """MembershipByIdLoader: a list membership's row."""
        return RowLoader(self.db, FLR, MEMBERSHIPS, MEMBERSHIP.c.id)

    @cached_property
    def memberships_by_nin(self) -> GroupLoader[str]:
        """MembershipsByNinLoader: a person's list history, newest first."""
        return GroupLoader(self.db, FLR, MEMBERSHIPS_NEWEST_FIRST, MEMBERSHIP.c.nin)

    @cached_property
    def coop_by_contract(self) -> GroupLoader[int]:
        """CoopMunicipalitiesByContractLoader."""
        return GroupLoader(self.db, FLR, COOPS, COOP.c.contract_id)

    @cached_property
    def out_of_office_by_contract(self) -> GroupLoader[int]:
        """OutOfOfficeLocationsByContractLoader (utekontor)."""
        return GroupLoader(self.db, FLR, OUT_OF_OFFICES, OUT_OF_OFFICE.c.contract_id)

    @cached_property
    def contract_by_id(self) -> RowLoader[int]:
        """GpContractByIdLoader: a contract's row."""
        return RowLoader(self.db, FLR, CONTRACTS, CONTRACT.c.id)

    @cached_property
    def contracts_by_office(self) -> GroupLoader[str]:
        """GpContractsByOfficeLoader: the contracts of an office, by organisation number."""
        return GroupLoader(self.db, FLR, CONTRACTS_BY_ID, CONTRACT.c.office_org_number)

    @cached_property
    def terms_by_contract(self) -> GroupLoader[int]:
        """GpContractTermsByContractLoader: a list's periods of listetak, open status and fixed salary, oldest first."""
        return GroupLoader(self.db, FLR, TERMS_BY_CONTRACT, TERMS.c.contract_id)

    @cached_property
    def periods_by_contract(self) -> GroupLoader[int]:
        """GpPeriodsByContractLoader: every GP period of a contract."""
        return GroupLoader(self.db, FLR, PERIODS, PERIOD.c.contract_id)

    @cached_property
    def periods_by_hpr(self) -> GroupLoader[int]:
        """GpPeriodsByHprLoader: every GP period of a doctor."""
        return GroupLoader(self.db, FLR, PERIODS, PERIOD.c.hpr_number)

    @cached_property
    def patients_by_contract(self) -> PatientsLoader:
        """PatientsByContractLoader: pages of list memberships."""
        return PatientsLoader(self.db)

    @cached_property
    def list_size_by_contract_at(self) -> DatedLoader[int]:
        """ListSizeByContractAtLoader: how many patients a list has at a date."""
        return DatedLoader(self.db, FLR, LIST_SIZES_AT, MEMBERSHIP.c.contract_id, _size)


def contracts_query(municipality: str | None, open_only: bool, on: date) -> Select[Any]:
    """Return the filtered contracts valid at a date (without ordering or paging)."""
    statement, terms = contracts_at(on)
    if municipality is not None:
        statement = statement.where(CONTRACT.c.municipality_code == municipality)
    if open_only:
        statement = statement.where(terms["is_open"])  # open at the date
    return statement


async def contracts_page(
    db: Database, statement: Select[Any], after_id: int | None, first: int
) -> tuple[list[Row[Any]], int]:
    """Return one page of contracts ordered by id (one row extra to detect a next page) and the total."""
    total = (await db.fetch(FLR, select(func.count()).select_from(statement.subquery())))[0][0]
    page = statement.order_by(CONTRACT.c.id).limit(first + 1)
    if after_id is not None:
        page = page.where(CONTRACT.c.id > after_id)
    return list(await db.fetch(FLR, page)), int(total)


class PatientsLoader(DataLoader):  # type: ignore[type-arg]
    """PatientsByContractLoader: a page of a list's memberships at a date, for many contracts at once.

    Keys are `(contract_id, date, after_membership_id, first)`; contracts that share the date and
    page arguments are fetched together with a window function, `first + 1` rows per contract.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=1000)
        self.db = db

    async def batch_load_fn(self, keys: list[tuple[int, date, int, int]]) -> list[list[Row[Any]]]:
        """Fetch each page shape's rows and split them per contract."""
        shapes: dict[tuple[date, int, int], list[int]] = defaultdict(list)
        for contract_id, on, after_id, first in keys:
            shapes[on, after_id, first].append(contract_id)
        found: dict[tuple[int, date, int, int], list[Row[Any]]] = defaultdict(list)
        for (on, after_id, first), contract_ids in shapes.items():
            for row in await self._page(contract_ids, on, after_id, first):
                found[row.contract_id, on, after_id, first].append(row)
        return [found.get(key, []) for key in keys]

    async def _page(self, contract_ids: list[int], on: date, after_id: int, first: int) -> list[Row[Any]]:
        rank = func.row_number().over(partition_by=MEMBERSHIP.c.contract_id, order_by=MEMBERSHIP.c.id)
        ranked = (
            select(MEMBERSHIP.c.id, MEMBERSHIP.c.nin, MEMBERSHIP.c.contract_id, rank.label("rank"))
            .where(valid_at(MEMBERSHIP, on), MEMBERSHIP.c.id > after_id)
            .where(self.db.in_keys(FLR, MEMBERSHIP.c.contract_id, contract_ids))
            .subquery()
        )
        statement = select(ranked).where(ranked.c.rank <= first + 1).order_by(ranked.c.contract_id, ranked.c.id)
        return list(await self.db.fetch(FLR, statement))


# -- FLR's own questions: contracts operating in a postal code, and SearchForGP --------------------------

# Keyed by id or office: the contracts valid at `:on`, with their terms then.
CONTRACTS_ON = contracts_with_terms(valid_on_param(TERMS))[0].where(valid_on_param(CONTRACT))
PERIODS_ON = select(PERIOD.c.hpr_number, PERIOD.c.contract_id).where(valid_on_param(PERIOD))  # keyed by contract


def _prefix(postal_code: str) -> str:
    return postal_code + "%"  # digits only (checked by the caller): nothing to escape


async def contract_ids_in_postal_code(db: Database, postal_code: str, on: date) -> set[int]:
    """Return the contracts valid at a date operating in a postal code (2-4 digits, a prefix: FLR's rule).

    A contract operates where its office is (the office's address in BED) and where it has an
    out-of-office location (utekontor) valid at the date.
    """
    from helsegraf.models.bed import Organization  # noqa: PLC0415 - BED's table, read in BED's database
    from helsegraf.registers import BED  # noqa: PLC0415

    office = Organization.__table__
    offices = [r.org_number for r in await db.fetch(BED, select(office.c.org_number).where(
        office.c.postal_code.like(_prefix(postal_code))))]  # fmt: skip
    found = {r.id for r in await db.fetch_by_keys(FLR, CONTRACTS_ON, CONTRACT.c.office_org_number, offices, on=on)}
    outside = select(OUT_OF_OFFICE.c.contract_id).where(
        OUT_OF_OFFICE.c.postal_code.like(_prefix(postal_code)), valid_at(OUT_OF_OFFICE, on)
    )
    elsewhere = {r.contract_id for r in await db.fetch(FLR, outside)}
    if elsewhere - found:  # a utekontor's contract must itself be valid at the date
        valid = await db.fetch_by_keys(FLR, CONTRACTS_ON, CONTRACT.c.id, sorted(elsewhere - found), on=on)
        found |= {r.id for r in valid}
    return found


async def contracts_by_ids_page(
    db: Database, ids: set[int], municipality: str | None, open_only: bool, on: date, after_id: int | None, first: int
) -> tuple[list[Row[Any]], int]:
    """Return a page (one row extra) of the given contracts valid at a date, filtered like `contracts_query`."""
    rows = await db.fetch_by_keys(FLR, CONTRACTS_ON, CONTRACT.c.id, sorted(ids), on=on)
    rows = sorted((r for r in rows if (municipality is None or r.municipality_code == municipality)
                   and (not open_only or r.is_open)), key=lambda r: r.id)  # fmt: skip
    later = [r for r in rows if after_id is None or r.id > after_id]
    return later[: first + 1], len(rows)


async def gps_on_contracts(db: Database, contract_ids: list[int], on: date) -> set[int]:
    """Return the HPR numbers of the doctors serving the contracts at a date."""
    rows = await db.fetch_by_keys(FLR, PERIODS_ON, PERIOD.c.contract_id, contract_ids, on=on)
    return {r.hpr_number for r in rows}
