"""A reference date's counts of persons are published once (stats/published.py), played through HTTP on both backends.

The registers keep validity dates, not registration times: a membership registered after a quarter end
but dated before it (a correction, a late change of GP; a death registered days later ends one) changed
that quarter end's counts when asked again, and the one cell that moved was the changed person's. Each
test here asks by every route before and after such changes, and asserts that nothing a table publishes
for a reference date moves once the date has been published; that the first publication of a date is
of the registers as they are then; that concurrent first requests answer alike; that a rotated secret
publishes anew and leaves no key sums of the old one; and that what is stored is grouped rows, not persons.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from conftest import TODAY, Nation, db_rows, token
from helsegraf.config import Settings
from helsegraf.db import Database
from helsegraf.migrate import upgrade
from helsegraf.stats import published
from helsegraf.stats.disclosure import MAX_NOISE, SECRET_ENV, stats_secret
from helsegraf.stats.engine import reference_date
from test_statistics_fixes import db_execute

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"
# A publication's tables with rows (audit_statistics_published_cell holds those of publications before audit_0006)
WRITTEN = (published.PUBLICATION, published.PUBLISHED_LIST, published.PUBLISHED_PERSONNEL)
PAST = reference_date(TODAY - timedelta(days=200))  # a past quarter end
REF = reference_date(TODAY, TODAY)  # the quarter end today's tables count persons at
TABLE = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $f: StatisticsFilter, $at: Date,
  $total: Boolean! = false) { statistics { table(measures: $m, by: $by, filter: $f, at: $at, total: $total) {
  referenceDate rows { key { code } values { measure value suppressed reason } } } } }"""
PRESETS = """query($at: Date, $m: String, $c: String) { statistics {
  nation: keyFigures(at: $at) { code value suppressed reason }
  county: keyFigures(at: $at, county: $c) { code value suppressed reason }
  municipality: keyFigures(at: $at, municipality: $m) { code value suppressed reason }
  ssb: ssb12005(at: $at) { code lists openLists capacity meanListLength reserveCapacity
    patients { value suppressed } patientsOnListsWithGp { value suppressed } patientsOnListsWithoutGp { value } }
  ages: patientsByAgeGroupAndGender(municipality: $m, at: $at) { ageGroup gender patients { value suppressed } }
  lists: gpListsByMunicipality(at: $at) { municipality { code } patients { value suppressed } } } }"""


def routes(municipality: str, county: str) -> list[dict]:
    """Every way the builder offers to a cell of listed persons: breakdowns, filters, areas, measures, totals."""
    persons = ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP"]
    return [
        {"m": persons, "by": ["MUNICIPALITY", "AGE_GROUP", "GENDER"], "total": True},
        {"m": ["LISTED_PERSONS"], "by": ["COUNTY", "AGE_GROUP"], "total": True},
        {"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP", "GENDER"], "total": True},  # the nation
        {"m": ["LISTED_PERSONS"], "by": ["GENDER"], "f": {"municipalities": [municipality]}},
        {"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP"], "f": {"counties": [county], "genders": ["FEMALE"]}},
        {"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP", "FIXED_SALARY", "LIST_STATUS"], "total": True},
        {"m": ["LISTED_PERSONS"], "by": ["MUNICIPALITY"], "f": {"openList": True}},
        {"m": ["LISTED_PERSONS", "FREE_PLACES"], "by": ["MUNICIPALITY", "OPEN_LIST"], "total": True},
        {"m": ["LISTED_PERSONS"], "f": {"municipalities": [municipality], "ageGroups": ["AGE_30_39"]}},
    ]


async def answers(graph, nation: Nation, at: date | None, municipality: str, county: str) -> list:
    """Every route's answer at a date (None: `at` omitted, today)."""
    analyst = token(nation, "analyst")
    found = []
    for route in routes(municipality, county):
        data = await graph.data(TABLE, {**route, "at": at.isoformat() if at else None}, token=analyst)
        found.append(data["statistics"]["table"])
    presets = {"at": at.isoformat() if at else None, "m": municipality, "c": county}
    found.append(await graph.data(PRESETS, presets, token=analyst))
    return found


def a_list(nation: Nation, on: date) -> tuple[int, str, str]:
    """A list valid at a date, its municipality and county."""
    row = db_rows(
        nation, f"SELECT id, municipality_code FROM flr_gp_contract WHERE {ON} ORDER BY id", on=on.isoformat()
    )[0]
    return row.id, row.municipality_code, {"0301": "03", "4601": "46", "5001": "50"}[row.municipality_code]


def stored(nation: Nation, table: str, on: date) -> int:
    return db_rows(nation, f"SELECT count(*) AS n FROM {table} WHERE reference_date = :on", on=on.isoformat())[0].n


def persons(nation: Nation, on: date) -> list:
    return db_rows(nation, f"SELECT nin, patient_birth_date, patient_gender FROM flr_list_membership WHERE {ON} "
                   "AND patient_birth_date IS NOT NULL ORDER BY id LIMIT 40", on=on.isoformat())  # fmt: skip


def late(first_id: int, contract: int, person, begins: date) -> str:
    """A membership registered now but dated before a reference date (late, or a correction)."""
    return ("INSERT INTO flr_list_membership (id, nin, contract_id, valid_from, patient_birth_date, patient_gender) "
            f"VALUES ({first_id}, '{person.nin}', {contract}, '{begins.isoformat()}', "
            f"'{person.patient_birth_date.isoformat()}', '{person.patient_gender}')")  # fmt: skip


async def test_no_route_to_a_published_reference_date_moves_after_backdated_registrations(graph, nation) -> None:
    """Ask every route (tables by and filtered by area, age, gender and list attributes, the nation and a
    county, the presets) at a past quarter end, a day inside its quarter, today and with `at` omitted;
    then register memberships dated before both reference dates, and end one before them (a death
    registered late); ask again. Every answer is the same: each date was published when first asked."""
    db_execute(nation, "SELECT 1")  # a nation that was always so: nothing published yet
    contract, municipality, county = a_list(nation, PAST)
    dates = [PAST, PAST + timedelta(days=10), TODAY, None]
    before = [await answers(graph, nation, at, municipality, county) for at in dates]
    assert stored(nation, "audit_statistics_publication", PAST) == 1
    assert stored(nation, "audit_statistics_publication", REF) == 1
    first_id = db_rows(nation, "SELECT max(id) + 9000 AS n FROM flr_list_membership")[0].n
    people = persons(nation, PAST)
    ended = db_rows(nation, f"SELECT id FROM flr_list_membership WHERE {ON} AND valid_to IS NULL ORDER BY id DESC "
                    "LIMIT 1", on=PAST.isoformat())[0].id  # fmt: skip
    try:
        for i, person in enumerate(people[:20]):  # twenty late registrations: their cells would move
            db_execute(nation, late(first_id + i, contract, person, PAST - timedelta(days=30)), republish=False)
        for i, person in enumerate(people[20:30]):  # and some dated inside the current quarter, before REF
            db_execute(nation, late(first_id + 20 + i, contract, person, REF - timedelta(days=3)), republish=False)
        db_execute(nation, f"UPDATE flr_list_membership SET valid_to = '{(PAST - timedelta(days=5)).isoformat()}' "
                   f"WHERE id = {ended}", republish=False)  # fmt: skip
        after = [await answers(graph, nation, at, municipality, county) for at in dates]
    finally:
        db_execute(nation, f"DELETE FROM flr_list_membership WHERE id >= {first_id}")
        db_execute(nation, f"UPDATE flr_list_membership SET valid_to = NULL WHERE id = {ended}")
    for at, old, new in zip(dates, before, after, strict=True):
        assert new == old, at


async def test_a_reference_date_first_asked_after_a_correction_counts_it(graph, nation) -> None:
    """Published once means published from the registers as they are when the date is first asked: a
    correction registered before that counts (and is then kept), like any membership."""
    contract, municipality, _county = a_list(nation, PAST)
    query = {"m": ["LISTED_PERSONS"], "f": {"municipalities": [municipality]}, "at": PAST.isoformat()}
    analyst = token(nation, "analyst")
    db_execute(nation, "SELECT 1")  # nothing published
    true = db_rows(nation, "SELECT count(*) AS n FROM flr_list_membership m JOIN flr_gp_contract c ON c.id = "
                   "m.contract_id WHERE c.municipality_code = :m AND m.valid_from <= :on AND (m.valid_to IS NULL OR "
                   "m.valid_to > :on) AND c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on)",
                   m=municipality, on=PAST.isoformat())[0].n  # fmt: skip
    first_id = db_rows(nation, "SELECT max(id) + 9000 AS n FROM flr_list_membership")[0].n
    people = persons(nation, PAST)
    try:
        for i, person in enumerate(people[:30]):
            db_execute(nation, late(first_id + i, contract, person, PAST - timedelta(days=30)), republish=False)
        cell = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"][0]["values"][0]
    finally:
        db_execute(nation, f"DELETE FROM flr_list_membership WHERE id >= {first_id}")
    assert abs(cell["value"] - (true + 30)) <= MAX_NOISE, (cell, true)


async def test_concurrent_first_requests_answer_from_one_publication(graph, nation) -> None:
    """Several requests for a date not yet published, at once: one publication is stored, and every
    request answers what a later request (reading it) answers."""
    _contract, municipality, county = a_list(nation, PAST)
    db_execute(nation, "SELECT 1")  # nothing published
    analyst = token(nation, "analyst")
    asked = [{**route, "at": PAST.isoformat()} for route in routes(municipality, county)]
    first = await asyncio.gather(*(graph.data(TABLE, q, token=analyst) for q in asked))
    assert stored(nation, "audit_statistics_publication", PAST) == 1
    again = [await graph.data(TABLE, q, token=analyst) for q in asked]
    assert first == again


async def test_the_loser_of_a_race_to_publish_answers_the_winners_rows(backend: str, tmp_path: Path) -> None:
    """Each contender makes a different scan (the registers moved between them): every one of them
    answers the scan that was stored, and only one is stored."""
    url = f"sqlite:///{tmp_path / 'race.db'}" if backend == "sqlite" else None
    if url is None:
        from conftest import create_postgres_database  # noqa: PLC0415

        url = create_postgres_database("statspast_race")
    settings = Settings(home=tmp_path, database_url=url)
    upgrade(settings)
    db = Database(settings)
    made = []
    everyone_made_theirs = asyncio.Event()  # so that no contender stores its scan before all have read

    async def make() -> published.Scan:
        mine = len(made)
        made.append(mine)
        if len(made) == 6:
            everyone_made_theirs.set()
        await asyncio.wait_for(everyone_made_theirs.wait(), 30)
        await asyncio.sleep(0.02 * (mine % 3))
        return published.Scan([(1, "0301", True, False, 1000 + mine, True)], [(1, "30-39", "FEMALE", 7 + mine, mine)])

    try:
        results = await asyncio.gather(*(published.published(db.for_request(), PAST, "k", make) for _ in range(6)))
        assert len(made) == 6
        assert len({json.dumps(r.lists + r.cells) for r in results}) == 1
        assert results[0] == await published.published(db.for_request(), PAST, "k", make)
        assert len(made) == 6  # read, not made again
    finally:
        await db.dispose()
        if backend == "postgres":
            from conftest import drop_postgres_database  # noqa: PLC0415

            drop_postgres_database(url)


async def test_a_rotated_secret_publishes_anew_and_keeps_no_old_key_sums(graph, nation, monkeypatch) -> None:
    """Stored key sums are of one secret: after a rotation the date is published anew (with the
    registers as they are then), and every publication of the old secret is deleted with it."""
    _contract, municipality, _county = a_list(nation, PAST)
    query = {"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP", "GENDER"], "f": {"municipalities": [municipality]},
             "at": PAST.isoformat()}  # fmt: skip
    analyst = token(nation, "analyst")
    await graph.data(TABLE, query, token=analyst)
    old = published.key_identity(stats_secret(nation.settings.home))
    assert db_rows(nation, "SELECT DISTINCT key_id FROM audit_statistics_publication")[0].key_id == old
    with monkeypatch.context() as rotated:
        rotated.setenv(SECRET_ENV, "a rotated statistics secret, " + os.urandom(8).hex())
        new = published.key_identity(stats_secret(nation.settings.home))
        assert new != old
        await graph.data(TABLE, query, token=analyst)
    for table in WRITTEN:
        assert {r.key_id for r in db_rows(nation, f"SELECT DISTINCT key_id FROM {table.name}")} == {new}, table.name
    await graph.data(TABLE, query, token=analyst)  # the nation's own secret again: published anew under it
    assert {r.key_id for r in db_rows(nation, "SELECT DISTINCT key_id FROM audit_statistics_publication")} == {old}


def stored_groups(nation: Nation, on: date) -> list[tuple[int, str, str, int, int]]:
    """The grouped rows of a date's publication: (list, age group, gender, persons, key sum), as stored."""
    found = []
    for row in db_rows(nation, "SELECT contract_id, groups FROM audit_statistics_published_list WHERE reference_date "
                       "= :on", on=on.isoformat()):  # fmt: skip
        for group in row.groups.split(";") if row.groups else ():
            age, gender, persons, key_sum = group.split(",")
            found.append((row.contract_id, age, gender, int(persons), int(key_sum)))
    return found


async def test_a_publication_is_grouped_rows_not_persons(graph, nation) -> None:
    """What is stored of a date is a row per list, holding at most its age groups x genders grouped rows
    (with an unknown age group or gender as one more value each), never anything per person; key sums
    are kept modulo 256."""
    db_execute(nation, "SELECT 1")
    await graph.data(TABLE, {"m": ["LISTED_PERSONS"], "at": PAST.isoformat()}, token=token(nation, "analyst"))
    lists = stored(nation, "audit_statistics_published_list", PAST)
    cells = stored_groups(nation, PAST)
    listed = db_rows(nation, f"SELECT count(*) AS n FROM flr_list_membership WHERE {ON}", on=PAST.isoformat())[0].n
    assert lists == len(db_rows(nation, f"SELECT id FROM flr_gp_contract WHERE {ON}", on=PAST.isoformat()))
    assert 0 < len(cells) <= lists * 11 * 3
    assert len({(c, a, g) for c, a, g, _n, _k in cells}) == len(cells)
    assert {a for _c, a, _g, _n, _k in cells} <= {"0-5", "6-15", "16-19", "20-29", "30-39", "40-49", "50-59", "60-69",
                                                  "70-79", "80+", ""}  # fmt: skip
    assert {g for _c, _a, g, _n, _k in cells} <= {"FEMALE", "MALE", ""}
    assert sum(n for _c, _a, _g, n, _k in cells) == listed > 10 * len(cells)
    assert all(0 <= k < 256 for _c, _a, _g, _n, k in cells)  # the cell keys' range
    assert stored(nation, "audit_statistics_published_cell", PAST) == 0  # (the rows of publications before audit_0006)


async def test_a_publication_stored_with_a_row_per_group_reads_as_it_was(graph, nation) -> None:
    """A publication stored before audit_0006 kept a row per group (audit_statistics_published_cell) and no
    `groups` on its lists: its tables read those rows, and answer as before; late memberships move nothing."""
    _contract, municipality, county = a_list(nation, PAST)
    db_execute(nation, "SELECT 1")
    before = await answers(graph, nation, PAST, municipality, county)
    key_id = db_rows(nation, "SELECT key_id FROM audit_statistics_publication")[0].key_id
    rows = ", ".join(f"('{PAST.isoformat()}', '{key_id}', {c}, '{a}', '{g}', {n}, {k})"
                     for c, a, g, n, k in stored_groups(nation, PAST))  # fmt: skip
    db_execute(nation, "INSERT INTO audit_statistics_published_cell (reference_date, key_id, contract_id, age_group, "
               f"gender, persons, key_sum) VALUES {rows}", republish=False)  # fmt: skip
    db_execute(nation, "UPDATE audit_statistics_published_list SET groups = NULL", republish=False)
    contract, _municipality, _county = a_list(nation, PAST)
    first_id = db_rows(nation, "SELECT max(id) + 9000 AS n FROM flr_list_membership")[0].n
    try:
        for i, person in enumerate(persons(nation, PAST)[:10]):
            db_execute(nation, late(first_id + i, contract, person, PAST - timedelta(days=30)), republish=False)
        assert await answers(graph, nation, PAST, municipality, county) == before
    finally:
        db_execute(nation, f"DELETE FROM flr_list_membership WHERE id >= {first_id}")


@pytest.mark.parametrize("at_today", [True, False])
async def test_public_counts_are_read_at_the_date_and_persons_at_the_publication(graph, nation, at_today) -> None:
    """Counts of lists are public and exact at `at`, read from the registers each time: a list added
    today, valid from a past date, counts in that date's LISTS; the persons on it count only where the
    date was not published before."""
    contract, _municipality, _county = a_list(nation, PAST)
    on = REF if at_today else PAST
    analyst = token(nation, "analyst")
    query = {"m": ["LISTS", "LISTED_PERSONS"], "at": on.isoformat()}
    db_execute(nation, "SELECT 1")
    before = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"][0]["values"]
    copy = contract + 900_000
    columns = (
        "office_org_number, municipality_code, district, max_patients, is_open, fixed_salary, valid_from, valid_to"
    )
    try:
        db_execute(nation, f"INSERT INTO flr_gp_contract (id, {columns}) SELECT {copy}, {columns} "
                   f"FROM flr_gp_contract WHERE id = {contract}", republish=False)  # fmt: skip
        after = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"][0]["values"]
    finally:
        db_execute(nation, f"DELETE FROM flr_gp_contract WHERE id = {copy}")
    assert after[0]["value"] == before[0]["value"] + 1  # LISTS, exact and live
    assert after[1] == before[1]  # LISTED_PERSONS, as published


async def test_a_reference_date_can_be_published_ahead_from_the_command_line(graph, nation) -> None:
    """`helsegraf publish-statistics --at D` stores D's reference date as the first table would (tables of it
    then read it; asked again, it stays as it is); a date after today or not a date is refused, naming --at."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from helsegraf.cli import app  # noqa: PLC0415

    db_execute(nation, "SELECT 1")
    runner = CliRunner()
    url = nation.settings.effective_database_url
    done = await asyncio.to_thread(runner.invoke, app, ["publish-statistics", "--at", PAST.isoformat(),
                                                        "--database-url", url])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"{PAST.isoformat()} is published" in done.output
    assert stored(nation, "audit_statistics_publication", PAST) == 1
    published_at = db_rows(nation, "SELECT published_at FROM audit_statistics_publication")[0].published_at
    query = {"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP"], "at": (PAST + timedelta(days=3)).isoformat()}
    body = await graph.query(TABLE, query, token=token(nation, "analyst"))
    assert body["data"]["statistics"]["table"]["referenceDate"] == PAST.isoformat()
    assert body["extensions"]["sql"]["statements"] == 3  # the publication: its row and its lists; the query log
    again = await asyncio.to_thread(runner.invoke, app, ["publish-statistics", "--at", PAST.isoformat(),
                                                         "--database-url", url])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert db_rows(nation, "SELECT published_at FROM audit_statistics_publication")[0].published_at == published_at
    for bad in ((TODAY + timedelta(days=1)).isoformat(), "2025-13-01"):
        refused = await asyncio.to_thread(
            runner.invoke, app, ["publish-statistics", "--at", bad, "--database-url", url]
        )
        assert refused.exit_code != 0
        assert "--at" in refused.output
        assert "Traceback" not in refused.output


# --- health personnel (HPR), published with the date's listed persons ------------------------------

PERSONNEL_ROUTES = [
    {"m": ["HEALTH_PERSONNEL"], "by": ["HEALTH_PERSONNEL_CATEGORY"], "total": True},
    {"m": ["HEALTH_PERSONNEL"]},  # every category together: a cell of its own
    {"m": ["HEALTH_PERSONNEL"], "f": {"categories": ["LE"]}},
    {"m": ["HEALTH_PERSONNEL"], "by": ["HEALTH_PERSONNEL_CATEGORY"], "f": {"categories": ["SP"]}},
    {"m": ["HEALTH_PERSONNEL", "LISTED_PERSONS", "LISTS", "GPS", "FREE_PLACES"]},  # FLR's and HPR's measures
]
BY_CATEGORY = """query($at: Date) { statistics { healthPersonnelByCategory(at: $at) { category { code }
  personnel { value suppressed referenceDate } } } }"""
APPROVAL = ('INSERT INTO hpr_approval (id, hpr_number, category, "authorization", valid_from, valid_to) VALUES '
            "({id}, {hpr}, '{category}', '1', '{begins}', NULL)")  # fmt: skip


async def personnel_answers(graph, nation: Nation, at: date | None, routes: list[dict] | None = None) -> list:
    """Every route to health personnel at a date (None: `at` omitted), the builder's and the preset's."""
    analyst = token(nation, "analyst")
    at_ = at.isoformat() if at else None
    found = [(await graph.data(TABLE, {**r, "at": at_}, token=analyst))["statistics"]["table"]
             for r in routes or PERSONNEL_ROUTES]  # fmt: skip
    found.append(await graph.data(BY_CATEGORY, {"at": at_}, token=analyst))
    return found


def approved(nation: Nation, on: date, category: str | None = None) -> int:
    """Distinct persons with an approval valid at a date (of one category, or any), by SQL."""
    where = f"{ON} AND category = :c" if category else ON
    return db_rows(nation, f"SELECT count(DISTINCT hpr_number) AS n FROM hpr_approval WHERE {where}",
                   on=on.isoformat(), c=category)[0].n  # fmt: skip


def stored_personnel(nation: Nation, on: date) -> dict[str, int]:
    rows = db_rows(nation, "SELECT category, persons FROM audit_statistics_published_personnel WHERE reference_date "
                   "= :on", on=on.isoformat())  # fmt: skip
    return {r.category: r.persons for r in rows}


class Hpr:
    """Backdated changes to HPR (registered now, dated before a reference date), undone afterwards."""

    def __init__(self, nation: Nation) -> None:
        self.nation = nation
        top = db_rows(nation, "SELECT max(id) AS i FROM hpr_approval")[0].i
        self.first_approval = top + 50_000
        self.first_person = db_rows(nation, "SELECT max(hpr_number) AS n FROM hpr_person")[0].n + 50_000
        self.approvals, self.persons, self.ended = 0, 0, []

    def new_person(self) -> int:
        """A health worker new to HPR (synthetic, no nin)."""
        number = self.first_person + self.persons
        self.persons += 1
        db_execute(self.nation, "INSERT INTO hpr_person (hpr_number, given_name, family_name, birth_date, lacks_nin) "
                   f"VALUES ({number}, 'Test', 'Person', '1980-01-01', true)", republish=False)  # fmt: skip
        return number

    def approve(self, hpr: int, category: str, begins: date) -> None:
        db_execute(self.nation, APPROVAL.format(id=self.first_approval + self.approvals, hpr=hpr, category=category,
                                                begins=begins.isoformat()), republish=False)  # fmt: skip
        self.approvals += 1

    def end(self, approval: int, ended: date) -> None:
        """An approval withdrawn (ended) with a date before the reference date, registered now."""
        db_execute(self.nation, f"UPDATE hpr_approval SET valid_to = '{ended.isoformat()}', closing_status = '2' "
                   f"WHERE id = {approval}", republish=False)  # fmt: skip
        self.ended.append(approval)

    def undo(self) -> None:
        db_execute(self.nation, f"DELETE FROM hpr_approval WHERE id >= {self.first_approval}", republish=False)
        db_execute(self.nation, f"DELETE FROM hpr_person WHERE hpr_number >= {self.first_person}", republish=False)
        for approval in self.ended:
            db_execute(self.nation, f"UPDATE hpr_approval SET valid_to = NULL, closing_status = NULL WHERE id = "
                       f"{approval}", republish=False)  # fmt: skip


def lone_approvals(nation: Nation, on: date, category: str) -> list:
    """(id, hpr number) of open-ended approvals of a category held at a date by persons with no other approval then."""
    return db_rows(nation, f"SELECT id, hpr_number FROM hpr_approval a WHERE {ON} AND category = :c AND valid_to IS "
                   "NULL AND (SELECT count(*) FROM hpr_approval b WHERE b.hpr_number = a.hpr_number AND "
                   "b.valid_from <= :on AND (b.valid_to IS NULL OR b.valid_to > :on)) = 1 ORDER BY id",
                   on=on.isoformat(), c=category)  # fmt: skip


def other_category(nation: Nation, on: date, hpr: int) -> str:
    """The largest category at a date that this person holds no approval of."""
    rows = db_rows(nation, f"SELECT category, count(*) AS n FROM hpr_approval WHERE {ON} AND category NOT IN "
                   "(SELECT category FROM hpr_approval WHERE hpr_number = :h) GROUP BY category ORDER BY n DESC, "
                   "category", on=on.isoformat(), h=hpr)  # fmt: skip
    return rows[0].category


@pytest.mark.parametrize("change", ["new person, LE", "new person, SP", "another category", "withdrawn"])
async def test_a_backdated_approval_moves_no_published_count_of_health_personnel(graph, nation, change) -> None:
    """The late-membership attack on HPR: an approval registered late, dated before a past quarter end (a
    new health worker's, one more category for someone already approved, or an approval withdrawn with a
    date before it), would move only its category's cell and the total of that date, naming the person's
    category. Asked by every route before and after, at the past date, inside its quarter, today and with
    `at` omitted (today's counts of persons describe the last quarter end, published too): nothing moves,
    three changes over. The true counts did move, and the date published anew counts them."""
    db_execute(nation, "SELECT 1")  # nothing published
    dates = [PAST, PAST + timedelta(days=10), TODAY, None]
    before = [await personnel_answers(graph, nation, at) for at in dates]
    true = {"": approved(nation, PAST), "LE": approved(nation, PAST, "LE")}
    lone = [(r.id, r.hpr_number) for r in lone_approvals(nation, PAST, "LE")[:3]]
    assert len(lone) == 3
    hpr = Hpr(nation)
    try:
        for k, (approval, person) in enumerate(lone):
            if change.startswith("new person"):
                hpr.approve(hpr.new_person(), change[-2:], PAST - timedelta(days=30 + k))
            elif change == "another category":
                hpr.approve(person, other_category(nation, PAST, person), PAST - timedelta(days=30 + k))
            else:
                hpr.end(approval, PAST - timedelta(days=5 + k))
            after = [await personnel_answers(graph, nation, at) for at in dates]
            for at, old, new in zip(dates, before, after, strict=True):
                assert new == old, (change, k, at)
        moved = {"": approved(nation, PAST), "LE": approved(nation, PAST, "LE")}
        expected = {"new person, LE": (3, 3), "new person, SP": (3, 0), "another category": (0, 0),
                    "withdrawn": (-3, -3)}[change]  # fmt: skip
        assert (moved[""] - true[""], moved["LE"] - true["LE"]) == expected  # the registers did change
        db_execute(nation, "SELECT 1")  # published anew: the date now counts the registers as they are
        await personnel_answers(graph, nation, PAST)
        assert {c: stored_personnel(nation, PAST)[c] for c in moved} == moved
    finally:
        hpr.undo()
        db_execute(nation, "SELECT 1")


@pytest.mark.parametrize("first", ["HPR only", "FLR and HPR"])
async def test_a_table_of_health_personnel_publishes_the_whole_date(graph, nation, first) -> None:
    """A date first asked for health personnel alone is published whole (FLR's listed persons with it),
    and a date first asked for listed persons publishes its health personnel: whichever table comes
    first, neither a late membership nor a late approval moves any later table of the date, HPR's alone,
    FLR's alone or the two mixed."""
    db_execute(nation, "SELECT 1")
    hpr_only = [{"m": ["HEALTH_PERSONNEL"], "by": ["HEALTH_PERSONNEL_CATEGORY"], "total": True}]
    flr_only = [{"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP", "GENDER"], "total": True}]
    mixed = [{"m": ["LISTED_PERSONS", "HEALTH_PERSONNEL", "FREE_PLACES", "LISTS"]}]
    asked = hpr_only if first == "HPR only" else mixed
    analyst = token(nation, "analyst")

    async def ask(routes: list[dict]) -> list:
        return [(await graph.data(TABLE, {**r, "at": PAST.isoformat()}, token=analyst))["statistics"]["table"]
                for r in routes]  # fmt: skip

    first_answer = await ask(asked)
    assert stored(nation, "audit_statistics_publication", PAST) == 1
    assert stored_groups(nation, PAST)
    assert published.ANY_CATEGORY in stored_personnel(nation, PAST)
    before = {"hpr": await ask(hpr_only), "flr": await ask(flr_only), "mixed": await ask(mixed)}
    assert first_answer == before["hpr" if first == "HPR only" else "mixed"]
    contract, _municipality, _county = a_list(nation, PAST)
    first_id = db_rows(nation, "SELECT max(id) + 9000 AS n FROM flr_list_membership")[0].n
    hpr = Hpr(nation)
    try:
        for i, person in enumerate(persons(nation, PAST)[:10]):
            db_execute(nation, late(first_id + i, contract, person, PAST - timedelta(days=30)), republish=False)
        for _ in range(5):
            hpr.approve(hpr.new_person(), "SP", PAST - timedelta(days=20))
        assert {"hpr": await ask(hpr_only), "flr": await ask(flr_only), "mixed": await ask(mixed)} == before
    finally:
        db_execute(nation, f"DELETE FROM flr_list_membership WHERE id >= {first_id}")
        hpr.undo()
        db_execute(nation, "SELECT 1")


async def test_health_personnel_published_ahead_from_the_command_line_stay_as_published(graph, nation) -> None:
    """`helsegraf publish-statistics --at D` stores D's health personnel with its listed persons (exactly
    HPR's counts then, per category and all together); approvals registered afterwards, dated before D,
    move no table of D."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from helsegraf.cli import app  # noqa: PLC0415

    db_execute(nation, "SELECT 1")
    true = {"": approved(nation, PAST), "LE": approved(nation, PAST, "LE"), "SP": approved(nation, PAST, "SP")}
    url = nation.settings.effective_database_url
    done = await asyncio.to_thread(CliRunner().invoke, app, ["publish-statistics", "--at", PAST.isoformat(),
                                                             "--database-url", url])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "health personnel in" in " ".join(done.output.split())
    kept = stored_personnel(nation, PAST)
    assert {c: kept[c] for c in true} == true
    hpr = Hpr(nation)
    try:
        for category in ("LE", "LE", "SP"):
            hpr.approve(hpr.new_person(), category, PAST - timedelta(days=40))
        changed = await personnel_answers(graph, nation, PAST)
        assert approved(nation, PAST, "LE") == true["LE"] + 2
    finally:
        hpr.undo()
    assert await personnel_answers(graph, nation, PAST) == changed  # as published, before and after the undo
    assert stored_personnel(nation, PAST) == kept
    db_execute(nation, "SELECT 1")


async def test_a_rotated_secret_publishes_health_personnel_anew(graph, nation, monkeypatch) -> None:
    """Health personnel's key sums are of one secret too: after a rotation the date's health personnel are
    published anew with its listed persons, from HPR as it is then (a late approval counted), and no row
    of the old secret's stays; back on the old secret, the date is published anew under it."""
    db_execute(nation, "SELECT 1")
    query = {"m": ["HEALTH_PERSONNEL"], "by": ["HEALTH_PERSONNEL_CATEGORY"], "at": PAST.isoformat(), "total": True}
    analyst = token(nation, "analyst")
    await graph.data(TABLE, query, token=analyst)
    old = published.key_identity(stats_secret(nation.settings.home))
    kept = stored_personnel(nation, PAST)
    hpr = Hpr(nation)
    try:
        hpr.approve(hpr.new_person(), "SP", PAST - timedelta(days=40))
        with monkeypatch.context() as rotated:
            rotated.setenv(SECRET_ENV, "a rotated statistics secret, " + os.urandom(8).hex())
            new = published.key_identity(stats_secret(nation.settings.home))
            await graph.data(TABLE, query, token=analyst)
        for table in WRITTEN:
            assert {r.key_id for r in db_rows(nation, f"SELECT DISTINCT key_id FROM {table.name}")} == {new}, table.name
        assert stored_personnel(nation, PAST) == {**kept, "SP": kept["SP"] + 1, "": kept[""] + 1}
        await graph.data(TABLE, query, token=analyst)
        for table in WRITTEN:
            assert {r.key_id for r in db_rows(nation, f"SELECT DISTINCT key_id FROM {table.name}")} == {old}, table.name
    finally:
        hpr.undo()
        db_execute(nation, "SELECT 1")


async def test_a_publication_stored_before_health_personnel_were_kept_publishes_them_once(graph, nation) -> None:
    """A publication stored before migration audit_0006 holds no health personnel: the first tables to need
    them (several at once) publish them once, into that publication, and a later approval dated before the
    date moves nothing; its listed persons stay as they were published."""
    db_execute(nation, "SELECT 1")
    analyst = token(nation, "analyst")
    flr = {"m": ["LISTED_PERSONS"], "by": ["GENDER"], "at": PAST.isoformat()}
    listed = await graph.data(TABLE, flr, token=analyst)
    db_execute(nation, "DELETE FROM audit_statistics_published_personnel", republish=False)  # as before audit_0006
    assert stored_personnel(nation, PAST) == {}
    first = await asyncio.gather(*(personnel_answers(graph, nation, PAST) for _ in range(4)))
    assert all(answer == first[0] for answer in first)
    assert stored_personnel(nation, PAST)[published.ANY_CATEGORY] == approved(nation, PAST)
    assert stored(nation, "audit_statistics_publication", PAST) == 1
    hpr = Hpr(nation)
    try:
        hpr.approve(hpr.new_person(), "LE", PAST - timedelta(days=40))
        assert await personnel_answers(graph, nation, PAST) == first[0]
        assert await graph.data(TABLE, flr, token=analyst) == listed
    finally:
        hpr.undo()
        db_execute(nation, "SELECT 1")


async def test_health_personnel_of_a_publication_are_grouped_rows_of_categories(graph, nation) -> None:
    """What is stored of HPR is a row per category with persons and one for every category together (each
    person once), exact at the reference date, key sums modulo 256; never a row per person."""
    db_execute(nation, "SELECT 1")
    await graph.data(TABLE, {"m": ["HEALTH_PERSONNEL"], "at": PAST.isoformat()}, token=token(nation, "analyst"))
    rows = db_rows(nation, "SELECT category, persons, key_sum FROM audit_statistics_published_personnel WHERE "
                   "reference_date = :on", on=PAST.isoformat())  # fmt: skip
    grouped = db_rows(nation, f"SELECT category, count(DISTINCT hpr_number) AS n FROM hpr_approval WHERE {ON} "
                      "GROUP BY category", on=PAST.isoformat())  # fmt: skip
    by_sql = {r.category: r.n for r in grouped}
    assert {r.category: r.persons for r in rows if r.category} == by_sql
    assert {r.persons for r in rows if not r.category} == {approved(nation, PAST)}
    assert approved(nation, PAST) <= sum(by_sql.values())
    assert all(0 <= r.key_sum < 256 for r in rows)
    assert len(rows) == len(by_sql) + 1


# --- published by the server itself -----------------------------------------------------------------


@pytest.mark.parametrize("after_days", [0, None, "too early"])
async def test_a_server_publishes_the_current_reference_date_by_itself(nation, after_days) -> None:
    """A server serving `statistics` publishes the last quarter end before today when it starts (and hourly),
    once HELSEGRAF_STATS_PUBLISH_AFTER_DAYS days old: an analyst's first table of it then reads the stored
    publication (listed persons and health personnel). Off, or too early, it publishes nothing."""
    from dataclasses import replace  # noqa: PLC0415

    from helsegraf.http.app import create_app  # noqa: PLC0415

    db_execute(nation, "SELECT 1")
    days = (TODAY - REF).days + 1 if after_days == "too early" else after_days
    app = create_app(replace(nation.settings, debug=True, stats_publish_after_days=days))
    try:
        async with app.router.lifespan_context(app):
            for _ in range(600):
                if stored(nation, "audit_statistics_publication", REF) and stored_personnel(nation, REF):
                    break
                await asyncio.sleep(0.1 if days == 0 else 0.01)
            if days != 0:
                await asyncio.sleep(1.0)  # it would have published at start
            published_ref = stored(nation, "audit_statistics_publication", REF)
            transport = httpx.ASGITransport(app=app)
            analyst = {"authorization": f"Bearer {token(nation, 'analyst')}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                body = (await client.post("/graphql", json={"query": TABLE, "variables": {"m": ["LISTED_PERSONS"]}},
                                          headers=analyst)).json()  # fmt: skip
    finally:
        await app.state.db.dispose()
        db_execute(nation, "SELECT 1")
    assert body["data"]["statistics"]["table"]["referenceDate"] == REF.isoformat()
    if days == 0:
        assert published_ref == 1
        assert body["extensions"]["sql"]["statements"] == 3  # read: the publication's row, its lists; the query log
    else:
        assert published_ref == 0
        assert body["extensions"]["sql"]["statements"] > 3  # the table published the date itself


def test_the_days_after_a_quarter_end_to_publish_it_are_read_from_the_environment() -> None:
    """HELSEGRAF_STATS_PUBLISH_AFTER_DAYS: a number of days (default 7), or off; anything else is refused, named."""
    assert Settings.from_env({}).stats_publish_after_days == 7
    assert Settings.from_env({"HELSEGRAF_STATS_PUBLISH_AFTER_DAYS": "0"}).stats_publish_after_days == 0
    assert Settings.from_env({"HELSEGRAF_STATS_PUBLISH_AFTER_DAYS": "off"}).stats_publish_after_days is None
    with pytest.raises(ValueError, match="HELSEGRAF_STATS_PUBLISH_AFTER_DAYS"):
        Settings.from_env({"HELSEGRAF_STATS_PUBLISH_AFTER_DAYS": "-1"})
