"""Selection-driven batch preloading: resolve a whole level of the response at once.

GraphQL resolves field by field and object by object; on this stack each asynchronous field
costs tens of microseconds of scheduling, so a thousand patients with six edges each would
spend most of their time awaiting. Instead every edge is declared with a *batch* function
(`parents -> values`, through the request's dataloaders), and:

- a root resolver (or an edge that had to load on its own) calls `preload`, which walks the
  query's selection below it, collected by graphql-core's own `collect_subfields` (so `@skip`,
  `@include`, fragments and variables mean exactly what they mean to the executor), and runs
  each selected edge's batch function once for all objects of a level, attaching the values to
  the objects;
- the edge's resolver then returns the attached value synchronously, and only falls back to
  loading by itself (still batched by the dataloaders) when nothing was attached;
- a batch function marked `looks_below` is also told which fields are selected on its values, so
  that it can read in the same round what the edges below will ask its own register for (FLR's
  memberships with their lists' contracts and GP periods).

Preloading only loads. It decides nothing and records nothing: the executor decides every
personal field when it completes it (see execution/executor.py and authz/guard.py), so a value
loaded here and never sent is never logged. The SQL is the same either way: one statement per
(register, key) per level.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    get_named_type,
    get_nullable_type,
)

from helsegraf.execution.compat import FieldDetails, FieldDetailsList, get_argument_values

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


# Set (beside PLAIN_LEAF) on the resolver of a computed leaf: the function of the object that computes it.
COMPUTED: Final = "helsegraf_computed"


def computed_resolver(compute: Callable[[Any], Any], field_type: GraphQLOutputType) -> Callable[..., Any]:
    """Return the resolver of a leaf computed from its object alone (a method without arguments or info).

    If the field is a scalar or enum, or a list of them, the executor calls `compute(source)` itself;
    when that raises, it resolves the field through graphql-core, which calls it again and reports the
    error in its place (such methods only read their object).
    """

    def resolve(source: Any, _info: GraphQLResolveInfo[Context]) -> Any:
        return compute(source)

    plain = plain_leaf("", field_type)
    setattr(resolve, PLAIN_LEAF, plain)
    if plain is not None:
        setattr(resolve, COMPUTED, compute)
    return resolve


# Set on an attribute resolver whose field is one object: the attribute's name.
PLAIN_OBJECT: Final = "helsegraf_plain_object"
# Set on the resolver of an edge whose preloaded value the executor may complete itself.
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


def load_edge(obj: Any, info: Any, args: Mapping[str, Any], batch: Batch) -> Any:
    """Answer an edge of one object: its preloaded value, else load it (batched by the dataloaders)."""
    value = preloaded(obj, info.field_name, args)
    if value is not MISSING:
        return value
    return _load_one(obj, info, args, batch)


# Set on a batch function told which fields are selected below its edge (see `looks_below`).
LOOKS_BELOW: Final = "helsegraf_looks_below"


def looks_below(batch: Batch) -> Batch:
    """Mark a batch function as told what is selected on its edge's values, as a keyword argument `below`.

    `below` holds the names of the fields selected on the values (after `@skip`/`@include`, through
    fragments; not the response keys), so that the function can fetch in the same round what the edges
    below will ask its register for. It is not an argument of the field.
    """
    setattr(batch, LOOKS_BELOW, True)
    return batch


def _below(executor: Any, value_type: Any, details: FieldDetailsList) -> frozenset[str]:
    if executor is None or not isinstance(value_type, GraphQLObjectType):
        return frozenset()
    grouped = executor.collect_subfields(value_type, details).grouped_field_set
    return frozenset(found[0].node.name.value for found in grouped.values())


async def _load_one(obj: Any, info: Any, args: Mapping[str, Any], batch: Batch) -> Any:
    if getattr(batch, LOOKS_BELOW, False):
        raw: GraphQLResolveInfo[Context] = info._raw_info  # noqa: SLF001 - the graphql-core info behind Strawberry's
        args = {**args, "below": _below(info.context.executor, get_named_type(raw.return_type), _details(raw))}
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


def _details(raw: GraphQLResolveInfo[Context]) -> FieldDetailsList:
    return [FieldDetails(node, None) for node in raw.field_nodes]


async def preload(info: Any, objects: list[Any]) -> None:
    """Preload every batch-capable edge selected below the current field, for all of `objects`."""
    context: Context = info.context
    if not context.fast or context.executor is None or not objects:
        return
    raw: GraphQLResolveInfo[Context] = info._raw_info  # noqa: SLF001 - the graphql-core info behind Strawberry's
    await _level(info, objects, _details(raw), get_named_type(raw.return_type))


async def _level(info: Any, objects: list[Any], details: FieldDetailsList, graphql_type: Any) -> None:
    if not objects or not isinstance(graphql_type, GraphQLObjectType):
        return
    executor = info.context.executor
    grouped = executor.collect_subfields(graphql_type, details).grouped_field_set
    groups: dict[tuple[str, Any], tuple[Any, dict[str, Any], Any, FieldDetailsList]] = {}
    for field_details in grouped.values():
        first = field_details[0]
        name = first.node.name.value
        graphql_field = graphql_type.fields.get(name)
        if graphql_field is None:
            continue
        loads = _loads(graphql_field)
        if loads is None:
            continue  # a leaf, or an edge of its own resolver: nothing to load here (its arguments are not read)
        field, child_type = loads
        graphql_args = get_argument_values(
            graphql_field, first.node, executor.variable_values, first.fragment_variable_values
        )
        key = (name, arg_key(graphql_args))
        if key in groups:
            groups[key][3].extend(field_details)
        else:
            groups[key] = (field, _python_args(info, field, graphql_args), child_type, list(field_details))
    # A single edge is awaited directly rather than through gather.
    tasks = [
        _field(info, objects, key, field, args, child, found) for key, (field, args, child, found) in groups.items()
    ]
    if len(tasks) == 1:
        await tasks[0]
    elif tasks:
        await asyncio.gather(*tasks)


# Set on a GraphQL field (an attribute of its own: graphql-core's fields are not hashable) once `_loads` knows it.
_LOADS: Final = "_helsegraf_preload"


def _loads(graphql_field: GraphQLField) -> tuple[Any, Any] | None:
    """Return a field's Strawberry field and named type if the preloader loads it, else None (found once per field).

    Only edges with a batch function, and plain attributes holding objects, have anything to load.
    """
    found = graphql_field.__dict__.get(_LOADS, MISSING)
    if found is MISSING:
        field = graphql_field.extensions.get("strawberry-definition")
        child_type = get_named_type(graphql_field.type)
        loads = field is not None and (
            field.metadata.get("batch") is not None
            or (field.base_resolver is None and isinstance(child_type, GraphQLObjectType))
        )
        found = (field, child_type) if loads else None
        setattr(graphql_field, _LOADS, found)
    return found  # type: ignore[no-any-return]


def _python_args(info: Any, field: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    convert = info.schema.config.name_converter.get_graphql_name
    return {argument.python_name: values.get(convert(argument)) for argument in field.arguments}


async def _field(
    info: Any, objects: list[Any], key: Any, field: Any, args: dict[str, Any], child_type: Any, details: Any
) -> None:
    batch = field.metadata.get("batch")
    if batch is None:
        # A plain attribute holding objects: look through it (scalars have nothing below them).
        if field.base_resolver is None and isinstance(child_type, GraphQLObjectType):
            await _level(info, _flatten(getattr(o, field.python_name, None) for o in objects), details, child_type)
        return
    requirement = field.metadata.get("requirement")
    if requirement is not None:
        # Not a decision (the executor makes it when it completes the field): just no loading of
        # values the caller could not be given.
        judge = info.context.guard.judge
        objects = [o for o in objects if judge(requirement, o)[0] is None]
        if not objects:
            return
    if getattr(batch, LOOKS_BELOW, False):
        args = {**args, "below": _below(info.context.executor, child_type, details)}
    try:
        values = await batch(info, objects, **args)
    except GraphQLError:
        return  # each object's own resolver raises it again, at its own path
    for obj, value in zip(objects, values, strict=True):
        _attached(obj)[key] = value
    await _level(info, _flatten(values), details, child_type)


def fast_resolver(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an edge's resolver: answer a preloaded value directly, else fall back to `original`.

    Installed on the built GraphQL schema, so preloaded values skip Strawberry's per-call wrapping.
    """

    def resolve(source: Any, info: GraphQLResolveInfo[Context], **kwargs: Any) -> Any:
        value = preloaded(source, info.field_name, kwargs)
        if value is MISSING:
            return original(source, info, **kwargs)
        return value

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
    context: Context = info.context
    if not context.fast or context.executor is None:
        return
    raw: GraphQLResolveInfo[Context] = info._raw_info  # noqa: SLF001
    groups: dict[str, list[Any]] = {}
    for entity in entities:
        definition = getattr(entity, "__strawberry_definition__", None)
        if definition is not None:
            groups.setdefault(definition.name, []).append(entity)
    details = _details(raw)
    await asyncio.gather(*(_level(info, group, details, raw.schema.get_type(name)) for name, group in groups.items()))


async def root(info: Any, value: T) -> T:
    """Preload the selection below a root field's value (an object, a list, or None) and return it."""
    await preload(info, value if isinstance(value, list) else [value] if value is not None else [])
    return value
