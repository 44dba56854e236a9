"""Static Norwegian reference data for the synthetic generator.

The CSV files beside this module are committed data, read with ``importlib.resources``
so they work from an installed wheel. Sources and coverage:

* ``municipalities.csv``: all 357 kommuner of 1 January 2024 (after the county split),
  with SSB population counts at 1 January 2024 (they sum to 5 550 203).
* ``postal_places.csv``: real postal codes (Bring's register) for every municipality;
  a sample, not the full register (about 1 900 of some 5 000 codes).
* ``given_names.csv`` / ``family_names.csv``: common names with weights approximating
  SSB name-statistics counts (relative frequency, not exact figures).
* ``street_names.csv``: common, plausible Norwegian street names (not tied to a place).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "Municipality",
    "PostalPlace",
    "family_names",
    "given_names",
    "municipalities",
    "postal_places",
    "street_names",
]


@dataclass(frozen=True, slots=True)
class Municipality:
    """A Norwegian municipality (kommune) with its county and population."""

    code: str
    name: str
    county_code: str
    county_name: str
    population: int


@dataclass(frozen=True, slots=True)
class PostalPlace:
    """A postal code, its postal place, and the municipality it lies in."""

    postal_code: str
    postal_place: str
    municipality_code: str


def _rows(filename: str) -> list[dict[str, str]]:
    """Read a CSV file shipped in this package as a list of dicts."""
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def municipalities() -> tuple[Municipality, ...]:
    """Return all municipalities, ordered by code."""
    return tuple(
        Municipality(
            code=row["code"],
            name=row["name"],
            county_code=row["county_code"],
            county_name=row["county_name"],
            population=int(row["population"]),
        )
        for row in _rows("municipalities.csv")
    )


@cache
def postal_places() -> tuple[PostalPlace, ...]:
    """Return the known postal places, ordered by postal code."""
    return tuple(
        PostalPlace(
            postal_code=row["postal_code"],
            postal_place=row["postal_place"],
            municipality_code=row["municipality_code"],
        )
        for row in _rows("postal_places.csv")
    )


@cache
def given_names() -> tuple[tuple[str, str, float], ...]:
    """Return given names as (name, gender, weight); gender is FEMALE or MALE."""
    return tuple((row["name"], row["gender"], float(row["weight"])) for row in _rows("given_names.csv"))


@cache
def family_names() -> tuple[tuple[str, float], ...]:
    """Return family names as (name, weight)."""
    return tuple((row["name"], float(row["weight"])) for row in _rows("family_names.csv"))


@cache
def street_names() -> tuple[str, ...]:
    """Return plausible Norwegian street names."""
    return tuple(row["name"] for row in _rows("street_names.csv"))
