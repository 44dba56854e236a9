"""Validate and generate Norwegian person and organisation identifiers.

Person identifiers (``DDMMYY III K1 K2``) come in four kinds:

* ``FNR`` fødselsnummer, ``DNR`` D-number (day + 40), ``HNR`` H-number (month + 40),
  ``FHN`` felles hjelpenummer (first digit 8 or 9, no date encoded).
* Skatteetaten/Tenor synthetic test numbers add 80 to the month (``synthetic=True``);
  the offset combines with the D-number day offset but not with the H-number one.

Check digits.  With ``s1 = 3,7,6,1,8,9,4,5,2 · d1..i3`` and ``s2 = 5,4,3,2,7,6,5,4,3,2 · d1..K1``:

* classic rule: ``(s1 + K1) mod 11 == 0`` and ``(s2 + K2) mod 11 == 0``, i.e.
  ``K = (11 - s mod 11) mod 11`` with a result of 10 meaning no valid number exists;
* 2032 rule (gender-neutral numbers issued from 2032-01-01, Skatteetaten):
  ``(s1 + K1) mod 11 in {0, 1, 2, 3}`` and still ``(s2 + K2) mod 11 == 0``.

The 2032 rule is a superset of the classic one and is accepted for the Folkeregister kinds
(``FNR`` and ``DNR``, synthetic or not).  ``HNR`` and ``FHN`` are issued by the health
sector with ordinary mod-11 digits and must satisfy the classic rule.  A number that passes
only under the 2032 rule was issued gender-neutrally, so its ``gender`` is ``None``.
Because K2 stays a full mod-11 check whose weights are all non-zero, changing any single
digit still always invalidates a number under either rule.

Error messages never repeat the identifier itself (it is personal data); the rejected
input is available as ``InvalidIdentifierError.value``.
"""

from __future__ import annotations

import calendar
import enum
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.no import orgnr

__all__ = [
    "InvalidIdentifierError",
    "Nin",
    "NinKind",
    "individual_number_range",
    "is_valid_nin",
    "is_valid_org_number",
    "make_nin",
    "make_org_number",
    "nin_check_digits",
    "nin_value",
    "org_check_digit",
    "parse_nin",
    "parse_org_number",
]

Gender = Literal["FEMALE", "MALE"]

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_K1_REMAINDERS_2032 = frozenset({0, 1, 2, 3})
_NIN_LENGTH = 11
_ORG_LENGTH = 9
_DAY_OFFSET = 40
_H_MONTH_OFFSET = 40
_SYNTHETIC_MONTH_OFFSET = 80
_MONTHS = range(1, 13)
_IMPOSSIBLE_DIGIT = 10
_NON_DIGIT = re.compile(r"[^0-9]")
# (III values, birth years they encode) -- DOMAIN.md §3
_CENTURY_RULES = (
    (range(500), range(1900, 2000)),
    (range(500, 750), range(1854, 1900)),
    (range(500, 1000), range(2000, 2040)),
    (range(900, 1000), range(1940, 2000)),
)


class NinKind(enum.StrEnum):
    """Kind of an 11-digit Norwegian person identifier."""

    FNR = "FNR"
    DNR = "DNR"
    HNR = "HNR"
    FHN = "FHN"


class InvalidIdentifierError(ValueError):
    """Carries a human-readable reason in str(e) / .reason and the rejected input in .value."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value


@dataclass(frozen=True, slots=True)
class Nin:
    """Hold a validated 11-digit person identifier and what it encodes."""

    value: str
    kind: NinKind
    synthetic: bool
    birth_date: date | None
    gender: Gender | None


@dataclass(frozen=True, slots=True)
class _Decoded:
    """Hold the kind, offsets and calendar fields read from the first six digits."""

    kind: NinKind
    synthetic: bool
    day: int
    month: int


# ---------------------------------------------------------------------------- helpers


def _weighted_remainder(digits: str, weights: tuple[int, ...]) -> int:
    """Return the weighted digit sum modulo 11 (of digits already checked to be digits)."""
    if not digits.isascii():  # other Unicode digits (full-width, say), which python-stdnum accepts
        digits = "".join(str(int(d)) for d in digits)
    if len(digits) != len(weights):
        msg = f"{len(weights)} digits expected, got {len(digits)}"
        raise ValueError(msg)
    # Weighted sum of the ASCII codes, less what the code of "0" (48) contributed.
    weighted: int = sum(map(operator.mul, weights, digits.encode()))
    return (weighted - ord("0") * sum(weights)) % 11


def _mod11_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """Return the classic mod-11 check digit, or None when it would be 10."""
    digit = (11 - _weighted_remainder(digits, weights)) % 11
    return None if digit == _IMPOSSIBLE_DIGIT else digit


def _require_digits(value: str, length: int, what: str) -> None:
    """Raise unless value is exactly length ASCII digits."""
    if (bad := _NON_DIGIT.search(value)) is not None:
        msg = f"{what} must contain only digits, found {bad.group()!r}"
        raise InvalidIdentifierError(msg)
    if len(value) != length:
        msg = f"{what} must be {length} digits, got {len(value)}"
        raise InvalidIdentifierError(msg)


def _compact_nin(value: str) -> str:
    """Remove all whitespace and at most one '-' separator."""
    compact = "".join(value.split())
    return compact.replace("-", "", 1) if compact.count("-") == 1 else compact


def _today() -> date:
    """Return today's date in Norway."""
    return datetime.now(ZoneInfo("Europe/Oslo")).date()


def _gender(digits: str) -> Gender:
    """Read the gender from the parity of i3 (odd = male)."""
    return "MALE" if int(digits[8]) % 2 else "FEMALE"


def _century_year(yy: int, individual: int) -> int | None:
    """Return the four-digit birth year encoded by YY and III, or None."""
    for span, years in _CENTURY_RULES:
        year = years.start // 100 * 100 + yy
        if individual in span and year in years:
            return year
    return None


def _year_ranges(year: int) -> tuple[range, ...]:
    """Return the III ranges that encode the given birth year."""
    return tuple(span for span, years in _CENTURY_RULES if year in years)


# ----------------------------------------------------------------- person identifiers


def nin_check_digits(first9: str) -> tuple[int, int] | None:
    """Compute (K1, K2) under the classic rule, or None when either would be 10."""
    _require_digits(first9, 9, "the first part")
    k1 = _mod11_digit(first9, _K1_WEIGHTS)
    if k1 is None:
        return None
    k2 = _mod11_digit(f"{first9}{k1}", _K2_WEIGHTS)
    return None if k2 is None else (k1, k2)


def _allowed_2032_k1(first9: str) -> list[int]:
    """List the K1 digits the 2032 rule accepts for these nine digits."""
    s1 = _weighted_remainder(first9, _K1_WEIGHTS)
    return [k for k in range(10) if (s1 + k) % 11 in _K1_REMAINDERS_2032]


def _k1_reason(digits: str, *, allow_2032: bool) -> str:
    """Explain why K1 is wrong, naming the digit(s) that would be accepted."""
    got = digits[9]
    classic = _mod11_digit(digits[:9], _K1_WEIGHTS)
    others = [k for k in _allowed_2032_k1(digits[:9]) if k != classic] if allow_2032 else []
    if classic is None:
        if not others:
            return f"check digit K1 does not match (no valid K1 exists, got {got})"
        listed = ", ".join(map(str, others))
        return f"check digit K1 does not match (expected one of {listed}, got {got})"
    reason = f"check digit K1 does not match (expected {classic}, got {got})"
    if others:
        reason += f"; the 2032 rule would also accept {', '.join(map(str, others))}"
    return reason


def _check_k1(digits: str, *, allow_2032: bool) -> bool:
    """Check K1 and return True when only the 2032 rule accepts it."""
    remainder = _weighted_remainder(digits[:10], (*_K1_WEIGHTS, 1))
    if remainder == 0:
        return False
    if allow_2032 and remainder in _K1_REMAINDERS_2032:
        return True
    raise InvalidIdentifierError(_k1_reason(digits, allow_2032=allow_2032))


def _check_k2(digits: str) -> None:
    """Raise unless K2 is the mod-11 check digit of the first ten digits."""
    expected = _mod11_digit(digits[:10], _K2_WEIGHTS)
    if expected == int(digits[10]):
        return
    wanted = "no valid K2 exists" if expected is None else f"expected {expected}"
    msg = f"check digit K2 does not match ({wanted}, got {digits[10]})"
    raise InvalidIdentifierError(msg)


def _decode_month(digits: str) -> tuple[int, bool, bool]:
    """Return (month, is H-number, is synthetic) from MM, or raise."""
    raw = int(digits[2:4])
    offsets = (
        (0, False, False),
        (_H_MONTH_OFFSET, True, False),
        (_SYNTHETIC_MONTH_OFFSET, False, True),
    )
    for offset, h_number, synthetic in offsets:
        if raw - offset in _MONTHS:
            return raw - offset, h_number, synthetic
    msg = f"month {digits[2:4]} is not a valid month"
    raise InvalidIdentifierError(msg)


def _day_label(digits: str, day: int, *, d_number: bool) -> str:
    """Describe the day for error messages, showing the D-number decoding."""
    return f"day {digits[:2]} (D-number day {day:02d})" if d_number else f"day {digits[:2]}"


def _decode(digits: str) -> _Decoded:
    """Read kind, synthetic flag, day and month from DDMM, or raise."""
    month, h_number, synthetic = _decode_month(digits)
    d_number = digits[0] in "4567"
    day = int(digits[:2]) - (_DAY_OFFSET if d_number else 0)
    if d_number and h_number:
        msg = "a D-number (day + 40) cannot also carry the H-number month offset (+40)"
        raise InvalidIdentifierError(msg)
    if not 1 <= day <= calendar.monthrange(2000, month)[1]:
        label = _day_label(digits, day, d_number=d_number)
        msg = f"{label} is not a valid day for month {month:02d}"
        raise InvalidIdentifierError(msg)
    kind = NinKind.DNR if d_number else NinKind.HNR if h_number else NinKind.FNR
    return _Decoded(kind=kind, synthetic=synthetic, day=day, month=month)


def _birth_date(digits: str, decoded: _Decoded, today: date) -> date:
    """Build the birth date from the decoded fields, YY and III, or raise."""
    year = _century_year(int(digits[4:6]), int(digits[6:9]))
    if year is None:
        msg = f"individual number {digits[6:9]} with year {digits[4:6]} encodes no century"
        raise InvalidIdentifierError(msg)
    if decoded.day > calendar.monthrange(year, decoded.month)[1]:
        label = _day_label(digits, decoded.day, d_number=decoded.kind is NinKind.DNR)
        msg = f"{label} is not a valid day for month {decoded.month:02d} in {year}"
        raise InvalidIdentifierError(msg)
    born = date(year, decoded.month, decoded.day)
    if born > today:
        msg = f"birth date {born.isoformat()} lies in the future"
        raise InvalidIdentifierError(msg)
    return born


def _parse_fh_number(digits: str) -> Nin:
    """Validate an FH-number (classic check digits only, no date)."""
    _check_k1(digits, allow_2032=False)
    _check_k2(digits)
    return Nin(value=digits, kind=NinKind.FHN, synthetic=False, birth_date=None, gender=None)


def parse_nin(value: str, *, today: date | None = None) -> Nin:
    """Parse and validate a person identifier, raising InvalidIdentifierError with a reason."""
    today = _today() if today is None else today
    accepted = _accepted_nin(value, today)
    if accepted is not None:
        kind, synthetic, born, gender = accepted
        return Nin(value=value, kind=kind, synthetic=synthetic, birth_date=born, gender=gender)
    try:
        return _parse_nin(_compact_nin(value), today)
    except InvalidIdentifierError as error:
        error.value = value
        raise


def nin_value(value: str, *, today: date | None = None) -> str:
    """Return a valid person identifier's eleven digits (what `parse_nin(value).value` is), or raise with a reason."""
    if today is not None and _accepted_nin(value, today) is not None:
        return value
    return parse_nin(value, today=today).value


# The check-digit weights over all eleven digits: K1's sum includes K1 itself (weight 1) and not K2
# (weight 0), K2's includes K2 (weight 1); a digit's ASCII code is 48 more than its value.
_K1_ALL = (*_K1_WEIGHTS, 1, 0)
_K2_ALL = (*_K2_WEIGHTS, 1)
_K1_ASCII = ord("0") * sum(_K1_ALL)
_K2_ASCII = ord("0") * sum(_K2_ALL)
_OFFSET_DIGITS = frozenset(b"4567")  # a first digit of DD that is a D-number's, of MM that is an H-number's
_ZERO = ord("0")
_LAST_MONTH = 12


def _accepted_nin(value: str, today: date) -> tuple[NinKind, bool, date, Gender | None] | None:  # noqa: C901, PLR0911 - one rule after another, inline
    """Return (kind, synthetic, birth date, gender) of a compact number `_parse_nin` accepts, else None.

    Callers ask for up to a thousand numbers per request, every one validated: `_parse_nin` checks
    them rule by rule so that it can name the rule a number breaks, which costs many calls per
    number. Here the same rules are tested at once for the usual case (eleven ASCII digits, not an
    FH-number); what this does not accept goes to `_parse_nin`, which accepts it or gives the reason
    (tests/test_identifiers.py checks that the two agree).
    """
    if len(value) != _NIN_LENGTH or not value.isascii() or not value.isdigit():
        return None
    b = value.encode()
    if b[0] >= ord("8"):  # an FH-number (first digit 8 or 9): no date encoded, the classic rule only
        return None
    k1 = (sum(map(operator.mul, _K1_ALL, b)) - _K1_ASCII) % 11
    h_number = b[2] in _OFFSET_DIGITS
    if k1 and (h_number or k1 not in _K1_REMAINDERS_2032):  # H-numbers keep the classic rule
        return None
    if (sum(map(operator.mul, _K2_ALL, b)) - _K2_ASCII) % 11:
        return None
    month = (b[2] - _ZERO) * 10 + b[3] - _ZERO
    synthetic = month > _SYNTHETIC_MONTH_OFFSET
    month -= _SYNTHETIC_MONTH_OFFSET if synthetic else _H_MONTH_OFFSET if h_number else 0
    d_number = b[0] in _OFFSET_DIGITS
    if not 1 <= month <= _LAST_MONTH or (d_number and h_number):
        return None
    yy, individual = (b[4] - _ZERO) * 10 + b[5] - _ZERO, int(value[6:9])
    # _CENTURY_RULES, in their order
    if individual < 500:  # noqa: PLR2004 - the rules' bounds
        year = 1900 + yy
    elif individual < 750 and yy >= 54:  # noqa: PLR2004
        year = 1800 + yy
    elif yy < 40:  # noqa: PLR2004
        year = 2000 + yy
    elif individual >= 900:  # noqa: PLR2004
        year = 1900 + yy
    else:
        return None
    try:
        born = date(year, month, (b[0] - _ZERO) * 10 + b[1] - _ZERO - (_DAY_OFFSET if d_number else 0))
    except ValueError:  # no such day (0, 31 April, 29 February of a common year, ...)
        return None
    if born > today:
        return None
    kind = NinKind.DNR if d_number else NinKind.HNR if h_number else NinKind.FNR
    return kind, synthetic, born, None if k1 else "MALE" if b[8] % 2 else "FEMALE"


def _parse_nin(digits: str, today: date) -> Nin:
    """Validate compacted input in order: format, check digits, date fields."""
    _require_digits(digits, _NIN_LENGTH, "a person identifier")
    if digits[0] in "89":
        return _parse_fh_number(digits)
    allow_2032 = digits[2] not in "4567"  # H-numbers keep the classic rule
    only_2032 = _check_k1(digits, allow_2032=allow_2032)
    _check_k2(digits)
    decoded = _decode(digits)
    born = _birth_date(digits, decoded, today)
    gender = None if only_2032 else _gender(digits)
    return Nin(value=digits, kind=decoded.kind, synthetic=decoded.synthetic, birth_date=born, gender=gender)


def is_valid_nin(value: str, *, today: date | None = None) -> bool:
    """Return True when parse_nin accepts the value."""
    try:
        parse_nin(value, today=today)
    except InvalidIdentifierError:
        return False
    return True


def individual_number_range(year: int) -> range | list[range]:
    """Return the III values encoding the year: a list for 1940-1999, empty outside 1854-2039."""
    spans = _year_ranges(year)
    if not spans:
        return range(0)
    return spans[0] if len(spans) == 1 else list(spans)


def make_nin(
    birth_date: date,
    individual: int,
    *,
    d_number: bool = False,
    synthetic: bool = True,
) -> str | None:
    """Build an identifier with classic check digits, or None when impossible."""
    if not any(individual in span for span in _year_ranges(birth_date.year)):
        return None
    day = birth_date.day + (_DAY_OFFSET if d_number else 0)
    month = birth_date.month + (_SYNTHETIC_MONTH_OFFSET if synthetic else 0)
    first9 = f"{day:02d}{month:02d}{birth_date.year % 100:02d}{individual:03d}"
    checks = nin_check_digits(first9)
    return None if checks is None else f"{first9}{checks[0]}{checks[1]}"


# ----------------------------------------------------------- organisation numbers


def org_check_digit(first8: str) -> int | None:
    """Compute the organisation number check digit, or None when it would be 10."""
    _require_digits(first8, 8, "the first part")
    return _mod11_digit(first8, _ORG_WEIGHTS)


def make_org_number(first8: str) -> str | None:
    """Append the check digit to eight digits, or return None when none exists."""
    digit = org_check_digit(first8)
    return None if digit is None else f"{first8}{digit}"


def _org_reason(digits: str, error: ValidationError) -> str:
    """Translate a python-stdnum exception into a specific reason."""
    if isinstance(error, InvalidChecksum):
        expected = _mod11_digit(digits[:8], _ORG_WEIGHTS)
        if expected is None:
            return "no valid check digit exists for these first eight digits (never issued)"
        return f"check digit does not match (expected {expected}, got {digits[8]})"
    if isinstance(error, InvalidFormat) and (bad := _NON_DIGIT.search(digits)):
        return f"an organisation number must contain only digits, found {bad.group()!r}"
    if isinstance(error, InvalidFormat | InvalidLength):  # stdnum calls "" a format error
        return f"an organisation number must be {_ORG_LENGTH} digits, got {len(digits)}"
    return f"not a valid organisation number ({error})"


def parse_org_number(value: str) -> str:
    """Validate an organisation number and return its nine digits, or raise with a reason."""
    digits = "".join(value.split())
    try:
        return str(orgnr.validate(digits))
    except ValidationError as error:
        raise InvalidIdentifierError(_org_reason(digits, error), value) from error


def is_valid_org_number(value: str) -> bool:
    """Return True when parse_org_number accepts the value."""
    try:
        parse_org_number(value)
    except InvalidIdentifierError:
        return False
    return True
