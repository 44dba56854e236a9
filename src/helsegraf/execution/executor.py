"""The GraphQL executor: plain fields answered without graphql-core's per-field machinery.

For every field of every object graphql-core builds a resolve-info object, looks at the field's
arguments and dispatches the result through `complete_value`. A thousand patients carry about
9,000 scalar attributes and 4,000 preloaded objects, and that machinery was the largest single
cost of answering them. Two kinds of field are answered here directly:

- a field whose resolver only reads an attribute (`attribute_resolver`: no arguments, no field
  extensions, so no authorisation) and whose type is a scalar or an enum, or a list of them;
- a field holding one object, read from an attribute or preloaded for an edge without a
  requirement (`fast_resolver` marks it) and not given arguments: its selection is executed on
  that object at once.

Anything else takes graphql-core's own path, and so does a null, an absent attribute or a value
the scalar cannot serialise, so that errors are reported exactly as graphql-core reports them.
Personal fields never take either path: they carry the `Guarded` extension and a requirement.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final

from graphql import GraphQLField, GraphQLObjectType, GraphQLOutputType, Undefined, get_nullable_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from helsegraf.execution.preload import MISSING, PLAIN_LEAF, PLAIN_OBJECT, PRELOADED, PlainLeaf, preloaded

_ABSENT: Final = object()
# Argument defaults that leave a field's preload key empty (see preload.arg_key); compared by identity,
# since 0 == False.
_NEUTRAL_DEFAULTS: Final = (None, False, Undefined)


def _neutral(default: Any) -> bool:
    return any(default is neutral for neutral in _NEUTRAL_DEFAULTS)


class Executor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor (as Strawberry extends it), with the fast paths for plain fields."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        """Answer a plain field directly, or resolve it the usual way."""
        if self.middleware_manager is None or not self.middleware_manager.middlewares:
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            if field_def is not None:
                answer = self._direct(field_def, source, field_details_list, path, position_context)
                if answer is not _ABSENT:
                    return answer
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _direct(
        self,
        field_def: GraphQLField,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """Answer the field here if it is a plain one; else return _ABSENT."""
        plain: PlainLeaf | None = getattr(field_def.resolve, PLAIN_LEAF, None)
        if plain is not None:
            return self._plain_leaf(plain, source)
        node = field_details_list[0].node
        attribute: str | None = getattr(field_def.resolve, PLAIN_OBJECT, None)
        if attribute is not None:
            value = getattr(source, attribute, _ABSENT)
        elif (
            getattr(field_def.resolve, PRELOADED, False)
            and not node.arguments
            and all(_neutral(arg.default_value) for arg in field_def.args.values())
        ):
            value = preloaded(source, node.name.value)
        else:
            return _ABSENT
        return self._object(field_def.type, value, field_details_list, path, position_context)

    def _plain_leaf(self, plain: PlainLeaf, source: Any) -> Any:
        value = getattr(source, plain.attribute, _ABSENT)
        if value is None or value is _ABSENT or isinstance(value, Exception):  # graphql-core raises an Exception
            return _ABSENT
        try:
            if not plain.listed:
                return self.complete_leaf_value(plain.leaf, value)
            if isinstance(value, list | tuple) and None not in value:
                return [self.complete_leaf_value(plain.leaf, item) for item in value]
        except Exception:  # noqa: BLE001 - graphql-core's own path reports it
            return _ABSENT
        return _ABSENT

    def _object(
        self,
        return_type: GraphQLOutputType,
        value: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        object_type = get_nullable_type(return_type)
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of is not None:
            return _ABSENT
        if value is _ABSENT or value is MISSING or value is None or isinstance(value, list | Exception):
            return _ABSENT
        # What complete_value does for an object, without the resolve-info object it would not use.
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._settled(completed, return_type, field_details_list, path)
        return completed

    async def _settled(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
