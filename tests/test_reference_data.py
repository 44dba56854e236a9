"""Sanity checks for the static Norwegian reference data."""

from __future__ import annotations

import re
from collections import Counter

from helsegraf.data import reference


def test_municipality_codes_are_four_digits_and_unique() -> None:
    munis = reference.municipalities()
    codes = [m.code for m in munis]
    assert all(re.fullmatch(r"\d{4}", c) for c in codes)
    assert len(codes) == len(set(codes))
    assert all(m.code[:2] == m.county_code for m in munis)
    assert all(m.name and m.county_name for m in munis)


def test_all_357_municipalities_of_2024() -> None:
    munis = reference.municipalities()
    assert len(munis) == 357
    assert len({m.county_code for m in munis}) == 15
    by_code = {m.code: m.name for m in munis}
    assert by_code["0301"] == "Oslo"
    assert by_code["4601"] == "Bergen"
    assert by_code["5001"] == "Trondheim"
    assert by_code["1103"] == "Stavanger"
    assert by_code["3201"] == "Bærum"
    assert by_code["3203"] == "Asker"
    assert by_code["3205"] == "Lillestrøm"
    assert by_code["5501"] == "Tromsø"
    assert by_code["1508"] == "Ålesund"
    assert by_code["1580"] == "Haram"
    assert by_code["1577"] == "Volda"


def test_population_sum_is_plausible() -> None:
    munis = reference.municipalities()
    total = sum(m.population for m in munis)
    assert 5_300_000 <= total <= 5_700_000
    assert all(m.population > 0 for m in munis)
    top100 = sorted((m.population for m in munis), reverse=True)[:100]
    assert sum(top100) > 3_800_000


def test_postal_places_reference_known_municipalities() -> None:
    codes = {m.code for m in reference.municipalities()}
    places = reference.postal_places()
    assert places
    assert all(re.fullmatch(r"\d{4}", p.postal_code) for p in places)
    assert len({p.postal_code for p in places}) == len(places)
    assert all(p.municipality_code in codes for p in places)
    assert all(p.postal_place for p in places)
    per_muni = Counter(p.municipality_code for p in places)
    assert set(per_muni) == codes
    assert per_muni["0301"] >= 40
    assert per_muni["4601"] >= 15
    assert per_muni["5001"] >= 10
    assert per_muni["1103"] >= 8


def test_given_names() -> None:
    names = reference.given_names()
    assert all(name.strip() == name and name for name, _, _ in names)
    assert all(gender in {"FEMALE", "MALE"} for _, gender, _ in names)
    assert all(weight > 0 for _, _, weight in names)
    genders = Counter(gender for _, gender, _ in names)
    assert genders["FEMALE"] >= 100
    assert genders["MALE"] >= 100
    assert len({(n, g) for n, g, _ in names}) == len(names)


def test_family_names() -> None:
    names = reference.family_names()
    assert len(names) >= 250
    assert all(name.strip() == name and name for name, _ in names)
    assert all(weight > 0 for _, weight in names)
    assert len({n for n, _ in names}) == len(names)
    assert "Hansen" in {n for n, _ in names}


def test_street_names() -> None:
    streets = reference.street_names()
    assert len(streets) >= 150
    assert all(s.strip() == s and s for s in streets)
    assert len(set(streets)) == len(streets)


def test_results_are_cached() -> None:
    assert reference.municipalities() is reference.municipalities()
    assert reference.postal_places() is reference.postal_places()
