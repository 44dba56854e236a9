from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.exceptions import InvalidComponent
from stdnum.no import fodselsnummer, orgnr

from helsegraf.identifiers import (
    InvalidIdentifierError,
    Nin,
    NinKind,
    _parse_nin,
    individual_number_range,
    is_valid_nin,
    is_valid_org_number,
    make_nin,
    make_org_number,
    nin_check_digits,
    nin_value,
    org_check_digit,
    parse_nin,
    parse_org_number,
)

TODAY = date(2026, 6, 1)
FAR_FUTURE = date(2040, 1, 1)
K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def weighted(digits: str, weights: tuple[int, ...]) -> int:
    """Independent oracle: weighted digit sum mod 11."""
    return sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11


def with_k2(first10: str) -> str | None:
    k2 = (11 - weighted(first10, K2_WEIGHTS)) % 11
    return None if k2 == 10 else f"{first10}{k2}"


def with_k1_remainder(first9: str, remainder: int) -> str | None:
    """Append the K1 that leaves the given weighted remainder, and the matching K2."""
    k1 = (remainder - weighted(first9, K1_WEIGHTS)) % 11
    return None if k1 == 10 else with_k2(f"{first9}{k1}")


def reason_for(value: str, *, today: date = TODAY) -> str:
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_nin(value, today=today)
    return caught.value.reason


# ------------------------------------------------------------------ known valid numbers


def test_skatteetaten_synthetic_example_is_synthetic_fnr():
    nin = parse_nin("21899797180", today=TODAY)

    assert nin.value == "21899797180"
    assert nin.kind is NinKind.FNR
    assert nin.synthetic is True
    assert nin.birth_date == date(1997, 9, 21)
    assert nin.gender == "MALE"


def test_nav_dolly_example_falls_in_h_number_space():
    nin = parse_nin("07459742977", today=TODAY)

    assert nin.kind is NinKind.HNR
    assert nin.synthetic is False
    assert nin.birth_date == date(1997, 5, 7)
    assert nin.gender == "MALE"


def test_stdnum_doc_example_is_female_fnr():
    nin = parse_nin("15108695088", today=TODAY)

    assert nin.kind is NinKind.FNR
    assert nin.synthetic is False
    assert nin.birth_date == date(1986, 10, 15)
    assert nin.gender == "FEMALE"


@pytest.mark.parametrize("raw", ["218997 97180", "218997-97180", " 21899797180 ", "2189 9797 180"])
def test_spaces_and_a_single_separator_are_stripped(raw):
    nin = parse_nin(raw, today=TODAY)

    assert nin.value == "21899797180"


def test_d_number_decodes_day_minus_40():
    nin = parse_nin("41018000049", today=TODAY)

    assert nin.kind is NinKind.DNR
    assert nin.synthetic is False
    assert nin.birth_date == date(1980, 1, 1)
    assert nin.gender == "FEMALE"


def test_d_number_can_also_be_synthetic():
    nin = parse_nin("41898000034", today=TODAY)

    assert nin.kind is NinKind.DNR
    assert nin.synthetic is True
    assert nin.birth_date == date(1980, 9, 1)


def test_h_number_decodes_month_minus_40():
    nin = parse_nin("01418000038", today=TODAY)

    assert nin.kind is NinKind.HNR
    assert nin.birth_date == date(1980, 1, 1)


def test_fh_number_has_no_date_or_gender_and_stdnum_rejects_it():
    nin = parse_nin("88345600021", today=TODAY)

    assert nin.kind is NinKind.FHN
    assert nin.synthetic is False
    assert nin.birth_date is None
    assert nin.gender is None
    with pytest.raises(InvalidComponent):
        fodselsnummer.validate("88345600021")


def test_1800s_century_from_individual_number_500_to_749():
    value = make_nin(date(1899, 12, 31), 600, synthetic=False)

    assert value is not None
    assert parse_nin(value, today=TODAY).birth_date == date(1899, 12, 31)


def test_individual_number_951_with_year_45_is_1945():
    value = make_nin(date(1945, 5, 8), 951, synthetic=False)

    assert value is not None
    assert value[4:9] == "45951"
    assert parse_nin(value, today=TODAY).birth_date == date(1945, 5, 8)


# ----------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2189979718", "a person identifier must be 11 digits, got 10"),
        ("218997971800", "a person identifier must be 11 digits, got 12"),
        ("", "a person identifier must be 11 digits, got 0"),
        ("21899797l80", "a person identifier must contain only digits, found 'l'"),
        ("218997-971-80", "a person identifier must contain only digits, found '-'"),
        ("2189979718\u0660", "a person identifier must contain only digits, found '\u0660'"),
        (
            "21899797170",
            ("check digit K1 does not match (expected 8, got 7); the 2032 rule would also accept 0, 9"),
        ),
        ("21899797181", "check digit K2 does not match (expected 0, got 1)"),
        ("01138000083", "month 13 is not a valid month"),
        ("01328000160", "month 32 is not a valid month"),
        ("32018000007", "day 32 is not a valid day for month 01"),
        ("72018000181", "day 72 (D-number day 32) is not a valid day for month 01"),
        ("29029900076", "day 29 is not a valid day for month 02 in 1999"),
        ("01014560013", "individual number 600 with year 45 encodes no century"),
    ],
)
def test_rejection_reasons(raw, reason):
    got = reason_for(raw)

    assert got == reason


def test_future_birth_date_is_rejected_relative_to_today():
    value = make_nin(date(2039, 1, 1), 500)
    assert value is not None

    reason = reason_for(value, today=TODAY)

    assert reason == "birth date 2039-01-01 lies in the future"
    assert is_valid_nin(value, today=date(2039, 1, 1))


def test_today_defaults_to_the_current_date():
    far_future = make_nin(date(2039, 12, 31), 997)
    assert far_future is not None

    valid = is_valid_nin("21899797180")
    future = is_valid_nin(far_future)

    assert valid is True
    assert future is False


def test_d_number_with_h_month_is_rejected():
    value = with_k1_remainder("414180001", 0)
    assert value is not None

    reason = reason_for(value)

    assert reason == "a D-number (day + 40) cannot also carry the H-number month offset (+40)"


def test_error_carries_reason_and_original_value():
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_nin("218997 97181", today=TODAY)

    assert str(caught.value) == caught.value.reason
    assert caught.value.value == "218997 97181"
    assert "218997" not in caught.value.reason
    assert isinstance(caught.value, ValueError)


# ------------------------------------------------------------------------- 2032 rule


def test_2032_rule_accepts_k1_remainder_1_to_3_and_drops_gender():
    # 010180123: classic K1 = 7; K1 = 9 leaves remainder 2, accepted from 2032 on.
    value = "01018012398"

    nin = parse_nin(value, today=TODAY)

    assert nin.kind is NinKind.FNR
    assert nin.birth_date == date(1980, 1, 1)
    assert nin.gender is None
    assert not fodselsnummer.is_valid(value)


def test_2032_rule_still_requires_a_full_k2():
    reason = reason_for("01018012399")

    assert reason == "check digit K2 does not match (expected 8, got 9)"


def test_2032_rule_applies_when_no_classic_k1_exists():
    value = with_k2("0101800030")
    assert value is not None
    assert nin_check_digits("010180003") is None

    nin = parse_nin(value, today=TODAY)

    assert nin.gender is None


def test_2032_rule_reason_when_no_classic_k1_exists():
    first10 = "0101800035"
    value = with_k2(first10) or f"{first10}0"

    reason = reason_for(value)

    assert reason == "check digit K1 does not match (expected one of 0, 1, 2, got 5)"


@pytest.mark.parametrize("first9", ["014180123", "883456000"])
def test_2032_rule_is_not_accepted_for_h_and_fh_numbers(first9):
    value = with_k1_remainder(first9, 2)
    assert value is not None

    reason = reason_for(value)

    assert reason.startswith("check digit K1 does not match (expected ")
    assert "2032" not in reason


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), st.integers(0, 499))
def test_2032_rule_accepts_exactly_k1_remainders_0_to_3(born, individual):
    first9 = f"{born:%d}{born.month + 80:02d}{born:%y}{individual:03d}"
    candidates = {r: with_k1_remainder(first9, r) for r in range(11)}

    parsed = {
        r: parse_nin(v, today=TODAY) if is_valid_nin(v, today=TODAY) else None
        for r, v in candidates.items()
        if v is not None
    }

    for remainder, nin in parsed.items():
        assert (nin is not None) == (remainder in {0, 1, 2, 3})
        if nin is not None:
            assert (nin.gender is None) == (remainder != 0)


# -------------------------------------------------------------------- check digits


def test_nin_check_digits_under_classic_rule():
    checks = nin_check_digits("218997971")

    assert checks == (8, 0)


def test_nin_check_digits_none_when_k1_would_be_10():
    checks = nin_check_digits("010180003")

    assert checks is None


def test_nin_check_digits_rejects_bad_input():
    with pytest.raises(InvalidIdentifierError, match="must be 9 digits, got 8"):
        nin_check_digits("21899797")


# ------------------------------------------------------------------------ make_nin


def test_make_nin_builds_the_skatteetaten_example():
    value = make_nin(date(1997, 9, 21), 971)

    assert value == "21899797180"


def test_make_nin_d_number_adds_40_to_day():
    value = make_nin(date(1997, 9, 21), 971, d_number=True)

    assert value is not None
    assert value[:4] == "6189"


def test_make_nin_returns_none_when_individual_number_misfits_century():
    misfits = [
        make_nin(date(1980, 1, 1), 600),
        make_nin(date(2005, 1, 1), 100),
        make_nin(date(1850, 1, 1), 600),
        make_nin(date(1980, 1, 1), 1000),
        make_nin(date(1980, 1, 1), -1),
    ]

    assert misfits == [None] * len(misfits)


def test_make_nin_returns_none_when_check_digit_is_impossible():
    value = make_nin(date(1980, 1, 1), 3, synthetic=False)

    assert value is None


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (1853, range(0)),
        (1854, range(500, 750)),
        (1899, range(500, 750)),
        (1900, range(500)),
        (1939, range(500)),
        (1940, [range(500), range(900, 1000)]),
        (1999, [range(500), range(900, 1000)]),
        (2000, range(500, 1000)),
        (2039, range(500, 1000)),
        (2040, range(0)),
    ],
)
def test_individual_number_range(year, expected):
    got = individual_number_range(year)

    assert got == expected


# --------------------------------------------------------------- property tests


def ranges_for(year: int) -> list[range]:
    spans = individual_number_range(year)
    return spans if isinstance(spans, list) else [spans]


@st.composite
def birth_and_individual(draw: st.DrawFn) -> tuple[date, int]:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2039, 12, 31)))
    span = draw(st.sampled_from(ranges_for(born.year)))
    return born, draw(st.sampled_from(span))


@given(birth_and_individual(), st.booleans())
def test_make_nin_output_validates_and_round_trips(born_individual, d_number):
    born, individual = born_individual
    value = make_nin(born, individual, d_number=d_number)
    assume(value is not None)

    nin = parse_nin(value, today=FAR_FUTURE)

    assert nin.synthetic is True
    assert nin.kind is (NinKind.DNR if d_number else NinKind.FNR)
    assert nin.birth_date == born
    assert nin.gender == ("MALE" if individual % 2 else "FEMALE")
    assert nin_check_digits(value[:9]) == (int(value[9]), int(value[10]))


@given(birth_and_individual(), st.booleans())
def test_non_synthetic_make_nin_agrees_with_stdnum(born_individual, d_number):
    born, individual = born_individual
    assume(born <= date(2025, 12, 31))
    value = make_nin(born, individual, d_number=d_number, synthetic=False)
    assume(value is not None)

    ours = parse_nin(value, today=TODAY)

    assert fodselsnummer.is_valid(value)
    assert ours.birth_date == fodselsnummer.get_birth_date(value)
    assert ours.gender[0] == fodselsnummer.get_gender(value)


@given(birth_and_individual(), st.data())
def test_changing_any_single_digit_invalidates_a_number(born_individual, data):
    # Under the 2032 rule K1 may drift by up to 3, but K2 is still a full mod-11 check
    # whose weights (5,4,3,2,7,6,5,4,3,2,1) are all non-zero mod 11, so any single-digit
    # change breaks K2 (or K1 for H/FH numbers). No exceptions need to be tolerated.
    born, individual = born_individual
    value = make_nin(born, individual, synthetic=data.draw(st.booleans()))
    assume(value is not None)
    position = data.draw(st.integers(0, 10))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != value[position]]))
    mutated = f"{value[:position]}{digit}{value[position + 1 :]}"

    reason = reason_for(mutated, today=FAR_FUTURE)

    assert reason.startswith("check digit K")


@given(st.text(max_size=20))
def test_arbitrary_text_never_crashes_the_validator(text):
    valid = is_valid_nin(text, today=TODAY)

    assert isinstance(valid, bool)


def full_parse(value: str, today: date) -> Nin | str:
    """What the step-by-step validator (the one that names the broken rule) says of a compact value."""
    try:
        return _parse_nin(value, today)
    except InvalidIdentifierError as error:
        return error.reason


def check_digits_hold(first9: str, remainder: int) -> str:
    """Nine digits completed with check digits (K1 leaving `remainder`), or the nine digits and two zeros."""
    return with_k1_remainder(first9, remainder) or f"{first9}00"


def made(born_individual: tuple[date, int], d_number: bool, synthetic: bool) -> str:
    return make_nin(*born_individual, d_number=d_number, synthetic=synthetic) or "00000000000"


# Eleven digits; with check digits that hold (so that the date, century and kind rules decide); valid ones.
eleven_digits = st.one_of(
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.builds(check_digits_hold, st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 4)),
    st.builds(
        check_digits_hold,
        # DD (D-numbers too), MM (H-numbers and synthetic ones too), YY and III: every date rule gets its turn
        st.builds("{:02d}{:02d}{:02d}{:03d}".format, *map(st.integers, (0, 0, 0, 0), (79, 99, 99, 999))),
        st.integers(0, 4),
    ),
    st.builds(made, birth_and_individual(), st.booleans(), st.booleans()),
)
dates = st.dates(min_value=date(1850, 1, 1), max_value=date(2045, 12, 31))


@settings(max_examples=1000)
@given(eleven_digits, dates)
def test_the_quick_acceptance_agrees_with_the_full_validator(value, today):
    expected = full_parse(value, today)

    if isinstance(expected, str):
        with pytest.raises(InvalidIdentifierError) as caught:
            parse_nin(value, today=today)
        assert caught.value.reason == expected
        assert caught.value.value == value
        with pytest.raises(InvalidIdentifierError):
            nin_value(value, today=today)
    else:
        assert parse_nin(value, today=today) == expected
        assert nin_value(value, today=today) == expected.value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("01010150015", "check digit K1 does not match"),  # K1 further off than the 2032 rule allows
        ("31049012392", "day 31 is not a valid day for month 04"),
        ("29020112482", "day 29 is not a valid day for month 02 in 1901"),  # not a leap year
        ("01530112388", "month 53 is not a valid month"),
        ("41410112343", "cannot also carry the H-number month offset"),
        ("01014075069", "individual number 750 with year 40 encodes no century"),
        ("01013950187", "birth date 2039-01-01 lies in the future"),
        ("\u0661" * 11, "must contain only digits"),  # Arabic-Indic digits: digits, but not ASCII ones
    ],
)
def test_numbers_whose_check_digits_hold_are_still_rejected_with_their_reason(value, reason):
    with pytest.raises(InvalidIdentifierError, match=reason):
        parse_nin(value, today=TODAY)
    with pytest.raises(InvalidIdentifierError, match=reason):
        nin_value(value, today=TODAY)


# ------------------------------------------------------------- organisation numbers


@pytest.mark.parametrize("raw", ["974760673", "974 760 673", " 988077917 "])
def test_valid_org_numbers(raw):
    digits = parse_org_number(raw)

    assert digits == raw.replace(" ", "")
    assert is_valid_org_number(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("974760674", "check digit does not match (expected 3, got 4)"),
        ("97476067", "an organisation number must be 9 digits, got 8"),
        ("9747606730", "an organisation number must be 9 digits, got 10"),
        ("", "an organisation number must be 9 digits, got 0"),
        ("974-760-673", "an organisation number must contain only digits, found '-'"),
        ("974760070", "no valid check digit exists for these first eight digits (never issued)"),
        # python-stdnum reads full-width digits as digits; the expected check digit is still right
        (
            "\uff19\uff17\uff14\uff17\uff16\uff10\uff16\uff17\uff14",
            "check digit does not match (expected 3, got \uff14)",
        ),
    ],
)
def test_org_number_rejection_reasons(raw, reason):
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_org_number(raw)

    assert caught.value.reason == reason
    assert caught.value.value == raw
    assert not is_valid_org_number(raw)


def test_org_check_digit_none_when_remainder_gives_10():
    digit = org_check_digit("97476007")

    assert digit is None
    assert make_org_number("97476007") is None


def test_make_org_number_appends_the_check_digit():
    value = make_org_number("97476067")

    assert value == "974760673"


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_make_org_number_output_always_validates(first8):
    value = make_org_number(first8)

    assert (value is None) == (org_check_digit(first8) is None)
    if value is not None:
        assert parse_org_number(value) == value
        assert orgnr.is_valid(value)
