"""Request limits, checked before anything runs: tokens, depth, aliases and a static cost.

The limits are graphql-core validation rules, run by `execution/operation.py` on the operation that
will run, after the document passed the specification's rules (so it has no fragment cycles) and
after its variables were coerced (so `first: $n` is costed with the value sent, or its default):

- **tokens**: the parser stops counting at the limit (`LimitParser`), so a huge document is refused
  before it is built; an integer literal longer than any number the schema takes is refused there too.
- **depth**: the deepest selection set below the root (fragments add no level of their own).
- **aliases**: the aliased fields of the operation with its fragments expanded, introspection included.
- **cost**: the number of field values the operation could produce: each field costs 1, times the size
  of every list above it. A list's size is its `first` (page size, default 20), the length of its list
  argument (`persons(nins: [...])`, `gpsAtTime(queries: [...])`, `_entities(representations: [...])`), or an
  assumed typical size.

Every measure is linear in the document: a fragment is measured once per page size it is spread
under and its measure reused wherever it is spread, so `fragment F1 { ...F0 ...F0 } … F30 { ...F29
...F29 }` is measured in 31 steps (and its expanded cost, 2^30, refused). Measures saturate at
`SATURATED`, so no number grows without bound.

Introspection (`__schema`, `__type`) is given no cost: its answer is bounded by the schema, and
graphql-core's MaxIntrospectionDepthRule refuses the nestings that would multiply it. Its depth and
aliases count like any other field's (1,100 aliases under `__schema` are refused).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TypeInfo,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    visit,
)
from graphql.language import Source, Token, TokenKind
from graphql.language.parser import Parser
from graphql.language.visitor import ParallelVisitor

from helsegraf.config import HttpSettings
from helsegraf.http.errors import BAD_USER_INPUT, QUERY_TOO_COMPLEX, shown
from helsegraf.stats.engine import MAX_DIMENSIONS, MAX_MEASURES

DEFAULT_PAGE: Final = 20
DEFAULT_LIST: Final = 10
# Typical sizes of lists without a size argument (they are short by nature, or bounded by the data).
ASSUMED_LIST_SIZES: Final = {
    "parents": 2, "children": 5, "gpHistory": 10, "gps": 3, "gpPeriods": 10, "approvals": 3, "approvalHistory": 5,
    "specialities": 3, "requisitionRights": 2, "suspensions": 2, "communicationParties": 5, "electronicAddresses": 3,
    "allElectronicAddresses": 4, "reshUnits": 30, "services": 3, "ancestors": 6, "parentHistory": 3, "gpContracts": 10,
    "codes": 400, "fields": 6, "gpListsByMunicipality": 360, "patientsByAgeGroupAndGender": 20,
    "healthPersonnelByCategory": 35, "ssb12005": 360, "keyFigures": 16, "ranges": 15,
    # A statistics table's own rows, values and key are counted in its cells (_Measurer.table_cells).
    "rows": 1, "values": 1, "key": 1,
}  # fmt: skip
# The number of values of each statistics dimension (stats/engine.py), for a table's cost.
TABLE_DIMENSION_SIZES: Final = {"MUNICIPALITY": 360, "COUNTY": 15, "AGE_GROUP": 10, "GENDER": 2,
                                "HEALTH_PERSONNEL_CATEGORY": 40}  # fmt: skip
SIZE_ARGUMENTS: Final = ("first", "nins", "representations", "queries")
# Root lists sized by their list argument whose items are not pages: what is below them keeps the default page.
LISTS_OF_QUESTIONS: Final = ("persons", "gpsAtTime")
INTROSPECTION: Final = ("__schema", "__type")
SATURATED: Final = 2**53 - 1  # measures stop growing here (and stay exact in JSON)
MAX_INT_DIGITS: Final = 20  # no Int or ID the schema takes is longer (an Int has at most 10 digits and a sign)

# The limits are the HTTP settings' (HELSEGRAF_MAX_*); one dataclass holds them.
Limits = HttpSettings


class LimitExceededError(GraphQLError):
    """A request over one of the limits: answered with QUERY_TOO_COMPLEX, naming the limit and the value."""

    def __init__(self, limit: str, value: int, maximum: int, message: str | None = None) -> None:
        value = min(value, SATURATED)
        shown_value = f"more than {SATURATED:,}" if value >= SATURATED else f"{value:,}"
        super().__init__(
            message or f"{limit} {shown_value} exceeds the limit of {maximum:,}",
            extensions={"code": QUERY_TOO_COMPLEX, "limit": limit, "value": value, "maximum": maximum},
        )
        self.limit, self.value, self.maximum = limit, value, maximum


class BadLiteralError(GraphQLError):
    """A literal in the document that no argument can take (an integer of hundreds of digits, a NUL byte)."""

    def __init__(
        self, message: str, nodes: Any = None, source: Source | None = None, position: int | None = None
    ) -> None:
        super().__init__(message, nodes, source, [position] if position is not None else None,
                         extensions={"code": BAD_USER_INPUT})  # fmt: skip


class LimitParser(Parser):
    """graphql-core's parser with the token limit raising its own error type, and integer literals bounded.

    graphql-core reports an exceeded token limit as a syntax error; telling the two apart by their
    message would call `{ a } tokens` a token-limit refusal. The count is graphql-core's own (comments
    included), checked here against the limit.
    """

    def __init__(self, source: str, max_tokens: int | None) -> None:
        super().__init__(source)
        self._limit = max_tokens

    def advance_lexer(self) -> None:
        """Advance, and refuse the document once it has more tokens than the limit."""
        super().advance_lexer()
        if self._limit is not None and self._token_counter > self._limit:
            raise LimitExceededError("tokens", self._token_counter, self._limit,
                                     f"the document has more than {self._limit:,} tokens, the limit")  # fmt: skip

    def parse_int(self, _is_const: bool = False) -> Any:
        """Parse an integer literal, refusing one longer than any number an argument takes."""
        token: Token = self._lexer.token
        digits = len((token.value or "").lstrip("-"))
        if token.kind is TokenKind.INT and digits > MAX_INT_DIGITS:
            raise BadLiteralError(
                f"an integer literal of {digits:,} digits is longer than any argument takes (at most {MAX_INT_DIGITS})",
                source=self._lexer.source, position=token.start,
            )  # fmt: skip
        return super().parse_int(_is_const)


# GraphQL's tokens as graphql-core's lexer counts them (comments included), for a count at the speed of `re`:
# a document of 60 kB is counted in about a millisecond, where graphql-core's lexer takes a hundred to reach
# its limit. Strings and block strings are single tokens, so words inside them are not counted.
TOKEN: Final = re.compile(
    r'"""(?:\\"""|[^"]|"(?!""))*"""'  # block string
    r'|"(?:\\.|[^"\\\n\r])*"'  # string
    r"|#[^\n\r]*"  # comment
    r"|\.\.\.|[!$&()\[\]{}:=@|]"  # punctuators
    r"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"  # numbers
    r"|[_A-Za-z][_0-9A-Za-z]*"  # names
)


def parse_document(query: str, max_tokens: int | None) -> tuple[DocumentNode, int]:
    """Parse a document; return it and its number of tokens. Raise GraphQLError (a syntax error or a limit).

    A document longer than the limit in characters is first counted with `TOKEN`; one over the limit is
    refused without being parsed. The parser still counts exactly, for the documents the count lets through.
    """
    if max_tokens is not None and len(query) > max_tokens and len(TOKEN.findall(query)) > max_tokens:
        raise LimitExceededError("tokens", max_tokens + 1, max_tokens,
                                 f"the document has more than {max_tokens:,} tokens, the limit")  # fmt: skip
    parser = LimitParser(query, max_tokens)
    document = parser.parse_document()
    return document, parser._token_counter  # noqa: SLF001 - graphql-core's own count


@dataclass(frozen=True)
class Measure:
    """What an operation (or a selection set) could produce."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATED)


def _mul(a: int, b: int) -> int:
    return min(a * b, SATURATED)


class _Measurer:
    """Measures selection sets, memoising each fragment's measure per page size (linear in the document)."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> None:
        self.schema, self.variables = schema, variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[tuple[str, int], Measure] = {}
        self.read_values = False  # a variable was read whole (a statistics table's arguments), not only its size

    def size(self, field: FieldNode) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value not in SIZE_ARGUMENTS:
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
                if isinstance(value, list):
                    return len(value)
                return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else None
            if isinstance(value, ListValueNode):
                return len(value.values)
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)  # at most MAX_INT_DIGITS digits (LimitParser)
        return DEFAULT_PAGE if field.name.value == "edges" else None

    def selection_set(self, node: SelectionSetNode | None, parent: Any, page: int) -> Measure:
        cost = depth = aliases = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                measure = self.field(selection, parent, page)
                cost, aliases = _add(cost, measure.cost), _add(aliases, measure.aliases)
                depth = max(depth, measure.depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                measure = self.selection_set(selection.selection_set, inner, page)
            elif isinstance(selection, FragmentSpreadNode):
                measure = self.fragment(selection.name.value, page)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            cost, aliases, depth = _add(cost, measure.cost), _add(aliases, measure.aliases), max(depth, measure.depth)
        return Measure(cost, depth, aliases)

    def fragment(self, name: str, page: int) -> Measure:
        key = (name, page)
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        self.memo[key] = Measure()  # a cycle (refused by validation before this runs) would count nothing
        if definition is not None:
            parent = self.schema.get_type(definition.type_condition.name.value)
            self.memo[key] = self.selection_set(definition.selection_set, parent, page)
        return self.memo[key]

    def argument(self, field: FieldNode, name: str) -> Any:
        """Return an argument's value as a Python value (variables resolved), or None."""
        self.read_values = True
        for argument in field.arguments or ():
            if argument.name.value == name:
                value: Any = argument.value
                return self.variables.get(value.name.value) if isinstance(value, VariableNode) else _literal(value)
        return None

    def table_cells(self, field: FieldNode) -> int:
        """Return an upper estimate of a statistics table's cells: measures x product of its dimensions' sizes.

        A table whose `measures` or `by` is longer than its cap is refused by the resolver before any read,
        naming the argument and its cap (and logged as refused): it costs one cell here, rather than a product
        of thousands of dimensions saturating into a meaningless "query cost" refusal. A dimension named twice
        is refused there too, and counted once here.
        """
        measures = self.argument(field, "measures")
        by = self.argument(field, "by") or []
        by = by if isinstance(by, list) else [by]
        if (isinstance(measures, list) and len(measures) > MAX_MEASURES) or len(by) > MAX_DIMENSIONS:
            return 1
        by = list(dict.fromkeys(getattr(d, "name", str(d)) for d in by))
        given = self.argument(field, "filter") or {}
        narrowed = {"MUNICIPALITY": "municipalities", "COUNTY": "counties", "AGE_GROUP": "ageGroups",
                    "GENDER": "genders", "HEALTH_PERSONNEL_CATEGORY": "categories"}  # fmt: skip
        rows = 1
        for name in by:
            size = TABLE_DIMENSION_SIZES.get(name, 2)
            key = narrowed.get(name, "")
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
            chosen = given.get(key, given.get(snake)) if isinstance(given, dict) else getattr(given, snake, None)
            if isinstance(chosen, list):
                size = min(size, max(1, len(chosen)))
            rows = _mul(rows, size)
        return _mul(rows + 1, max(1, len(measures) if isinstance(measures, list) else 1))

    def field(self, field: FieldNode, parent: Any, page: int) -> Measure:
        name = field.name.value
        if name == "table" and getattr(parent, "name", None) == "Statistics" and field.selection_set is not None:
            # A table's size is known from its arguments (rows x measures), not from a typical list size:
            # its cost is its cells, so five aliases of a large table are refused before any is made.
            child = self.selection_set(field.selection_set, self.schema.get_type("StatisticsTable"), page)
            cells = self.table_cells(field)
            return Measure(_add(cells, child.cost), child.depth + 1, _add(int(field.alias is not None), child.aliases))
        aliases = 1 if field.alias is not None else 0
        fields = getattr(parent, "fields", None)
        definition = fields.get(name) if isinstance(fields, dict) else None
        if name == "__schema":
            field_type: Any = self.schema.get_type("__Schema")
        elif name == "__type":
            field_type = self.schema.get_type("__Type")
        else:
            field_type = definition.type if definition else None
        nullable = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        is_list = isinstance(nullable, GraphQLList)
        size = self.size(field)
        # Connections: `first` sizes the edges below; the connection itself is one value.
        multiplier = 1
        child_page = size if size is not None and name not in LISTS_OF_QUESTIONS else DEFAULT_PAGE
        if is_list:
            typical = ASSUMED_LIST_SIZES.get(name, DEFAULT_LIST)
            multiplier = page if name == "edges" else typical if size is None else size
        if field.selection_set is None:
            return Measure(multiplier, 0, aliases)
        child = self.selection_set(field.selection_set, get_named_type(field_type) if field_type else None, child_page)
        if name in INTROSPECTION:  # bounded by the schema (and MaxIntrospectionDepthRule): depth and aliases only
            return Measure(1, child.depth + 1, _add(aliases, child.aliases))
        return Measure(_add(multiplier, _mul(multiplier, child.cost)), child.depth + 1, _add(aliases, child.aliases))


def _literal(value: Any) -> Any:
    """Return a GraphQL literal as a Python value (lists, objects, enums by name, scalars)."""
    if isinstance(value, ListValueNode):
        return [_literal(v) for v in value.values]
    if isinstance(value, ObjectValueNode):
        return {f.name.value: _literal(f.value) for f in value.fields}
    return getattr(value, "value", None)


def measure(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> Measure:
    """Measure an operation of a valid document with its coerced variables.

    The measure reads the variables only through their sizes (a list's length, an Int's value) unless a
    statistics table reads its arguments whole: such a measure is kept for the operation and those sizes
    while the operation lives, so a document asked again (a trusted one, or one kept parsed) with lists
    of the same lengths is not walked again.
    """
    sizes = tuple((name, _size_of(value)) for name, value in variables.items())
    kept = _MEASURED.get(id(operation))
    if kept is not None and (kept[0]() is not operation or kept[1] is not schema):
        kept = None
    if kept is not None and sizes in kept[2]:
        return kept[2][sizes]
    measurer = _Measurer(schema, document, variables)
    found = measurer.selection_set(operation.selection_set, schema.get_root_type(operation.operation), DEFAULT_PAGE)
    if not measurer.read_values:
        if kept is None:
            kept = _MEASURED[id(operation)] = (weakref.ref(operation, _forget(id(operation))), schema, {})
        if len(kept[2]) >= MEASURED_KEPT:
            kept[2].clear()
        kept[2][sizes] = found
    return found


MEASURED_KEPT: Final = 256  # measures kept per operation (each a few sizes and three numbers)
# By the operation's identity, the operation held weakly: the measures of a document live as long as the
# document does (kept parsed, or planned), and a document the server drops (refused, asked once, or out
# of the parse cache) takes its measures with it rather than being kept alive by them.
_MEASURED: dict[int, tuple[weakref.ref[OperationDefinitionNode], GraphQLSchema, dict[tuple[Any, ...], Measure]]] = {}


def _forget(key: int) -> Any:
    """Return the callback that drops an operation's measures when the operation is collected."""

    def forget(ref: weakref.ref[OperationDefinitionNode]) -> None:
        entry = _MEASURED.get(key)
        if entry is not None and entry[0] is ref:
            del _MEASURED[key]

    return forget


def _size_of(value: Any) -> Any:
    """Return what a measure may read of a variable without reading it whole: a list's length, an Int."""
    if isinstance(value, list):
        return ("list", len(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return ("int", value)
    return None


class LimitsContext(ValidationContext):
    """A validation context that knows the operation that runs, its coerced variables and the limits."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: dict[str, Any], limits: Limits, on_error: Any) -> None:  # fmt: skip
        super().__init__(schema, document, TypeInfo(schema), on_error)
        self.operation, self.variables, self.limits = operation, variables, limits
        self._measure: Measure | None = None

    @property
    def measure(self) -> Measure:
        """The operation's measure, computed once for every rule."""
        if self._measure is None:
            self._measure = measure(self.schema, self.document, self.operation, self.variables)
        return self._measure


class _LimitRule(ValidationRule):
    context: LimitsContext
    limit: str = ""

    def value(self) -> int:
        raise NotImplementedError

    def maximum(self) -> int:
        raise NotImplementedError

    def enter_document(self, *_args: Any) -> None:
        value, maximum = self.value(), self.maximum()
        if value > maximum:
            self.report_error(LimitExceededError(self.limit, value, maximum))


class DepthLimitRule(_LimitRule):
    """Refuse an operation nested deeper than HELSEGRAF_MAX_DEPTH."""

    limit = "query depth"

    def value(self) -> int:  # noqa: D102
        return self.context.measure.depth

    def maximum(self) -> int:  # noqa: D102
        return self.context.limits.max_depth


class AliasLimitRule(_LimitRule):
    """Refuse an operation with more aliases than HELSEGRAF_MAX_ALIASES (fragments expanded, introspection too)."""

    limit = "aliases"

    def value(self) -> int:  # noqa: D102
        return self.context.measure.aliases

    def maximum(self) -> int:  # noqa: D102
        return self.context.limits.max_aliases


class CostLimitRule(_LimitRule):
    """Refuse an operation that could produce more values than HELSEGRAF_MAX_COST."""

    limit = "query cost"

    def value(self) -> int:  # noqa: D102
        return self.context.measure.cost

    def maximum(self) -> int:  # noqa: D102
        return self.context.limits.max_cost


class NoNulInStringsRule(ValidationRule):
    """Refuse a NUL character in a string literal: no register stores one (PostgreSQL cannot)."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        """Report a string literal holding a NUL character."""
        if "\x00" in node.value:
            self.report_error(BadLiteralError(f"a string holds a NUL character: {shown(node.value)}", node))


LIMIT_RULES: Final = (DepthLimitRule, AliasLimitRule, CostLimitRule, NoNulInStringsRule)


def check_limits(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    limits: Limits,
    *,
    strings_checked: bool = False,
) -> list[GraphQLError]:
    """Run the limit rules on the operation that runs; return the first error (none when it is within).

    `strings_checked`: the document's string literals are known to hold no NUL (a planned document, or
    one that passed before): only the measure, which depends on the variables, is taken, and compared
    with the limits in the rules' order, without visiting the document (the same first error).
    """
    if strings_checked:
        found = measure(schema, document, operation, variables)
        for limit, value, maximum in (
            (DepthLimitRule.limit, found.depth, limits.max_depth),
            (AliasLimitRule.limit, found.aliases, limits.max_aliases),
            (CostLimitRule.limit, found.cost, limits.max_cost),
        ):
            if value > maximum:
                return [LimitExceededError(limit, value, maximum)]
        return []
    errors: list[GraphQLError] = []
    context = LimitsContext(schema, document, operation, variables, limits, errors.append)
    visit(document, ParallelVisitor([rule(context) for rule in LIMIT_RULES]))
    return errors[:1]


def holds_no_nul(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Tell whether no string literal of a document holds a NUL character (what NoNulInStringsRule refuses)."""
    errors: list[GraphQLError] = []
    visit(document, NoNulInStringsRule(ValidationContext(schema, document, TypeInfo(schema), errors.append)))
    return not errors


def check(
    document: DocumentNode, schema: GraphQLSchema, operation_name: str | None, variables: dict[str, Any], limits: Limits
) -> int:
    """Raise LimitExceededError when the operation is too deep, too aliased or too costly; return its cost.

    For tests and tools: the server runs `check_limits` on the operation graphql-core selected.
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        msg = "name one operation of the document"
        raise ValueError(msg)
    errors = check_limits(schema, document, chosen[0], variables, limits)
    if errors:
        raise errors[0]
    return measure(schema, document, chosen[0], variables).cost
