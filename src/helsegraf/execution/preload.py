"""Selection-driven batch preloading: resolve a whole level of the response at once.

GraphQL resolves field by field and object by object; on this stack each asynchronous field
costs tens of microseconds of scheduling, so a thousand patients with six edges each would
spend most of their time awaiting. Instead every edge is declared with a *batch* function
(`parents -> values`, through the request's dataloaders), and:

- a root resolver (or an edge that had to load on its own) calls `preload`, which walks the
  query's selection below it and runs each selected edge's batch function once for all objects
  of a level, attaching the values to the objects;
- the edge's own resolver then returns the attached value synchronously, and only falls back to
  loading by itself (still batched by the dataloaders) when nothing was attached.

The SQL is the same either way: one statement per (register, key) per level.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    InlineFragmentNode,
    get_named_type,
    get_nullable_type,
)
from graphql.execution.values import VariableValues, get_argument_values

if TYPE_CHECKING:
    from helsegraf.schema.base import Context

T = TypeVar("T")
MISSING: Final = object()
Batch = Callable[..., Awaitable[list[Any]]]


# Set on an attribute resolver whose field is a scalar or enum, or a list of them.
PLAIN_LEAF: Final = "helsegraf_plain_leaf"


class PlainLeaf(NamedTuple):
    """A field the executor answers from an attribute: its name, its scalar or enum type, whether a list."""

    attribute: str
    leaf: GraphQLLeafType
    listed: bool


def plain_leaf(attribute: str, field_type: GraphQLOutputType) -> PlainLeaf | None:
    """Describe a field of `field_type` read from `attribute`, if the executor can answer it directly."""
    inner = get_nullable_type(field_type)
    listed = isinstance(inner, GraphQLList)
    if isinstance(inner, GraphQLList):
        inner = get_nullable_type(inner.of_type)
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return PlainLeaf(attribute, inner, listed)
    return None


# Set on an attribute resolver whose field is one object: the attribute's name.
PLAIN_OBJECT: Final = "helsegraf_plain_object"
# Set on the resolver of an edge without a requirement: the executor may answer its preloaded value itself.
PRELOADED: Final = "helsegraf_preloaded"


def preloaded(source: Any, field_name: str, args: Mapping[str, Any] | None = None) -> Any:
    """Return the value preloaded for a field of `source` with these arguments, or MISSING."""
    attached = getattr(source, "__dict__", {}).get("_preloaded")
    if attached is None:
        return MISSING
    return attached.get((field_name, arg_key(args) if args else ()), MISSING)


def arg_key(args: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Return a hashable key for a field's arguments (unset, null and false arguments are equal)."""
    return tuple(sorted((name, str(value)) for name, value in args.items() if value is not None and value is not False))


def _attached(obj: Any) -> dict[Any, Any]:
    return obj.__dict__.setdefault("_preloaded", {})  # type: ignore[no-any-return]


def edge(obj: Any, info: Any, args: Mapping[str, Any], batch: Batch) -> Any:
    """Load an edge of one object that was not preloaded (batched by the dataloaders), preloading below it.

    Preloaded values never reach here: `fast_resolver` answers them before Strawberry is called.
    """
    return _load_one(obj, info, args, batch)


async def _load_one(obj: Any, info: Any, args: Mapping[str, Any], batch: Batch) -> Any:
    [value] = await batch(info, [obj], **args)
    await preload(info, [value] if value is not None and not isinstance(value, list) else value or [])
    return value


def _flatten(values: Iterable[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(v for v in value if v is not None)
        elif value is not None:
            flat.append(value)
    return flat


def _applies(fragment: Any, type_name: str) -> bool:
    condition = getattr(fragment, "type_condition", None)
    return condition is None or condition.name.value == type_name


def _subfields(raw: GraphQLResolveInfo[Context], nodes: Iterable[Any], type_name: str) -> list[FieldNode]:
    """Return the field nodes selected directly under `nodes` for objects of `type_name`, fragments flattened."""
    found: list[FieldNode] = []
    for node in nodes:
        selection_set = getattr(node, "selection_set", None)
        for child in selection_set.selections if selection_set else ():
            if isinstance(child, FieldNode):
                found.append(child)
            elif isinstance(child, InlineFragmentNode) and _applies(child, type_name):
                found += _subfields(raw, [child], type_name)
            elif isinstance(child, FragmentSpreadNode) and child.name.value in raw.fragments:
                fragment = raw.fragments[child.name.value]
                if _applies(fragment, type_name):
                    found += _subfields(raw, [fragment], type_name)
    return found


async def preload(info: Any, objects: list[Any]) -> None:
    """Preload every batch-capable edge selected below the current field, for all of `objects`."""
    raw: GraphQLResolveInfo[Context] = info._raw_info  # noqa: SLF001 - the graphql-core info behind Strawberry's
    await _level(info, raw, objects, raw.field_nodes, get_named_type(raw.return_type))


async def _level(
    info: Any, raw: GraphQLResolveInfo[Context], objects: list[Any], nodes: Iterable[Any], graphql_type: Any
) -> None:
    if not objects or not isinstance(graphql_type, GraphQLObjectType):
        return
    groups: dict[tuple[str, Any], tuple[Any, list[FieldNode]]] = {}
    variables = raw.variable_values
    if isinstance(variables, dict):  # Strawberry's executor hands over the coerced values as a plain dict
        variables = VariableValues(sources={}, coerced=variables)
    for node in _subfields(raw, nodes, graphql_type.name):
        graphql_field = graphql_type.fields.get(node.name.value)
        if graphql_field is None:
            continue
        field = graphql_field.extensions["strawberry-definition"]
        graphql_args = get_argument_values(graphql_field, node, variables)
        key = (node.name.value, arg_key(graphql_args))
        if key in groups:
            groups[key][1].append(node)
        else:
            groups[key] = ((field, _python_args(info, field, graphql_args), get_named_type(graphql_field.type)), [node])
    tasks = [_field(info, raw, objects, key, field, args, field_nodes, child_type)
             for key, ((field, args, child_type), field_nodes) in groups.items()]  # fmt: skip
    await asyncio.gather(*tasks)


def _python_args(info: Any, field: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    convert = info.schema.config.name_converter.get_graphql_name
    return {argument.python_name: values.get(convert(argument)) for argument in field.arguments}


async def _field(
    info: Any,
    raw: GraphQLResolveInfo[Context],
    objects: list[Any],
    key: Any,
    field: Any,
    args: dict[str, Any],
    nodes: list[FieldNode],
    child_type: Any,
) -> None:
    batch = field.metadata.get("batch")
    if batch is None:
        # A plain attribute holding objects: look through it (scalars have nothing below them).
        if field.base_resolver is None and isinstance(child_type, GraphQLObjectType):
            await _level(info, raw, _flatten(getattr(o, field.python_name, None) for o in objects), nodes, child_type)
        return
    requirement = field.metadata.get("requirement")
    if requirement is not None:
        guard = info.context.guard
        objects = [o for o in objects if guard.denies(requirement, o) is None]
        if not objects:
            return
    try:
        values = await batch(info, objects, **args)
    except GraphQLError:
        return  # each object's own resolver raises it again, at its own path
    for obj, value in zip(objects, values, strict=True):
        _attached(obj)[key] = value
    await _level(info, raw, _flatten(values), nodes, child_type)


def fast_resolver(original: Callable[..., Any], requirement: Any) -> Callable[..., Any]:
    """Wrap an edge's resolver: answer a preloaded value directly (guarded), else fall back to `original`.

    Installed on the built GraphQL schema, so preloaded values skip Strawberry's per-call wrapping.
    """

    def resolve(source: Any, info: GraphQLResolveInfo[Context], **kwargs: Any) -> Any:
        value = preloaded(source, info.field_name, kwargs)
        if value is MISSING:
            return original(source, info, **kwargs)
        if requirement is not None:
            guard = info.context.guard
            reason = guard.denies(requirement, source)
            if reason is not None:
                guard.redact(info.path.as_list(), reason)
                return None
            if value is not None:
                guard.released(getattr(source, "subject_nin", None), requirement.group)
        return value

    if requirement is None:
        setattr(resolve, PRELOADED, True)
    return resolve


def attribute_resolver(
    python_name: str, field_type: GraphQLOutputType
) -> Callable[[Any, GraphQLResolveInfo[Context]], Any]:
    """Return a resolver that reads a plain attribute (what Strawberry does for fields without a resolver).

    If the field is a scalar or enum (or a list of them), or one object, the executor answers it
    without calling this.
    """

    def resolve(source: Any, _info: GraphQLResolveInfo[Context]) -> Any:
        return getattr(source, python_name)

    setattr(resolve, PLAIN_LEAF, plain_leaf(python_name, field_type))
    if isinstance(get_nullable_type(field_type), GraphQLObjectType):
        setattr(resolve, PLAIN_OBJECT, python_name)
    return resolve


async def preload_entities(info: Any, entities: list[Any]) -> None:
    """Preload below Federation's `_entities`: each entity type with the selection of its own fragments."""
    raw: GraphQLResolveInfo[Context] = info._raw_info  # noqa: SLF001
    groups: dict[str, list[Any]] = {}
    for entity in entities:
        definition = getattr(entity, "__strawberry_definition__", None)
        if definition is not None:
            groups.setdefault(definition.name, []).append(entity)
    await asyncio.gather(
        *(_level(info, raw, group, raw.field_nodes, raw.schema.get_type(name)) for name, group in groups.items())
    )


async def root(info: Any, value: T) -> T:
    """Preload the selection below a root field's value (an object, a list, or None) and return it."""
    await preload(info, value if isinstance(value, list) else [value] if value is not None else [])
    return value
