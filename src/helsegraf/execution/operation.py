"""Running a GraphQL request: parse, validate, select the operation, coerce variables, check the limits, execute.

helsegraf runs graphql-core's pipeline itself rather than through Strawberry's `Schema.execute`,
so that one switch governs what the schema tells about itself (`HELSEGRAF_INTROSPECTION=0` refuses
`__schema`, `__type` and Federation's `_service`, and hides "Did you mean" suggestions in every
error), and so that request errors (a bad document, an unknown or ambiguous operation, variables
that cannot be coerced, a limit) are told apart from execution, as GraphQL over HTTP requires.

The order is fixed, and each step is linear in the document:

1. parse, with the token limit (`http/limits.LimitParser`);
2. validate with the specification's rules (so the document has no fragment cycles);
3. select the operation (several without `operationName`, or an unknown name, is a request error)
   and coerce its variables, defaults included (a value that cannot be coerced is a request error
   naming the variable);
4. the limit rules (depth, aliases, cost) on that operation with those variables.

Only a document that passed all four is kept parsed, in a cache bounded by an estimate of its bytes:
a stream of refused documents leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
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
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule, ValuesOfCorrectTypeRule
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from helsegraf.http.errors import BAD_USER_INPUT
from helsegraf.http.limits import Limits, check_limits, holds_no_nul, parse_document
from helsegraf.schema.assembly import RegisterSchema

CACHE_BYTES: Final = 32 * 1024 * 1024  # estimated memory of the documents kept parsed and validated
BYTES_PER_TOKEN: Final = 240  # measured with tracemalloc: a parsed token (node, location, token) is ~200-260 bytes
REFUSED_KEPT: Final = 4096  # refusals remembered by digest (a few hundred bytes each)
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


class InputValuesRule(ValuesOfCorrectTypeRule):
    """The specification's rule for literal values, with its errors marked as the caller's input (BAD_USER_INPUT).

    `first: 100000000000000000000` or `reshId: "abc"` is a value that does not fit its argument, which
    the caller can fix; the errors say so with a code rather than by their message.
    """

    def report_error(self, error: GraphQLError) -> None:
        """Report an error with BAD_USER_INPUT and a capped message."""
        error.message = cap_message(error.message)
        error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        super().report_error(error)


class RequestErrors(Exception):  # noqa: N818 - it is a list of the request's errors
    """The request cannot run: errors in the document, the operation's choice or its variables, or a limit."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        super().__init__(f"{len(errors)} request error(s)")
        self.errors = errors


@dataclass(frozen=True)
class Parsed:
    """A parsed document and the estimate of its memory."""

    query: str
    document: DocumentNode
    size: int
    digest: bytes = b""


@dataclass
class Prepared:
    """A request ready to run: its executor (variables coerced, limits checked), waiting for its context."""

    executor: Any
    operation: OperationDefinitionNode


def _rules(introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    rules: list[type[ASTValidationRule]] = [
        InputValuesRule if rule is ValuesOfCorrectTypeRule else rule for rule in specified_rules
    ]
    rules += [MaybeNullValidationRule, OneOfInputValidationRule]
    if not introspection:
        rules += [NoSchemaIntrospectionCustomRule, NoServiceFieldRule]
    return tuple(rules)


class Operations:
    """Parses, validates, checks and executes documents against one schema."""

    def __init__(
        self,
        schema: RegisterSchema,
        *,
        introspection: bool = True,
        limits: Limits | None = None,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema  # noqa: SLF001 - the built graphql-core schema
        self.introspection = introspection
        self.limits = limits or Limits()
        self.rules: Collection[type[ASTValidationRule]] = _rules(introspection)
        self.cache_bytes = cache_bytes
        self._valid: OrderedDict[str, Parsed] = OrderedDict()
        self._cached_bytes = 0
        # Documents planned at start-up (trusted documents): parsed and validated once, never evicted.
        self._planned: dict[str, tuple[Parsed | None, list[GraphQLError]]] = {}
        # Of those, the ones whose string literals hold no NUL: their limits need only the measure.
        self._nul_free: set[str] = set()
        # The refusals that depend on the text alone (syntax, tokens, validation, and the limits of an
        # operation without variables), by a digest of the text: a document sent again is refused at the
        # cost of hashing it. Only digests and errors are kept, never a document.
        self._refused: OrderedDict[tuple[bytes, str | None], list[GraphQLError]] = OrderedDict()
        # Digests of texts that passed validation but were not kept (their variables could not be coerced,
        # or their cost was over): sent again, they are parsed but not validated again.
        self._validated: OrderedDict[bytes, None] = OrderedDict()

    @property
    def hide_suggestions(self) -> bool:
        """Tell whether errors leave out "Did you mean" suggestions (they tell the schema)."""
        return not self.introspection

    @property
    def cached_bytes(self) -> int:
        """The estimated memory of the documents kept parsed."""
        return self._cached_bytes

    def plan(self, query: str) -> None:
        """Parse and validate a document once, for good (its errors too): `parse` and `prepare` reuse the result."""
        try:
            parsed = self.parse(query)
        except RequestErrors as exc:
            self._planned[query] = (None, exc.errors)
            return
        errors = validate(self.graphql_schema, parsed.document, self.rules, MAX_VALIDATION_ERRORS,
                          hide_suggestions=self.hide_suggestions)  # fmt: skip
        self._planned[query] = (parsed, errors)
        if not errors and holds_no_nul(self.graphql_schema, parsed.document):
            self._nul_free.add(query)

    def parse(self, query: str, operation_name: str | None = None) -> Parsed:
        """Parse a document (at most `max_tokens` tokens); raise RequestErrors for a syntax error or a limit."""
        planned = self._planned.get(query)
        if planned is not None:
            if planned[0] is None:
                raise RequestErrors(planned[1])
            return planned[0]
        cached = self._valid.get(query)
        if cached is not None:
            self._valid.move_to_end(query)
            return cached
        digest = hashlib.blake2b(query.encode(errors="surrogatepass"), digest_size=16).digest()
        self._check_refused((digest, None))
        self._check_refused((digest, operation_name))
        try:
            document, tokens = parse_document(query, self.limits.max_tokens)
        except GraphQLError as error:
            self._refuse((digest, None), [error])
            raise RequestErrors([error]) from None
        return Parsed(query, document, tokens * BYTES_PER_TOKEN + len(query), digest)

    def _check_refused(self, key: tuple[bytes, str | None]) -> None:
        errors = self._refused.get(key)
        if errors is not None:
            self._refused.move_to_end(key)
            raise RequestErrors(errors)

    def _refuse(self, key: tuple[bytes, str | None], errors: list[GraphQLError]) -> None:
        self._refused[key] = errors
        if len(self._refused) > REFUSED_KEPT:
            self._refused.popitem(last=False)

    def prepare(self, parsed: Parsed, *, variables: dict[str, Any] | None, operation_name: str | None) -> Prepared:
        """Validate, select the operation, coerce its variables and check the limits; raise RequestErrors."""
        document = parsed.document
        planned = self._planned.get(parsed.query)
        if planned is not None and planned[1]:
            raise RequestErrors(planned[1])  # found when it was planned
        cached = planned is not None or parsed.query in self._valid
        if not cached:
            self._check_refused((parsed.digest, operation_name))
        if not cached and parsed.digest not in self._validated:
            errors = validate(self.graphql_schema, document, self.rules, MAX_VALIDATION_ERRORS,
                              hide_suggestions=self.hide_suggestions)  # fmt: skip
            if errors:
                self._refuse((parsed.digest, None), errors)
                raise RequestErrors(errors)
            self._validated[parsed.digest] = None
            if len(self._validated) > REFUSED_KEPT:
                self._validated.popitem(last=False)
        executor = self.schema.execution_context_class.build(
            self.graphql_schema,
            document,
            None,
            None,  # the context comes after the limits (`execute`): a refused request costs no token check
            variables,
            operation_name,
            max_coercion_errors=MAX_COERCION_ERRORS,
            is_awaitable=cast("Any", optimized_is_awaitable),
            hide_suggestions=self.hide_suggestions,
        )
        if isinstance(executor, list):
            raise RequestErrors([_capped(e) for e in executor])
        coerced = executor.variable_values.coerced
        # A document kept parsed passed every limit rule before, and a planned one had its strings checked
        # when it was planned: only the measure, which depends on the variables, is taken again.
        checked = parsed.query in self._nul_free if planned is not None else cached
        limits = check_limits(self.graphql_schema, document, executor.operation, coerced, self.limits,
                              strings_checked=checked)  # fmt: skip
        errors = [*_nul_variables(executor.operation, coerced), *limits]
        if errors:
            if not executor.operation.variable_definitions:  # the same text is refused the same way every time
                self._refuse((parsed.digest, operation_name), errors)
            raise RequestErrors(errors)
        if not cached:
            self._keep(parsed)
        return Prepared(executor, executor.operation)

    def _keep(self, parsed: Parsed) -> None:
        if parsed.size > self.cache_bytes // 4:  # one document may not take more than a quarter of the cache
            return
        self._valid[parsed.query] = parsed
        self._cached_bytes += parsed.size
        while self._cached_bytes > self.cache_bytes:
            _, dropped = self._valid.popitem(last=False)
            self._cached_bytes -= dropped.size

    def execute(self, prepared: Prepared, context: Any) -> Awaitable[ExecutionResult] | ExecutionResult:
        """Execute a prepared request with its context."""
        executor = prepared.executor
        executor.context_value = context
        if hasattr(context, "executor"):
            context.executor = executor  # the preloader collects fields as this executor does (executor.py)
        return cast("Awaitable[ExecutionResult] | ExecutionResult", executor.execute_operation())


MESSAGE_MAX: Final = 200  # characters of a request error's message: what it repeats of the input is cut


def cap_message(message: str) -> str:
    """Cut a message that repeats a long input (graphql-core's messages print the value they refused)."""
    if len(message) <= MESSAGE_MAX:
        return message
    return f"{message[:MESSAGE_MAX]}... ({len(message):,} characters)"


def _capped(error: GraphQLError) -> GraphQLError:
    """Mark a variable's coercion error as the caller's (BAD_USER_INPUT), its message capped."""
    error.message = cap_message(error.message)
    error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
    return error


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _nul_variables(operation: OperationDefinitionNode, coerced: dict[str, Any]) -> list[GraphQLError]:
    """Refuse variables holding a NUL character: no register stores one (PostgreSQL's text cannot)."""
    return [
        GraphQLError(
            f"Variable '${d.variable.name.value}' holds a NUL character, which no argument takes",
            d,
            extensions={"code": BAD_USER_INPUT},
        )
        for d in operation.variable_definitions or ()
        if _holds_nul(coerced.get(d.variable.name.value))
    ]


def operation_of(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """Return the operation a request runs (None when the choice is ambiguous or unknown)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == operation_name), None)


__all__ = ["Operations", "Parsed", "Prepared", "RequestErrors", "ValidationContext", "operation_of"]
