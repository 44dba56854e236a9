"""FLR loaders and queries: list memberships, contracts, GP periods, list sizes and pages."""

from __future__ import annotations

import asyncio
from collections import defaultdict, namedtuple
from collections.abc import Awaitable, Iterable, Sequence
from datetime import date
from functools import cached_property
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.engine import Row

from helsegraf.db import Database, Keyed
from helsegraf.loaders.base import (
    MAX_BATCH,
    DatedLoader,
    GroupLoader,
    Loader,
    RowLoader,
    first_or_none,
    valid_at,
    valid_on_param,
)
from helsegraf.metrics import observe_batch
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


# A contract row and a GP period row as `contract_by_id` and `periods_by_contract` give them.
ContractRow = namedtuple("ContractRow", [c.key for c in CONTRACT.columns])  # type: ignore[misc]  # noqa: PYI024 - named by the table
PeriodRow = namedtuple("PeriodRow", [c.key for c in PERIOD.columns])  # type: ignore[misc]  # noqa: PYI024
_CONTRACT_WIDTH = len(CONTRACT.columns)
MEMBERSHIPS_AT_LABEL = "flr_list_membership_by_nin_at"
MEMBERSHIPS_LABEL = "flr_list_membership_by_nin"


def _lists_of(memberships: Select[Any]) -> Select[Any]:
    periods = [c.label(f"period_{c.key}") for c in PERIOD.columns]
    return (
        select(*CONTRACT.columns, *periods)
        .select_from(CONTRACT.outerjoin(PERIOD, PERIOD.c.contract_id == CONTRACT.c.id))
        .where(CONTRACT.c.id.in_(memberships))
        .order_by(CONTRACT.c.id, PERIOD.c.valid_from, PERIOD.c.id)
    )


def lists_of_members_at(members: ColumnElement[bool]) -> Select[Any]:
    """Return the contracts of the memberships valid at `:on` that `members` picks, with their GP periods.

    One statement over FLR's own tables: a row per contract and period (a contract without periods once,
    its period columns null), periods in `periods_by_contract`'s order. Keyed by the memberships' nin.
    """
    return _lists_of(select(MEMBERSHIP.c.contract_id).where(members, valid_on_param(MEMBERSHIP)))


def lists_of_members(members: ColumnElement[bool]) -> Select[Any]:
    """Return the contracts of every membership, at any time, that `members` picks, as `lists_of_members_at`."""
    return _lists_of(select(MEMBERSHIP.c.contract_id).where(members))


def split_lists(rows: Iterable[Any]) -> dict[int, tuple[Any, list[Any]]]:
    """Return each contract's row and its GP periods from the rows of `lists_of_members(_at)`."""
    found: dict[int, tuple[Any, list[Any]]] = {}
    seen: set[int] = set()  # periods already taken (SQLite answers a contract once per chunk of keys)
    for row in rows:
        contract = found.get(row.id)
        if contract is None:
            contract = found[row.id] = (ContractRow._make(row[:_CONTRACT_WIDTH]), [])
        if row.period_id is not None and row.period_id not in seen:
            seen.add(row.period_id)
            contract[1].append(PeriodRow._make(row[_CONTRACT_WIDTH:]))
    return found


class _WithLists(Loader):
    """Loads memberships with, beside them in the same round, their lists: contracts and GP periods.

    For edges that go on to the contract or its doctor. What the lists statement finds primes the
    request's `contract_by_id` and `periods_by_contract`, so those edges ask FLR nothing more; a
    contract it did not find is left to `contract_by_id`. The loaders it primes are held rather than
    their container: a loader holding the container would be a reference cycle.
    """

    def __init__(self, db: Database, contracts: RowLoader[int], periods: GroupLoader[int]) -> None:
        super().__init__(max_batch_size=MAX_BATCH)
        self.db, self.contracts, self.periods = db, contracts, periods

    async def _with_lists(
        self, nins: list[str], lists: Keyed, memberships: Sequence[Awaitable[list[Any]]], **params: Any
    ) -> list[list[Any]]:
        """Await the memberships statements beside the lists statement; prime the lists; return the memberships."""
        found, *rows = await asyncio.gather(
            self.db.fetch_by_keys(FLR, lists, MEMBERSHIP.c.nin, nins, **params), *memberships
        )
        for contract_id, (contract, periods) in split_lists(found).items():
            self.contracts.prime(contract_id, contract)
            self.periods.prime(contract_id, periods)
        return rows


class MembershipWithListLoader(_WithLists):
    """MembershipWithListByNinAtLoader: the list a person is on at a date, with the list's contract and GP periods.

    The statements of `membership_by_nin_at` (one per date) and one lists statement: of the lists valid
    at the date, or for several dates of the persons' lists at any time.
    """

    async def batch_load_fn(self, keys: Sequence[tuple[str, date]]) -> list[Any]:
        """Fetch the memberships and their lists in one round; return each key's membership."""
        observe_batch(MEMBERSHIPS_AT_LABEL, len(keys))  # the same look-up as `membership_by_nin_at`'s
        by_date: dict[date, list[str]] = defaultdict(list)
        for nin, on in keys:
            by_date[on].append(nin)
        fetch, dates = self.db.fetch_by_keys, list(by_date)
        memberships = [fetch(FLR, MEMBERSHIPS_AT, MEMBERSHIP.c.nin, by_date[on], on=on) for on in dates]
        if len(dates) == 1:
            found = await self._with_lists(by_date[dates[0]], lists_of_members_at, memberships, on=dates[0])
        else:
            found = await self._with_lists(list(dict.fromkeys(nin for nin, _ in keys)), lists_of_members, memberships)
        chosen: dict[tuple[str, date], Any] = {}
        for on, rows in zip(dates, found, strict=True):
            for row in rows:  # newest first: a person's first row is the list they are on at the date
                chosen.setdefault((row.nin, on), row)
        return [chosen.get(key) for key in keys]


class MembershipsWithListsLoader(_WithLists):
    """MembershipsWithListsByNinLoader: a person's list history, newest first, with the lists' contracts and periods."""

    async def batch_load_fn(self, keys: Sequence[str]) -> list[list[Any]]:
        """Fetch the memberships and their lists in one round; return each person's memberships."""
        observe_batch(MEMBERSHIPS_LABEL, len(keys))
        memberships = self.db.fetch_by_keys(FLR, MEMBERSHIPS_NEWEST_FIRST, MEMBERSHIP.c.nin, keys)
        [rows] = await self._with_lists(list(keys), lists_of_members, [memberships])
        groups: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            groups[row.nin].append(row)
        return [groups.get(key, []) for key in keys]


class FlrLoaders:
    """The FLR register's loaders of one request."""

    db: Database

    @cached_property
    def membership_by_nin_at(self) -> DatedLoader[str]:
        """MembershipByNinAtLoader: the list a person is on at a date."""
        return DatedLoader(self.db, FLR, MEMBERSHIPS_AT, MEMBERSHIP.c.nin, first_or_none)

    @cached_property
    def membership_with_list_by_nin_at(self) -> MembershipWithListLoader:
        """MembershipWithListByNinAtLoader: the list a person is on at a date, fetched with its contract and periods."""
        return MembershipWithListLoader(self.db, self.contract_by_id, self.periods_by_contract)

    @cached_property
    def memberships_with_lists_by_nin(self) -> MembershipsWithListsLoader:
        """MembershipsWithListsByNinLoader: a person's list history, fetched with its contracts and periods."""
        return MembershipsWithListsLoader(self.db, self.contract_by_id, self.periods_by_contract)

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
