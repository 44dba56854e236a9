"""Entity references across registers: the loaded entity when its register is served, else a key-only stub.

An edge from one register to another (GP period → health worker, contract → office) returns a
reference by key. In the monolith the owner register's loader fills it in (one batched statement
for all references of a level); in a subgraph that does not serve the owner register, the
reference is a key-only stub that the Federation gateway resolves in the owner's subgraph.
Every function takes a list of keys (None allowed) and returns one value per key, in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from helsegraf.loaders.kodeverk import KOMMUNE
from helsegraf.registers import AR, BED, FLR, HPR, KODEVERK, PREG, RESH

if TYPE_CHECKING:
    from helsegraf.schema.ar import CommunicationParty
    from helsegraf.schema.assembly import HealthPersonnel, Organization, Person
    from helsegraf.schema.base import Info
    from helsegraf.schema.flr import GpContract
    from helsegraf.schema.kodeverk import Code, Municipality
    from helsegraf.schema.resh import ReshUnit

T = TypeVar("T")


_ENTITIES: dict[str, Any] = {}


def entity(name: str) -> Any:
    """Return an entity type as composed from the registers' parts (schema/assembly.py)."""
    found = _ENTITIES.get(name)  # asked for once per object built: looked up once
    if found is None:
        from helsegraf.schema import assembly  # noqa: PLC0415 - assembly imports every register's module

        found = _ENTITIES[name] = getattr(assembly, name)
    return found


def person_stub(nin: str) -> Person:
    """Return a key-only Person."""
    return entity("Person").stub(nin)  # type: ignore[no-any-return]


async def _many(info: Info, register: str, loader: str, keys: Sequence[Hashable | None], cls: type[Any]) -> list[Any]:
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    if register not in info.context.registers:
        found = {key: cls.stub(key) for key in wanted}
    else:
        rows = await getattr(info.context.loaders, loader).load_many(wanted)
        found = {key: cls.from_row(row) for key, row in zip(wanted, rows, strict=True) if row is not None}
    return [found.get(key) if key is not None else None for key in keys]


async def persons(info: Info, nins: Sequence[str | None]) -> list[Person | None]:
    """Return Person objects by nin (PREG)."""
    return await _many(info, PREG, "person_by_nin", nins, entity("Person"))


async def health_personnel(info: Info, hpr_numbers: Sequence[int | None]) -> list[HealthPersonnel | None]:
    """Return HealthPersonnel objects by HPR number (HPR)."""
    return await _many(info, HPR, "personnel_by_hpr", hpr_numbers, entity("HealthPersonnel"))


async def organizations(info: Info, org_numbers: Sequence[str | None]) -> list[Organization | None]:
    """Return Organization objects by organisation number (BED)."""
    return await _many(info, BED, "organization_by_number", org_numbers, entity("Organization"))


async def resh_units(info: Info, resh_ids: Sequence[int | None]) -> list[ReshUnit | None]:
    """Return ReshUnit objects by RESH-id (RESH)."""
    return await _many(info, RESH, "unit_by_id", resh_ids, entity("ReshUnit"))


async def communication_parties(info: Info, her_ids: Sequence[int | None]) -> list[CommunicationParty | None]:
    """Return CommunicationParty objects by HER-id (AR)."""
    return await _many(info, AR, "party_by_her_id", her_ids, entity("CommunicationParty"))


async def gp_contracts(info: Info, contract_ids: Sequence[int | None]) -> list[GpContract | None]:
    """Return GpContract objects by id (FLR)."""
    return await _many(info, FLR, "contract_by_id", contract_ids, entity("GpContract"))


async def municipalities(info: Info, codes: Sequence[str | None]) -> list[Municipality | None]:
    """Return Municipality objects by kommunenummer; unknown numbers keep their code without a name."""
    from helsegraf.schema.kodeverk import Municipality  # noqa: PLC0415

    if KODEVERK not in info.context.registers:
        return [Municipality.stub(c) if c else None for c in codes]
    rows = await info.context.loaders.code.load_many([(KOMMUNE, c) for c in codes if c])
    names = {row.value: row.text for row in rows if row is not None}
    return [Municipality(code=c, name=names.get(c)) if c else None for c in codes]


async def codes(info: Info, system: str, values: Sequence[str | None]) -> list[Code | None]:
    """Return Code objects of a code system (OID); unknown values keep their value without text."""
    from helsegraf.schema.kodeverk import Code  # noqa: PLC0415

    if KODEVERK not in info.context.registers:
        return [Code.stub((system, v)) if v else None for v in values]
    rows = await info.context.loaders.code.load_many([(system, v) for v in values if v])
    found = {row.value: row for row in rows if row is not None}
    return [(Code.from_row(found[v]) if v in found else Code(system=system, code=v)) if v else None for v in values]


async def one(many: Callable[..., Awaitable[list[T]]], info: Info, *args: Any) -> T:
    """Call a `refs` function for a single key and return its single value."""
    *head, key = args
    return (await many(info, *head, [key]))[0]
