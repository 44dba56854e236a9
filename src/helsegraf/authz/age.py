"""Ages in completed years, the one rule behind "a child under 16" and every age group.

A person has completed `years` years on their birthday in the year `birth.year + years`. Someone born
on 29 February completes a year on 1 March in a common year (the day after 28 February, as the
calendar has no 29th): the birthday is never taken to be earlier than the day the years are full.
"""

from __future__ import annotations

import calendar
from datetime import date

FEBRUARY, LEAP_DAY = 2, 29


def anniversary(birth: date, years: int) -> date:
    """Return the day on which someone born on `birth` has completed `years` years."""
    year = birth.year + years
    if (birth.month, birth.day) == (FEBRUARY, LEAP_DAY) and not calendar.isleap(year):
        return date(year, 3, 1)
    return birth.replace(year=year)


def age_on(birth: date, on: date) -> int:
    """Return the age in completed years on a date (0 before the first birthday)."""
    years = on.year - birth.year
    return years if on >= anniversary(birth, years) else years - 1


def is_under(birth: date, years: int, on: date) -> bool:
    """Tell whether someone born on `birth` is younger than `years` on `on` (the day of the birthday is not)."""
    return on < anniversary(birth, years)
