"""A person's list comes with its contract and GP periods: one FLR round instead of two, the same answers.

When the edges below a person's GP assignment go on to the contract or its doctor, FLR's memberships
and, beside them, the lists' contracts with their GP periods (one statement over FLR's own tables) are
read in the same round; the contract and doctor edges then ask FLR nothing more. The answers, the
redactions and the access log are those of the edges loading by themselves, at any date and in the
history, for lists with and without doctors.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

import helsegraf.schema.flr
from conftest import TODAY, db_rows, token
from helsegraf.db import track_sql
from test_statistics_fixes import db_execute

PERSONS = """query($nins: [ID!]!, $past: Date) { persons(nins: $nins) { nin
  gp { id validFrom validTo gpHerId contract { id maxPatients isOpen office { orgNumber } gps { hprNumber } }
       gp { hprNumber name { full } } officeCommunicationParty { herId } }
  then: gp(at: $past) { validFrom validTo contract { id listSize } gp { hprNumber } }
  gpHistory { validFrom validTo contract { id municipality { code } } gp { hprNumber } beginReason { code } }
  hasGp(hprNumber: 1) } }"""
AT_TIME = """query($q: [NinAtTime!]!) { gpsAtTime(queries: $q) { nin at gp { validFrom validTo gpHerId
  contract { id gpPeriods { hprNumber relationship validFrom } } gp { hprNumber } } } }"""
LIST_WITHOUT_DOCTORS = """query($n: [ID!]!) { persons(nins: $n) {
  gp { contract { id maxPatients gps { hprNumber } } gp { hprNumber } } } }"""
UNTOUCHED = 990_001  # a contract id the nation does not use


def _listed(nation: Any, count: int) -> list[str]:
    return [r.nin for r in db_rows(nation, "SELECT DISTINCT nin FROM flr_list_membership ORDER BY nin")][:count]


async def _ask(make_graph: Any, nation: Any, query: str, variables: dict[str, Any], role: str) -> tuple[Any, ...]:
    """Answer a query; return its data, redactions, access-log entries, statements and FLR's statements."""
    graph = await make_graph(default_token=token(nation, role, hpr_number=1, org_number="974760673"), debug=True)
    request_id = uuid.uuid4().hex
    with track_sql() as stats:
        body = (await graph.post(query, variables, **{"x-request-id": request_id})).json()
    assert "errors" not in body, body
    log = sorted((e.nin, e.fields, e.scopes) for e in db_rows(
        nation, "SELECT * FROM audit_access_log WHERE request_id = :r", r=request_id))  # fmt: skip
    flr = [s for s in stats.log if "FROM flr_" in s]
    return body["data"], body["extensions"].get("redactions"), log, stats.statements, len(flr)


async def _with_and_without_lists(make_graph: Any, nation: Any, monkeypatch: pytest.MonkeyPatch, *args: Any) -> Any:
    with_lists = await _ask(make_graph, nation, *args)
    with monkeypatch.context() as patched:  # the contract and doctor edges load by themselves
        patched.setattr(helsegraf.schema.flr, "LIST_EDGES", frozenset())
        alone = await _ask(make_graph, nation, *args)
    assert with_lists[:3] == alone[:3]  # the same answer, redactions and access log
    return with_lists, alone


@pytest.mark.parametrize("role", ["admin", "clinician", "citizen"])
async def test_persons_lists_answer_as_their_edges_alone_today_in_the_past_and_in_the_history(
    make_graph, nation, monkeypatch, role: str
) -> None:
    nins = _listed(nation, 60)
    variables = {"nins": nins, "past": (TODAY - timedelta(days=3 * 365)).isoformat()}

    with_lists, alone = await _with_and_without_lists(make_graph, nation, monkeypatch, PERSONS, variables, role)

    persons = with_lists[0]["persons"]
    if role == "citizen":  # someone else's GP relation: nothing is read
        assert all(p["gp"] is None for p in persons)
        assert with_lists[3] == alone[3]
        return
    assert sum(p["gp"] is not None and p["gp"]["gp"] is not None for p in persons) > len(nins) / 2
    assert any(p["then"] and p["gp"] and p["then"]["contract"]["id"] != p["gp"]["contract"]["id"] for p in persons)
    assert any(len(p["gpHistory"]) > 1 for p in persons)
    # FLR: the memberships at each of the two dates and the lists of both; the history beside its lists; the
    # list sizes. Alone, the contracts and the periods follow as each level reaches them (how many batches
    # that makes depends on when the levels' loads meet).
    # (The integrator query's round trips are pinned in tests/test_pipelined_rounds.py.)
    assert with_lists[4] == 6
    assert with_lists[4] <= alone[4]


async def test_questions_at_many_dates_read_the_lists_once_and_see_each_dates_doctor(
    make_graph, nation, monkeypatch
) -> None:
    # Dates where a list's fastlege changed: the day before and the day a second fastlege began.
    changes = db_rows(nation, "SELECT m.nin, p.valid_from FROM flr_gp_period p JOIN flr_list_membership m "
                      "ON m.contract_id = p.contract_id AND m.valid_from < p.valid_from "
                      "AND (m.valid_to IS NULL OR m.valid_to > p.valid_from) WHERE p.relationship = 'LPFL' "
                      "AND EXISTS (SELECT 1 FROM flr_gp_period q WHERE q.contract_id = p.contract_id "
                      "AND q.relationship = 'LPFL' AND q.valid_from < p.valid_from) ORDER BY m.nin "
                      "LIMIT 40")  # fmt: skip
    assert changes, "the nation has no list whose fastlege changed"
    questions = [{"nin": r.nin, "at": (r.valid_from - timedelta(days=d)).isoformat()} for r in changes for d in (1, 0)]
    questions += [{"nin": nin, "at": TODAY.isoformat()} for nin in _listed(nation, 20)]

    with_lists, alone = await _with_and_without_lists(
        make_graph, nation, monkeypatch, AT_TIME, {"q": questions}, "admin"
    )

    answers = with_lists[0]["gpsAtTime"]
    doctors = {}
    for answer in answers:
        if answer["gp"] and answer["gp"]["gp"]:
            doctors.setdefault(answer["nin"], set()).add(answer["gp"]["gp"]["hprNumber"])
    assert any(len(found) > 1 for found in doctors.values())  # a doctor changed between the two days
    dates = len({q["at"] for q in questions})
    assert with_lists[4] == dates + 1  # the memberships of each date; the lists of every date at once
    assert alone[4] >= dates + 2  # ... where alone the contracts and the periods followed


async def test_a_list_without_doctors_is_answered_from_its_round(make_graph, nation, monkeypatch) -> None:
    nin = _listed(nation, 1)[0]
    [membership] = db_rows(nation, "SELECT id, contract_id FROM flr_list_membership WHERE nin = :n AND valid_from "
                           "<= :on AND (valid_to IS NULL OR valid_to > :on)", n=nin, on=TODAY.isoformat())  # fmt: skip
    db_execute(nation, f"INSERT INTO flr_gp_contract (id, office_org_number, municipality_code, max_patients, is_open, "
               f"fixed_salary, valid_from) SELECT {UNTOUCHED}, office_org_number, municipality_code, 10, true, false, "
               f"valid_from FROM flr_gp_contract WHERE id = {membership.contract_id}")  # fmt: skip
    db_execute(nation, f"UPDATE flr_list_membership SET contract_id = {UNTOUCHED} WHERE id = {membership.id}")
    query = LIST_WITHOUT_DOCTORS
    try:
        with_lists, alone = await _with_and_without_lists(make_graph, nation, monkeypatch, query, {"n": [nin]}, "admin")
    finally:
        db_execute(
            nation, f"UPDATE flr_list_membership SET contract_id = {membership.contract_id} WHERE id = {membership.id}"
        )
        db_execute(nation, f"DELETE FROM flr_gp_contract WHERE id = {UNTOUCHED}")

    assert with_lists[0]["persons"] == [{"gp": {"contract": {"id": str(UNTOUCHED), "maxPatients": 10, "gps": []},
                                                "gp": None}}]  # fmt: skip
    assert (with_lists[4], alone[4]) == (2, 3)  # the membership beside its list; alone: then contract, periods
