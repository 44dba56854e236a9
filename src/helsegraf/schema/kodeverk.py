"""Kodeverk in the graph: codes and municipalities (entities other registers point at), `codes(system)`."""

from __future__ import annotations

from typing import Any

import strawberry

from helsegraf.loaders.kodeverk import find_system
from helsegraf.schema import refs
from helsegraf.schema.base import Info, echo, user_error


@strawberry.federation.type(
    keys=["system code"], description="A code from a code system (kodeverk), e.g. a helsepersonellkategori."
)
class Code:
    """A code and its text."""

    system: str = strawberry.field(description="The code system's OID, e.g. 9060 for helsepersonellkategori.")
    code: str = strawberry.field(description="The code value, e.g. LE.")
    text: str | None = strawberry.field(default=None, description="The code's text (kodetekst), e.g. Lege.")
    active: bool | None = strawberry.field(default=None, description="Whether the code is still in use.")

    @classmethod
    def from_row(cls, row: Any) -> Code:
        """Build from a Kodeverk row."""
        return cls(system=row.system_oid, code=row.value, text=row.text, active=row.active)

    @classmethod
    def stub(cls, key: tuple[str, str]) -> Code:
        """Build a key-only reference."""
        return cls(system=key[0], code=key[1])

    @classmethod
    async def resolve_reference(cls, info: Info, system: str, code: str) -> Code | None:
        """Resolve a Federation reference."""
        return await refs.one(refs.codes, info, system, code)


@strawberry.federation.type(keys=["code"], description="A Norwegian municipality (kommune, code system 3402).")
class Municipality:
    """A municipality by its four-digit kommunenummer."""

    code: str = strawberry.field(description="The kommunenummer, e.g. 0301.")
    name: str | None = strawberry.field(default=None, description="The municipality's name, e.g. Oslo.")

    @classmethod
    def stub(cls, code: str) -> Municipality:
        """Build a key-only reference."""
        return cls(code=code)

    @classmethod
    async def resolve_reference(cls, info: Info, code: str) -> Municipality | None:
        """Resolve a Federation reference."""
        return await refs.one(refs.municipalities, info, code)


@strawberry.type
class KodeverkQuery:
    """Kodeverk's root fields."""

    @strawberry.field(
        description="Every code of a code system, by OID (e.g. 9060) or name (e.g. helsepersonellkategori); "
        "null, with an error at this field, for an unknown system (the rest of the answer stands)."
    )
    async def codes(self, info: Info, system: str) -> list[Code] | None:
        """Return a code system's codes (nullable: a bad system nulls this field only, not the whole answer)."""
        found = await find_system(info.context.db, system)
        if found is None:
            raise user_error(f"system: unknown code system {echo(system)}; try kommune, helsepersonellkategori or 9060")
        rows = await info.context.loaders.codes_by_system.load(found.oid)
        return [Code.from_row(row) for row in rows]

    @strawberry.field(description="A municipality by kommunenummer (four digits).")
    async def municipality(self, info: Info, code: str) -> Municipality | None:
        """Return a municipality, or null when the number is unknown."""
        found = await refs.one(refs.municipalities, info, code)
        return found if found is not None and found.name is not None else None
