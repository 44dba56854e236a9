"""Shared state of one generation run: the tables being filled, randomness and id allocators."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from helsegraf.identifiers import make_org_number

# Fastlegeordningen (the GP scheme) started on 1 June 2001; no list is older.
GP_SCHEME_START = date(2001, 6, 1)
# Helseforetaksreformen: the regional and local health trusts date from 1 January 2002.
HEALTH_TRUST_START = date(2002, 1, 1)


@dataclass
class Table:
    """Rows for one database table, in the order of `columns`."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class Serial:
    """A deterministic serial-number allocator with small random gaps, like real registers'."""

    def __init__(self, rng: random.Random, start: int, max_gap: int = 1) -> None:
        self._rng = rng
        self._next = start
        self._max_gap = max_gap

    def take(self) -> int:
        """Return the next number."""
        value = self._next
        self._next += 1 if self._max_gap <= 1 else self._rng.randint(1, self._max_gap)
        return value


class OrgNumbers:
    """Allocates synthetic organisation numbers: valid mod-11, in the 3xx xxx xxx test range."""

    def __init__(self, rng: random.Random, start: int) -> None:
        self._serial = Serial(rng, start=start, max_gap=7)

    def take(self) -> str:
        """Return the next organisation number whose check digit exists."""
        while True:
            number = make_org_number(f"{self._serial.take():08d}")
            if number is not None:
                return number


class WeightedChoice:
    """Draws items by weight in O(log n) per draw (cumulative weights computed once)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def draw(self, rng: random.Random) -> Any:
        """Return one item."""
        return self.items[bisect(self._cum, rng.random() * self._total)]


@dataclass
class World:
    """Everything one run shares between the registers' generators."""

    seed: int
    persons: int
    as_of: date
    tables: dict[str, Table] = field(default_factory=dict)

    def rng(self, purpose: str) -> random.Random:
        """Return a random stream of its own for one purpose, so phases do not disturb each other."""
        return random.Random(f"helsegraf:{self.seed}:{purpose}")

    def table(self, name: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """Start a table and return its row list to append to."""
        self.tables[name] = Table(name, columns)
        return self.tables[name].rows

    def days_before(self, days: int) -> date:
        """Return the date `days` days before the reference date."""
        return self.as_of - timedelta(days=days)


def random_date(rng: random.Random, start: date, end: date) -> date:
    """Return a uniformly drawn date in `[start, end)`; `start` when the span is empty."""
    span = (end - start).days
    return start if span <= 0 else start + timedelta(days=rng.randrange(span))


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts
