"""Disclosure control for counts of persons: the cell key method (ABS TableBuilder, ONS Cantabular).

Every person record has a permanent record key, a pseudo-random number in 0 .. 2^31-1 computed in
SQL from the record's permanent id under the deployment's statistics secret (`record_key`). A cell's
key is the sum of its records' keys modulo 256, so the same set of records always has the same cell
key, whichever query, filter or date reached it, and a cell that differs by one record has an
unrelated key. The perturbation table (`PTABLE`, published in the graph as
`statistics { perturbationTable }`) maps (true count, cell key) to noise in -2 .. +2; the published
value is the true count plus that noise. Published values under 5 are suppressed (empty cells too, so
that "suppressed" does not tell an empty cell from a small one). Totals are cells of their own: they
are counted and perturbed from their own records, never summed from published cells. Because the same
records always give the same value, two cells whose records differ by a small group of lists would be
equal exactly where that group has nobody: the engine withholds such counts (`MIN_GROUP`,
`WITHHELD_SMALL_GROUP`, engine._ListGroups, docs/statistics.md).

Parameters (also in the README): cell keys 0..255; noise -2..+2; for counts of 2 or more the noise is
0 with probability 0.30, +-1 with 0.20 each and +-2 with 0.15 each (mean 0, variance 1.6, mean
|noise| 1.0); a count of 1 has its own row (noise -1..+2) so that no published value is negative and
the mean noise is still 0.

Why a keyed hash written here and not HMAC: the cell key must be summed in SQL over millions of
records on PostgreSQL and SQLite alike, and neither computes HMAC at that speed (SQLite not at all).
The record key is two rounds of multiply-add modulo two different primes with multipliers and
offsets derived from the secret by HMAC-SHA256: without the secret the keys cannot be computed, and
the analyst never sees record ids (they are sealed, authz/opaque.py) nor cell keys.

The secret is `HELSEGRAF_STATS_SECRET`, else a random one kept in `HELSEGRAF_HOME/stats-secret`
(mode 0600, created on first use). Every replica must share it. Rotating it gives every cell new
noise: a table asked before and after can then be averaged over two independent draws, so rotate
only when the secret may have leaked, and never routinely.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from sqlalchemy import BigInteger, ColumnElement, Integer, cast, literal

from helsegraf.authz.opaque import load_secret

THRESHOLD: Final = 5  # published values under this are suppressed
MIN_GROUP: Final = 10  # a group of lists holding 1 .. MIN_GROUP - 1 persons is a small group (engine._ListGroups)
CELL_KEYS: Final = 256  # cell keys are 0 .. CELL_KEYS - 1
MAX_NOISE: Final = 2
SECRET_ENV: Final = "HELSEGRAF_STATS_SECRET"  # noqa: S105 - the variable's name, not a secret
SECRET_FILE: Final = "stats-secret"  # noqa: S105 - the file's name
_P1: Final = 2_147_483_647  # 2^31 - 1
_P2: Final = 2_147_483_629  # the largest prime under 2^31 - 1


def _rows(distribution: list[tuple[int, int]]) -> tuple[tuple[int, int, int], ...]:
    """Lay (noise, share of 256 cell keys) out as (first cell key, last cell key, noise) ranges."""
    rows, start = [], 0
    for noise, width in distribution:
        rows.append((start, start + width - 1, noise))
        start += width
    assert start == CELL_KEYS  # noqa: S101 - a table that does not cover every cell key is a bug
    return tuple(rows)


# The perturbation table: true count (1, 2, and 3 or more) -> cell-key ranges -> noise. Shares are in
# 256ths: for 2 and more, 76 zero (0.30), 52 each of +-1 (0.20), 38 each of +-2 (0.15); mean exactly 0.
# The noise is flat on purpose: two cells that differ by one record get the same noise (and their
# difference is exact) with probability 0.21 only (the sum of the squared shares).
PTABLE: Final[dict[int, tuple[tuple[int, int, int], ...]]] = {
    1: _rows([(-1, 96), (0, 86), (1, 52), (2, 22)]),  # mean (-96 + 52 + 44) / 256 = 0
    2: _rows([(-2, 38), (-1, 52), (0, 76), (1, 52), (2, 38)]),
    3: _rows([(-2, 38), (-1, 52), (0, 76), (1, 52), (2, 38)]),
}


def noise(count: int, cell_key: int) -> int:
    """Return the perturbation table's noise for a true count and a cell key."""
    if count <= 0:
        return 0
    for first, last, value in PTABLE[min(count, 3)]:
        if first <= cell_key % CELL_KEYS <= last:
            return value
    raise AssertionError("unreachable: the table covers every cell key")


@dataclass(frozen=True, slots=True)
class Perturbed:
    """A published count of persons: the perturbed value, or suppressed (why: `reason`)."""

    value: int | None
    suppressed: bool
    small_group: bool = False  # withheld whatever its value: it would single out a small group of lists' persons

    @property
    def reason(self) -> str | None:
        """Return why the value is withheld: SMALL_GROUP, SUPPRESSED (under 5, or empty), or None (published)."""
        if not self.suppressed:
            return None
        return "SMALL_GROUP" if self.small_group else "SUPPRESSED"


WITHHELD_SMALL_GROUP: Final = Perturbed(None, suppressed=True, small_group=True)


def publish(count: int, key_sum: int) -> Perturbed:
    """Perturb a cell of `count` records whose record keys sum to `key_sum`, and suppress it under 5."""
    value = count + noise(count, key_sum % CELL_KEYS)
    return Perturbed(None, suppressed=True) if value < THRESHOLD else Perturbed(value, suppressed=False)


@cache
def _secret(home: str, configured: str | None) -> bytes:
    # Kept as the id secret is (authz/opaque.py), in a file of its own.
    return load_secret(Path(home), configured, SECRET_FILE)


def stats_secret(home: Path) -> bytes:
    """Return this deployment's statistics secret (HELSEGRAF_STATS_SECRET, else HELSEGRAF_HOME/stats-secret)."""
    return _secret(str(home), os.environ.get(SECRET_ENV) or None)


@dataclass(frozen=True, slots=True)
class KeyParameters:
    """The multipliers and offsets of the record-key hash, derived from the secret."""

    a: int
    b: int
    c: int
    d: int

    @classmethod
    def of(cls, secret: bytes, register: str) -> KeyParameters:
        """Derive a register's parameters (each register's records get keys of their own)."""
        digest = hmac.new(secret, f"helsegraf record keys:{register}".encode(), hashlib.sha256).digest()
        a, b, c, d = (int.from_bytes(digest[i : i + 8], "big") for i in range(0, 32, 8))
        return cls(1 + a % (_P1 - 1), b % _P1, 1 + c % (_P2 - 1), d % _P2)

    def sql(self, record_id: Any) -> ColumnElement[int]:
        """Return the record key of `record_id` (a permanent integer id) as a SQL expression.

        Every intermediate stays under 2^62, so neither SQLite (which turns an overflow into a float)
        nor PostgreSQL (which raises) overflows.
        """
        x = cast(record_id, BigInteger) % literal(_P1, BigInteger)
        first = (x * literal(self.a, BigInteger) + literal(self.b, BigInteger)) % literal(_P1, BigInteger)
        second = (first % literal(_P2, BigInteger)) * literal(self.c, BigInteger) + literal(self.d, BigInteger)
        return second % literal(_P2, BigInteger)

    def cell_sql(self, record_id: Any) -> ColumnElement[int]:
        """Return what a record adds to its cell's key (its key modulo 256), as a SQL integer to sum.

        A cell key is the sum of its records' keys modulo 256, so summing each key modulo 256 gives the
        same cell key. Summed as integers, PostgreSQL adds them in a 64-bit state; the sum of the keys
        themselves (bigint) keeps a numeric state per group of a grouped scan, larger in its hash table.
        """
        return cast(self.sql(record_id) % literal(CELL_KEYS, BigInteger), Integer)

    def python(self, record_id: int) -> int:
        """Return the record key of `record_id` (the same function, for tests and documentation)."""
        first = ((record_id % _P1) * self.a + self.b) % _P1
        return ((first % _P2) * self.c + self.d) % _P2
