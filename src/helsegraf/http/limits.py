"""Request limits, checked before anything runs: tokens, depth, aliases and a static cost.

The cost of a query is the number of field values it could produce: each field costs 1, times
the size of every list above it. A list's size is its `first` (page size, default 20), the length
of its list argument (`persons(nins: [...])`), or an assumed typical size. A query that could touch
millions of rows is refused before it runs. Introspection (`__schema`, `__type`) is not counted:
it is bounded by the schema, and can be switched off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
)
from graphql.language import IntValueNode

from helsegraf.config import HttpSettings

DEFAULT_PAGE: Final = 20
DEFAULT_LIST: Final = 10
# Typical sizes of lists without a size argument (they are short by nature, or bounded by the data).
ASSUMED_LIST_SIZES: Final = {
    "parents": 2, "children": 5, "gpHistory": 10, "gps": 3, "gpPeriods": 10, "approvals": 3, "approvalHistory": 5,
    "specialities": 3, "requisitionRights": 2, "suspensions": 2, "communicationParties": 5, "electronicAddresses": 3,
    "allElectronicAddresses": 4, "reshUnits": 30, "services": 3, "ancestors": 6, "parentHistory": 3, "gpContracts": 10,
    "codes": 400, "fields": 6, "gpListsByMunicipality": 360, "patientsByAgeGroupAndGender": 20,
    "healthPersonnelByCategory": 35,
}  # fmt: skip
SIZE_ARGUMENTS: Final = ("first", "nins", "representations")


# The limits are the HTTP settings' (HELSEGRAF_MAX_*); one dataclass holds them.
Limits = HttpSettings


class LimitExceededError(Exception):
    """A request over one of the limits: answered with QUERY_TOO_COMPLEX, naming the limit and the value."""

    def __init__(self, limit: str, value: int, maximum: int) -> None:
        super().__init__(f"{limit} {value:,} exceeds the limit of {maximum:,}")
        self.limit, self.value, self.maximum = limit, value, maximum


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    aliases: int = 0
    depth: int = 0


def _size(field: FieldNode, name: str, variables: dict[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value not in SIZE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            resolved = variables.get(value.name.value)
            return len(resolved) if isinstance(resolved, list) else int(resolved) if isinstance(resolved, int) else None
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, IntValueNode):
            return int(value.value)
    return DEFAULT_PAGE if name == "edges" else None


def _selections(walk: _Walk, node: Any, seen: frozenset[str]) -> list[tuple[FieldNode, frozenset[str]]]:
    found: list[tuple[FieldNode, frozenset[str]]] = []
    for selection in node.selection_set.selections if node.selection_set else ():
        if isinstance(selection, FieldNode):
            found.append((selection, seen))
        elif isinstance(selection, InlineFragmentNode):
            found += _selections(walk, selection, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in walk.fragments and name not in seen:  # a fragment cycle is a validation error later
                found += _selections(walk, walk.fragments[name], seen | {name})
    return found


def _cost(walk: _Walk, node: Any, parent: Any, *, depth: int, page: int, seen: frozenset[str]) -> int:
    walk.depth = max(walk.depth, depth)
    total = 0
    for field, fragments in _selections(walk, node, seen):
        name = field.name.value
        if field.alias is not None:
            walk.aliases += 1
        if name.startswith("__"):
            continue
        definition = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
        field_type = definition.type if definition else None
        is_list = isinstance(field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type, GraphQLList)
        size = _size(field, name, walk.variables)
        # Connections: `first` sizes the edges below; the connection itself is one value.
        multiplier = 1
        child_page = size if size is not None and name != "persons" else DEFAULT_PAGE
        if is_list:
            multiplier = page if name == "edges" else size or ASSUMED_LIST_SIZES.get(name, DEFAULT_LIST)
        total += multiplier
        if field.selection_set is not None:
            child_type = get_named_type(field_type) if field_type else None
            total += multiplier * _cost(walk, field, child_type, depth=depth + 1, page=child_page, seen=fragments)
    return total


def check(
    document: DocumentNode, schema: GraphQLSchema, operation_name: str | None, variables: dict[str, Any], limits: Limits
) -> int:
    """Raise LimitExceededError when the operation is too deep, too aliased or too costly; return its cost."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    walk = _Walk(schema, fragments, variables)
    cost = 0
    for operation in chosen[:1] if operation_name is not None or len(chosen) == 1 else []:
        root = schema.get_root_type(operation.operation)
        cost = _cost(walk, operation, root, depth=0, page=DEFAULT_PAGE, seen=frozenset())
    if walk.depth > limits.max_depth:
        raise LimitExceededError("query depth", walk.depth, limits.max_depth)
    if walk.aliases > limits.max_aliases:
        raise LimitExceededError("aliases", walk.aliases, limits.max_aliases)
    if cost > limits.max_cost:
        raise LimitExceededError("query cost", cost, limits.max_cost)
    return cost
