"""Running a GraphQL request: parse, validate, select the operation, coerce variables, execute.

helsegraf runs graphql-core's pipeline itself rather than through Strawberry's `Schema.execute`,
so that one switch governs what the schema tells about itself (`HELSEGRAF_INTROSPECTION=0` refuses
`__schema`, `__type` and Federation's `_service`, and hides "Did you mean" suggestions in every
error), and so that request errors (a bad document, an unknown or ambiguous operation, variables
that cannot be coerced) are told apart from execution, as GraphQL over HTTP requires.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Collection
from typing import Any, Final, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from helsegraf.schema.assembly import RegisterSchema

CACHE_SIZE: Final = 512  # distinct valid documents kept parsed and validated
MAX_VALIDATION_ERRORS: Final = 20
MAX_COERCION_ERRORS: Final = 20
SERVICE_FIELD: Final = "_service"


class NoServiceFieldRule(ValidationRule):
    """Refuse Federation's `_service { sdl }` when introspection is off: it prints the whole schema."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        """Report a `_service` field on the query root."""
        parent = self.context.get_parent_type()
        query = self.context.schema.query_type
        if node.name.value == SERVICE_FIELD and parent is not None and parent is query:
            self.report_error(GraphQLError("GraphQL introspection has been disabled (_service).", node))


class RequestErrors(Exception):  # noqa: N818 - it is a list of the request's errors
    """The request cannot run: errors in the document, the operation's choice or its variables."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        super().__init__(f"{len(errors)} request error(s)")
        self.errors = errors


class Operations:
    """Parses, validates and executes documents against one schema."""

    def __init__(self, schema: RegisterSchema, *, introspection: bool = True, max_tokens: int | None = None) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema  # noqa: SLF001 - the built graphql-core schema
        self.introspection = introspection
        self.max_tokens = max_tokens
        rules: list[type[ASTValidationRule]] = [*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule]
        if not introspection:
            rules += [NoSchemaIntrospectionCustomRule, NoServiceFieldRule]
        self.rules: Collection[type[ASTValidationRule]] = tuple(rules)
        self._valid: OrderedDict[str, DocumentNode] = OrderedDict()

    @property
    def hide_suggestions(self) -> bool:
        """Tell whether errors leave out "Did you mean" suggestions (they tell the schema)."""
        return not self.introspection

    def parse(self, query: str) -> DocumentNode:
        """Parse a document (at most `max_tokens` tokens); raise RequestErrors for a syntax error."""
        cached = self._valid.get(query)
        if cached is not None:
            return cached
        try:
            return parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            raise RequestErrors([error]) from None

    def validate(self, query: str, document: DocumentNode) -> None:
        """Validate a parsed document; raise RequestErrors when it is invalid. Valid documents are cached."""
        if query in self._valid:
            self._valid.move_to_end(query)
            return
        errors = validate(
            self.graphql_schema, document, self.rules, MAX_VALIDATION_ERRORS, hide_suggestions=self.hide_suggestions
        )
        if errors:
            raise RequestErrors(errors)
        self._valid[query] = document
        if len(self._valid) > CACHE_SIZE:
            self._valid.popitem(last=False)

    def execute(
        self, document: DocumentNode, *, variables: dict[str, Any] | None, operation_name: str | None, context: Any
    ) -> Awaitable[ExecutionResult] | ExecutionResult:
        """Select the operation, coerce the variables and execute; raise RequestErrors when it cannot start."""
        executor = self.schema.execution_context_class.build(
            self.graphql_schema,
            document,
            None,
            context,
            variables,
            operation_name,
            max_coercion_errors=MAX_COERCION_ERRORS,
            is_awaitable=cast("Any", optimized_is_awaitable),
            hide_suggestions=self.hide_suggestions,
        )
        if isinstance(executor, list):
            raise RequestErrors(executor)
        return cast("Awaitable[ExecutionResult] | ExecutionResult", executor.execute_operation())


def operation_of(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """Return the operation a request runs (None when the choice is ambiguous or unknown)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == operation_name), None)


__all__ = ["Operations", "RequestErrors", "ValidationContext", "operation_of"]
