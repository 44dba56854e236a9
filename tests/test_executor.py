"""The executor's fast path for plain scalar fields: taken when it can be, identical to graphql-core's answer."""

from __future__ import annotations

import uuid
from collections import Counter
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
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
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext as Stock

from helsegraf.execution.executor import Executor, PlainExecutor
from helsegraf.execution.preload import (
    PLAIN_LEAF,
    arg_key,
    attribute_resolver,
    computed_resolver,
    fast_resolver,
    plain_leaf,
)


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
        {"count": 3, "name": ValueError("gone"), "status": Status.ACTIVE, "addresses": []},  # an error as value
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


# ------------------------------------------------------------------ the whole graph, both executors

DIFFERENTIAL = [
    # The integrator's call, with an alias, a fragment, __typename and persons without a GP.
    """query($nins: [ID!]!) { persons(nins: $nins) { __typename nin ...Gp also: gp { gpHerId } } }
       fragment Gp on Person { gp { gp { hprNumber name { full } approvals { category { code } } }
         gpHerId contract { id office { orgNumber name } gps { gp { hprNumber } } }
         officeCommunicationParty { __typename herId electronicAddresses } } }""",
    # Lists, connections and nested public edges.
    """query($c: ID!) { gpContract(id: $c) { id office { orgNumber name parent { orgNumber } }
       gps { relationship gp { hprNumber name { full } } }
       patients(first: 5) { totalCount edges { node { nin } } } } }""",
    # Skip and include on preloaded edges and plain fields.
    """query($nins: [ID!]!, $yes: Boolean!) { persons(nins: $nins) { nin @skip(if: $yes)
       gp { contract @include(if: $yes) { id } gp @skip(if: $yes) { hprNumber } } } }""",
]


@pytest.mark.parametrize("query", DIFFERENTIAL)
@pytest.mark.parametrize("role", ["admin", "clinician", None])
async def test_the_graph_answers_the_same_through_both_executors(make_graph, nation, query, role) -> None:
    """Every answer, redaction and error is graphql-core's own, with the fast paths or without them."""
    from conftest import db_rows, token  # noqa: PLC0415

    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 40")]
    variables = {"nins": [*nins, nation.samples["personWithGp"]], "c": nation.samples["gpContractId"], "yes": True}
    bearer = token(nation, role, hpr_number=1, org_number=nation.samples["officeOrgNumber"]) if role else None

    answers, logs = [], []
    for fast_paths in (True, False):
        graph = await make_graph(default_token=bearer, fast_paths=fast_paths)
        request_id = uuid.uuid4().hex
        response = await graph.post(query, variables, **{"x-request-id": request_id})
        answers.append((response.status_code, response.json()))
        logs.append({(e.nin, e.subject_hpr_number, e.fields, e.scopes) for e in db_rows(
            nation, "SELECT * FROM audit_access_log WHERE request_id = :r", r=request_id)})  # fmt: skip

    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert logs[0] == logs[1]
    assert logs[0] or role != "admin"  # the admin's reads release personal data in every query


async def test_the_fast_paths_build_far_fewer_resolve_infos(make_graph, nation, monkeypatch) -> None:
    from conftest import db_rows, token  # noqa: PLC0415

    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM flr_list_membership ORDER BY id LIMIT 100")]
    graph = await make_graph(default_token=token(nation, "admin"), fast_paths=True)
    schema = graph.client._transport.app.state.schema  # noqa: SLF001 - the app behind the test client
    built: list[str] = []
    original = Stock.build_resolve_info

    def counting(self: Any, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
        built.append(f"{parent_type.name}.{field_nodes[0].name.value}")
        return original(self, field_def, field_nodes, parent_type, path)

    monkeypatch.setattr(Stock, "build_resolve_info", counting)  # Executor inherits it
    query = ("query($nins: [ID!]!) { persons(nins: $nins) { nin gp { gp { hprNumber name { full } } gpHerId "
             "contract { id office { orgNumber name } } "
             "officeCommunicationParty { herId electronicAddresses } } } }")  # fmt: skip
    counts = {}
    for executor in (Executor, PlainExecutor):
        schema.execution_context_class = executor
        built.clear()
        data = await graph.data(query, {"nins": nins})
        counts[executor] = Counter(built)

    # graphql-core builds one per field and object: about 14 per patient. The fast paths leave the
    # root and the `gp` of persons without a GP (a null takes graphql-core's path); the one field with a
    # resolver of its own (a method of its object alone) is computed directly. Personal edges are decided
    # before either path, so they take the fast one too.
    assert counts[PlainExecutor].total() > 1300
    assert set(counts[Executor]) <= {"Query.persons", "Person.gp"}
    assert counts[Executor]["Person.gp"] == sum(1 for p in data["persons"] if p["gp"] is None)


def test_a_zero_default_is_not_taken_for_a_missing_argument() -> None:
    """`b: pre` (n defaults to 0) must not get the value preloaded for `a: pre(n: null)`: 0 == False, not `is`."""
    inner = GraphQLObjectType("Inner", {"v": GraphQLField(GraphQLInt, resolve=attribute_resolver("v", GraphQLInt))})
    pre = GraphQLField(inner, args={"n": GraphQLArgument(GraphQLInt, default_value=0)},
                       resolve=fast_resolver(lambda *_a, **_k: SimpleNamespace(v=-1)))  # fmt: skip
    graphql_schema = GraphQLSchema(
        GraphQLObjectType("Query", {"mid": GraphQLField(GraphQLObjectType("Mid", {"pre": pre}))})
    )
    mid = SimpleNamespace(_preloaded={("pre", arg_key({"n": None})): SimpleNamespace(v=100),
                                      ("pre", arg_key({"n": 0})): SimpleNamespace(v=0)})  # fmt: skip
    query = parse("{ mid { a: pre(n: null) { v } b: pre { v } } }")

    answers = [
        execute(graphql_schema, query, root_value={"mid": mid}, executor_class=e).data for e in (Executor, Stock)
    ]

    assert answers[0] == answers[1] == {"mid": {"a": {"v": 100}, "b": {"v": 0}}}


# ------------------------------------------------------------------ planned selections


class Named(str):
    """A str subclass: not its own serialised form to the plan, so it takes graphql-core's path."""

    __slots__ = ()


def _computing(name: str, field_type: Any) -> Any:
    """A resolver computed from the object alone (as `computed_resolver` makes them), reading `raw_<name>`."""

    def compute(source: Any) -> Any:
        value = getattr(source, f"raw_{name}")
        if isinstance(value, Exception):
            raise value
        return value

    return computed_resolver(compute, field_type)


PLANNED_ITEMS = [
    {"count": 3, "name": "Kari", "status": Status.ACTIVE, "addresses": ["a", "b"]},
    {"count": 2**31, "name": "Kari", "status": Status.ACTIVE, "addresses": []},  # past Int's 32 bits
    {"count": -(2**31), "name": Named("Kari"), "status": Status.ACTIVE, "addresses": ("a",)},
    {"count": True, "name": "Kari", "status": Status.ACTIVE, "addresses": ["a"]},  # a bool is not an int here
    {"count": 3.0, "name": "", "status": Status.ACTIVE, "addresses": ["a", 1]},
    {"count": 3, "name": "Kari", "status": Status.ACTIVE, "addresses": ["a", None]},
    {"count": 3, "name": ValueError("gone"), "status": Status.ACTIVE, "addresses": "ab"},
    {"count": 3, "name": "Kari", "status": Status.ACTIVE},
]


@pytest.mark.parametrize("resolver", [attribute_resolver, _computing])
@pytest.mark.parametrize("item", PLANNED_ITEMS)
def test_planned_leaves_answer_as_graphql_core_does(resolver: Any, item: dict[str, Any]) -> None:
    """Values that are their own serialised form go out as they are; any other takes graphql-core's path."""
    graphql_schema = schema(resolver)
    if resolver is _computing:  # a missing value: the method raises
        item = {f"raw_{k}": item.get(k, AttributeError(k)) for k in FIELD_TYPES}

    assert run(graphql_schema, Executor, **item) == run(graphql_schema, BaseGraphQLExecutionContext, **item)


def test_a_planned_selection_resolves_only_what_it_cannot_answer_itself(monkeypatch) -> None:
    """Plain leaves whose values are their own serialised form never reach `execute_field`."""
    reached: list[str] = []
    original = Executor.execute_field

    def counting(self: Any, parent_type: Any, source: Any, details: Any, path: Any, *rest: Any) -> Any:
        reached.append(f"{parent_type.name}.{details[0].node.name.value}")
        return original(self, parent_type, source, details, path, *rest)

    monkeypatch.setattr(Executor, "execute_field", counting)
    graphql_schema = schema(_computing)
    item = {"raw_count": 3, "raw_name": "Kari", "raw_status": Status.ACTIVE, "raw_addresses": ["a"]}

    data, errors = run(graphql_schema, Executor, **item)

    assert errors == []
    assert data == {"item": {"count": 3, "name": "Kari", "status": "ACTIVE", "addresses": ["a"]}}
    assert reached == ["Query.item", "Item.status"]  # an enum is serialised by graphql-core


async def test_the_integrator_query_is_completed_from_its_plan(make_graph, nation, monkeypatch) -> None:
    """Below the root, every field of the integrator query is answered by the planned selections."""
    from conftest import db_rows, token  # noqa: PLC0415

    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM flr_list_membership ORDER BY id LIMIT 100")]
    bearer = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    query = ("query($nins: [ID!]!) { persons(nins: $nins) { nin gp { gp { hprNumber name { full } } gpHerId "
             "contract { id office { orgNumber name } } "
             "officeCommunicationParty { herId electronicAddresses } } } }")  # fmt: skip
    reached: list[str] = []
    original = Executor.execute_field

    def counting(self: Any, parent_type: Any, source: Any, details: Any, path: Any, *rest: Any) -> Any:
        reached.append(f"{parent_type.name}.{details[0].node.name.value}")
        return original(self, parent_type, source, details, path, *rest)

    monkeypatch.setattr(Executor, "execute_field", counting)
    answers = []
    for fast_paths in (True, False):
        graph = await make_graph(default_token=bearer, fast_paths=fast_paths)
        reached.clear()
        answers.append(await graph.data(query, {"nins": nins}))
        if fast_paths:
            assert reached == ["Query.persons"]  # a null gp is decided here, then resolved by graphql-core
        else:
            assert len(reached) > 1300  # graphql-core's own completion: every field
    assert answers[0] == answers[1]
    assert any(p["gp"] and p["gp"]["officeCommunicationParty"] for p in answers[0]["persons"])
    assert any(p["gp"] is None for p in answers[0]["persons"])


def test_a_marked_copy_is_what_copy_copy_makes() -> None:
    """`mark_released` copies each object it marks; a plain object's quick copy equals copy.copy's, others use it."""
    import copy  # noqa: PLC0415
    import dataclasses  # noqa: PLC0415
    import enum  # noqa: PLC0415

    from helsegraf.execution.executor import RELEASED_AS, _copy, mark_released  # noqa: PLC0415

    class Plain:
        def __init__(self) -> None:
            self.subject, self.row = "01010112345", ("row",)

    class Own(Plain):
        def __copy__(self) -> Own:
            made = Own()
            made.copied_by_own = True
            return made

    class Reduced(Plain):
        def __reduce__(self) -> tuple[Any, ...]:
            return (Reduced, ())

    @dataclasses.dataclass(slots=True)
    class Slotted:
        subject: str = "x"

    class Colour(enum.Enum):
        RED = 1

    for original in (Plain(), Own(), Reduced(), Slotted(), Colour.RED):
        quick, slow = _copy(original), copy.copy(original)
        assert type(quick) is type(slow)
        assert getattr(quick, "__dict__", None) == getattr(slow, "__dict__", None)
        assert (quick is original) == (slow is original)  # an enum member is its own copy
    person = Plain()
    marked = mark_released([person, person], "gp", "flr:read")
    assert len({id(person), *map(id, marked)}) == 3  # two new objects, the original left alone
    assert marked[0].__dict__[RELEASED_AS] == ("gp", "flr:read")
    assert RELEASED_AS not in person.__dict__  # the shared original keeps no mark
    assert marked[0].row is person.row  # a shallow copy, as before
