"""Assemble the schema for all registers or a subset (a Federation subgraph)."""

from __future__ import annotations

import asyncio
import copy
import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLObjectType
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import External, Key, Requires
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from helsegraf.execution.executor import Executor
from helsegraf.execution.preload import attribute_resolver, fast_resolver, preload_entities
from helsegraf.registers import AUDIT, FLR, PREG, REGISTERS
from helsegraf.schema.ar import ArQuery, CommunicationParty
from helsegraf.schema.bed import BedQuery, Organization
from helsegraf.schema.flr import FlrQuery, GpAssignment, GpContract
from helsegraf.schema.hpr import HealthPersonnel, HprQuery
from helsegraf.schema.kodeverk import Code, KodeverkQuery, Municipality
from helsegraf.schema.preg import Person, PregQuery
from helsegraf.schema.resh import ReshQuery, ReshUnit
from helsegraf.schema.stats import StatsQuery

FEDERATION_VERSION = "2.9"  # the open-source composer rejects newer
ENTITY_TYPES = (Person, HealthPersonnel, Organization, ReshUnit, CommunicationParty, GpContract, GpAssignment,
                Municipality, Code)  # fmt: skip
# Modules whose fields belong to a register other than their name says.
MODULE_REGISTER = {AUDIT: PREG, "stats": FLR}


@strawberry.type(description="helsegraf: one graph over Norway's health-sector base registers.")
class Query(PregQuery, FlrQuery, HprQuery, ReshQuery, ArQuery, BedQuery, KodeverkQuery, StatsQuery):
    """Every register's root fields."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def register_of(field: StrawberryField) -> str | None:
    """Return the register that owns a field (the schema module it is declared in), or None for shared ones."""
    origin = field.base_resolver.wrapped_func if field.base_resolver else field.origin
    module = getattr(origin, "__module__", "") or ""
    match = re.fullmatch(r"helsegraf\.schema\.(\w+)", module)
    if match is None:
        return None
    name = MODULE_REGISTER.get(match.group(1), match.group(1))
    return name if name in REGISTERS else None


def _key_fields(definition: StrawberryObjectDefinition) -> set[str]:
    keys: set[str] = set()
    for directive in definition.directives or ():
        if isinstance(directive, Key):
            keys.update(str(directive.fields).split())
    return keys


async def _settled(result: Any) -> Any:
    if not inspect.isawaitable(result):
        return result
    try:
        return await result
    except Exception as exc:  # noqa: BLE001 - an entity that fails is reported in its place, as Strawberry does
        return exc


def _with_directive(field: StrawberryField, directive: object) -> StrawberryField:
    changed = copy.copy(field)
    changed.directives = [*field.directives, directive]
    return changed


class RegisterSchema(strawberry.federation.Schema):
    """A Federation 2 schema serving some registers: other registers' fields are left out.

    An entity owned elsewhere keeps its key fields (a stub the gateway resolves in the owner's
    subgraph). A field that reads a non-key field owned elsewhere (`requires` in its metadata) gets
    `@requires`, and the field it reads is declared `@external`.
    """

    def __init__(self, registers: frozenset[str], **kwargs: Any) -> None:
        self.registers = registers
        self._served_fields: dict[str, list[StrawberryField]] = {}
        super().__init__(**kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Leave error logging to the HTTP layer, which logs unexpected errors once, with the request id."""
        del errors, execution_context

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        """Return the fields this subgraph serves: its registers' fields, and the keys of entities."""
        fields = super().get_fields(type_definition)
        if self.registers >= set(REGISTERS):
            return fields
        cached = self._served_fields.get(type_definition.name)
        if cached is None:
            cached = self._served_fields[type_definition.name] = self._serve(fields, _key_fields(type_definition))
        return cached

    async def entities_resolver(  # type: ignore[override]
        self, info: strawberry.Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Resolve Federation entity references (batched by the loaders), then preload below them."""
        results = super().entities_resolver(info, representations)
        entities = await asyncio.gather(*(_settled(r) for r in results))
        await preload_entities(info, [e for e in entities if not isinstance(e, BaseException)])
        return list(entities)

    @property
    def schema_directives_in_use(self) -> list[object]:
        """Add the @requires / @external this subgraph applied, so its @link imports them."""
        added = [d for fields in self._served_fields.values() for f in fields for d in f.directives
                 if isinstance(d, Requires | External)]  # fmt: skip
        return [*super().schema_directives_in_use, *added]

    def _serve(self, fields: list[StrawberryField], keys: set[str]) -> list[StrawberryField]:
        by_name = {_camel(f.python_name): f for f in fields}
        served = self.registers | {None}
        kept, external = [], []
        for field in fields:
            if _camel(field.python_name) not in keys and register_of(field) not in served:
                continue
            required = field.metadata.get("requires")
            if required and register_of(by_name[required]) not in served:
                field = _with_directive(field, Requires(fields=required))  # noqa: PLW2901
                external.append(required)
            kept.append(field)
        kept += [_with_directive(by_name[name], External()) for name in dict.fromkeys(external)]
        return kept


CACHE_SIZE = 512  # distinct documents kept parsed and validated (shared by every request)


def _install_fast_resolvers(schema: RegisterSchema) -> None:
    """Answer preloaded edges and plain attributes without Strawberry's per-call wrapping (see preload.py)."""
    for name, graphql_type in schema._schema.type_map.items():  # noqa: SLF001 - the built graphql-core schema
        if name.startswith("_") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            if field is None:
                continue
            if "batch" in field.metadata and graphql_field.resolve is not None:
                graphql_field.resolve = fast_resolver(graphql_field.resolve, field.metadata.get("requirement"))
            elif field.base_resolver is None and not field.extensions and not field.arguments:
                graphql_field.resolve = attribute_resolver(field.python_name, graphql_field.type)


def build_schema(
    registers: Iterable[str] = REGISTERS, extensions: Iterable[Callable[[], SchemaExtension]] = ()
) -> RegisterSchema:
    """Return the schema serving `registers` (all of them by default)."""
    schema = RegisterSchema(
        frozenset(registers),
        query=Query,
        types=ENTITY_TYPES,
        extensions=[lambda: ParserCache(maxsize=CACHE_SIZE), lambda: ValidationCache(maxsize=CACHE_SIZE), *extensions],
        federation_version=FEDERATION_VERSION,
        execution_context_class=Executor,
    )
    _install_fast_resolvers(schema)
    return schema
