"""A list's listetak, open status and fixed salary over time (flr_gp_contract_terms), on SQLite and PostgreSQL.

FLR's contract gives today's MaxPatients, status and IsFixedSalary. The sync keeps their history as
half-open periods, closing one and opening the next when it sees a change; statistics of a past date
and a contract asked `at` a date read the period valid then, so a list that changes today leaves a
past quarter's SSB 12005 as it was.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import create_engine, text

from conftest import TODAY, db_rows, token
from helsegraf.config import Settings
from helsegraf.data.nation import generate
from helsegraf.http.context import oslo_today
from helsegraf.migrate import upgrade
from helsegraf.stats.engine import reference_date
from helsegraf.sync.flr import apply_contracts
from test_statistics_fixes import db_execute

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"
PAST = reference_date(TODAY - timedelta(days=200))
CHANGED = PAST + timedelta(days=40)  # between the past quarter end and today
TABLE = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $at: Date) { statistics {
  table(measures: $m, by: $by, at: $at, total: true) {
    rows { key { code } values { measure value suppressed } } } } }"""
CONTRACTS = """query($m: String, $at: Date, $open: Boolean! = false) { gpContracts(municipality: $m, at: $at,
  openOnly: $open, first: 100) { totalCount edges { node { id maxPatients isOpen fixedSalary
  placesAvailable(at: $at) } } } }"""
SSB = """query($at: Date) { statistics { ssb12005(at: $at) { code openLists capacity } } }"""


def contract(**changes: Any) -> dict[str, list[dict[str, Any]]]:
    """A contract as the FLR sync applies it (contract_rows' shape), with no doctors or patients."""
    row = {"id": 77, "office_org_number": "310000000", "municipality_code": "0301", "district": None,
           "max_patients": 1000, "is_open": True, "fixed_salary": False, "valid_from": date(2015, 1, 1),
           "valid_to": None, "status": "FAAA", "patients_on_waiting_list": 0, "common_list": False,
           "agreement_date": None, "end_reason": None, "end_reason_text": None,
           "updated_on": None, **changes}  # fmt: skip
    return {"flr_gp_contract": [row], "flr_gp_period": [], "flr_list_membership": [], "flr_coop_municipality": [],
            "flr_out_of_office": []}  # fmt: skip


def at(day: date) -> Any:
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def test_the_sync_closes_a_period_and_opens_one_when_a_lists_terms_change(empty_database_url: str) -> None:
    upgrade(Settings(database_url=empty_database_url))
    engine = create_engine(empty_database_url)

    def apply(**changes: Any) -> list[tuple[Any, ...]]:
        with engine.begin() as conn:
            apply_contracts(conn, [contract(**changes)])
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT valid_from, valid_to, max_patients, is_open, fixed_salary FROM flr_gp_contract_terms "
                "WHERE contract_id = 77 ORDER BY valid_from"))]  # fmt: skip

    def day(value: Any) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    def rows(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:  # SQLite gives dates as text, 0/1 as booleans
        return [(day(f), day(t) if t is not None else None, m, bool(o), bool(s)) for f, t, m, o, s in found]

    try:
        first = date(2015, 1, 1)
        assert rows(apply(updated_on=at(date(2020, 1, 1)))) == [(first, None, 1000, True, False)]
        assert rows(apply(updated_on=at(date(2021, 1, 1)))) == [(first, None, 1000, True, False)]  # no change
        raised = date(2024, 3, 5)
        assert rows(apply(max_patients=1200, updated_on=at(raised))) == [
            (first, raised, 1000, True, False), (raised, None, 1200, True, False)]  # fmt: skip
        # Changed again the day its period began: the period takes the new values.
        assert rows(apply(max_patients=1200, is_open=False, updated_on=at(raised))) == [
            (first, raised, 1000, True, False), (raised, None, 1200, False, False)]  # fmt: skip
        # No UpdatedOn: the change is dated the day the sync sees it.
        today = oslo_today()
        assert rows(apply(max_patients=1200, is_open=False, fixed_salary=True)) == [
            (first, raised, 1000, True, False), (raised, today, 1200, False, False),
            (today, None, 1200, False, True)]  # fmt: skip
        # The contract ends: so does its latest period.
        ended = today + timedelta(days=30)
        assert rows(apply(max_patients=1200, is_open=False, fixed_salary=True, valid_to=ended))[-1] == (
            today, ended, 1200, False, True)  # fmt: skip
    finally:
        engine.dispose()


def test_the_generated_nation_has_lists_whose_terms_changed() -> None:
    world = generate(50_000, 7)
    contracts = {r[0]: r for r in world.tables["flr_gp_contract"].rows}
    periods: dict[int, list[tuple[Any, ...]]] = {}
    for row in world.tables["flr_gp_contract_terms"].rows:
        periods.setdefault(row[0], []).append(row)
    assert set(periods) == set(contracts)
    changed = [c for c, found in periods.items() if len(found) > 1]
    assert len(changed) >= 3, len(changed)
    for contract_id, found in periods.items():
        c = contracts[contract_id]
        assert found[0][1] == c[7]  # from the contract's first day
        assert found[-1][2] == c[8]  # to its last
        assert found[-1][3:] == (c[4], c[5], c[6])  # the latest period holds the contract's values of today
        for earlier, later in pairwise(found):
            assert earlier[2] == later[1]  # contiguous, half-open
            assert earlier[1] < later[1]  # in order
            assert earlier[3:] != later[3:]


def _history(nation) -> tuple[Any, Any]:
    """Give a list of the nation a past: until CHANGED another listetak, open status and fixed salary."""
    [row, *_] = db_rows(nation, f"SELECT c.id, c.municipality_code, t.valid_from, t.max_patients, t.is_open, "
                        f"t.fixed_salary FROM flr_gp_contract c JOIN flr_gp_contract_terms t ON t.contract_id = c.id "
                        f"WHERE {ON.replace('valid_', 'c.valid_')} AND t.valid_to IS NULL ORDER BY c.id",
                        on=PAST.isoformat())  # fmt: skip
    assert date.fromisoformat(str(row.valid_from)) < PAST
    earlier = (row.max_patients - 100, not row.is_open, not row.fixed_salary)
    db_execute(nation, f"UPDATE flr_gp_contract_terms SET valid_from = '{CHANGED.isoformat()}' WHERE contract_id = "
               f"{row.id} AND valid_to IS NULL")  # fmt: skip
    db_execute(nation, "INSERT INTO flr_gp_contract_terms (contract_id, valid_from, valid_to, max_patients, is_open, "
               f"fixed_salary) VALUES ({row.id}, '{row.valid_from}', '{CHANGED.isoformat()}', {earlier[0]}, "
               f"{'TRUE' if earlier[1] else 'FALSE'}, {'TRUE' if earlier[2] else 'FALSE'})")  # fmt: skip
    return row, earlier


def _undo(nation, row) -> None:
    db_execute(nation, f"DELETE FROM flr_gp_contract_terms WHERE contract_id = {row.id} AND valid_to IS NOT NULL")
    db_execute(nation, f"UPDATE flr_gp_contract_terms SET valid_from = '{row.valid_from}' WHERE contract_id = {row.id}")


async def _table(graph, nation, measures: list[str], by: list[str], on: date | None) -> dict:
    data = await graph.data(TABLE, {"m": measures, "by": by, "at": on.isoformat() if on else None},
                            token=token(nation, "analyst"))  # fmt: skip
    return {tuple(k["code"] for k in r["key"]): {v["measure"]: v["value"] for v in r["values"]}
            for r in data["statistics"]["table"]["rows"]}  # fmt: skip


async def test_past_tables_and_contracts_read_the_terms_valid_then(graph, nation) -> None:
    """A list whose listetak, open status and fixed salary changed after a past quarter end: that date's
    OPEN_LISTS, CAPACITY, FIXED_SALARY rows, free places and listed persons by fixed salary, SSB 12005 and
    the contract asked `at` it give the old values (first asked after the change, too); today's the new."""
    measures = ["LISTS", "OPEN_LISTS", "CAPACITY"]
    before = {on: await _table(graph, nation, measures, ["FIXED_SALARY"], on) for on in (PAST, None)}
    persons_before = await _table(graph, nation, ["LISTED_PERSONS", "FREE_PLACES"], ["FIXED_SALARY"], PAST)
    row, (max_patients, is_open, fixed_salary) = _history(nation)
    try:
        past = await _table(graph, nation, measures, ["FIXED_SALARY"], PAST)
        now = await _table(graph, nation, measures, ["FIXED_SALARY"], None)
        persons_past = await _table(graph, nation, ["LISTED_PERSONS", "FREE_PLACES"], ["FIXED_SALARY"], PAST)
        ssb = {r["code"]: r for r in (await graph.data(SSB, {"at": PAST.isoformat()}, token=token(nation, "analyst")))
               ["statistics"]["ssb12005"]}  # fmt: skip
        ssb_before = db_rows(nation, f"SELECT count(*) AS n FROM flr_gp_contract WHERE municipality_code = :m AND "
                             f"{ON} AND is_open = :t", m=row.municipality_code, on=PAST.isoformat(),
                             t=True)[0].n  # fmt: skip
        contracts = (await graph.data(CONTRACTS, {"m": row.municipality_code, "at": PAST.isoformat()}))["gpContracts"]
        today = (await graph.data(CONTRACTS, {"m": row.municipality_code}))["gpContracts"]
        opened = await graph.data(CONTRACTS, {"m": row.municipality_code, "at": PAST.isoformat(), "open": True})
        one = await graph.data("query($id: ID!, $at: Date) { gpContract(id: $id) { maxPatients "
                               "placesAvailable(at: $at) listSize(at: $at) } }",
                               {"id": str(row.id), "at": PAST.isoformat()})  # fmt: skip
    finally:
        _undo(nation, row)
    assert now == before[None]  # today's values are today's
    assert past[()]["CAPACITY"] == before[PAST][()]["CAPACITY"] - 100
    assert past[()]["OPEN_LISTS"] == before[PAST][()]["OPEN_LISTS"] + (1 if is_open else -1)
    old, new = ("YES", "NO") if fixed_salary else ("NO", "YES")
    assert past[(old,)]["LISTS"] == before[PAST][(old,)]["LISTS"] + 1
    assert past[(new,)]["LISTS"] == before[PAST][(new,)]["LISTS"] - 1
    # Counts of persons by fixed salary: the list's persons counted where the list then was.
    assert persons_past[()]["LISTED_PERSONS"] == persons_before[()]["LISTED_PERSONS"]
    assert persons_past[(old,)] != persons_before[(old,)]
    assert ssb[row.municipality_code]["openLists"] == ssb_before + (1 if is_open else -1)
    node = next(e["node"] for e in contracts["edges"] if e["node"]["id"] == str(row.id))
    assert (node["maxPatients"], node["isOpen"], node["fixedSalary"]) == (max_patients, is_open, fixed_salary)
    assert node["placesAvailable"] == (max(0, max_patients - one["gpContract"]["listSize"]) if is_open else 0)
    assert one["gpContract"]["placesAvailable"] == node["placesAvailable"]
    assert one["gpContract"]["maxPatients"] == max_patients + 100  # without `at`: today's
    node_today = next(e["node"] for e in today["edges"] if e["node"]["id"] == str(row.id))
    assert (node_today["maxPatients"], node_today["isOpen"]) == (max_patients + 100, not is_open)
    assert (str(row.id) in {e["node"]["id"] for e in opened["gpContracts"]["edges"]}) is is_open
