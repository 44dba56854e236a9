"""The GraphQL executor: plain scalar fields answered without graphql-core's per-field machinery.

For every field of every object graphql-core builds a resolve-info object, looks at the field's
arguments and dispatches the result through `complete_value`. A thousand patients carry about
9,000 scalar attributes, and that machinery was the largest single cost of answering them. A field
whose resolver only reads an attribute (`attribute_resolver`: no arguments, no field extensions,
so no authorisation) and whose type is a scalar or an enum (or a list of them) is answered here directly. Anything
else takes graphql-core's own path, and so does a null, an absent attribute or a value the scalar
cannot serialise, so that errors are reported exactly as graphql-core reports them.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# Set on an attribute resolver whose field is a scalar or enum, or a list of them.
PLAIN_LEAF: Final = "helsegraf_plain_leaf"
_ABSENT: Final = object()


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


class Executor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor (as Strawberry extends it), with the fast path for plain scalar fields."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        """Answer a plain scalar field from its attribute, or resolve it the usual way."""
        if self.middleware_manager is None or not self.middleware_manager.middlewares:
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            plain: PlainLeaf | None = getattr(field_def and field_def.resolve, PLAIN_LEAF, None)
            if plain is not None:
                value = getattr(source, plain.attribute, _ABSENT)
                if value is not None and value is not _ABSENT:
                    try:
                        if not plain.listed:
                            return self.complete_leaf_value(plain.leaf, value)
                        if isinstance(value, list | tuple) and None not in value:
                            return [self.complete_leaf_value(plain.leaf, item) for item in value]
                    except Exception:  # noqa: BLE001, S110 - graphql-core's own path reports it below
                        pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
