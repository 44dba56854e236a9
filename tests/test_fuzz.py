"""Fuzzing the HTTP layer: random documents, variables and headers never get a 500, never an INTERNAL for a
client's mistake, and never stop the server answering /healthz within 1 s.

Documents come from three sources: the schema itself (fields picked at random, with random argument
values as literals or variables, so most are valid and run), those documents mangled (cut short, a
character changed, fragments spread twice), and random text. The time is bounded: HELSEGRAF_FUZZ_EXAMPLES
(default 400, about 30 s) examples, each refused or answered in well under a second.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import token
from helsegraf.config import HttpSettings
from helsegraf.http.app import create_app
from helsegraf.schema import build_schema

EXAMPLES = int(os.environ.get("HELSEGRAF_FUZZ_EXAMPLES", "400"))
SCHEMA = build_schema()._schema  # noqa: SLF001

# Values an attacker or a confused client sends: edges of every type, and things of the wrong type.
STRINGS = st.sampled_from(["", "0", "-1", "9" * 30, "03\x0001", "\x00", "é" * 3, "x" * 5000, "2024-02-30",
                           "1.5", "null", "true", "{}", "ÆØÅ", "AAAAAAAAAAAAAAAAAAAAAA", "0301", "9060", "1000001",
                           "01018012345", "31129956715", "kommune", "'; DROP TABLE x; --", "\\u0000"]) | st.text(
                               max_size=40)  # fmt: skip
INTS = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, 10**30, 1000, 1001, 20]) | st.integers()
SCALARS: st.SearchStrategy[Any] = st.none() | st.booleans() | INTS | st.floats(allow_nan=False) | STRINGS
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=3),
                    max_leaves=8)  # fmt: skip


def _literal(value: Any) -> str:
    """Write a JSON value as a GraphQL literal (objects with names that may not be names, on purpose)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) else f"{value:.6g}".replace("inf", "1e999")
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, list):
        return "[" + " ".join(_literal(v) for v in value) + "]"
    return "{" + " ".join(f"f{i}: {_literal(v)}" for i, v in enumerate(value.values())) + "}"


def _type_name(kind: Any) -> str:
    return str(kind)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:  # noqa: C901 - one grammar
    """Draw a document over the schema and its variables."""
    variables: dict[str, Any] = {}
    definitions: list[str] = []

    def argument(name: str, kind: Any) -> str:
        value = draw(JSON)
        if draw(st.booleans()):
            variable = f"v{len(variables)}"
            variables[variable] = value
            declared = _type_name(kind) if draw(st.integers(0, 4)) else draw(st.sampled_from(["Int", "String!", "ID"]))
            default = f" = {_literal(draw(JSON))}" if draw(st.integers(0, 5)) == 0 else ""
            definitions.append(f"${variable}: {declared}{default}")
            return f"{name}: ${variable}"
        return f"{name}: {_literal(value)}"

    def selection(parent: Any, depth: int) -> str:
        fields = list(parent.fields.items())
        chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique_by=lambda f: f[0]))
        parts = []
        for name, field in chosen:
            alias = f"a{draw(st.integers(0, 40))}: " if draw(st.integers(0, 3)) == 0 else ""
            args = [argument(n, a.type) for n, a in field.args.items() if draw(st.booleans()) or a.type.__class__
                    is GraphQLNonNull]  # fmt: skip
            head = f"{alias}{name}" + (f"({' '.join(args)})" if args else "")
            inner = field.type
            while isinstance(inner, GraphQLNonNull | GraphQLList):
                inner = inner.of_type
            if isinstance(inner, GraphQLObjectType | GraphQLInterfaceType):
                parts.append(f"{head} {{ {selection(inner, depth + 1)} }}" if depth < 4 else f"{head} {{ __typename }}")
            elif isinstance(inner, GraphQLUnionType):
                parts.append(f"{head} {{ __typename }}")
            elif isinstance(inner, GraphQLScalarType | GraphQLEnumType | GraphQLInputObjectType):
                parts.append(head)
        return " ".join(parts) or "__typename"

    body = selection(SCHEMA.query_type, 0)
    header = f"query Fuzz({', '.join(definitions)})" if definitions else "query Fuzz"
    document = f"{header} {{ {body} }}"
    mangle = draw(st.integers(0, 9))
    if mangle == 0:
        document = document[: draw(st.integers(0, len(document)))]
    elif mangle == 1:
        at = draw(st.integers(0, max(len(document) - 1, 0)))
        document = document[:at] + draw(st.sampled_from([*'{}()[]:$@!."#\x00 \n', "..."])) + document[at + 1 :]
    elif mangle == 2:
        document = f"fragment F on Query {{ {body} }} fragment G on Query {{ ...F ...F }} query {{ ...G ...G }}"
    elif mangle == 3:
        document = draw(st.text(max_size=200))
    return document, variables


HEADERS = st.fixed_dictionaries({}, optional={
    "accept": st.sampled_from(["application/graphql-response+json", "application/json", "text/html", "*/*",
                               "text/plain", "application/json;q=0", "application/*;q=abc", ""]),
    "content-type": st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]),
    "x-request-id": st.sampled_from(["ok-1", "", "x" * 200, "bad id", "ünïcode"]),
    "x-purpose": st.sampled_from(["treatment", "", "x" * 2000]),
    "authorization": st.sampled_from(["Bearer nope", "Basic abc", "Bearer ", "bearer a.b.c"]),
})  # fmt: skip


@pytest.fixture(scope="module")
def fuzzed(sqlite_nation):
    """An app on the SQLite nation, an admin token, and an event loop of its own (hypothesis runs sync)."""
    loop = asyncio.new_event_loop()
    app = create_app(replace(sqlite_nation.settings, http=HttpSettings(request_deadline_s=5)))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30)
    yield loop, client, token(sqlite_nation)
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(app.state.db.dispose())
    loop.close()


async def _send(client: httpx.AsyncClient, method: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    # The standard library writes integers of any size (orjson stops at 64 bits); headers go as UTF-8 bytes.
    raw = {k: v.encode() for k, v in headers.items()}
    if method == "GET":
        params = {"query": body["query"], "variables": json.dumps(body["variables"])}
        return await client.get("/graphql", params=params, headers=raw)
    if headers.get("content-type") == "":
        raw.pop("content-type")
    else:
        raw.setdefault("content-type", b"application/json")
    return await client.post("/graphql", content=json.dumps(body).encode(), headers=raw)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
@given(document=documents(), headers=HEADERS, method=st.sampled_from(["POST", "POST", "POST", "GET"]),
       anonymous=st.booleans())  # fmt: skip
def test_random_requests_get_no_500_and_no_internal(fuzzed, document, headers, method, anonymous) -> None:
    loop, client, admin = fuzzed
    query, variables = document
    if not anonymous and "authorization" not in headers:
        headers = {**headers, "authorization": f"Bearer {admin}"}

    async def probe() -> float:
        await asyncio.sleep(0.02)  # while the request is being answered
        started = time.perf_counter()
        health = await client.get("/healthz")
        assert health.status_code == 200
        return time.perf_counter() - started

    async def both() -> tuple[Any, float]:
        return await asyncio.gather(_send(client, method, {"query": query, "variables": variables}, headers), probe())

    response, health_s = loop.run_until_complete(both())

    assert response.status_code != 500, response.text[:500]
    assert health_s < 1, f"/healthz took {health_s:.2f} s while a request was answered"
    assert response.headers.get("x-request-id")
    if "json" in response.headers.get("content-type", ""):
        answer = response.json()
        codes = {e.get("extensions", {}).get("code") for e in answer.get("errors", [])}
        assert "INTERNAL" not in codes, (query[:300], variables, answer)
        assert None not in codes, answer
