"""Client mistakes and limits, one table: every case is a request error or a field error with a stable code.

Each row is sent over HTTP to the app on SQLite and on PostgreSQL, under `application/graphql-response+json`.
A row says the status, the code, where the error is (a path, or none for a request error), a piece of the
message, and what the rest of the answer must be. Nothing here may answer 500 or INTERNAL, echo a long
input whole, or log a variable's value.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from conftest import token
from helsegraf.config import HttpSettings

GRAPHQL_RESPONSE = "application/graphql-response+json"
SECRET = "31129956715"  # a synthetic nin-shaped value that must never reach a log line

NESTED_CONTRACTS = ("gpContracts(openOnly: false, first: {n}) {{ edges {{ node {{ patients(first: {n}) {{ "
                    "edges {{ node {{ gpHistory {{ contract {{ patients(first: {n}) {{ edges {{ node {{ nin }} }} "
                    "}} }} }} }} }} }} }} }} }}")  # fmt: skip
FAN_OUT = " ".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 31))
FAN_OUT += " fragment F0 on Query { __typename } query { ...F30 }"
DEEP_FAN_OUT = " ".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 101))
DEEP_FAN_OUT += " fragment F0 on Query { __typename } query { ...F100 }"
ALIASED_FAN_OUT = " ".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 31))
ALIASED_FAN_OUT += " fragment F0 on Query { a: __typename } query { ...F30 }"
INTROSPECTION_ALIASES = "{ __schema { " + " ".join(f"t{i}: types {{ name }}" for i in range(1100)) + " } }"


@dataclass
class Case:
    """One client mistake or limit, and the answer it must get."""

    id: str
    query: str
    variables: dict[str, Any] | None = None
    operation: str | None = None
    status: int = 400
    code: str = "BAD_USER_INPUT"
    path: list[Any] | None = None  # None: a request error (no data); else a field error at that path
    message: str = ""
    data: Any = field(default=None)  # for a field error: the whole data expected
    limits: dict[str, int] = field(default_factory=dict)


def cases() -> list[Case]:
    """The table."""
    return [
        # Which operation runs.
        Case("two operations without a name",
             f"query A {{ {NESTED_CONTRACTS.format(n=100)} }} query B {{ __typename }}",
             message="Must provide operation name"),
        Case("unknown operation name", "query A { __typename }", operation="C", message="Unknown operation named 'C'"),
        Case("the limits apply to the operation that runs",
             f"query Cheap {{ __typename }} query Dear {{ {NESTED_CONTRACTS.format(n=100)} }}", operation="Dear",
             code="QUERY_TOO_COMPLEX", message="query cost"),
        Case("a costly operation that does not run is not costed",
             f"query Cheap {{ __typename }} query Dear {{ {NESTED_CONTRACTS.format(n=100)} }}", operation="Cheap",
             status=200, code="", data={"__typename": "Query"}),
        # Limits: fan-out fragments, aliases under introspection, defaults, tokens.
        Case("fan-out fragments", FAN_OUT, code="QUERY_TOO_COMPLEX", message="query cost 1,073,741,824"),
        Case("fan-out fragments 100 deep", DEEP_FAN_OUT, code="QUERY_TOO_COMPLEX", message="query cost more than"),
        Case("fan-out fragments multiply their aliases", ALIASED_FAN_OUT, code="QUERY_TOO_COMPLEX", message="aliases"),
        Case("aliases under __schema", INTROSPECTION_ALIASES, code="QUERY_TOO_COMPLEX", message="aliases 1,100"),
        Case("a variable's default is costed",
             "query($n: Int = 100) { " + NESTED_CONTRACTS.replace("{n}", "$n").replace("{{", "{").replace("}}", "}")
             + " }", code="QUERY_TOO_COMPLEX", message="query cost"),
        Case("a variable's value is costed",
             "query($n: Int) { " + NESTED_CONTRACTS.replace("{n}", "$n").replace("{{", "{").replace("}}", "}") + " }",
             variables={"n": 100}, code="QUERY_TOO_COMPLEX", message="query cost"),
        Case("a syntax error that mentions tokens", "{ a } tokens", code="GRAPHQL_PARSE_FAILED",
             message="Syntax Error: Unexpected Name 'tokens'"),
        Case("too many tokens", "{" + " __typename" * 30 + " }", code="QUERY_TOO_COMPLEX",
             message="more than 20 tokens", limits={"max_tokens": 20}),
        # Variables that cannot be coerced: a request error naming the variable.
        Case("missing required variable", "query($id: ID!) { gpContract(id: $id) { id } }", variables={},
             message="Variable '$id'"),
        Case("null for ID!", "query($id: ID!) { gpContract(id: $id) { id } }", variables={"id": None},
             message="Variable '$id'"),
        Case("text for Int!", "query($r: Int!) { reshUnit(reshId: $r) { reshId } }", variables={"r": "abc"},
             message="Variable '$r'"),
        Case("Int beyond 32 bits", "query($r: Int!) { reshUnit(reshId: $r) { reshId } }", variables={"r": 2**31},
             message="Variable '$r'"),
        Case("Int beyond 64 bits", "query($r: Int!) { reshUnit(reshId: $r) { reshId } }", variables={"r": 10**30},
             message="Variable '$r'"),
        Case("a JSON integer of 4,400 digits", "query($r: Int!) { reshUnit(reshId: $r) { reshId } }",
             variables={"r": int("9" * 4000)}, message="Variable '$r'"),
        Case("a date that does not exist", "query($d: Date) { gpContracts(openOnly: true, at: $d) { totalCount } }",
             variables={"d": "2024-02-30"}, message="Variable '$d'"),
        Case("an object for ID", "query($id: ID!) { gpContract(id: $id) { id } }", variables={"id": {"nin": SECRET}},
             message="Variable '$id'"),
        Case("a list of nins holding an object", "query($n: [ID!]!) { persons(nins: $n) { nin } }",
             variables={"n": [SECRET, {"x": SECRET}]}, message="Variable '$n'"),
        Case("a NUL byte in a variable",
             "query($m: String) { gpContracts(openOnly: true, municipality: $m) { totalCount } }",
             variables={"m": "03\x0001"}, message="Variable '$m' holds a NUL character"),
        # Overflows.
        Case("an id past 64 bits", '{ gpContract(id: "99999999999999999999") { id } }', status=200,
             path=["gpContract"], data={"gpContract": None}, message="is not a GP contract id"),
        Case("a cursor past bigint", '{ gpContracts(openOnly: true, after: "99999999999999999999999") { totalCount } }',
             status=200, path=["gpContracts"], message="is not a cursor"),
        Case("first: with 30 digits", "{ gpContracts(openOnly: true, first: 100000000000000000000000000000) { "
             "totalCount } }", message="30 digits"),
        Case("first: with 4,400 digits", "{ gpContracts(openOnly: true, first: " + "9" * 4400 + ") { totalCount } }",
             message="4,400 digits"),
        Case("first: beyond 32 bits", "{ gpContracts(openOnly: true, first: 3000000000) { totalCount } }",
             message="32-bit"),
        Case("first: a huge float", "{ gpContracts(openOnly: true, first: 1" + "0" * 3000 + ".5) { totalCount } }",
             message="characters)"),
        Case("a NUL byte in a literal", '{ gpContracts(openOnly: true, municipality: "03\\u000001") { totalCount } }',
             message="NUL character"),
        Case("a NUL byte in a nin", "query($n: ID!) { person(nin: $n) { nin } }", variables={"n": "0101\x00"},
             message="NUL character"),
        # Partial answers: a bad code system nulls its own field only.
        Case("a bad code system", '{ codes(system: "nope") { code } municipality(code: "0301") { name } }',
             status=200, path=["codes"], data={"codes": None, "municipality": {"name": "Oslo"}},
             message="unknown code system"),
        # Echoes are capped.
        Case("a 100 kB nin", '{ person(nin: "' + "7" * 100_000 + '") { nin } }', status=200, path=["person"],
             data={"person": None}, message="100,002 characters"),
        Case("a 100 kB code system", '{ codes(system: "' + "x" * 100_000 + '") { code } }', status=200,
             path=["codes"], data={"codes": None}, message="characters)"),
        Case("a 100 kB variable", "query($r: Int!) { reshUnit(reshId: $r) { reshId } }", variables={"r": "x" * 100_000},
             message="characters)"),
    ]  # fmt: skip


CASE_IDS = [c.id for c in cases()]


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_client_mistakes_and_limits(make_graph, nation, case_id: str, caplog: pytest.LogCaptureFixture) -> None:
    [case] = [c for c in cases() if c.id == case_id]
    graph = await make_graph(default_token=token(nation), http=HttpSettings(**case.limits))
    caplog.set_level(logging.DEBUG)
    body: dict[str, Any] = {"query": case.query, "variables": case.variables}
    if case.operation:
        body["operationName"] = case.operation
    headers = {"accept": GRAPHQL_RESPONSE, "authorization": f"Bearer {graph.default_token}"}

    started = time.perf_counter()
    response = await graph.client.post("/graphql", json=body, headers=headers)
    elapsed = time.perf_counter() - started

    answer = response.json()
    assert response.status_code == case.status, answer
    assert response.headers["x-request-id"]
    assert "Traceback" not in response.text
    assert len(response.content) < 5_000 or case.status == 200, "an error answer repeats the input"
    if not case.code:
        assert answer == {"data": case.data}
        return
    [error] = [e for e in answer["errors"] if e["extensions"]["code"] != "INTERNAL"] or answer["errors"]
    assert error["extensions"]["code"] == case.code, answer
    assert case.message in error["message"], error["message"]
    assert len(error["message"]) < 400, "an error message repeats the input whole"
    if case.path is None:
        assert "data" not in answer
    else:
        assert error["path"] == case.path
        if case.data is not None:
            assert answer["data"] == case.data
    assert elapsed < 2, f"{case.id} took {elapsed:.2f} s"  # a refusal is immediate (fan-out took minutes before)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert SECRET not in logged
    assert "INTERNAL" not in response.text


async def test_a_refused_document_is_not_kept_parsed(make_graph, nation) -> None:
    """Only documents that passed every check are cached; the cache is bounded by bytes, not by count."""
    graph = await make_graph(default_token=token(nation), http=HttpSettings(parse_cache_bytes=200_000))
    operations = graph.client._transport.app.state.operations  # noqa: SLF001
    for i in range(50):  # refused: 40 aliases each
        aliases = " ".join(f"a{j}: __typename" for j in range(40))
        assert (await graph.post(f"{{ q{i}: __typename {aliases} }}")).status_code == 200
    assert operations.cached_bytes == 0
    for i in range(400):  # accepted, distinct: the cache keeps as many as fit in its bytes
        assert "errors" not in (await graph.post(f"{{ __typename q{i}: __typename }}")).json()  # anonymous: no label
    assert 0 < operations.cached_bytes <= 200_000
    assert len(operations._valid) < 400  # noqa: SLF001 - the oldest were dropped for their bytes


async def test_every_response_carries_a_request_id(make_graph, nation, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = await make_graph(default_token=None, http=HttpSettings(max_body_bytes=500, max_aliases=1))
    client = graph.client
    post = {"query": "{ __typename }"}
    answers = {
        "400 bad JSON": await client.post("/graphql", content=b"{", headers={"content-type": "application/json"}),
        "401 bad token": await client.post("/graphql", json=post, headers={"authorization": "Bearer nope"}),
        "405 PUT": await client.put("/graphql", json=post),
        "406 Accept": await client.post("/graphql", json=post, headers={"accept": "text/plain"}),
        "413 body": await client.post("/graphql", json={"query": "{ __typename }", "pad": "x" * 600}),
        "415 type": await client.post("/graphql", content=b"{}", headers={"content-type": "text/plain"}),
        "limit refusal": await client.post("/graphql", json={"query": "{ a: __typename b: __typename }"}),
        "GraphiQL page": await client.get("/graphql", headers={"accept": "text/html"}),
        "static": await client.get("/graphiql/graphiql-3.8.3.min.css"),
        "healthz": await client.get("/healthz"),
        "readyz": await client.get("/readyz"),
        "metrics": await client.get("/metrics"),
        "404": await client.get("/nowhere"),
    }

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(graph.client._transport.app.state.operations, "prepare", broken)  # noqa: SLF001
    answers["500"] = await client.post("/graphql", json=post)
    sent = await client.post("/graphql", json=post, headers={"x-request-id": "trace-42"})

    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"400 bad JSON": 400, "401 bad token": 401, "405 PUT": 405, "406 Accept": 406,
                        "413 body": 413, "415 type": 415, "limit refusal": 200, "GraphiQL page": 200,
                        "static": 200, "healthz": 200, "readyz": 200, "metrics": 200, "404": 404,
                        "500": 500}  # fmt: skip
    for name, response in answers.items():
        assert len(response.headers.get("x-request-id", "")) >= 16, name
    assert answers["406 Accept"].json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert answers["500"].json()["errors"][0]["extensions"]["requestId"] == answers["500"].headers["x-request-id"]
    assert SECRET not in answers["500"].text
    assert sent.headers["x-request-id"] == "trace-42"


@pytest.mark.parametrize("header", ["authorization", "x-request-id", "x-purpose"])
async def test_a_header_the_answer_depends_on_sent_twice_is_refused(graph, nation, header: str) -> None:
    bearer = f"Bearer {token(nation, 'admin')}"
    values = {"authorization": [bearer, "Bearer garbage"], "x-request-id": ["first-id", "second-id"],
              "x-purpose": ["behandling", "forskning"]}[header]  # fmt: skip
    headers = [("content-type", "application/json"), ("accept", "application/graphql-response+json")]
    headers += [("authorization", bearer)] if header != "authorization" else []
    headers += [(header, value) for value in values]

    response = await graph.client.post(
        "/graphql", content=b'{"query": "{ person(nin: \\"01814694352\\") { name { full } } }"}', headers=headers
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "once" in error["message"]
    assert response.headers["x-request-id"]
    assert "data" not in response.json()
