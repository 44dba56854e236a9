"""The executor's fast path for plain scalar fields: taken when it can be, identical to graphql-core's answer."""

from __future__ import annotations

from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
)
from strawberry.schema._graphql_core import BaseGraphQLExecutionContext

from helsegraf.schema.executor import PLAIN_LEAF, Executor, plain_leaf
from helsegraf.schema.preload import attribute_resolver


class Status(Enum):
    ACTIVE = "active"
    DECEASED = "deceased"


STATUS = GraphQLEnumType("Status", {"ACTIVE": Status.ACTIVE, "DECEASED": Status.DECEASED})
FIELD_TYPES = {
    "count": GraphQLInt,
    "name": GraphQLNonNull(GraphQLString),
    "status": STATUS,
    "addresses": GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString))),
}
QUERY = parse("{ item { count name status addresses } }")


def schema(resolver: Any) -> GraphQLSchema:
    item = GraphQLObjectType(
        "Item", {name: GraphQLField(t, resolve=resolver(name, t)) for name, t in FIELD_TYPES.items()}
    )
    return GraphQLSchema(GraphQLObjectType("Query", {"item": GraphQLField(item)}))


def run(graphql_schema: GraphQLSchema, executor: type, **item: Any) -> Any:
    result = execute(graphql_schema, QUERY, root_value={"item": SimpleNamespace(**item)}, executor_class=executor)
    return result.data, [(e.message, e.path) for e in result.errors or []]


def test_plain_scalars_are_answered_without_calling_their_resolver() -> None:
    def refusing(name: str, field_type: Any) -> Any:
        def resolve(_source: Any, _info: Any) -> Any:
            raise AssertionError(f"{name} was resolved through graphql-core")

        setattr(resolve, PLAIN_LEAF, plain_leaf(name, field_type))
        return resolve

    data, errors = run(schema(refusing), Executor, count=3, name="Kari", status=Status.DECEASED, addresses=("a", "b"))

    assert errors == []
    assert data == {"item": {"count": 3, "name": "Kari", "status": "DECEASED", "addresses": ["a", "b"]}}


@pytest.mark.parametrize(
    "item",
    [
        {"count": 3, "name": "Kari", "status": Status.ACTIVE, "addresses": ["a"]},
        {"count": None, "name": "Kari", "status": None, "addresses": []},
        {"count": 3, "name": None, "status": Status.ACTIVE, "addresses": ["a"]},  # null in a non-null field
        {"count": "three", "name": "Kari", "status": Status.ACTIVE, "addresses": ["a"]},  # not an Int
        {"count": 3, "name": "Kari", "status": "SLEEPING", "addresses": ["a"]},  # not a Status
        {"count": 3, "name": "Kari", "status": Status.ACTIVE, "addresses": ["a", None]},  # null in a non-null list item
        {"count": 3, "name": "Kari", "status": Status.ACTIVE},  # no attribute at all
    ],
)
def test_answers_and_errors_are_graphql_cores_own(item: dict[str, Any]) -> None:
    graphql_schema = schema(attribute_resolver)

    assert run(graphql_schema, Executor, **item) == run(graphql_schema, BaseGraphQLExecutionContext, **item)


def test_only_scalars_enums_and_lists_of_them_take_the_fast_path() -> None:
    other = GraphQLObjectType("Other", {"x": GraphQLField(GraphQLInt)})

    assert plain_leaf("n", GraphQLNonNull(GraphQLInt)) == ("n", GraphQLInt, False)
    assert plain_leaf("s", GraphQLList(GraphQLNonNull(STATUS))) == ("s", STATUS, True)
    assert plain_leaf("o", GraphQLNonNull(other)) is None
    assert plain_leaf("l", GraphQLList(GraphQLList(GraphQLInt))) is None
