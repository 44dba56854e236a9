"""PREG as Persontjenesten has it: dated present and postal addresses with their own grading, through HTTP.

A small household is written into the test nation (SQLite and PostgreSQL) and removed after: a
person with a closed and an open present address and a postal address graded as a client address,
a person with a protected address, and a parent with a child under 16 whose postal address is graded.
Every answer is checked against the rows, and the access log against what the response carried.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import text

from conftest import TODAY, db_rows, token
from helsegraf.identifiers import make_nin
from helsegraf.sync.preg import address_rows
from helsegraf.upstream.contracts import structs

DATED = "{ street postalCode postalPlace district validFrom validTo addressProtection municipality { code } }"
PRESENT_MOVED = TODAY - timedelta(days=200)  # the first present address ended, the second began
PRESENT_BEGAN = TODAY - timedelta(days=900)


@dataclass
class Household:
    lodger: str  # two present periods, a client-address postal address
    hidden: str  # protected (FORTROLIG), with a present address
    parent: str
    child: str  # under 16, postal address graded as a client address


def _new_nin(nation):
    known = {r.nin for r in db_rows(nation, "SELECT nin FROM preg_person")}
    rng = random.Random(uuid.uuid4().int)

    def new(born: date) -> str:
        while True:
            nin = make_nin(born, rng.randrange(500, 999))
            if nin and nin not in known:
                known.add(nin)
                return nin

    return new


BORN = {"lodger": date(2001, 4, 4), "hidden": date(1985, 5, 5), "parent": date(1980, 3, 3),
        "child": TODAY.replace(year=TODAY.year - 9)}  # fmt: skip


@pytest.fixture
def household(nation) -> Iterator[Household]:
    new = _new_nin(nation)
    lodger, hidden, parent, child = (new(BORN[k]) for k in ("lodger", "hidden", "parent", "child"))
    person = (
        "INSERT INTO preg_person (nin, given_name, family_name, birth_date, gender, status, street, postal_code, "
        "postal_place, municipality_code, address_protection, protection_level) VALUES (:nin, 'Test', "
        "'Testesen', :born, 'FEMALE', 'RESIDENT', 'Hjemveien 1', '0150', 'OSLO', '0301', :words, :level)"
    )
    address = ("INSERT INTO preg_address (nin, kind, valid_from, valid_to, street, postal_code, postal_place, "
               "municipality_code, district, confidentiality) VALUES (:nin, :kind, :since, :until, :street, '7030', "
               "'TRONDHEIM', :municipality, :district, :grading)")  # fmt: skip
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            for nin, born, words, level in (
                (lodger, BORN["lodger"], "UGRADERT", "Unclassified"),
                (hidden, BORN["hidden"], "FORTROLIG", "Confidential"),
                (parent, BORN["parent"], "UGRADERT", "Unclassified"),
                (child, BORN["child"], "UGRADERT", "Unclassified"),
            ):
                conn.execute(text(person), {"nin": nin, "born": born, "words": words, "level": level})
            for row in (
                (lodger, "PRESENT", PRESENT_BEGAN, PRESENT_MOVED, "Studentbyen 1", "5001", "Moholt", "Unclassified"),
                (lodger, "PRESENT", PRESENT_MOVED, None, "Studentbyen 2", "5001", "Moholt", "Unclassified"),
                (lodger, "POSTAL", PRESENT_BEGAN, None, "Postboks 77", None, None, "ClientAddress"),
                (hidden, "PRESENT", PRESENT_BEGAN, None, "Skjult vei 3", "5001", None, "Confidential"),
                (child, "POSTAL", PRESENT_BEGAN, None, "Postboks 12", None, None, "ClientAddress"),
            ):
                nin, kind, since, until, street, municipality, district, grading = row
                conn.execute(text(address), {"nin": nin, "kind": kind, "since": since, "until": until,
                                             "street": street, "municipality": municipality, "district": district,
                                             "grading": grading})  # fmt: skip
            relation = "INSERT INTO preg_parent_relation (child_nin, parent_nin, role) VALUES (:c, :p, 'MOTHER')"
            conn.execute(text(relation), {"c": child, "p": parent})
        yield Household(lodger, hidden, parent, child)
    finally:
        everyone = {"a": lodger, "b": hidden, "c": parent, "d": child}
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_access_log WHERE nin IN (:a, :b, :c, :d)"), everyone)
            conn.execute(text("DELETE FROM preg_address WHERE nin IN (:a, :b, :c, :d)"), everyone)
            conn.execute(text("DELETE FROM preg_parent_relation WHERE child_nin IN (:a, :b, :c, :d)"), everyone)
            conn.execute(text("DELETE FROM preg_person WHERE nin IN (:a, :b, :c, :d)"), everyone)
        engine.dispose()


def logged(nation, request_id: str) -> dict[str, tuple[str, str]]:
    rows = db_rows(nation, "SELECT nin, fields, scopes FROM audit_access_log WHERE request_id = :r", r=request_id)
    return {r.nin: (r.fields, r.scopes) for r in rows}


def reasons(body: dict) -> dict[tuple, str]:
    return {tuple(r["path"]): r["reason"] for r in body.get("extensions", {}).get("redactions", [])}


QUERY = f"query($n: ID!, $at: Date) {{ person(nin: $n) {{ presentAddress(at: $at) {DATED} postalAddress(at: $at) {DATED} }} }}"  # noqa: E501


# ------------------------------------------------------------------ 1. dated addresses


async def test_present_address_follows_its_half_open_periods(graph, nation, household) -> None:
    rows = db_rows(nation, "SELECT * FROM preg_address WHERE nin = :n AND kind = 'PRESENT' ORDER BY valid_from",
                   n=household.lodger)  # fmt: skip
    first, second = rows

    async def on(day: date | None) -> dict:
        return (await graph.data(QUERY, {"n": household.lodger, "at": day and day.isoformat()}))["person"]

    today, moved_day, day_before, before = (await on(None), await on(PRESENT_MOVED),
                                            await on(PRESENT_MOVED - timedelta(days=1)),
                                            await on(PRESENT_BEGAN - timedelta(days=1)))  # fmt: skip

    assert today["presentAddress"] == {
        "street": second.street, "postalCode": second.postal_code, "postalPlace": second.postal_place,
        "district": "Moholt", "validFrom": str(second.valid_from), "validTo": None, "addressProtection": "UGRADERT",
        "municipality": {"code": "5001"},
    }  # fmt: skip
    assert moved_day["presentAddress"]["street"] == second.street  # valid_to is not part of the old period
    assert day_before["presentAddress"]["street"] == first.street
    assert day_before["presentAddress"]["validTo"] == str(first.valid_to)
    assert before == {"presentAddress": None, "postalAddress": None}


async def test_an_admin_sees_a_graded_postal_address_and_the_log_names_the_protected_address_scope(
    graph, nation, household
) -> None:
    request_id = uuid.uuid4().hex

    body = await graph.query(QUERY, {"n": household.lodger}, **{"x-request-id": request_id})

    postal = body["data"]["person"]["postalAddress"]
    assert (postal["street"], postal["addressProtection"], postal["municipality"]) == ("Postboks 77", "FORTROLIG", None)
    fields, scopes = logged(nation, request_id)[household.lodger]
    assert "address" in fields.split()
    assert "preg:protected-address" in scopes.split()


async def test_a_graded_address_is_never_released_to_a_caller_without_the_right(graph, nation, household) -> None:
    request_id = uuid.uuid4().hex
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"])

    body = (await graph.post(QUERY, {"n": household.lodger}, token=clinician, **{"x-request-id": request_id})).json()

    person = body["data"]["person"]
    assert person["presentAddress"]["street"] == "Studentbyen 2"  # ungraded: released
    postal = person["postalAddress"]
    assert postal == {"street": None, "postalCode": None, "postalPlace": None, "district": None, "validFrom": None,
                      "validTo": None, "addressProtection": "FORTROLIG", "municipality": None}  # fmt: skip
    graded = {path: reason for path, reason in reasons(body).items() if path[:2] == ("person", "postalAddress")}
    assert graded == {("person", "postalAddress", part): "ADDRESS_PROTECTED"
                      for part in ("street", "postalCode", "postalPlace", "district", "validFrom", "validTo",
                                   "municipality")}  # fmt: skip
    _, scopes = logged(nation, request_id)[household.lodger]
    assert "preg:protected-address" not in scopes.split()


async def test_a_protected_persons_dated_addresses_are_redacted_whole_and_not_logged(graph, nation, household) -> None:
    request_id = uuid.uuid4().hex
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"])

    body = (await graph.post(QUERY, {"n": household.hidden}, token=clinician, **{"x-request-id": request_id})).json()
    allowed = await graph.data(QUERY, {"n": household.hidden})

    assert body["data"]["person"] == {"presentAddress": None, "postalAddress": None}
    assert reasons(body) == {("person", "presentAddress"): "ADDRESS_PROTECTED",
                             ("person", "postalAddress"): "ADDRESS_PROTECTED"}  # fmt: skip
    assert logged(nation, request_id)[household.hidden][0] == "identity"  # found, and nothing of where
    assert allowed["person"]["presentAddress"]["street"] == "Skjult vei 3"


async def test_a_parent_sees_a_childs_ungraded_parts_but_not_its_graded_postal_address(graph, nation, household):
    parent = token(nation, "citizen", pid=household.parent)
    request_id = uuid.uuid4().hex

    body = (await graph.post(QUERY, {"n": household.child}, token=parent, **{"x-request-id": request_id})).json()
    stranger = (await graph.post(QUERY, {"n": household.lodger}, token=parent)).json()

    postal = body["data"]["person"]["postalAddress"]
    assert postal["street"] is None
    assert postal["addressProtection"] == "FORTROLIG"
    assert reasons(body)[("person", "postalAddress", "street")] == "ADDRESS_PROTECTED"
    assert body["data"]["person"]["presentAddress"] is None  # none registered
    assert stranger["data"]["person"] == {"presentAddress": None, "postalAddress": None}
    assert set(reasons(stranger).values()) == {"NOT_SELF"}
    fields, scopes = logged(nation, request_id)[household.child]
    assert fields == "address identity"
    assert scopes == "parent"


async def test_what_the_response_did_not_carry_is_not_logged(graph, nation, household) -> None:
    request_id = uuid.uuid4().hex

    await graph.query('query($n: ID!) { person(nin: $n) { presentAddress(at: "1900-01-01") { street } } }',
                      {"n": household.lodger}, **{"x-request-id": request_id})  # fmt: skip

    # The permitted null is a release (the caller learned there was none then); nothing else left.
    assert {nin: fields for nin, (fields, _) in logged(nation, request_id).items()} == {
        household.lodger: "address identity"
    }


async def test_a_bad_date_is_the_callers_error(graph, household) -> None:
    response = await graph.post(QUERY, {"n": household.lodger, "at": "2025-13-01"})

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$at" in error["message"]


# ------------------------------------------------------------------ the contract's address forms


def _document(**parts) -> Any:
    return structs.person({"id": "p-1", **parts})


def test_every_address_form_of_the_contract_maps_to_a_period_with_its_grading() -> None:
    period = {"validFrom": "2020-01-01T00:00:00Z", "validTo": "2024-06-01T00:00:00Z", "isValid": False}
    document = _document(
        presentAddress=[
            {**period, "addressConfidentiality": "Unclassified", "urbanDistrictName": "Frogner",
             "streetAddress": {"addressName": "Storgata", "addressNumber": {"houseNumber": "5", "houseLetter": "B"},
                               "municipalityNumber": "0301", "city": {"postalCode": "0150", "cityName": "OSLO"}}},
            {"validFrom": "2024-06-01T00:00:00Z", "isValid": True, "addressConfidentiality": "StrictlyConfidential",
             "cadastralAddress": {"addressAdditionalName": "Havgløtt", "city": {"postalCode": "7670"},
                                  "cadastralNumber": {"municipalityNumber": "5053"}}},
        ],
        postalAddress=[
            {**period, "addressConfidentiality": "ClientAddress",
             "postBoxAddress": {"postBoxIdentification": "Postboks 5 Sentrum", "city": {"postalCode": "7001"}}},
            {"validFrom": "2024-06-01T00:00:00Z", "streetAddress": {"addressName": "Fjordvegen",
                                                                    "streetAddressNumber": {"houseNumber": "2"}}},
            {"validFrom": "2025-01-01T00:00:00Z", "freeFormPostalAddress": {"addressLine": ["c/o Hansen", "Bakken 1"]}},
            {"addressConfidentiality": "Unclassified", "postBoxAddress": {"postBoxIdentification": "9"}},  # no start
        ],
    )  # fmt: skip

    rows = address_rows(document, "01018012345")

    keys = ("kind", "valid_from", "valid_to", "street", "postal_code", "municipality_code", "district",
            "confidentiality")  # fmt: skip
    summary = [tuple(str(r[k]) if r[k] is not None else None for k in keys) for r in rows]
    assert summary == [
        ("PRESENT", "2020-01-01", "2024-06-01", "Storgata 5B", "0150", "0301", "Frogner", "Unclassified"),
        ("PRESENT", "2024-06-01", None, "Havgløtt", "7670", "5053", None, "StrictlyConfidential"),
        ("POSTAL", "2020-01-01", "2024-06-01", "Postboks 5 Sentrum", "7001", None, None, "ClientAddress"),
        ("POSTAL", "2024-06-01", None, "Fjordvegen 2", None, None, None, None),
        ("POSTAL", "2025-01-01", None, "c/o Hansen, Bakken 1", None, None, None, None),
    ]


def test_addresses_abroad_unknown_and_elsewhere_map_to_periods_with_their_grading() -> None:
    since = {"validFrom": "2024-02-01T00:00:00Z", "isValid": True}
    document = _document(
        residentialAddress=[{**since, "addressConfidentiality": "Unclassified",
                             "unknownResidence": {"municipalityNumber": "4601", "municipalityName": "Bergen"}}],
        sharedResidence=[{**since, "contractValidFrom": "2023-12-01T00:00:00Z",
                          "addressConfidentiality": "Confidential",
                          "streetAddress": {"addressName": "Farsveien", "addressNumber": {"houseNumber": "4"},
                                            "municipalityNumber": "0301", "city": {"postalCode": "0150"}}}],
        presentAddress=[
            {"validFrom": "2023-01-01T00:00:00Z", "validTo": "2024-01-01T00:00:00Z", "isValid": False,
             "foreignAddress": {"addressName": "Storgatan 12", "building": "Hus B", "postCode": "411 01",
                                "cityOrPlaceName": "Göteborg", "region": "Västra Götaland", "countryCode": "SE",
                                "coAddressName": "c/o Svensson"}},
            {"validFrom": "2024-01-01T00:00:00Z", "isValid": True, "isAddressUnknown": True,
             "stayElsewhere": "Military"},
        ],
        foreignPostalAddress=[
            {"validFrom": "2022-01-01T00:00:00Z", "validTo": "2024-01-01T00:00:00Z",
             "addressConfidentiality": "ClientAddress",
             "freeFormForeignAddress": {"addressLine": ["Calle Mayor 3", "2º B"], "postCode": "29620",
                                        "cityOrPlaceName": "Torremolinos", "countryCode": "ES"}},
            {"validFrom": "2024-01-01T00:00:00Z",
             "foreignAddress": {"addressName": "Main Street 1", "postBox": "PO 9", "districtName": "Cambridgeport",
                                "countryCode": "US"}},
            {"freeFormForeignAddress": {"addressLine": ["no start"], "countryCode": "DK"}},  # not a period
        ],
    )  # fmt: skip

    rows = address_rows(document, "01018012345")

    keys = ("kind", "valid_from", "valid_to", "street", "postal_code", "postal_place", "municipality_code",
            "district", "confidentiality", "country_code", "region", "address_unknown", "stay_elsewhere")  # fmt: skip
    summary = [tuple(str(r[k]) if r[k] is not None else None for k in keys) for r in rows]
    assert summary == [
        ("RESIDENTIAL", "2024-02-01", None, None, None, None, "4601", None, "Unclassified", None, None, "True", None),
        ("PRESENT", "2023-01-01", "2024-01-01", "Storgatan 12, Hus B", "411 01", "Göteborg", None, None, None, "SE",
         "Västra Götaland", None, None),
        ("PRESENT", "2024-01-01", None, None, None, None, None, None, None, None, None, "True", "Military"),
        ("SHARED", "2024-02-01", None, "Farsveien 4", "0150", None, "0301", None, "Confidential", None, None, None,
         None),
        ("FOREIGN_POSTAL", "2022-01-01", "2024-01-01", "Calle Mayor 3, 2º B", "29620", "Torremolinos", None, None,
         "ClientAddress", "ES", None, None, None),
        ("FOREIGN_POSTAL", "2024-01-01", None, "Main Street 1, PO 9", None, None, None, "Cambridgeport", None, "US",
         None, None, None),
    ]  # fmt: skip


def test_free_form_values_abroad_are_cut_to_their_columns_rather_than_stop_the_feed() -> None:
    from helsegraf.models.preg import AddressPeriod  # noqa: PLC0415

    columns = AddressPeriod.__table__.columns
    document = _document(
        presentAddress=[{"validFrom": "2024-01-01T00:00:00Z", "foreignAddress": {
            "addressName": "Rue " * 80, "postCode": "9" * 30, "cityOrPlaceName": "C" * 150, "region": "R" * 150,
            "districtName": "D" * 150, "countryCode": "XKX"}}],
    )  # fmt: skip

    [row] = address_rows(document, "01018012345")

    for name in ("street", "postal_code", "postal_place", "region", "district", "country_code"):
        assert len(row[name]) == columns[name].type.length, name


@dataclass
class Abroad:
    student: str  # residential address in Norway; a present address abroad (ended) then unknown, in military service
    homeless: str  # an unknown residence in a municipality, a client-address postal address abroad
    hidden: str  # protected (STRENGT_FORTROLIG_UTLAND), only a postal address abroad


ABROAD_FIELDS = ("{ street postalCode postalPlace district region countryCode addressUnknown stayElsewhere "
                 "validFrom validTo addressProtection municipality { code } }")  # fmt: skip
ABROAD_QUERY = (f"query($n: ID!, $at: Date) {{ person(nin: $n) {{ address {{ street municipality {{ code }} }} "
                f"residentialAddress(at: $at) {ABROAD_FIELDS} presentAddress(at: $at) {ABROAD_FIELDS} "
                f"foreignPostalAddress(at: $at) {ABROAD_FIELDS} }} }}")  # fmt: skip
WENT_ABROAD = TODAY - timedelta(days=700)
CAME_BACK = TODAY - timedelta(days=100)


@pytest.fixture
def abroad(nation) -> Iterator[Abroad]:
    new = _new_nin(nation)
    student, homeless, hidden = new(date(2003, 3, 3)), new(date(1970, 7, 7)), new(date(1977, 1, 7))
    person = (
        "INSERT INTO preg_person (nin, given_name, family_name, birth_date, gender, status, street, postal_code, "
        "postal_place, municipality_code, address_protection, protection_level) VALUES (:nin, 'Test', "
        "'Testesen', '1990-01-01', 'MALE', 'RESIDENT', :street, :code, :place, :municipality, :words, :level)"
    )
    address = ("INSERT INTO preg_address (nin, kind, valid_from, valid_to, street, postal_code, postal_place, "
               "municipality_code, district, confidentiality, country_code, region, address_unknown, stay_elsewhere) "
               "VALUES (:nin, :kind, :since, :until, :street, :code, :place, :municipality, :district, :grading, "
               ":country, :region, :unknown, :stay)")  # fmt: skip
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            for nin, street, code, place, municipality, words, level in (
                (student, "Hjemveien 2", "7030", "TRONDHEIM", "5001", "UGRADERT", "Unclassified"),
                (homeless, None, None, None, "4601", "UGRADERT", "Unclassified"),
                (hidden, None, None, None, None, "STRENGT_FORTROLIG_UTLAND", "StrictlyConfidential"),
            ):
                conn.execute(text(person), {"nin": nin, "street": street, "code": code, "place": place,
                                            "municipality": municipality, "words": words, "level": level})  # fmt: skip
            empty = dict.fromkeys(("until", "street", "code", "place", "municipality", "district", "country",
                                   "region", "unknown", "stay"))  # fmt: skip
            for row in (
                {
                    "nin": student,
                    "kind": "RESIDENTIAL",
                    "since": date(2010, 1, 1),
                    "street": "Hjemveien 2",
                    "code": "7030",
                    "place": "TRONDHEIM",
                    "municipality": "5001",
                    "grading": "Unclassified",
                },
                {
                    "nin": student,
                    "kind": "PRESENT",
                    "since": WENT_ABROAD,
                    "until": CAME_BACK,
                    "street": "Storgatan 12",
                    "code": "411 01",
                    "place": "Göteborg",
                    "country": "SE",
                    "region": "Västra Götaland",
                    "grading": "Unclassified",
                },
                {
                    "nin": student,
                    "kind": "PRESENT",
                    "since": CAME_BACK,
                    "unknown": True,
                    "stay": "Military",
                    "grading": "Unclassified",
                },
                {
                    "nin": homeless,
                    "kind": "RESIDENTIAL",
                    "since": WENT_ABROAD,
                    "municipality": "4601",
                    "unknown": True,
                    "grading": "Unclassified",
                },
                {
                    "nin": homeless,
                    "kind": "FOREIGN_POSTAL",
                    "since": WENT_ABROAD,
                    "street": "Calle Mayor 3",
                    "code": "29620",
                    "place": "Torremolinos",
                    "country": "ES",
                    "grading": "ClientAddress",
                },
                {
                    "nin": hidden,
                    "kind": "FOREIGN_POSTAL",
                    "since": WENT_ABROAD,
                    "street": "Nørregade 7",
                    "code": "1165",
                    "place": "København K",
                    "country": "DK",
                    "grading": "StrictlyConfidential",
                },
            ):
                conn.execute(text(address), {**empty, **row})
        yield Abroad(student, homeless, hidden)
    finally:
        everyone = {"a": student, "b": homeless, "c": hidden}
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_access_log WHERE nin IN (:a, :b, :c)"), everyone)
            conn.execute(text("DELETE FROM preg_address WHERE nin IN (:a, :b, :c)"), everyone)
            conn.execute(text("DELETE FROM preg_person WHERE nin IN (:a, :b, :c)"), everyone)
        engine.dispose()


async def test_a_present_address_abroad_then_unknown_with_a_stay_elsewhere_follows_its_periods(
    graph, nation, abroad
) -> None:
    async def on(day: date | None) -> dict:
        return (await graph.data(ABROAD_QUERY, {"n": abroad.student, "at": day and day.isoformat()}))["person"]

    today, away, before = await on(None), await on(CAME_BACK - timedelta(days=1)), await on(WENT_ABROAD - timedelta(1))

    assert away["presentAddress"] == {
        "street": "Storgatan 12", "postalCode": "411 01", "postalPlace": "Göteborg", "district": None,
        "region": "Västra Götaland", "countryCode": "SE", "addressUnknown": False, "stayElsewhere": None,
        "validFrom": str(WENT_ABROAD), "validTo": str(CAME_BACK), "addressProtection": "UGRADERT",
        "municipality": None,
    }  # fmt: skip
    assert today["presentAddress"] == {
        "street": None, "postalCode": None, "postalPlace": None, "district": None, "region": None,
        "countryCode": None, "addressUnknown": True, "stayElsewhere": "MILITARY", "validFrom": str(CAME_BACK),
        "validTo": None, "addressProtection": "UGRADERT", "municipality": None,
    }  # fmt: skip
    assert before["presentAddress"] is None
    assert today["residentialAddress"]["street"] == today["address"]["street"] == "Hjemveien 2"
    assert (today["residentialAddress"]["countryCode"], today["residentialAddress"]["addressUnknown"]) == (None, False)
    assert today["foreignPostalAddress"] is None


async def test_an_unknown_residence_names_its_municipality_and_a_graded_postal_address_abroad_is_redacted(
    graph, nation, abroad
) -> None:
    request_id, admin_request = uuid.uuid4().hex, uuid.uuid4().hex
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"])

    body = (await graph.post(ABROAD_QUERY, {"n": abroad.homeless}, token=clinician,
                             **{"x-request-id": request_id})).json()  # fmt: skip
    admin = (await graph.data(ABROAD_QUERY, {"n": abroad.homeless}, **{"x-request-id": admin_request}))["person"]

    person = body["data"]["person"]
    assert person["address"] == {"street": None, "municipality": {"code": "4601"}}
    residence = person["residentialAddress"]
    assert (residence["addressUnknown"], residence["street"], residence["municipality"]) == (
        True, None, {"code": "4601"})  # fmt: skip
    assert person["foreignPostalAddress"] == {
        "street": None, "postalCode": None, "postalPlace": None, "district": None, "region": None,
        "countryCode": None, "addressUnknown": None, "stayElsewhere": None, "validFrom": None, "validTo": None,
        "addressProtection": "FORTROLIG", "municipality": None,
    }  # fmt: skip
    graded = {path[2] for path, reason in reasons(body).items()
              if path[:2] == ("person", "foreignPostalAddress") and reason == "ADDRESS_PROTECTED"}  # fmt: skip
    assert graded == {"street", "postalCode", "postalPlace", "district", "region", "countryCode", "addressUnknown",
                      "stayElsewhere", "validFrom", "validTo", "municipality"}  # fmt: skip
    assert set(reasons(body).values()) == {"ADDRESS_PROTECTED"}
    fields, scopes = logged(nation, request_id)[abroad.homeless]
    assert (fields, "preg:protected-address" in scopes.split()) == ("address identity", False)
    assert admin["foreignPostalAddress"]["street"] == "Calle Mayor 3"
    assert admin["foreignPostalAddress"]["countryCode"] == "ES"
    assert "preg:protected-address" in logged(nation, admin_request)[abroad.homeless][1].split()


async def test_a_strictly_confidential_person_abroad_is_hidden_whole_and_only_found_is_logged(
    graph, nation, abroad
) -> None:
    request_id = uuid.uuid4().hex
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"])

    body = (await graph.post(ABROAD_QUERY, {"n": abroad.hidden}, token=clinician,
                             **{"x-request-id": request_id})).json()  # fmt: skip
    admin = await graph.data(ABROAD_QUERY, {"n": abroad.hidden})

    assert body["data"]["person"] == dict.fromkeys(
        ("address", "residentialAddress", "presentAddress", "foreignPostalAddress"))  # fmt: skip
    assert set(reasons(body).values()) == {"ADDRESS_PROTECTED"}
    assert logged(nation, request_id)[abroad.hidden][0] == "identity"
    assert admin["person"]["foreignPostalAddress"]["street"] == "Nørregade 7"
    assert admin["person"]["foreignPostalAddress"]["addressProtection"] == "STRENGT_FORTROLIG"


def test_the_generated_nation_has_every_address_shape_of_the_contract(nation) -> None:
    rows = db_rows(nation, "SELECT kind, country_code, address_unknown, stay_elsewhere FROM preg_address")
    shapes = {(r.kind, r.country_code is not None, bool(r.address_unknown), r.stay_elsewhere is not None)
              for r in rows}  # fmt: skip

    assert {("RESIDENTIAL", False, True, False), ("PRESENT", True, False, False), ("PRESENT", False, True, True),
            ("FOREIGN_POSTAL", True, False, False), ("SHARED", False, False, False)} <= shapes  # fmt: skip


# ------------------------------------------------------------------ 2. parental responsibility, guardianship


@dataclass
class Families:
    mother: str
    father: str
    shared: str  # under 16; both are registered parents, the mother alone holds responsibility
    fathers: str  # under 16; the father is its registered parent, no responsibility registered
    fostered: str  # under 16; no registered parent, responsibility held by `foster` (Other)
    foster: str
    ward: str  # under guardianship of `foster`


@pytest.fixture
def families(nation) -> Iterator[Families]:
    new = _new_nin(nation)
    young = TODAY.replace(year=TODAY.year - 7)
    born = {"mother": date(1984, 2, 2), "father": date(1983, 6, 6), "shared": young, "fathers": young,
            "fostered": young, "foster": date(1970, 8, 8), "ward": date(1945, 9, 9)}  # fmt: skip
    nins = {name: new(day) for name, day in born.items()}
    person = (
        "INSERT INTO preg_person (nin, given_name, family_name, birth_date, gender, status, address_protection) "
        "VALUES (:nin, 'Test', 'Testesen', :born, 'FEMALE', 'RESIDENT', 'UGRADERT')"
    )
    relations = [("shared", "mother", "MOTHER"), ("shared", "father", "FATHER"), ("fathers", "father", "FATHER")]
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            for name, nin in nins.items():
                conn.execute(text(person), {"nin": nin, "born": born[name]})
            for child, parent, role in relations:
                conn.execute(text("INSERT INTO preg_parent_relation (child_nin, parent_nin, role) VALUES (:c, :p, :r)"),
                             {"c": nins[child], "p": nins[parent], "r": role})  # fmt: skip
            for child, holder, kind in (("shared", "mother", "Mother"), ("fostered", "foster", "Other")):
                conn.execute(text("INSERT INTO preg_parental_responsibility (child_nin, responsible_nin, "
                                  "responsibility_type) VALUES (:c, :h, :k)"),
                             {"c": nins[child], "h": nins[holder], "k": kind})  # fmt: skip
            conn.execute(text("INSERT INTO preg_guardianship (nin, guardian_nin, guardianship_type, scope) "
                              "VALUES (:n, :g, 'Adult', 'FinancialInterests')"),
                         {"n": nins["ward"], "g": nins["foster"]})  # fmt: skip
        yield Families(**nins)
    finally:
        everyone = tuple(nins.values())
        marks = ", ".join(f":n{i}" for i in range(len(everyone)))
        bound = {f"n{i}": nin for i, nin in enumerate(everyone)}
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM audit_access_log WHERE nin IN ({marks})"), bound)
            conn.execute(text(f"DELETE FROM preg_parent_relation WHERE child_nin IN ({marks})"), bound)
            conn.execute(text(f"DELETE FROM preg_parental_responsibility WHERE child_nin IN ({marks})"), bound)
            conn.execute(text(f"DELETE FROM preg_guardianship WHERE nin IN ({marks})"), bound)
            conn.execute(text(f"DELETE FROM preg_person WHERE nin IN ({marks})"), bound)
        engine.dispose()


def fields_logged(nation, request_id: str) -> dict[str, str]:
    return {nin: fields for nin, (fields, _) in logged(nation, request_id).items()}


async def test_a_graded_shared_residence_is_redacted_part_by_part_for_the_parent_and_the_clinician(
    graph, nation, families
) -> None:
    shared = (
        "INSERT INTO preg_address (nin, kind, valid_from, street, postal_code, postal_place, municipality_code, "
        "confidentiality) VALUES (:n, 'SHARED', :since, 'Farsveien 4', '0150', 'OSLO', '0301', :grading)"
    )
    engine = nation.engine()
    with engine.begin() as conn:
        conn.execute(text(shared), {"n": families.shared, "since": date(2022, 2, 2), "grading": "Confidential"})
        conn.execute(text(shared), {"n": families.fathers, "since": date(2023, 3, 3), "grading": "Unclassified"})
    query = "query($n: ID!) { person(nin: $n) { sharedResidence { street postalCode validFrom addressProtection } } }"
    mother, father = token(nation, "citizen", pid=families.mother), token(nation, "citizen", pid=families.father)
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"])
    try:
        graded = (await graph.post(query, {"n": families.shared}, token=mother)).json()
        by_clinician = (await graph.post(query, {"n": families.shared}, token=clinician)).json()
        admin = await graph.data(query, {"n": families.shared})
        ungraded = (await graph.post(query, {"n": families.fathers}, token=father)).json()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM preg_address WHERE nin IN (:a, :b)"),
                         {"a": families.shared, "b": families.fathers})  # fmt: skip
        engine.dispose()

    hidden = {"street": None, "postalCode": None, "validFrom": None, "addressProtection": "FORTROLIG"}
    for body in (graded, by_clinician):
        assert body["data"]["person"]["sharedResidence"] == hidden
        assert {path[-1] for path, reason in reasons(body).items() if reason == "ADDRESS_PROTECTED"} == {
            "street", "postalCode", "validFrom"}  # fmt: skip
    assert admin["person"]["sharedResidence"]["street"] == "Farsveien 4"
    assert ungraded["data"]["person"]["sharedResidence"] == {
        "street": "Farsveien 4",
        "postalCode": "0150",
        "validFrom": "2023-03-03",
        "addressProtection": "UGRADERT",
    }


async def test_a_childs_responsibility_names_its_holder_and_is_logged_for_them(graph, nation, families) -> None:
    request_id = uuid.uuid4().hex
    query = "query($n: ID!) { person(nin: $n) { parentalResponsibility { type responsible { nin } child { nin } } } }"

    data = await graph.data(query, {"n": families.shared}, **{"x-request-id": request_id})

    assert data["person"]["parentalResponsibility"] == [
        {"type": "MOTHER", "responsible": {"nin": families.mother}, "child": {"nin": families.shared}}
    ]
    assert fields_logged(nation, request_id) == {families.shared: "family identity", families.mother: "family"}


async def test_a_holders_responsibility_for_names_the_children_and_is_logged_for_each(graph, nation, families) -> None:
    request_id = uuid.uuid4().hex
    query = "query($n: ID!) { person(nin: $n) { parentalResponsibilityFor { type child { nin name { full } } } } }"

    data = await graph.data(query, {"n": families.foster}, **{"x-request-id": request_id})
    none = await graph.data(query, {"n": families.father})

    assert data["person"]["parentalResponsibilityFor"] == [
        {"type": "OTHER", "child": {"nin": families.fostered, "name": {"full": "Test Testesen"}}}
    ]
    assert none["person"]["parentalResponsibilityFor"] == []  # a registered parent is not thereby responsible
    assert fields_logged(nation, request_id) == {families.foster: "family identity",
                                                 families.fostered: "family identity"}  # fmt: skip


async def test_guardianship_names_the_guardian_with_type_and_scope(graph, nation, families) -> None:
    request_id = uuid.uuid4().hex
    query = "query($n: ID!) { person(nin: $n) { guardianship { type scope guardian { nin } } } }"

    data = await graph.data(query, {"n": families.ward}, **{"x-request-id": request_id})

    assert data["person"]["guardianship"] == [
        {"type": "ADULT", "scope": "FINANCIAL_INTERESTS", "guardian": {"nin": families.foster}}
    ]
    assert fields_logged(nation, request_id) == {families.ward: "guardianship identity",
                                                 families.foster: "guardianship"}  # fmt: skip


async def test_guardianship_has_a_scope_of_its_own_that_family_relations_do_not_open(graph, nation, families):
    query = "query($n: ID!) { person(nin: $n) { parents { nin } guardianship { type guardian { nin } } } }"
    family, guardianship = uuid.uuid4().hex, uuid.uuid4().hex

    relations = (await graph.post(query, {"n": families.ward}, token=token(nation, "integrator", scopes=(
        "preg:family",)), **{"x-request-id": family})).json()  # fmt: skip
    guardians = (await graph.post(query, {"n": families.ward}, token=token(nation, "integrator", scopes=(
        "preg:guardianship",)), **{"x-request-id": guardianship})).json()  # fmt: skip

    assert relations["data"]["person"] == {"parents": [], "guardianship": None}
    assert reasons(relations) == {("person", "guardianship"): "MISSING_SCOPE"}
    assert guardians["data"]["person"] == {
        "parents": None,
        "guardianship": [{"type": "ADULT", "guardian": {"nin": families.foster}}],
    }
    assert reasons(guardians) == {("person", "parents"): "MISSING_SCOPE"}
    assert logged(nation, family) == {families.ward: ("family", "preg:family")}
    assert logged(nation, guardianship) == {families.ward: ("guardianship", "preg:guardianship"),
                                            families.foster: ("guardianship", "preg:guardianship")}  # fmt: skip


async def test_a_caller_without_the_family_scope_learns_of_no_holder_or_guardian(graph, nation, families) -> None:
    request_id = uuid.uuid4().hex
    clinician = token(nation, "clinician", hpr_number=nation.samples["gpHprNumber"])
    query = ("query($a: ID!, $b: ID!) { a: person(nin: $a) { parentalResponsibility { responsible { nin } } } "
             "b: person(nin: $b) { guardianship { guardian { nin } } } }")  # fmt: skip

    body = (await graph.post(query, {"a": families.shared, "b": families.ward}, token=clinician,
                             **{"x-request-id": request_id})).json()  # fmt: skip

    assert body["data"] == {"a": {"parentalResponsibility": None}, "b": {"guardianship": None}}
    assert set(reasons(body).values()) == {"MISSING_SCOPE"}
    assert fields_logged(nation, request_id) == {families.shared: "identity", families.ward: "identity"}


async def test_my_children_under_16_are_those_i_hold_responsibility_for_where_the_register_holds_it(
    graph, nation, families
) -> None:
    query = "query($n: ID!) { person(nin: $n) { name { full } } }"

    def as_citizen(pid: str) -> str:
        return token(nation, "citizen", pid=pid)

    async def sees(pid: str, child: str) -> bool:
        body = (await graph.post(query, {"n": child}, token=as_citizen(pid))).json()
        return body["data"]["person"]["name"] is not None

    assert await sees(families.mother, families.shared)  # registered parent holding responsibility
    assert not await sees(families.father, families.shared)  # registered parent, responsibility held by the mother
    assert await sees(families.father, families.fathers)  # no responsibility registered: parenthood counts
    assert await sees(families.foster, families.fostered)  # responsibility without parenthood
    assert not await sees(families.foster, families.ward)  # a guardian is not a parent of a child under 16
    mine = await graph.data("{ me { parentalResponsibilityFor { child { nin } } } }", token=as_citizen(families.mother))
    assert mine["me"]["parentalResponsibilityFor"] == [{"child": {"nin": families.shared}}]


def test_responsibility_entries_without_a_number_are_mapped_from_either_end() -> None:
    from helsegraf.sync.preg import Rows, guardianship_rows, responsibility_rows  # noqa: PLC0415

    valid = {"isValid": True}
    foreign = {"name": {"givenName": "Piotr", "familyName": "Nowak"}, "birthDate": "1980-05-05T00:00:00Z",
               "gender": "Male", "citizenship": "POL"}  # fmt: skip
    document = _document(
        parentalResponsibility=[
            {**valid, "responsibilityType": "Joint", "responsible": "01018012345"},
            {**valid, "responsibilityType": "Joint", "responsibleWithoutIdentifier": foreign},
            {**valid, "responsibilityType": "Father", "responsible": "me", "subjectOfResponsibility": "02020212345"},
            {**valid, "responsibilityType": "Father", "subjectOfResponsibilityWithoutIdentifier": {
                "name": {"givenName": "Ola"}, "birthDate": "2019-01-01T00:00:00Z"}},
            {"isValid": False, "responsibilityType": "Other", "responsibleWithoutIdentifier": foreign},
            {**valid, "responsibilityType": "Other", "responsibleOrganization": "left out"},
        ],
        guardianshipOrFuturePowerOfAttorney=[
            {**valid, "guardianshipType": "Adult", "guardian": {"identificationNumber": "03030312345",
                                                                 "isGuardianshipInPersonalScope": False}},
            {**valid, "guardianshipType": "Minor", "guardian": {
                "name": {"givenName": "Anna", "familyName": "Svensson"}, "guardianshipScope": "PersonalInterests",
                "isGuardianshipInPersonalScope": True,
                "guardianInformation": {"birthDate": "1970-02-02T00:00:00Z", "gender": "Female",
                                        "citizenship": ["SWE", "FIN"]}}},
            {**valid, "guardian": {"nameBirthDate": {"name": {"familyName": "Jensen"}, "citizenship": "DNK",
                                                     "birthDate": "1960-03-03T00:00:00Z", "gender": "Male"}}},
            {**valid, "guardianshipType": "Adult", "guardian": {"guardianshipScope": "FinancialInterests"}},
        ],
    )  # fmt: skip
    rows = Rows()

    responsibility_rows(document, "me", rows)
    guardianship_rows(document, "ward", rows)

    assert rows.responsibility == [
        {"child_nin": "me", "responsible_nin": "01018012345", "responsibility_type": "Joint"}
    ]
    people = ("given_name", "middle_name", "family_name", "birth_date", "gender", "citizenship")
    assert [(r["position"], r["role"], r["responsibility_type"], *(r[k] for k in people))
            for r in rows.responsibility_without_id] == [
        (0, "RESPONSIBLE", "Joint", "Piotr", None, "Nowak", date(1980, 5, 5), "Male", "POL"),
        (1, "CHILD", "Father", "Ola", None, None, date(2019, 1, 1), None, None),
    ]  # fmt: skip
    assert rows.guardianship == [{"nin": "ward", "guardianship_type": "Adult", "scope": None,
                                  "in_personal_scope": False, "guardian_nin": "03030312345"}]  # fmt: skip
    assert [(r["position"], r["guardianship_type"], r["scope"], r["in_personal_scope"], *(r[k] for k in people))
            for r in rows.guardians_without_id] == [
        (0, "Minor", "PersonalInterests", True, "Anna", None, "Svensson", date(1970, 2, 2), "Female", "SWE"),
        (1, "Adult", None, None, None, None, "Jensen", date(1960, 3, 3), "Male", "DNK"),
    ]  # fmt: skip


@dataclass
class Unnumbered:
    mother: str
    child: str  # under 16: joint responsibility of the mother and a father without a number
    holder: str  # holds responsibility for a child abroad without a number
    ward: str  # guardians: one with a number (not in personal matters), one without (in personal matters)
    guardian: str


@pytest.fixture
def unnumbered(nation) -> Iterator[Unnumbered]:
    new = _new_nin(nation)
    born = {"mother": date(1986, 4, 4), "child": TODAY.replace(year=TODAY.year - 6), "holder": date(1979, 9, 9),
            "ward": date(1940, 1, 1), "guardian": date(1968, 8, 8)}  # fmt: skip
    nins = {name: new(day) for name, day in born.items()}
    person = (
        "INSERT INTO preg_person (nin, given_name, family_name, birth_date, gender, status, address_protection) "
        "VALUES (:nin, 'Test', 'Testesen', :born, 'FEMALE', 'RESIDENT', 'UGRADERT')"
    )
    other = ("INSERT INTO preg_responsibility_without_id (nin, position, role, responsibility_type, given_name, "
             "family_name, birth_date, gender, citizenship) VALUES (:nin, 0, :role, :kind, :given, :family, :born, "
             ":gender, :citizenship)")  # fmt: skip
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            for name, nin in nins.items():
                conn.execute(text(person), {"nin": nin, "born": born[name]})
            conn.execute(text("INSERT INTO preg_parent_relation (child_nin, parent_nin, role) VALUES (:c, :p, "
                              "'MOTHER')"), {"c": nins["child"], "p": nins["mother"]})  # fmt: skip
            conn.execute(text("INSERT INTO preg_parental_responsibility (child_nin, responsible_nin, "
                              "responsibility_type) VALUES (:c, :h, 'Joint')"),
                         {"c": nins["child"], "h": nins["mother"]})  # fmt: skip
            conn.execute(text(other), {"nin": nins["child"], "role": "RESPONSIBLE", "kind": "Joint",
                                       "given": "Piotr", "family": "Nowak", "born": date(1982, 2, 2),
                                       "gender": "Male", "citizenship": "POL"})  # fmt: skip
            conn.execute(text(other), {"nin": nins["holder"], "role": "CHILD", "kind": "Father", "given": "Ola",
                                       "family": "Abroad", "born": date(2020, 6, 6), "gender": "Male",
                                       "citizenship": None})  # fmt: skip
            conn.execute(text("INSERT INTO preg_guardianship (nin, guardian_nin, guardianship_type, scope, "
                              "in_personal_scope) VALUES (:n, :g, 'Adult', 'FinancialInterests', :no)"),
                         {"n": nins["ward"], "g": nins["guardian"], "no": False})  # fmt: skip
            conn.execute(text("INSERT INTO preg_guardian_without_id (nin, position, guardianship_type, scope, "
                              "in_personal_scope, given_name, family_name, birth_date, gender, citizenship) VALUES "
                              "(:n, 0, 'Adult', 'PersonalInterests', :yes, 'Anna', 'Svensson', :born, 'Female', "
                              "'SWE')"), {"n": nins["ward"], "yes": True, "born": date(1971, 3, 3)})  # fmt: skip
        yield Unnumbered(**nins)
    finally:
        everyone = tuple(nins.values())
        marks = ", ".join(f":n{i}" for i in range(len(everyone)))
        bound = {f"n{i}": nin for i, nin in enumerate(everyone)}
        with engine.begin() as conn:
            for table, column in (("audit_access_log", "nin"), ("preg_parent_relation", "child_nin"),
                                  ("preg_parental_responsibility", "child_nin"), ("preg_guardianship", "nin"),
                                  ("preg_responsibility_without_id", "nin"), ("preg_guardian_without_id", "nin"),
                                  ("preg_person", "nin")):  # fmt: skip
                conn.execute(text(f"DELETE FROM {table} WHERE {column} IN ({marks})"), bound)
        engine.dispose()


WITHOUT = "{ name { full } birthDate gender citizenship }"
RESPONSIBILITY = (
    f"query($n: ID!) {{ person(nin: $n) {{ parentalResponsibility {{ type responsible {{ nin }} "
    f"child {{ nin }} responsibleWithoutIdentifier {WITHOUT} childWithoutIdentifier {WITHOUT} }} }} }}"
)
RESPONSIBLE_FOR = (
    f"query($n: ID!) {{ person(nin: $n) {{ parentalResponsibilityFor {{ type child {{ nin }} "
    f"childWithoutIdentifier {WITHOUT} responsibleWithoutIdentifier {WITHOUT} }} }} }}"
)
GUARDIANS = (
    f"query($n: ID!) {{ person(nin: $n) {{ guardianship {{ type scope inPersonalScope guardian {{ nin }} "
    f"guardianWithoutIdentifier {WITHOUT} }} }} }}"
)


async def test_a_holder_without_a_number_is_named_and_the_log_holds_only_the_numbered(graph, nation, unnumbered):
    request_id = uuid.uuid4().hex

    data = await graph.data(RESPONSIBILITY, {"n": unnumbered.child}, **{"x-request-id": request_id})

    assert data["person"]["parentalResponsibility"] == [
        {"type": "JOINT", "responsible": {"nin": unnumbered.mother}, "child": {"nin": unnumbered.child},
         "responsibleWithoutIdentifier": None, "childWithoutIdentifier": None},
        {"type": "JOINT", "responsible": None, "child": {"nin": unnumbered.child},
         "responsibleWithoutIdentifier": {"name": {"full": "Piotr Nowak"}, "birthDate": "1982-02-02",
                                          "gender": "MALE", "citizenship": "POL"},
         "childWithoutIdentifier": None},
    ]  # fmt: skip
    assert fields_logged(nation, request_id) == {unnumbered.child: "family identity", unnumbered.mother: "family"}


async def test_a_child_without_a_number_is_named_on_its_holders_record(graph, nation, unnumbered) -> None:
    request_id = uuid.uuid4().hex

    data = await graph.data(RESPONSIBLE_FOR, {"n": unnumbered.holder}, **{"x-request-id": request_id})

    assert data["person"]["parentalResponsibilityFor"] == [
        {"type": "FATHER", "child": None, "responsibleWithoutIdentifier": None,
         "childWithoutIdentifier": {"name": {"full": "Ola Abroad"}, "birthDate": "2020-06-06", "gender": "MALE",
                                    "citizenship": None}},
    ]  # fmt: skip
    assert fields_logged(nation, request_id) == {unnumbered.holder: "family identity"}


async def test_a_guardian_without_a_number_and_the_personal_scope_of_each(graph, nation, unnumbered) -> None:
    request_id = uuid.uuid4().hex

    data = await graph.data(GUARDIANS, {"n": unnumbered.ward}, **{"x-request-id": request_id})

    assert data["person"]["guardianship"] == [
        {"type": "ADULT", "scope": "FINANCIAL_INTERESTS", "inPersonalScope": False,
         "guardian": {"nin": unnumbered.guardian}, "guardianWithoutIdentifier": None},
        {"type": "ADULT", "scope": "PERSONAL_INTERESTS", "inPersonalScope": True, "guardian": None,
         "guardianWithoutIdentifier": {"name": {"full": "Anna Svensson"}, "birthDate": "1971-03-03",
                                       "gender": "FEMALE", "citizenship": "SWE"}},
    ]  # fmt: skip
    assert fields_logged(nation, request_id) == {unnumbered.ward: "guardianship identity",
                                                 unnumbered.guardian: "guardianship"}  # fmt: skip


async def test_a_name_without_a_number_needs_the_identity_scope_and_a_parent_is_not_given_it(
    graph, nation, unnumbered
) -> None:
    family_only = token(nation, "integrator", scopes=("preg:family",))
    parent = token(nation, "citizen", pid=unnumbered.mother)
    request_id, parent_request = uuid.uuid4().hex, uuid.uuid4().hex

    body = (await graph.post(RESPONSIBILITY, {"n": unnumbered.child}, token=family_only,
                             **{"x-request-id": request_id})).json()  # fmt: skip
    mine = (await graph.post(RESPONSIBILITY, {"n": unnumbered.child}, token=parent,
                             **{"x-request-id": parent_request})).json()  # fmt: skip

    entry = body["data"]["person"]["parentalResponsibility"][1]
    assert entry["responsibleWithoutIdentifier"] == {"name": None, "birthDate": None, "gender": None,
                                                     "citizenship": None}  # fmt: skip
    assert {path[-1]: reason for path, reason in reasons(body).items() if path[2] == 1} == {
        "name": "MISSING_SCOPE", "birthDate": "MISSING_SCOPE", "gender": "MISSING_SCOPE", "citizenship": "MISSING_SCOPE"
    }  # fmt: skip
    assert fields_logged(nation, request_id) == {unnumbered.child: "family", unnumbered.mother: "family"}
    unnamed = mine["data"]["person"]["parentalResponsibility"][1]["responsibleWithoutIdentifier"]
    assert unnamed == {"name": None, "birthDate": None, "gender": None, "citizenship": None}
    assert {reason for path, reason in reasons(mine).items() if path[2] == 1} == {"NOT_SELF"}
    assert logged(nation, parent_request)[unnumbered.child] == ("family identity", "parent")


def test_restrictions_of_legal_capacity_map_to_periods() -> None:
    from helsegraf.sync.preg import legal_capacity_rows  # noqa: PLC0415

    document = _document(
        deprivedLegalAuthority=[{"validFrom": "2020-01-01T00:00:00Z", "validTo": "2022-01-01T00:00:00Z"},
                                {"isValid": True}],  # no start: not a period
        legalAuthority=[{"validFrom": "2022-01-01T00:00:00Z", "isValid": True, "legalAuthorityScope": "Limited"},
                        {"validFrom": "2023-01-01T00:00:00Z"}],  # no scope: nothing restricted
    )  # fmt: skip

    assert legal_capacity_rows(document, "ward") == [
        {"nin": "ward", "kind": "DEPRIVED", "valid_from": date(2020, 1, 1), "valid_to": date(2022, 1, 1)},
        {"nin": "ward", "kind": "LIMITED", "valid_from": date(2022, 1, 1), "valid_to": None},
    ]


async def test_legal_capacity_follows_its_periods_under_the_guardianship_scope(graph, nation, families) -> None:
    periods = [("DEPRIVED", date(2020, 1, 1), date(2022, 1, 1)), ("LIMITED", date(2022, 1, 1), None)]
    engine = nation.engine()
    with engine.begin() as conn:
        for kind, since, until in periods:
            insert = "INSERT INTO preg_legal_capacity (nin, kind, valid_from, valid_to) VALUES (:n, :k, :f, :t)"
            conn.execute(text(insert), {"n": families.ward, "k": kind, "f": since, "t": until})
    query = ("query($n: ID!, $at: Date) { person(nin: $n) { legalCapacityRestrictions(at: $at) { kind validFrom "
             "validTo } } }")  # fmt: skip
    request_id, family = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        today = await graph.data(query, {"n": families.ward}, **{"x-request-id": request_id})
        then = await graph.data(query, {"n": families.ward, "at": "2021-06-01"})
        before = await graph.data(query, {"n": families.ward, "at": "2019-06-01"})
        refused = (await graph.post(query, {"n": families.ward}, token=token(nation, "integrator", scopes=(
            "preg:family",)), **{"x-request-id": family})).json()  # fmt: skip
        released = fields_logged(nation, request_id)
        refused_log = logged(nation, family)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM preg_legal_capacity WHERE nin = :n"), {"n": families.ward})
        engine.dispose()

    assert today["person"]["legalCapacityRestrictions"] == [
        {"kind": "LIMITED", "validFrom": "2022-01-01", "validTo": None}
    ]
    assert then["person"]["legalCapacityRestrictions"] == [
        {"kind": "DEPRIVED", "validFrom": "2020-01-01", "validTo": "2022-01-01"}
    ]
    assert before["person"]["legalCapacityRestrictions"] == []
    assert released == {families.ward: "guardianship identity"}
    assert refused["data"]["person"]["legalCapacityRestrictions"] is None
    assert reasons(refused) == {("person", "legalCapacityRestrictions"): "MISSING_SCOPE"}
    assert refused_log == {}


def test_every_part_the_sync_reads_is_an_information_part_it_asks_for() -> None:
    """Persontjenesten sends only the parts asked for (`informationParts`); the fake sends all of them."""
    from helsegraf.sync.preg import INFORMATION_PARTS, Rows, rows_of  # noqa: PLC0415
    from helsegraf.upstream.contracts import persontjenesten as pt  # noqa: PLC0415

    class Reading:
        """A document that records the fields the mapping reads."""

        read: ClassVar[set[str]] = set()

        def __init__(self, document: Any) -> None:
            self.document = document

        def __getattr__(self, name: str) -> Any:
            self.read.add(name)
            return getattr(self.document, name)

    document = Reading(_document(
        norwegianIdentificationNumber=[{"identificationNumber": "01018012345", "status": "InUse"}],
        name=[{"isValid": True, "givenName": "A", "familyName": "B"}], gender=[{"isValid": True, "gender": "Male"}],
        birth=[{"isValid": True, "birthDate": "1980-01-01T00:00:00Z"}],
        status=[{"isValid": True, "status": "Resident"}],
    ))  # fmt: skip

    rows_of(document, Rows())

    asked = {part[0].upper() + part[1:] for part in Reading.read - {"id", "sequenceNumber"}}
    assert asked <= {p.value for p in pt.InformationPart}
    assert asked <= set(INFORMATION_PARTS), asked - set(INFORMATION_PARTS)
    assert {"SharedResidence", "DeprivedLegalAuthority", "LegalAuthority", "ForeignPostalAddress"} <= asked


# ------------------------------------------------------------------ 3. status, marital status, citizenship


def test_every_status_of_the_contract_is_a_status_of_the_graph_and_back() -> None:
    from helsegraf.schema.preg import PersonStatus  # noqa: PLC0415
    from helsegraf.sync.preg import snake  # noqa: PLC0415
    from helsegraf.upstream.contracts import persontjenesten as pt  # noqa: PLC0415
    from helsegraf.upstream.preg import pascal  # noqa: PLC0415

    contract = [s.value for s in pt.PersonStatusType]

    assert {snake(s) for s in contract} == {s.value for s in PersonStatus}
    assert [pascal(snake(s)) for s in contract] == contract
    assert {"RegisteredAtBirth", "Temporary", "NotResident", "Active", "Inactive"} <= set(contract)


async def test_marital_status_and_citizenship_are_the_contracts_words(graph, nation) -> None:
    from helsegraf.upstream.contracts import persontjenesten as pt  # noqa: PLC0415

    rows = db_rows(nation, "SELECT nin, status, marital_status, citizenship FROM preg_person WHERE replaced_by IS NULL")
    marital = {m.value for m in pt.MaritalStatusType}
    statuses = {r.status for r in rows}
    sample = next(r for r in rows if r.marital_status == "Married")

    data = await graph.data(
        "query($n: ID!) { person(nin: $n) { maritalStatus citizenship status } }", {"n": sample.nin}
    )

    assert {r.marital_status for r in rows} <= marital
    assert all(r.citizenship is None or (len(r.citizenship) == 3 and r.citizenship.isupper()) for r in rows)
    assert {"TEMPORARY", "NOT_RESIDENT", "RESIDENT"} <= statuses  # the generator uses the contract's new words
    assert data["person"] == {"maritalStatus": "Married", "citizenship": sample.citizenship, "status": sample.status}
