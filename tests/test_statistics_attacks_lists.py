"""The attacks by list attributes on a nation with many GP lists per municipality (SQLite and PostgreSQL).

The test nation has about one list per municipality, so a cell split by FIXED_SALARY, OPEN_LIST or
LIST_STATUS is mostly the cell itself beside an empty one. Here the seeded nation (the normal seeding
path, then a fixed rearrangement in SQL) has each of its lists split in twelve over three
municipalities, twelve lists each, of both salary kinds and both open states, with and without a GP,
and five in six memberships removed: small cells whose
records lie on many lists, so the parts of a split are real, different sets of records.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from statistics import mean

import pytest
from sqlalchemy import text

from conftest import _seed, create_postgres_database, db_rows, drop_postgres_database, require_postgres
from test_statistics_attacks import (
    GENDERS,
    GROUPS,
    MOST_HITS,
    QUARTER_ENDS,
    SINGLE_DRAW_ERROR,
    cells,
    group_of,
    value,
)
from test_statistics_attacks import (
    test_no_route_recovers_a_small_cell_and_averaging_all_of_them_does_not_pin_it as averaging_attack,
)

AREAS = ("0301", "4601", "5001")  # Oslo, Bergen, Trondheim
COPIES = 12  # each list of the test nation becomes 12: the original (with its GPs) and 11 without a GP
COPY = """INSERT INTO flr_gp_contract (id, office_org_number, municipality_code, district, max_patients, is_open,
  valid_from, valid_to, fixed_salary, status)
  SELECT id + 10 * :k, office_org_number, municipality_code, district, max_patients, :open, valid_from, valid_to,
         :salary, status FROM flr_gp_contract WHERE id % 10 IN (1, 4, 7) AND id < 1000010"""
# Copy k of every list lies in municipality (k + 1) % 3: twelve lists in each, of both kinds and states.
GATHER = """UPDATE flr_gp_contract SET municipality_code = CASE (id / 10) % 3 WHEN 0 THEN '0301'
  WHEN 1 THEN '4601' ELSE '5001' END"""
THIN = "DELETE FROM flr_list_membership WHERE id % 6 <> 0"
SPREAD = "UPDATE flr_list_membership SET contract_id = contract_id + 10 * ((id / 6) % 12)"
LISTED = """SELECT c.municipality_code AS m, c.fixed_salary, c.is_open, p.birth_date, p.gender
  FROM flr_list_membership l JOIN flr_gp_contract c ON c.id = l.contract_id JOIN preg_person p ON p.nin = l.nin
  WHERE l.valid_from <= :on AND (l.valid_to IS NULL OR l.valid_to > :on)
    AND c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on)"""
SPLITS = {"FIXED_SALARY": "fixed_salary", "OPEN_LIST": "is_open"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def many_lists_nation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The seeded test nation with each list split in 12 over three municipalities, 5 in 6 listings removed."""
    home = tmp_path_factory.mktemp("many-lists-nation")
    if request.param == "postgres":
        require_postgres()
        url = create_postgres_database("helsegraf_manylists")
    else:
        url = f"sqlite:///{home / 'nation.db'}"
    seeded = _seed(url, home)
    engine = seeded.engine()
    with engine.begin() as conn:
        ids = [r.id for r in conn.execute(text("SELECT id FROM flr_gp_contract"))]
        assert ids == [1000001, 1000004, 1000007], ids  # the seeded nation's lists, which COPY relies on
        for k in range(1, COPIES):
            conn.execute(text(COPY), {"k": k, "salary": k % 2 == 1, "open": (k // 2) % 2 == 1})
        conn.execute(text(GATHER))
        conn.execute(text(THIN))
        conn.execute(text(SPREAD))
    engine.dispose()
    yield seeded
    if request.param == "postgres":
        drop_postgres_database(url)


@pytest.fixture
def nation(many_lists_nation):
    """The many-lists nation, for conftest's `graph`."""
    return many_lists_nation


def true_split_cells(nation, on: date) -> Counter:
    """(municipality, age group, gender, dimension, YES/NO) -> listed persons, by SQL over the data."""
    found: Counter = Counter()
    for row in db_rows(nation, LISTED, on=on.isoformat()):
        for dimension, column in SPLITS.items():
            flag = "YES" if bool(getattr(row, column)) else "NO"
            found[row.m, group_of(row.birth_date, on), row.gender, dimension, flag] += 1
    return found


def test_the_nation_has_many_lists_of_both_kinds_per_municipality(nation) -> None:
    on = QUARTER_ENDS[-1].isoformat()
    lists = db_rows(nation, "SELECT municipality_code AS m, fixed_salary, is_open FROM flr_gp_contract "
                            "WHERE valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)", on=on)  # fmt: skip
    per_area = Counter(r.m for r in lists)
    assert set(per_area) == set(AREAS)
    assert min(per_area.values()) >= 8, per_area  # many lists in every municipality
    for column in SPLITS.values():
        assert {bool(getattr(r, column)) for r in lists} == {True, False}, column


async def test_averaging_routes_over_splits_by_list_attributes_does_not_pin_a_small_cell(graph, nation) -> None:
    await averaging_attack(graph, nation)


async def test_differencing_by_list_attributes_recovers_no_small_cell(graph, nation) -> None:
    """A part of a split (the cell's persons on fixed-salary lists, say) as the cell minus its other part,
    or the area's part minus the part's other cells; and every route to it averaged."""
    single: list[bool] = []
    hits, errors = [], []
    for on in QUARTER_ENDS[::2]:
        truth = true_split_cells(nation, on)
        fine = await cells(graph, nation, ["MUNICIPALITY", "AGE_GROUP", "GENDER"], on)
        routes: dict[tuple, list[int]] = defaultdict(list)
        for dimension in SPLITS:
            split = await cells(graph, nation, ["MUNICIPALITY", "AGE_GROUP", "GENDER", dimension], on)
            area_split = await cells(graph, nation, ["MUNICIPALITY", dimension], on)
            for m in AREAS:
                for a in GROUPS:
                    for g in GENDERS:
                        for flag, other in (("YES", "NO"), ("NO", "YES")):
                            if truth[m, a, g, dimension, flag] >= 5:  # the threshold
                                continue
                            found = routes[m, a, g, dimension, flag]
                            found.append(value(fine[m, a, g]) - value(split[m, a, g, other]))
                            rest = [(a2, g2) for a2 in GROUPS for g2 in GENDERS if (a2, g2) != (a, g)]
                            found.append(value(area_split[m, flag]) - sum(value(split[m, a2, g2, flag])
                                                                          for a2, g2 in rest))  # fmt: skip
        for cell, estimates in routes.items():
            true = truth[cell]
            single.extend(e == true for e in estimates)
            average = mean(estimates)
            hits.append(round(average) == true)
            errors.append(abs(average - true))
    assert len(hits) >= 20, "too few small parts of splits to attack"
    # No derivation gives a part's true count more often than a coincidence of noise ...
    assert sum(single) / len(single) < MOST_HITS, (sum(single), len(single))
    # ... nor does the average of the routes: no closer than one perturbed count is to the truth.
    assert sum(hits) / len(hits) < MOST_HITS, (sum(hits), len(hits))
    assert mean(errors) >= SINGLE_DRAW_ERROR, mean(errors)
