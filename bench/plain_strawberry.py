"""A plain Strawberry server answering the integrator query, the way Strawberry's documentation teaches.

A peer of helsegraf in `python -m bench all`: Strawberry types with async resolvers, one
aiodataloader DataLoader per edge (created per request in the context), each batch one psycopg
statement from a connection pool, Strawberry's documented parser and validation caches, served
by Strawberry's ASGI app under uvicorn. No preloading,
no custom executor, no authorisation, no access log: what a team gets from the textbook recipe.
It answers helsegraf's integrator query (README "The integrator's one call") with the same JSON,
following the same rules as bench/baseline.py: today is today in Norway, a person's list is the
newest membership valid today, a contract's GP is its current period ordered LPFL, LPVI, others.

Run: `python -m bench.plain_strawberry --database-url URL --port 8802 [--workers 2] [--pool-size 10]`;
POST /graphql with the integrator query.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import strawberry
from aiodataloader import DataLoader
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import Info

PERSONS = "SELECT nin FROM preg_person WHERE nin = ANY(%(keys)s)"
MEMBERSHIPS = """
SELECT DISTINCT ON (nin) nin, contract_id, gp_her_id FROM flr_list_membership
WHERE nin = ANY(%(keys)s) AND valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)
ORDER BY nin, valid_from DESC
"""
CONTRACTS = "SELECT id, office_org_number FROM flr_gp_contract WHERE id = ANY(%(keys)s)"
CONTRACT_GPS = """
SELECT DISTINCT ON (contract_id) contract_id, hpr_number FROM flr_gp_period
WHERE contract_id = ANY(%(keys)s) AND valid_from <= %(on)s AND (valid_to IS NULL OR valid_to > %(on)s)
ORDER BY contract_id, CASE relationship WHEN 'LPFL' THEN 0 WHEN 'LPVI' THEN 1 ELSE 2 END, valid_from, id
"""
HEALTH_PERSONNEL = (
    "SELECT hpr_number, given_name, middle_name, family_name FROM hpr_person WHERE hpr_number = ANY(%(keys)s)"
)
ORGANIZATIONS = "SELECT org_number, name FROM bed_organization WHERE org_number = ANY(%(keys)s)"
PARTIES = "SELECT her_id, parent_her_id FROM ar_communication_party WHERE her_id = ANY(%(keys)s)"
EDI_ADDRESSES = (
    "SELECT her_id, address FROM ar_electronic_address WHERE her_id = ANY(%(keys)s) AND type = 'E_EDI' ORDER BY id"
)


def _loader(
    pool: AsyncConnectionPool[Any], sql: str, key: str, on: date, pick: Callable[[list[dict[str, Any]]], Any]
) -> DataLoader:  # type: ignore[type-arg]
    """A DataLoader that fetches one statement's rows for a batch of keys and answers each key in order."""

    async def batch(keys: Sequence[Hashable]) -> list[Any]:
        async with pool.connection() as conn:
            rows = await (await conn.execute(sql, {"keys": list(keys), "on": on})).fetchall()
        grouped: dict[Hashable, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            grouped[row[key]].append(row)
        return [pick(grouped.get(k, [])) for k in keys]

    return DataLoader(batch)


def _one(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return rows[0] if rows else None


def _gp(rows: list[dict[str, Any]]) -> int | None:
    return rows[0]["hpr_number"] if rows else None


def _addresses(rows: list[dict[str, Any]]) -> list[str]:
    return [r["address"] for r in rows]


@dataclass
class Context:
    """The per-request loaders: one per edge, so that nothing cached crosses requests."""

    pool: AsyncConnectionPool[Any]
    on: date = field(default_factory=lambda: datetime.now(ZoneInfo("Europe/Oslo")).date())

    def __post_init__(self) -> None:
        def make(sql: str, key: str, pick: Callable[[list[dict[str, Any]]], Any] = _one) -> DataLoader:  # type: ignore[type-arg]
            return _loader(self.pool, sql, key, self.on, pick)

        self.person_by_nin = make(PERSONS, "nin")
        self.membership_by_nin = make(MEMBERSHIPS, "nin")
        self.contract_by_id = make(CONTRACTS, "id")
        self.gp_by_contract_id = make(CONTRACT_GPS, "contract_id", _gp)
        self.health_personnel_by_hpr_number = make(HEALTH_PERSONNEL, "hpr_number")
        self.organization_by_org_number = make(ORGANIZATIONS, "org_number")
        self.party_by_her_id = make(PARTIES, "her_id")
        self.edi_addresses_by_her_id = make(EDI_ADDRESSES, "her_id", _addresses)


@strawberry.type
class Name:
    full: str


@strawberry.type
class HealthPersonnel:
    hpr_number: int
    name: Name


@strawberry.type
class Organization:
    org_number: str
    name: str


@strawberry.type
class CommunicationParty:
    her_id: int

    @strawberry.field
    async def electronic_addresses(self, info: Info[Context, None]) -> list[str]:
        return await info.context.edi_addresses_by_her_id.load(self.her_id)  # type: ignore[no-any-return]


@strawberry.type
class GpContract:
    id: strawberry.ID
    office_org_number: strawberry.Private[str]

    @strawberry.field
    async def office(self, info: Info[Context, None]) -> Organization | None:
        row = await info.context.organization_by_org_number.load(self.office_org_number)
        return Organization(org_number=row["org_number"], name=row["name"]) if row else None


@strawberry.type
class GpAssignment:
    contract_id: strawberry.Private[int]
    gp_her_id: int | None

    @strawberry.field
    async def gp(self, info: Info[Context, None]) -> HealthPersonnel | None:
        hpr_number = await info.context.gp_by_contract_id.load(self.contract_id)
        if hpr_number is None:
            return None
        row = await info.context.health_personnel_by_hpr_number.load(hpr_number)
        if row is None:
            return None
        full = " ".join(p for p in (row["given_name"], row["middle_name"], row["family_name"]) if p)
        return HealthPersonnel(hpr_number=row["hpr_number"], name=Name(full=full))

    @strawberry.field
    async def contract(self, info: Info[Context, None]) -> GpContract:
        row = await info.context.contract_by_id.load(self.contract_id)
        return GpContract(id=strawberry.ID(str(row["id"])), office_org_number=row["office_org_number"])

    @strawberry.field
    async def office_communication_party(self, info: Info[Context, None]) -> CommunicationParty | None:
        if self.gp_her_id is None:
            return None
        own = await info.context.party_by_her_id.load(self.gp_her_id)
        if own is None or own["parent_her_id"] is None:
            return None
        parent = await info.context.party_by_her_id.load(own["parent_her_id"])
        return CommunicationParty(her_id=parent["her_id"]) if parent else None


@strawberry.type
class Person:
    nin: strawberry.ID

    @strawberry.field
    async def gp(self, info: Info[Context, None]) -> GpAssignment | None:
        row = await info.context.membership_by_nin.load(self.nin)
        return GpAssignment(contract_id=row["contract_id"], gp_her_id=row["gp_her_id"]) if row else None


@strawberry.type
class Query:
    @strawberry.field
    async def persons(self, info: Info[Context, None], nins: list[strawberry.ID]) -> list[Person | None]:
        found = await info.context.person_by_nin.load_many(nins)
        return [Person(nin=strawberry.ID(row["nin"])) if row else None for row in found]


# Strawberry's documented caches: a parsed and validated document is reused across requests.
schema = strawberry.Schema(query=Query, extensions=[ParserCache(maxsize=256), ValidationCache(maxsize=256)])


class _GraphQL(GraphQL[Context, None]):
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        super().__init__(schema, graphql_ide=None)
        self.pool = pool

    async def get_context(self, request: Any, response: Any) -> Context:  # noqa: ARG002 - Strawberry's signature
        if self.pool.closed:
            await self.pool.open()
        return Context(self.pool)


def create_app(database_url: str, pool_size: int = 10) -> Starlette:
    """Build the plain Strawberry app."""
    connection = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=pool_size, open=False, kwargs=connection
    )

    async def healthz(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/healthz", healthz), Route("/graphql", _GraphQL(pool), methods=["GET", "POST"])])


def app_from_env() -> Starlette:
    """uvicorn factory."""
    return create_app(os.environ["PLAIN_STRAWBERRY_DATABASE_URL"], int(os.environ.get("PLAIN_STRAWBERRY_POOL", "10")))


def main() -> None:
    """Serve the plain Strawberry app with uvicorn."""
    import uvicorn  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench.plain_strawberry", description=__doc__)
    parser.add_argument("--database-url", required=True, help="the benchmark nation's PostgreSQL URL")
    parser.add_argument("--port", type=int, default=8802, help="port on 127.0.0.1 (default 8802)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--pool-size", type=int, default=10, help="connections per worker (default 10)")
    args = parser.parse_args()
    os.environ["PLAIN_STRAWBERRY_DATABASE_URL"] = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    os.environ["PLAIN_STRAWBERRY_POOL"] = str(args.pool_size)
    uvicorn.run("bench.plain_strawberry:app_from_env", factory=True, host="127.0.0.1", port=args.port,
                workers=args.workers, log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
