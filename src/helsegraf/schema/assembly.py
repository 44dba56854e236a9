"""Assemble the schema for all registers or a subset (a Federation subgraph).

Each register's module defines the types it owns and its part of the entity types other registers
extend (`PersonPreg` with PREG's fields, `PersonFlr` adding `gp`, `OrganizationResh` adding
`reshUnits`, ...); no register's schema module imports another's. The entity types are composed
here from those parts, and `Query` from every register's root fields. Fields refer to entity types
lazily (`strawberry.lazy("helsegraf.schema.assembly")`), so they resolve when the schema is built.
`build_schema(registers)` serves all registers, or a subset as a Federation subgraph: fields owned
by other registers are left out, and entity types owned elsewhere shrink to their keys.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any, cast

import strawberry
from graphql import GraphQLError, GraphQLNonNull, GraphQLObjectType
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import External, Key, Requires
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from helsegraf.execution.executor import Executor, PlainExecutor, relating_resolver
from helsegraf.execution.preload import (
    PRELOADED,
    attribute_resolver,
    computed_resolver,
    fast_resolver,
    preload_entities,
)
from helsegraf.registers import AUDIT, FLR, PREG, REGISTERS
from helsegraf.schema.ar import ArQuery, CommunicationParty, GpAssignmentAr, HealthPersonnelAr, OrganizationAr
from helsegraf.schema.audit import PersonAudit
from helsegraf.schema.base import MAX_LIST_ARGUMENT, POLICY, Refused, check_list, echo, user_error
from helsegraf.schema.bed import BedQuery, OrganizationBed
from helsegraf.schema.flr import (
    FlrQuery,
    GpAssignmentFlr,
    GpContract,
    GpSearchQuery,
    HealthPersonnelFlr,
    OrganizationFlr,
    PersonFlr,
)
from helsegraf.schema.freshness import FreshnessQuery
from helsegraf.schema.hpr import HealthPersonnelHpr, HprQuery, PersonHpr
from helsegraf.schema.kodeverk import Code, KodeverkQuery, Municipality
from helsegraf.schema.preg import PersonPreg, PregQuery
from helsegraf.schema.resh import OrganizationResh, ReshQuery, ReshUnit
from helsegraf.schema.stats import StatsQuery


@strawberry.federation.type(
    keys=["nin"], description="A person in Folkeregisteret (PREG), by national identity number."
)
class Person(PersonPreg, PersonFlr, PersonHpr, PersonAudit):
    """A person: identity, address and family from PREG; GP from FLR; health-personnel record from HPR."""


@strawberry.federation.type(keys=["hprNumber"], description="A health worker in HPR (helsepersonell).")
class HealthPersonnel(HealthPersonnelHpr, HealthPersonnelFlr, HealthPersonnelAr):
    """A person with an autorisasjon or lisens, by HPR number. Basic data is public."""


@strawberry.federation.type(
    keys=["orgNumber"], description="An organisation (enhet or underenhet) in Enhetsregisteret."
)
class Organization(OrganizationBed, OrganizationFlr, OrganizationResh, OrganizationAr):
    """A legal entity or one of its business units, by organisation number."""


@strawberry.federation.type(
    keys=["id"], description="A person's membership of a GP list (PatientToGPContractAssociation)."
)
class GpAssignment(GpAssignmentFlr, GpAssignmentAr):
    """Which list a person was on, when, and who their GP was."""


FEDERATION_VERSION = "2.9"  # the open-source composer rejects newer
ENTITY_TYPES = (Person, HealthPersonnel, Organization, ReshUnit, CommunicationParty, GpContract, GpAssignment,
                Municipality, Code)  # fmt: skip
# Modules whose fields belong to a register other than their name says.
MODULE_REGISTER = {AUDIT: PREG, "stats": FLR, "freshness": PREG}


@strawberry.type(description="helsegraf: one graph over Norway's health-sector base registers.")
class Query(
    PregQuery,
    FlrQuery,
    GpSearchQuery,
    HprQuery,
    ReshQuery,
    ArQuery,
    BedQuery,
    KodeverkQuery,
    StatsQuery,
    FreshnessQuery,
):
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

    def __init__(self, registers: frozenset[str], *, fast: bool = True, **kwargs: Any) -> None:
        self.registers = registers
        self.fast = fast
        # Keyed by the definition itself: the specialisations of a generic type (Connection[Person],
        # Connection[GpContract]) share a name while they are being built.
        self._served_fields: dict[int, tuple[StrawberryObjectDefinition, list[StrawberryField]]] = {}
        super().__init__(**kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Leave error logging to the HTTP layer, which logs unexpected errors once, with the request id."""
        del errors, execution_context

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        """Return the fields this subgraph serves: its registers' fields, and the keys of entities."""
        fields = super().get_fields(type_definition)
        if self.registers >= set(REGISTERS):
            return fields
        cached = self._served_fields.get(id(type_definition))
        if cached is None:
            served = self._serve(fields, _key_fields(type_definition))
            cached = self._served_fields[id(type_definition)] = (type_definition, served)
        return cached[1]

    async def entities_resolver(  # type: ignore[override]
        self, info: strawberry.Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Resolve Federation entity references (batched by the loaders), then preload below them.

        At most MAX_LIST_ARGUMENT references, as `persons(nins)`. A personal entity the caller may not
        see is null with its redaction (the entity types' `resolve_reference` decide, see `Refused`).
        """
        check_list("representations", representations, MAX_LIST_ARGUMENT)
        results = [self._reference(info, i, r) for i, r in enumerate(representations)]
        entities = list(await asyncio.gather(*(_settled(r) for r in results)))
        path = info.path.as_list()
        for i, entity in enumerate(entities):
            if isinstance(entity, Refused):
                info.context.guard.redact([*path, i], entity.reason)
                entities[i] = None
        await preload_entities(info, [e for e in entities if e is not None and not isinstance(e, BaseException)])
        return entities

    def _reference(self, info: strawberry.Info, index: int, representation: Any) -> Any:
        """Call the entity type's `resolve_reference` with a representation's keys; a bad one is the caller's error."""
        where = f"representations[{index}]"
        if not isinstance(representation, dict) or not isinstance(representation.get("__typename"), str):
            return user_error(f"{where} must be an object with a __typename")
        type_name = representation["__typename"]
        graphql_type = self.schema_converter.type_map.get(type_name)
        origin = getattr(getattr(graphql_type, "definition", None), "origin", None)
        resolve = getattr(origin, "resolve_reference", None)
        if resolve is None:
            return user_error(f"{where}: {echo(type_name)} is not an entity type of this graph")
        parameters = inspect.signature(resolve).parameters
        keys = {k: v for k, v in representation.items() if k in parameters and k != "info"}
        missing = [name for name, p in parameters.items()
                   if name not in {"info", *keys} and p.default is inspect.Parameter.empty]  # fmt: skip
        if missing:
            return user_error(f"{where}: a {type_name} reference needs {', '.join(missing)}")
        try:
            return resolve(info=info, **keys)
        except Exception as exc:  # noqa: BLE001 - reported in its place, as graphql-core does for list items
            return exc

    @property
    def schema_directives_in_use(self) -> list[object]:
        """Add the @requires / @external this subgraph applied, so its @link imports them."""
        added = [d for _, fields in self._served_fields.values() for f in fields for d in f.directives
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


def _computed_from_self(field: StrawberryField) -> bool:
    """Tell whether a field is computed by a plain method of its object alone: sync, only `self`, no extensions."""
    resolver = field.base_resolver
    if resolver is None or field.extensions or field.arguments or field.directives or resolver.is_async:
        return False
    if not inspect.isfunction(resolver.wrapped_func) or resolver.self_parameter is None:
        return False
    return len(resolver.signature.parameters) == 1


def _resolver(schema: RegisterSchema, graphql_field: Any, field: StrawberryField, policy: Any) -> Any:
    """Return the resolver a field runs with: the fast paths' (when on), wrapped to mark related persons."""
    resolve = graphql_field.resolve
    if schema.fast and "batch" in field.metadata and resolve is not None:
        resolve = fast_resolver(resolve)
        if policy is None or not policy.relates:
            setattr(resolve, PRELOADED, True)
    elif schema.fast and field.base_resolver is None and not field.extensions and not field.arguments:
        resolve = attribute_resolver(field.python_name, graphql_field.type)
    elif schema.fast and policy is None and _computed_from_self(field):
        # _computed_from_self admitted only a plain function with a base resolver.
        compute = cast("Callable[[Any], Any]", cast("StrawberryResolver[Any]", field.base_resolver).wrapped_func)
        resolve = computed_resolver(compute, graphql_field.type)
    if policy is not None and policy.relates:
        resolve = relating_resolver(resolve, policy.requirement.group)
    return resolve


def _install_resolvers(schema: RegisterSchema) -> None:
    """Give the executor each field's policy, and (fast paths) answer preloaded edges and plain attributes directly."""
    for name, graphql_type in schema._schema.type_map.items():  # noqa: SLF001 - the built graphql-core schema
        if name.startswith("_") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            if field is None:
                continue
            policy = field.metadata.get(POLICY)
            if policy is not None:
                if isinstance(graphql_field.type, GraphQLNonNull):
                    msg = f"{name}.{field_name} carries personal data and must be nullable (a redaction is null)"
                    raise TypeError(msg)
                graphql_field.extensions = {**graphql_field.extensions, POLICY: policy}
            graphql_field.resolve = _resolver(schema, graphql_field, field, policy)


def build_schema(registers: Iterable[str] = REGISTERS, *, fast: bool = True) -> RegisterSchema:
    """Return the schema serving `registers` (all of them by default); `fast=False` without the fast paths."""
    schema = RegisterSchema(
        frozenset(registers),
        fast=fast,
        query=Query,
        types=ENTITY_TYPES,
        federation_version=FEDERATION_VERSION,
        execution_context_class=Executor if fast else PlainExecutor,
    )
    _install_resolvers(schema)
    return schema
