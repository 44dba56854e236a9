"""The trust core under the authorised path's speed-ups: each test plays one attack on them.

- The access log of a response without errors takes every record at once (`released_all`): for
  aliases, one person reached by two paths, fragments on `_entities`' union, `@skip`/`@include` by
  variable, duplicates, pages that cut a list, redactions, trusted documents with variables, the log
  is the same as with the fast paths off (the response walked record by record), and is what the
  response shows. A response with an error anywhere (null bubbling, a whole `data` nulled) takes the
  walk, and logs nothing of what the error removed.
- The verified-token cache: expiry is enforced when a remembered token is used again, tokens never
  share claims, a tampered copy of a remembered token is checked in full, and a key withdrawn from the
  JWKS stops the tokens it signed, remembered or not.
- Limits kept per shape of the variables: another length or another `first:` is measured again (nested
  too, trusted documents too), a statistics filter is read every time, a list argument of questions is
  sized by its length, and the measures keep no document alive that the server does not keep.

Real HTTP through the app, real JWTs, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import uuid
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from conftest import db_rows, token
from helsegraf.authz import tokens
from helsegraf.authz.guard import Guard
from helsegraf.authz.principal import ROLE_CLAIM
from helsegraf.authz.release import released_in
from helsegraf.config import HttpSettings
from helsegraf.http.limits import Limits, check
from helsegraf.http.trusted import document_id
from helsegraf.schema.assembly import build_schema
from test_tokens import JwksServer, _remote
from test_trust_core import unregistered_nin


def entries(nation, request_id: str) -> set[tuple[Any, str, str]]:
    rows = db_rows(nation, "SELECT * FROM audit_access_log WHERE request_id = :r", r=request_id)
    return {(e.nin or e.subject_hpr_number, e.fields, e.scopes) for e in rows}


def groups(rows: set[tuple[Any, str, str]]) -> dict[Any, str]:
    return {subject: fields for subject, fields, _ in rows}


def clinician(nation) -> str:
    return token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"],
                 org_number=nation.samples["officeOrgNumber"])  # fmt: skip


def bearer_of(nation, role: str) -> str | None:
    if role == "anonymous":
        return None
    if role == "clinician":
        return clinician(nation)
    if role == "citizen":
        return token(nation, "citizen", pid=nation.samples["parentOfChild"])
    if role == "integrator":
        return token(nation, "integrator", scopes=("preg:identity", "flr:read"))
    return token(nation, role)


@pytest.fixture
def spied(monkeypatch) -> list[tuple[dict, dict]]:
    """Every time the log takes all records at once, also what the walk of the response finds on the same records."""
    taken: list[tuple[dict, dict]] = []
    every = Guard.released_without_errors

    def spy(self: Guard) -> dict:
        released = every(self)
        taken.append((released, {"records": self.records}))
        return released

    monkeypatch.setattr(Guard, "released_without_errors", spy)
    return taken


class Pair:
    """The same app with the fast paths on and off: one question asked of both."""

    def __init__(self, fast, slow, nation, spied) -> None:
        self.fast, self.slow, self.nation, self.spied = fast, slow, nation, spied

    async def ask(self, query: str, variables: dict | None, bearer: str | None, **post: Any) -> tuple[dict, set]:
        """Return the fast app's body and log; require the slow app's to be the same."""
        answers = []
        for graph in (self.fast, self.slow):
            request_id = uuid.uuid4().hex
            before = len(self.spied)
            if post:
                headers = {"x-request-id": request_id, **({"authorization": f"Bearer {bearer}"} if bearer else {})}
                response = await graph.client.post("/graphql", json={**post, "variables": variables or {}},
                                                   headers=headers)  # fmt: skip
            else:
                response = await graph.post(query, variables, token=bearer, **{"x-request-id": request_id})
            body = response.json()
            assert response.status_code == 200, body
            assert "data" in body, body  # executed (not refused before it ran)
            rows = entries(self.nation, request_id)
            if graph is self.fast and len(self.spied) > before:
                released, guard = self.spied[-1]
                assert not body.get("errors"), body  # taken at once only without errors
                assert released == released_in(guard["records"], body["data"], [])
            answers.append((body, rows))
        (fast_body, fast_rows), (slow_body, slow_rows) = answers
        assert _unordered(fast_body) == _unordered(slow_body), (query, variables)
        assert fast_rows == slow_rows, (query, variables, fast_rows ^ slow_rows)
        return fast_body, fast_rows


def _unordered(body: dict) -> dict:
    """A body with its redactions as a sorted list (they are listed in the order the fields were decided)."""
    redactions = body.get("extensions", {}).get("redactions")
    if redactions is None:
        return body
    ordered = sorted(redactions, key=json.dumps)
    return {**body, "extensions": {**body["extensions"], "redactions": ordered}}


@pytest.fixture
async def pair(make_graph, nation, spied) -> Pair:
    return Pair(await make_graph(fast_paths=True), await make_graph(fast_paths=False), nation, spied)


def hpr_nin(nation) -> str:
    [row] = db_rows(nation, "SELECT nin FROM hpr_person WHERE hpr_number = :h", h=nation.samples["gpHprNumber"])
    return str(row.nin)


# ------------------------------------------------------------------ 1. what leaves is what is logged

ALIASES = """query($n: [ID!]!) { a: persons(nins: $n) { nin } b: persons(nins: $n) { nin name { full } x: name { given }
  ... on Person { y: birthDate } } c: person(nin: "01010112345") { nin } }"""


@pytest.mark.parametrize("role", ["admin", "clinician", "citizen", "integrator", "anonymous"])
async def test_aliases_of_the_same_field_log_once_per_person_what_any_alias_released(pair, nation, role) -> None:
    s = nation.samples
    nins = [s["personWithGp"], s["childWithParent"], s["protectedAddressPerson"]]
    query = ALIASES.replace("01010112345", s["parentOfChild"])

    body, rows = await pair.ask(query, {"n": nins}, bearer_of(nation, role))

    if role == "admin":
        assert groups(rows) == dict.fromkeys([*nins, s["parentOfChild"]], "identity")
        assert all(p["name"]["full"] for p in body["data"]["b"])
    if role == "anonymous":
        assert rows == set()
    if role == "citizen":  # themself (c), their child under 16 (b), no one else
        assert set(groups(rows)) <= {s["parentOfChild"], s["childWithParent"]}


async def test_a_person_reached_by_two_paths_is_one_entry_holding_both_paths_groups(pair, nation) -> None:
    s = nation.samples
    query = """query($c: ID!) { person(nin: $c) { nin name { full } parents { nin children { nin gp { gpHerId }
      address { street } } } } }"""
    for role in ("admin", "clinician", "citizen"):
        body, rows = await pair.ask(query, {"c": s["childWithParent"]}, bearer_of(nation, role))
        if role == "admin":
            logged = groups(rows)
            assert logged[s["childWithParent"]] == "address family gp identity"  # root, and a parent's child
            assert set(logged) >= {p["nin"] for p in body["data"]["person"]["parents"]}
            assert len(rows) == len(logged)  # one row per person


ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { __typename
  ... on Person { nin name { full } } ... on HealthPersonnel { hprNumber worker: nin birthDate }
  ... on GpContract { id } } }"""


@pytest.mark.parametrize("role", ["admin", "clinician", "citizen", "anonymous"])
async def test_entities_through_union_fragments_log_what_each_entity_released(pair, nation, role) -> None:
    s = nation.samples
    person = {"__typename": "Person", "nin": s["personWithGp"]}
    reps = [person, {"__typename": "HealthPersonnel", "hprNumber": s["gpHprNumber"]}, person,
            {"__typename": "Person", "nin": s["childWithParent"]},
            {"__typename": "Person", "nin": unregistered_nin(nation)}]  # fmt: skip

    _body, rows = await pair.ask(ENTITIES, {"r": reps}, bearer_of(nation, role))

    if role == "admin":
        assert groups(rows) == {s["personWithGp"]: "identity", s["childWithParent"]: "identity",
                                hpr_nin(nation): "health-personnel"}  # fmt: skip
    if role == "anonymous":
        assert rows == set()


@pytest.mark.parametrize("yes", [True, False])
async def test_skip_and_include_by_variable_log_only_what_was_included(pair, nation, yes) -> None:
    s = nation.samples
    query = """query($y: Boolean!, $n: [ID!]!) { persons(nins: $n) { nin name @include(if: $y) { full }
      gp @skip(if: $y) { gpHerId } ... @include(if: $y) { address { street } } ... F } }
      fragment F on Person { gpHistory @include(if: $y) { gpHerId } }"""
    nins = [s["personWithGp"], s["parentOfChild"]]

    _, rows = await pair.ask(query, {"y": yes, "n": nins}, token(nation, "admin"))

    expected = "address gp identity" if yes else "gp identity"  # gpHistory is the gp group too
    assert groups(rows) == dict.fromkeys(nins, expected)


async def test_an_edge_asked_under_aliases_with_other_arguments_logs_what_each_answered(pair, nation) -> None:
    """A planned edge reads its preloaded value by (field, arguments): an aliased `gp(at:)` is its own value."""
    s = nation.samples
    query = """query($n: [ID!]!, $d: Date) { persons(nins: $n) { nin now: gp { gpHerId contract { id } }
      then: gp(at: "1990-01-01") { gpHerId } asked: gp(at: $d) { gpHerId } history: gpHistory { gpHerId } } }"""
    for d in (None, "1990-01-01", "2024-06-01"):
        body, rows = await pair.ask(query, {"n": [s["personWithGp"], s["childWithParent"]], "d": d},
                                    token(nation, "admin"))  # fmt: skip
        first = body["data"]["persons"][0]
        assert first["now"] is not None
        assert first["then"] is None  # no GP in 1990
        assert groups(rows) == dict.fromkeys([s["personWithGp"], s["childWithParent"]], "gp identity")


MIXED = [
    "query($n: [ID!]!) { persons(nins: $n) { __typename } }",  # found, no field asked: their identity left
    (
        "query($n: [ID!]!) { persons(nins: $n) { ...A } } fragment A on Person { ...B nin } "
        "fragment B on Person { name { full } gp { ...C } } fragment C on GpAssignment { gpHerId gp { ...D } } "
        "fragment D on HealthPersonnel { hprNumber nin person { nin birthDate } }"
    ),
    (
        "query($n: [ID!]!) { __typename persons(nins: $n) { nin __typename ... on Person { address { street } "
        "addressProtection presentAddress { street } } } __schema { queryType { name } } }"
    ),
    (
        "query($c: ID!) { gpContract(id: $c) { id patients(first: 3) { edges { node { nin gp { gpHerId "
        "contract { id patients(first: 2) { edges { node { nin name { full } } } } } } } } } } }"
    ),
    (
        "query($n: [ID!]!) { me { nin children { nin name { full } gp { gpHerId } } } "
        "persons(nins: $n) { nin children { nin } parents { nin } } }"
    ),
]


@pytest.mark.parametrize("query", MIXED)
@pytest.mark.parametrize("role", ["admin", "clinician", "citizen", "integrator", "anonymous"])
async def test_mixed_shapes_log_the_same_with_the_fast_paths_on_and_off(pair, nation, query, role) -> None:
    s = nation.samples
    nins = [s["personWithGp"], s["childWithParent"], s["protectedAddressPerson"], s["parentOfChild"]]
    variables = {"c": s["gpContractId"]} if "$c" in query else {"n": nins}

    body, rows = await pair.ask(query, variables, bearer_of(nation, role))

    if role == "anonymous":
        assert rows == set()
    if role == "admin" and "__typename }" in query:
        assert groups(rows) == dict.fromkeys(nins, "identity")
    assert body["data"] is not None


async def test_duplicates_in_a_list_are_one_entry_per_person(pair, nation) -> None:
    a, b = nation.samples["personWithGp"], nation.samples["parentOfChild"]

    body, rows = await pair.ask("query($n: [ID!]!) { persons(nins: $n) { nin name { full } } }",
                                {"n": [a, a, b, a]}, token(nation, "admin"))  # fmt: skip

    assert [p["nin"] for p in body["data"]["persons"]] == [a, a, b, a]
    assert rows == {(a, "identity", "preg:identity"), (b, "identity", "preg:identity")}


@pytest.mark.parametrize("first", [0, 1, 2])
async def test_patients_cut_by_a_page_are_not_logged(pair, nation, first) -> None:
    query = """query($c: ID!, $f: Int) { gpContract(id: $c) { patients(first: $f) { totalCount
      edges { node { nin name { full } } } } } }"""

    body, rows = await pair.ask(query, {"c": nation.samples["gpContractId"], "f": first}, token(nation, "admin"))

    page = body["data"]["gpContract"]["patients"]
    assert page["totalCount"] > 2  # the list is longer than any page asked
    assert groups(rows) == {e["node"]["nin"]: "gp identity" for e in page["edges"]}
    assert len(page["edges"]) == first


async def test_redacted_fields_are_not_logged_and_what_a_citizen_may_see_is(pair, nation) -> None:
    s = nation.samples
    query = """query($n: [ID!]!) { persons(nins: $n) { nin name { full } address { street } gp { gpHerId } } }"""
    nins = [s["personWithGp"], s["childWithParent"], s["parentOfChild"]]

    body, rows = await pair.ask(query, {"n": nins}, bearer_of(nation, "citizen"))

    assert body["extensions"]["redactions"]
    assert s["personWithGp"] not in groups(rows)  # a stranger: every field redacted
    assert groups(rows)[s["parentOfChild"]] == "address gp identity"


async def test_health_personnel_by_number_logs_the_worker_and_the_person_behind(pair, nation) -> None:
    query = "query($h: Int!) { healthPersonnel(hprNumber: $h) { hprNumber nin person { nin name { full } } } }"
    for role in ("admin", "clinician", "anonymous"):
        _body, rows = await pair.ask(query, {"h": nation.samples["gpHprNumber"]}, bearer_of(nation, role))
        if role == "admin":
            assert groups(rows) == {hpr_nin(nation): "health-personnel identity"}
        if role == "anonymous":
            assert rows == set()


async def test_a_non_null_error_below_a_released_field_takes_its_release_out_of_the_log(pair, nation) -> None:
    """`authorization` is non-null: its error nulls `healthPersonnel`, whose release (and its nin) never left."""
    worker = hpr_nin(nation)
    query = """query($n: ID!) { person(nin: $n) { nin name { full } healthPersonnel { hprNumber nin
      authorization(category: "!!", at: "2020-01-01") { authorized } } } }"""

    body, rows = await pair.ask(query, {"n": worker}, token(nation, "admin"))

    assert body["data"]["person"]["healthPersonnel"] is None
    assert [e["path"] for e in body["errors"]] == [["person", "healthPersonnel", "authorization"]]
    assert groups(rows) == {worker: "identity"}


async def test_an_error_that_nulls_the_whole_answer_releases_and_logs_nothing(pair, nation) -> None:
    """`_entities` is non-null: over its cap it nulls `data`, though `persons` was completed beside it."""
    query = """query($n: [ID!]!, $r: [_Any!]!) { persons(nins: $n) { nin name { full } gp { gpHerId } }
      _entities(representations: $r) { __typename } }"""
    reps = [{"__typename": "Code", "system": "x", "code": "y"}] * 1001

    body, rows = await pair.ask(query, {"n": [nation.samples["personWithGp"]], "r": reps}, token(nation, "admin"))

    assert body["data"] is None
    assert [e["path"] for e in body["errors"]] == [["_entities"]]  # over its cap of representations
    assert rows == set()


async def test_an_invalid_entry_beside_valid_ones_logs_only_the_valid_ones(pair, nation) -> None:
    a = nation.samples["personWithGp"]

    body, rows = await pair.ask("query($n: [ID!]!) { persons(nins: $n) { nin name { full } } }",
                                {"n": [a, "12345678901"]}, token(nation, "admin"))  # fmt: skip

    assert body["data"]["persons"][1] is None
    assert groups(rows) == {a: "identity"}


async def test_statistics_write_no_access_log_rows(pair, nation) -> None:
    query = """query($f: StatisticsFilter) { statistics { table(measures: [LISTED_PERSONS], by: [GENDER], filter: $f) {
      rows { values { value } } } } }"""

    _, rows = await pair.ask(query, {"f": {"municipalities": ["0301"]}}, token(nation, "analyst"))

    assert rows == set()


TRUSTED = """query T($n: [ID!]!, $y: Boolean!) { persons(nins: $n) { nin name @include(if: $y) { full }
  gp @skip(if: $y) { gpHerId gp { nin } } } }"""


async def test_a_trusted_document_asked_with_other_variables_logs_each_answer(make_graph, nation, spied, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({document_id(TRUSTED): TRUSTED}))
    http = HttpSettings(trusted_documents=str(manifest))
    pair = Pair(await make_graph(fast_paths=True, http=http), await make_graph(fast_paths=False, http=http),
                nation, spied)  # fmt: skip
    s = nation.samples
    bearer = token(nation, "admin")

    asked = [([s["personWithGp"]], True), ([s["personWithGp"], s["parentOfChild"]], False),
             ([s["parentOfChild"]], True), ([s["personWithGp"]], False)]  # fmt: skip
    for nins, yes in asked:
        body, rows = await pair.ask("", {"n": nins, "y": yes}, bearer, documentId=document_id(TRUSTED))
        assert groups(rows).keys() >= set(nins)
        for nin in nins:
            assert groups(rows)[nin] == ("identity" if yes else "gp identity")
        gp_workers = {p["gp"]["gp"]["nin"] for p in body["data"]["persons"] if not yes and p["gp"] and p["gp"]["gp"]}
        assert set(groups(rows)) == set(nins) | gp_workers


async def test_a_request_past_its_deadline_releases_and_logs_nothing(make_graph, nation) -> None:
    graph = await make_graph(http=HttpSettings(request_deadline_s=0.0))
    request_id = uuid.uuid4().hex

    response = await graph.post("query($n: [ID!]!) { persons(nins: $n) { nin name { full } } }",
                                {"n": [nation.samples["personWithGp"]]}, token=token(nation, "admin"),
                                **{"x-request-id": request_id})  # fmt: skip
    await asyncio.sleep(0.5)  # the request given up settles in the background

    assert response.status_code == 503
    assert "data" not in response.json()
    assert entries(nation, request_id) == set()


async def test_a_batch_of_requests_in_one_body_is_refused_and_logs_nothing(make_graph, nation) -> None:
    graph = await make_graph()
    request_id = uuid.uuid4().hex
    one = {"query": "query($n: [ID!]!) { persons(nins: $n) { nin name { full } } }",
           "variables": {"n": [nation.samples["personWithGp"]]}}  # fmt: skip

    response = await graph.client.post("/graphql", json=[one, one], headers={
        "authorization": f"Bearer {token(nation, 'admin')}", "x-request-id": request_id})  # fmt: skip

    assert response.status_code == 400
    assert "batching is not supported" in response.json()["errors"][0]["message"]
    assert entries(nation, request_id) == set()


# Quotes and backslashes (each string quoted and escaped), and commas, braces and NULL alone (joined in one call).
ODD = ['a"b\\c,{d} NULL "NULL" \\', "{d},e NULL} {", " NULL"]


@pytest.mark.parametrize("odd", ODD)
async def test_actor_fields_with_quotes_backslashes_and_braces_are_logged_whole(make_graph, nation, odd) -> None:
    """The log's rows go to PostgreSQL as array text, plain strings joined in one call: odd ones stay whole."""
    graph = await make_graph()
    s = nation.samples
    bearer = tokens.mint(nation.settings.home, role="admin", subject=f"sub {odd}", client_id=f"client {odd}")
    request_id = uuid.uuid4().hex

    await graph.query("query($n: [ID!]!) { persons(nins: $n) { nin name { full } } }",
                      {"n": [s["personWithGp"], s["parentOfChild"]]}, token=bearer,
                      **{"x-request-id": request_id, "x-purpose": f"purpose {odd}"})  # fmt: skip

    rows = db_rows(nation, "SELECT nin, subject, client_id, purpose, role FROM audit_access_log WHERE request_id = :r",
                   r=request_id)  # fmt: skip
    assert sorted(r.nin for r in rows) == sorted([s["personWithGp"], s["parentOfChild"]])
    assert {(r.subject, r.client_id, r.purpose, r.role) for r in rows} == {
        (f"sub {odd}", f"client {odd}", f"purpose {odd}", "admin")}  # fmt: skip


async def test_a_request_whose_log_commit_outlasts_its_deadline_releases_nothing(make_graph, nation, monkeypatch):
    """Data leaves only after its log row committed: a commit past the deadline answers 503 without data.

    (A request alone is cancelled with its commit; one waiting in a group still has its rows written, on
    purpose: the log errs on the side of a release that did not happen, never one that went unlogged.)
    """
    from helsegraf.db import Database  # noqa: PLC0415

    append = Database.append

    async def slow(self, store, table, shared, varying):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.6)
        return await append(self, store, table, shared, varying)

    monkeypatch.setattr(Database, "append", slow)
    graph = await make_graph(http=HttpSettings(request_deadline_s=0.3))
    request_id = uuid.uuid4().hex

    response = await graph.post("query($n: [ID!]!) { persons(nins: $n) { nin name { full } } }",
                                {"n": [nation.samples["personWithGp"]]}, token=token(nation, "admin"),
                                **{"x-request-id": request_id})  # fmt: skip
    await asyncio.sleep(0.8)

    assert response.status_code == 503
    assert "data" not in response.json()
    assert groups(entries(nation, request_id)).items() <= {nation.samples["personWithGp"]: "identity"}.items()


SHARED = """query($n: [ID!]!) { persons(nins: $n) { nin gp { gpHerId
  gp { hprNumber worker: nin birthDate name { full } }
  contract { id maxPatients office { orgNumber name } }
  officeCommunicationParty { herId electronicAddresses } } } }"""


def patients_of_one_list(nation, count: int) -> list[str]:
    """Patients on the same GP list today: they share their GP, their list and their office."""
    [biggest] = db_rows(nation, "SELECT contract_id FROM flr_list_membership WHERE valid_to IS NULL "
                                "GROUP BY contract_id ORDER BY count(*) DESC, contract_id LIMIT 1")  # fmt: skip
    rows = db_rows(nation, "SELECT nin FROM flr_list_membership WHERE contract_id = :c AND valid_to IS NULL "
                           "ORDER BY id LIMIT :n", c=biggest.contract_id, n=count)  # fmt: skip
    return [r.nin for r in rows]


@pytest.mark.parametrize("role", ["admin", "clinician", "integrator"])
async def test_objects_shared_by_many_patients_are_decided_and_logged_at_every_path(pair, nation, role) -> None:
    """A GP, list and office met once per patient are answered once and used again only where nothing below
    them is personal: the GP's personal fields are decided (released or redacted) at each patient's path."""
    nins = patients_of_one_list(nation, 5)
    assert len(nins) == 5

    body, rows = await pair.ask(SHARED, {"n": nins}, bearer_of(nation, role))

    answers = [p["gp"] for p in body["data"]["persons"]]
    for answer in answers[1:]:  # the same list, office and GP at every patient
        assert answer["contract"] == answers[0]["contract"]
        assert answer["officeCommunicationParty"] == answers[0]["officeCommunicationParty"]
        assert answer["gp"] == answers[0]["gp"]
    redacted = {tuple(r["path"]) for r in body.get("extensions", {}).get("redactions", [])}
    worker = answers[0]["gp"]["worker"]
    if role == "integrator":  # may not see a health worker's nin or birth date: redacted at every patient's path
        assert worker is None
        assert redacted == {
            ("persons", i, "gp", "gp", field) for i in range(len(nins)) for field in ("worker", "birthDate")
        }
    else:
        assert worker is not None
        assert redacted == set()
        assert groups(rows)[worker] == "health-personnel"


# ------------------------------------------------------------------ 2. the verified-token cache

ME = "{ me { nin name { full } } }"


async def test_a_remembered_token_is_refused_over_http_once_it_expires(make_graph, nation) -> None:
    graph = await make_graph()
    pid = nation.samples["personWithGp"]
    # exp + leeway is about 2 s from now: accepted now, refused after.
    ending = tokens.mint(nation.settings.home, role="citizen", pid=pid, ttl_seconds=2 - tokens.LEEWAY_SECONDS)
    request_id = uuid.uuid4().hex

    first = await graph.post(ME, token=ending)
    again = await graph.post(ME, token=ending)
    await asyncio.sleep(2.2)
    late = await graph.post(ME, token=ending, **{"x-request-id": request_id})

    assert first.json()["data"]["me"]["nin"] == pid
    assert again.json() == first.json()
    assert late.status_code == 401, late.text
    assert "data" not in late.json()
    assert entries(nation, request_id) == set()


async def test_remembered_tokens_never_lend_their_claims_to_each_other(make_graph, nation) -> None:
    graph = await make_graph()
    s = nation.samples
    pids = (s["personWithGp"], s["parentOfChild"], s["protectedAddressPerson"])
    citizens = {pid: token(nation, "citizen", pid=pid, subject=f"citizen-{i}") for i, pid in enumerate(pids)}
    stranger = token(nation, "integrator", subject="no-scopes")

    for _ in range(3):  # each token remembered after its first use
        for i, (pid, bearer) in enumerate(citizens.items()):
            request_id = uuid.uuid4().hex
            body = (await graph.post(ME, token=bearer, **{"x-request-id": request_id})).json()
            assert body["data"]["me"]["nin"] == pid
            [row] = db_rows(nation, "SELECT subject, nin FROM audit_access_log WHERE request_id = :r", r=request_id)
            assert (row.subject, row.nin) == (f"citizen-{i}", pid)
        body = (await graph.post(f'{{ person(nin: "{s["personWithGp"]}") {{ name {{ full }} }} }}',
                                 token=stranger)).json()  # fmt: skip
        assert body["data"]["person"]["name"] is None
        assert body["extensions"]["redactions"][0]["reason"] == "MISSING_SCOPE"


@pytest.mark.parametrize("mode", ["disabled", "DISABLED", " disabled ", "off", "none"])
def test_authorisation_cannot_be_switched_off_from_the_environment(mode) -> None:
    """`mode="disabled"` (the open guard: all data, no log) is for the benchmark's comparison only."""
    from helsegraf.config import Settings  # noqa: PLC0415

    with pytest.raises(tokens.AuthConfigError, match="HELSEGRAF_AUTH_MODE"):
        tokens.AuthSettings.from_env({"HELSEGRAF_AUTH_MODE": mode})
    with pytest.raises(tokens.AuthConfigError, match="HELSEGRAF_AUTH_MODE"):
        Settings.from_env({"HELSEGRAF_AUTH_MODE": mode})


async def test_a_tampered_copy_of_a_remembered_token_is_refused(make_graph, nation) -> None:
    graph = await make_graph()
    genuine = token(nation, "integrator", scopes=("preg:identity",))
    header, payload, signature = genuine.split(".")
    claims = json.loads(tokens.jwt.utils.base64url_decode(payload))
    claims["scope"] = "preg:identity preg:address audit:read"
    forged = f"{header}.{tokens.jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()}.{signature}"

    assert (await graph.post(ME, token=genuine)).status_code == 200
    refused = await graph.post(ME, token=forged)

    assert refused.status_code == 401
    assert "signature" in refused.json()["errors"][0]["message"]


def _signed_by(key, kid: str) -> str:
    """A token of its own (its own jti): not the text of any token the server remembers."""
    claims = {"iss": "https://helseid.example", "aud": "helsegraf-api", "sub": "tester", "jti": uuid.uuid4().hex,
              "exp": int(time.time()) + 600, "scope": "preg:identity", ROLE_CLAIM: "integrator"}  # fmt: skip
    return tokens.jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def jwks():
    server = JwksServer()
    server.add_key("prod-1")
    yield server
    server.close()


async def test_a_key_withdrawn_from_the_jwks_stops_the_tokens_it_signed_even_remembered(
    make_graph, nation, jwks, monkeypatch
) -> None:
    """The JWKS is refreshed (here at once); a key it no longer lists verifies nothing, remembered or not."""
    monkeypatch.setattr(tokens, "JWKS_LIFETIME_S", 0.0)
    graph = await make_graph(auth=_remote(jwks, min_refetch_s=0))
    query = f'{{ person(nin: "{nation.samples["personWithGp"]}") {{ nin }} }}'
    decoded: list[str] = []
    decode = tokens.jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda token, *a, **k: decoded.append(token) or decode(token, *a, **k))
    remembered = jwks.token("prod-1")
    withdrawn = jwks.keys["prod-1"]
    assert (await graph.post(query, token=remembered)).status_code == 200

    jwks.add_key("prod-2")  # rotation: a new key beside the old one
    assert (await graph.post(query, token=_signed_by(jwks.keys["prod-2"], "prod-2"))).status_code == 200
    still = await graph.post(query, token=remembered)  # the key set was fetched again, and still holds prod-1
    assert still.status_code == 200, still.text
    assert decoded.count(remembered) == 1  # remembered: its signature was not checked again

    del jwks.keys["prod-1"]  # withdrawn (compromised, say): the identity provider no longer lists it
    deadline = time.monotonic() + 10
    while True:  # each request refreshes the key set in the background (its lifetime is 0 here)
        fresh = await graph.post(query, token=_signed_by(jwks.keys["prod-2"], "prod-2"))
        assert fresh.status_code == 200, fresh.text
        fresh_old = await graph.post(query, token=_signed_by(withdrawn, "prod-1"))
        if fresh_old.status_code == 401 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    again = await graph.post(query, token=remembered)

    assert fresh_old.status_code == 401, fresh_old.text  # the server has the new key set
    assert again.status_code == 401, again.text  # and the remembered token is refused with the fresh ones
    assert "'prod-1' is unknown" in again.json()["errors"][0]["message"]


# ------------------------------------------------------------------ 3. limits kept per shape of the variables

NESTED = """query($f: Int, $g: Int) { gpContracts(first: $f) { edges { node { id
  patients(first: $g) { edges { node { nin } } } } } } }"""


def cost_of(query: str, variables: dict) -> int:
    """Measure a fresh parse (no kept measure can answer it)."""
    return check(parse(query), SCHEMA, None, variables, Limits(max_cost=2**53, max_depth=100, max_aliases=10**6))


SCHEMA = build_schema()._schema  # noqa: SLF001 - the built graphql-core schema


def refused_cost(body: dict) -> int | None:
    errors = [e for e in body.get("errors", []) if e["extensions"]["code"] == "QUERY_TOO_COMPLEX"]
    return errors[0]["extensions"]["value"] if errors else None


@pytest.mark.parametrize("trusted", [False, True])
async def test_nested_first_variables_are_measured_again_when_they_change(make_graph, nation, tmp_path, trusted):
    limit = cost_of(NESTED, {"f": 2, "g": 2})
    http = HttpSettings(max_cost=limit)
    if trusted:
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({document_id(NESTED): NESTED}))
        http = HttpSettings(max_cost=limit, trusted_documents=str(manifest))
    graph = await make_graph(http=http)

    for f, g in [(2, 2), (2, 3), (3, 2), (2, 2), (1, 1), (None, None), (2, 2), (0, 100), (2, 1)]:
        variables = {"f": f, "g": g}
        if trusted:
            body = (await graph.client.post("/graphql", json={"documentId": document_id(NESTED),
                                                              "variables": variables})).json()  # fmt: skip
        else:
            body = (await graph.post(NESTED, variables, token=token(nation))).json()
        cost = cost_of(NESTED, variables)
        if cost <= limit:
            assert refused_cost(body) is None, (variables, body)
        else:
            assert refused_cost(body) == cost, (variables, body)


async def test_representations_of_other_lengths_are_measured_again(make_graph, nation) -> None:
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { nin name { full } } } }"
    rep = {"__typename": "Person", "nin": nation.samples["personWithGp"]}
    limit = cost_of(query, {"r": [rep] * 3})
    graph = await make_graph(http=HttpSettings(max_cost=limit))

    for n in (3, 4, 3, 1, 10, 3):
        body = (await graph.post(query, {"r": [rep] * n}, token=token(nation))).json()
        assert (refused_cost(body) is None) == (n <= 3), (n, body)


async def test_a_statistics_filter_is_read_every_time_the_document_is_asked(make_graph, nation) -> None:
    query = """query($f: StatisticsFilter) { statistics { table(measures: [LISTED_PERSONS], by: [MUNICIPALITY],
      filter: $f) { rows { values { value } } } } }"""
    narrow, wide = {"f": {"municipalities": ["0301"]}}, {"f": None}
    limit = cost_of(query, narrow)
    assert cost_of(query, wide) > limit
    graph = await make_graph(http=HttpSettings(max_cost=limit))
    analyst = token(nation, "analyst")

    for variables, within in [(narrow, True), (wide, False), (narrow, True), (wide, False)]:
        body = (await graph.post(query, variables, token=analyst)).json()
        assert (refused_cost(body) is None) == within, (variables, body)


async def test_a_list_of_questions_is_sized_by_its_length(make_graph, nation) -> None:
    """`gpsAtTime(queries:)` answers one value per question: a thousand cost a thousand times one."""
    query = "query($q: [NinAtTime!]!) { gpsAtTime(queries: $q) { nin at gp { gpHerId contract { id } } } }"
    one = [{"nin": nation.samples["personWithGp"], "at": "2024-01-01"}]
    assert cost_of(query, {"q": one * 1000}) >= 1000 * cost_of(query, {"q": one})

    graph = await make_graph(http=HttpSettings(max_cost=cost_of(query, {"q": one * 10})))
    assert refused_cost((await graph.post(query, {"q": one * 10}, token=token(nation))).json()) is None
    assert refused_cost((await graph.post(query, {"q": one * 11}, token=token(nation))).json()) is not None


def _live_operations(marker: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, OperationDefinitionNode) and o.loc is not None
               and marker in o.loc.source.body)  # fmt: skip


async def test_kept_measures_keep_no_document_alive_that_the_server_dropped(make_graph, nation) -> None:
    """Refused documents leave nothing behind, and a document the parse cache dropped is not held by its measure."""
    marker = f"m{uuid.uuid4().hex[:8]}"
    graph = await make_graph(http=HttpSettings(max_cost=3, parse_cache_bytes=1))  # nothing kept parsed
    nins = [nation.samples["personWithGp"]] * 5

    for i in range(40):  # over the cost limit: refused
        query = f"query {marker}_{i}($n: [ID!]!) {{ persons(nins: $n) {{ nin name {{ full }} }} }}"
        assert refused_cost((await graph.post(query, {"n": nins}, token=None)).json()) is not None
    for i in range(40):  # within the limit, asked twice, never kept parsed
        query = f"query {marker}_ok_{i}($n: [ID!]!) {{ persons(nins: $n) {{ nin }} }}"
        for _ in range(2):
            assert refused_cost((await graph.post(query, {"n": nins[:1]}, token=None)).json()) is None

    assert _live_operations(marker) == 0


async def test_a_kept_document_asked_again_with_the_same_sizes_is_not_measured_again(make_graph, nation, monkeypatch):
    """Held weakly, measures still save the walk: a document kept parsed is measured once per shape of variables."""
    from helsegraf.http import limits  # noqa: PLC0415

    walked: list[int] = []
    real = limits._Measurer.selection_set  # noqa: SLF001

    def counting(self, node, parent, page):  # type: ignore[no-untyped-def]
        if parent is not None and getattr(parent, "name", None) == "Query":
            walked.append(1)
        return real(self, node, parent, page)

    monkeypatch.setattr(limits._Measurer, "selection_set", counting)  # noqa: SLF001
    graph = await make_graph()
    query = f"query Kept{uuid.uuid4().hex[:6]}($n: [ID!]!) {{ persons(nins: $n) {{ nin }} }}"
    a, b = nation.samples["personWithGp"], nation.samples["parentOfChild"]

    for nins in ([a], [b], [a, b], [b, a], [a]):
        assert refused_cost((await graph.post(query, {"n": nins}, token=None)).json()) is None
        gc.collect()  # the kept document, and so its measures, survive a collection

    assert len(walked) == 2, walked  # once per length: [a] and [b] share a measure, [a, b] and [b, a] another
