"""Planned documents: trusted documents are parsed and validated once, at start-up, never per request."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import token
from helsegraf.config import HttpSettings
from helsegraf.execution import operation
from helsegraf.http.trusted import document_id

INTEGRATOR = """query Integrator($nins: [ID!]!) { persons(nins: $nins) { nin gp {
  gp { hprNumber name { full } } gpHerId contract { id office { orgNumber name } } } } }"""
INVALID = "query Broken { persons(nins: []) { noSuchField } }"
UNPARSABLE = "query Unparsable { persons(nins: [) }"


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({document_id(d): d for d in (INTEGRATOR, INVALID, UNPARSABLE)}))
    return str(path)


@pytest.fixture
def counted(monkeypatch):
    """Count graphql-core's parse and validate calls made by the endpoint."""
    calls = {"parse": 0, "validate": 0}

    def counting(name, real):
        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(operation, "parse_document", counting("parse", operation.parse_document))
    monkeypatch.setattr(operation, "validate", counting("validate", operation.validate))
    return calls


async def test_a_trusted_document_is_planned_once_at_start_up(make_graph, nation, manifest, counted) -> None:
    bearer = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    graph = await make_graph(default_token=bearer, http=HttpSettings(trusted_documents=manifest))
    assert counted == {"parse": 3, "validate": 2}  # every document parsed, the parsable ones validated

    nins = [nation.samples["personWithGp"]]
    headers = {"authorization": f"Bearer {bearer}"}
    answers = []
    for _ in range(3):
        by_id = await graph.client.post("/graphql", json={"documentId": document_id(INTEGRATOR),
                                                          "variables": {"nins": nins}}, headers=headers)  # fmt: skip
        by_text = await graph.post(INTEGRATOR, {"nins": nins})
        answers += [by_id.json(), by_text.json()]

    assert counted == {"parse": 3, "validate": 2}  # no request parsed or validated anything
    assert all(a == answers[0] for a in answers)
    assert answers[0]["data"]["persons"][0]["gp"]["gp"]["hprNumber"]


async def test_a_trusted_document_answers_as_an_unplanned_one(make_graph, nation, manifest) -> None:
    """The plan changes nothing a caller sees: answers and request errors are those of the same free text."""
    bearer = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    trusted = await make_graph(default_token=bearer, http=HttpSettings(trusted_documents=manifest))
    free = await make_graph(default_token=bearer)
    nins = [nation.samples["personWithGp"], "not a number"]

    for document in (INTEGRATOR, INVALID, UNPARSABLE):
        planned = await trusted.client.post("/graphql", json={"documentId": document_id(document),
                                                              "variables": {"nins": nins}},
                                            headers={"authorization": f"Bearer {bearer}"})  # fmt: skip
        unplanned = await free.post(document, {"nins": nins})
        assert (planned.status_code, _without_ids(planned.json())) == (unplanned.status_code,
                                                                        _without_ids(unplanned.json()))  # fmt: skip
    invalid = await trusted.client.post("/graphql", json={"documentId": document_id(INVALID)})
    assert "noSuchField" in invalid.json()["errors"][0]["message"]
    unparsable = await trusted.client.post("/graphql", json={"documentId": document_id(UNPARSABLE)})
    assert "Syntax Error" in unparsable.json()["errors"][0]["message"]


def _without_ids(body: dict) -> dict:
    """Drop the per-request ids that errors carry."""
    for error in body.get("errors") or []:
        error.get("extensions", {}).pop("requestId", None)
    return body


NUL_LITERAL = 'query Nul { person(nin: "0101\\u0000") { nin } }'
COSTLY = "query Costly($nins: [ID!]!) { persons(nins: $nins) { nin parents { nin children { nin } } } }"


@pytest.fixture
def visits(monkeypatch):
    """Count the limit checks that visit the whole document (the per-request work a planned document skips)."""
    from helsegraf.http import limits  # noqa: PLC0415

    calls = {"visit": 0}
    real = limits.visit

    def counting(*args, **kwargs):
        calls["visit"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(limits, "visit", counting)
    return calls


async def test_a_planned_document_checks_its_limits_without_visiting_it(make_graph, nation, tmp_path, visits) -> None:
    """The strings of a trusted document are checked at start-up; a request only measures it with its variables."""
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({document_id(d): d for d in (INTEGRATOR, NUL_LITERAL, COSTLY)}))
    bearer = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    graph = await make_graph(default_token=bearer, http=HttpSettings(trusted_documents=str(path), max_cost=5000))
    planned = visits["visit"]
    assert planned == 3  # one look at each document's strings, at start-up

    nins = [nation.samples["personWithGp"]]
    for _ in range(3):
        await graph.data(INTEGRATOR, {"nins": nins})
    assert visits["visit"] == planned  # no request visited the document

    # Refusals are the same as for the same free text: the NUL literal, and a cost over the limit.
    free = await make_graph(default_token=bearer, http=HttpSettings(max_cost=5000))
    many = [nation.samples["personWithGp"]] * 1000
    for document, variables in ((NUL_LITERAL, {}), (COSTLY, {"nins": many}), (COSTLY, {"nins": nins})):
        ours = await graph.post(document, variables)
        theirs = await free.post(document, variables)
        assert (ours.status_code, _without_ids(ours.json())) == (theirs.status_code, _without_ids(theirs.json()))
    refused = (await graph.post(NUL_LITERAL, {})).json()["errors"][0]["message"]
    assert "NUL" in refused
    costly = (await graph.post(COSTLY, {"nins": many})).json()["errors"][0]
    assert costly["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_document_kept_parsed_is_not_visited_again(make_graph, nation, visits) -> None:
    bearer = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    graph = await make_graph(default_token=bearer)
    nins = [nation.samples["personWithGp"]]
    first = await graph.data(INTEGRATOR, {"nins": nins})
    after_first = visits["visit"]
    assert after_first >= 1
    second = await graph.data(INTEGRATOR, {"nins": nins})
    assert visits["visit"] == after_first
    assert first == second


async def test_planned_and_unplanned_requests_log_the_same(make_graph, nation, manifest) -> None:
    """The access log and the redactions of a trusted document are those of the same free text."""
    from conftest import db_rows  # noqa: PLC0415

    nins = [nation.samples["personWithGp"]]
    for role in ("clinician", "admin", None):
        bearer = token(nation, role, hpr_number=1, org_number=nation.samples["officeOrgNumber"]) if role else None
        trusted = await make_graph(default_token=bearer, http=HttpSettings(trusted_documents=manifest), debug=True)
        free = await make_graph(default_token=bearer, debug=True)
        seen = []
        for graph, body in ((trusted, {"documentId": document_id(INTEGRATOR)}), (free, {"query": INTEGRATOR})):
            request_id = uuid.uuid4().hex
            headers = {"x-request-id": request_id, **({"authorization": f"Bearer {bearer}"} if bearer else {})}
            response = await graph.client.post("/graphql", json={**body, "variables": {"nins": nins}},
                                               headers=headers)  # fmt: skip
            answer = response.json()
            answer.get("extensions", {}).pop("sql", None)
            log = {(e.nin, e.subject_hpr_number, e.fields, e.scopes, e.role) for e in db_rows(
                nation, "SELECT * FROM audit_access_log WHERE request_id = :r", r=request_id)}  # fmt: skip
            seen.append((response.status_code, _without_ids(answer), log))
        assert seen[0] == seen[1]
        assert seen[0][2] or role is None
