"""Planned documents: trusted documents are parsed and validated once, at start-up, never per request."""

from __future__ import annotations

import json

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
