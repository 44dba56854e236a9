"""HPR's SOAP contract: the fake's answers validate against hpr.wsdl, and the adapter reads them back row for row.

HPR's reported quirks are each tested: ISO-8859-1 declared over UTF-8 bytes, sentinel dates for open
periods, and "not found" as a SOAP fault whose text must be matched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest
import xmlschema
from lxml import etree
from sqlalchemy import create_engine, text

from helsegraf.sync.hpr import (
    HprAdapter,
    HprNotFoundError,
    HprSource,
    apply_person,
    changed_numbers,
    decode,
    person_rows,
    persons_rows,
)
from helsegraf.upstream import hpr
from helsegraf.upstream.hpr import WSDL

WSDL_NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "xs": "http://www.w3.org/2001/XMLSchema"}
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
TABLES = (
    "hpr_person", "hpr_approval", "hpr_speciality", "hpr_requisition_right", "hpr_suspension",
    "hpr_additional_competence", "hpr_condition", "hpr_administrative_reaction", "hpr_alternative_id",
)  # fmt: skip


@cache
def schema() -> xmlschema.XMLSchema:
    """The schemas embedded in hpr.wsdl's types, built together (they import each other's namespaces)."""
    schemas = etree.parse(str(WSDL)).findall(".//wsdl:types/xs:schema", WSDL_NS)
    built = xmlschema.XMLSchema(etree.tostring(schemas[0]).decode(), build=False)
    for other in schemas[1:]:
        built.add_schema(etree.tostring(other).decode())
    built.build()
    return built


def body_element(body: bytes) -> etree._Element:
    return etree.fromstring(decode(body)).find(f"{SOAP}Body")[0]


def rows_of(nation, table: str, where: str, **params) -> list[dict]:
    order = "hpr_number" if table == "hpr_person" else "id"
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            result = conn.execute(text(f"SELECT * FROM {table} WHERE {where} ORDER BY {order}"), params)
            return [dict(r) for r in result.mappings()]
    finally:
        engine.dispose()


SUSPENDED = "SELECT a.hpr_number FROM hpr_suspension s JOIN hpr_approval a ON a.id = s.approval_id"


def interesting_numbers(nation) -> list[int]:
    """HPR numbers that between them carry every kind of row the contract has."""
    engine = nation.engine()
    queries = (
        f"{SUSPENDED} WHERE s.speciality_id IS NOT NULL",
        f"{SUSPENDED} WHERE s.requisition_right_id IS NOT NULL",
        "SELECT a.hpr_number FROM hpr_condition c JOIN hpr_approval a ON a.id = c.approval_id",
        "SELECT a.hpr_number FROM hpr_additional_competence c JOIN hpr_approval a ON a.id = c.approval_id",
        "SELECT hpr_number FROM hpr_administrative_reaction",
        "SELECT hpr_number FROM hpr_alternative_id",
        "SELECT hpr_number FROM hpr_person WHERE replaced_by IS NOT NULL",
        "SELECT hpr_number FROM hpr_person WHERE death_date IS NOT NULL",
    )  # fmt: skip
    try:
        with engine.connect() as conn:
            return sorted({conn.execute(text(q)).scalars().first() for q in queries} - {None})
    finally:
        engine.dispose()


def test_hent_person_answers_validate_against_the_wsdl_and_read_back_row_for_row(nation) -> None:
    numbers = interesting_numbers(nation)
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            answers = {n: hpr.hent_person(conn, n) for n in numbers}
    finally:
        engine.dispose()

    assert len(numbers) >= 6
    for number, (status, body) in answers.items():
        assert status == 200
        schema().validate(body_element(body))
        read = person_rows(body)
        approvals = [a["id"] for a in read.tables["hpr_approval"]]
        for table in TABLES:
            if table == "hpr_person" or table in {"hpr_administrative_reaction", "hpr_alternative_id", "hpr_approval"}:
                expected = rows_of(nation, table, "hpr_number = :n", n=number)
            else:
                ids = ",".join(str(a) for a in approvals) or "NULL"
                expected = rows_of(nation, table, f"approval_id IN ({ids})") if table != "hpr_person" else []
            got = sorted(read.tables[table], key=lambda r: r.get("id", r.get("hpr_number")))
            expected = [{k: _plain(v) for k, v in r.items()} for r in expected]
            assert [{k: _plain(v) for k, v in r.items()} for r in got] == expected, (number, table)


def _plain(value):
    """Compare dates and moments as ISO text (SQLite hands them back as text, timezone-naive)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 10 and value[4] == "-":
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return value


def test_hent_personer_answers_validate_against_the_wsdl_and_leave_unknown_numbers_out(nation) -> None:
    numbers = interesting_numbers(nation)
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            status, body = hpr.hent_personer(conn, [*numbers, 1])  # 1 is no HPR number
            singles = {n: person_rows(hpr.hent_person(conn, n)[1]) for n in numbers}
            refused = hpr.hent_personer(conn, list(range(1, hpr.MAX_PERSONS + 2)))
    finally:
        engine.dispose()
    request = hpr._operation("HentPersoner").input.serialize(  # noqa: SLF001 - the adapter's own request
        hprNummer={"int": [*numbers, 1]}, medAdresser=False, påTidspunkt=None
    )

    assert status == 200
    schema().validate(body_element(body))
    schema().validate(request.content.find(f"{SOAP}Body")[0])
    read = persons_rows(body)
    assert [p.hpr_number for p in read] == numbers
    for person in read:  # the same rows HentPerson gives, person by person
        assert person.tables == singles[person.hpr_number].tables
    assert refused[0] == 500
    assert b"ArgumentException" in refused[1]


async def test_the_adapter_fetches_in_chunks_and_skips_a_number_hentpersoner_leaves_out(nation) -> None:
    import httpx  # noqa: PLC0415

    from helsegraf.sync.engine import Batch, Entry  # noqa: PLC0415

    engine = nation.engine()
    try:
        with engine.connect() as conn:
            first = text("SELECT hpr_number FROM hpr_person ORDER BY hpr_number LIMIT 7")
            numbers = conn.execute(first).scalars().all()
            expected = {n: person_rows(hpr.hent_person(conn, n)[1]) for n in numbers}
            calls: list[tuple[str, int]] = []

            def answer(request: httpx.Request) -> httpx.Response:
                root = etree.fromstring(request.content)
                operation = etree.QName(root.find(f"{SOAP}Body")[0]).localname
                parsed = hpr._operation(operation).input.deserialize(root)  # noqa: SLF001 - the fake's parsing
                if operation == "HentPersoner":
                    asked = [int(n) for n in parsed.hprNummer.int]
                    calls.append((operation, len(asked)))
                    status, body = hpr.hent_personer(conn, asked)
                else:
                    calls.append((operation, 1))
                    status, body = hpr.hent_person(conn, int(parsed.hprNummer))
                return httpx.Response(status, content=body)

            adapter = HprAdapter(HprSource("http://hpr.test/"), concurrency=2)
            adapter.persons_per_call = 3
            entries = [Entry(100 + i, f"{n:012d}", "changed") for i, n in enumerate([*numbers, 1])]
            batch = Batch("changes", entries)
            async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
                await adapter.documents(client, batch)
    finally:
        engine.dispose()

    assert sorted(calls) == [("HentPersoner", 2), ("HentPersoner", 3), ("HentPersoner", 3)]  # 8 numbers, 3 a call
    assert {int(k): v.tables for k, v in batch.documents.items()} == {n: r.tables for n, r in expected.items()}
    assert batch.skipped == {100 + len(numbers): "HPR number not returned by HentPersoner"}


async def test_a_hentpersoner_fault_is_asked_again_number_by_number(nation) -> None:
    import httpx  # noqa: PLC0415

    from helsegraf.sync.engine import Batch, Entry  # noqa: PLC0415

    engine = nation.engine()
    try:
        with engine.connect() as conn:
            first = text("SELECT hpr_number FROM hpr_person ORDER BY hpr_number LIMIT 2")
            numbers = conn.execute(first).scalars().all()
            calls: list[str] = []

            def answer(request: httpx.Request) -> httpx.Response:
                root = etree.fromstring(request.content)
                operation = etree.QName(root.find(f"{SOAP}Body")[0]).localname
                calls.append(operation)
                if operation == "HentPersoner":  # a service that faults when any number is unknown
                    return httpx.Response(500, content=hpr.fault(hpr.NOT_FOUND))
                parsed = hpr._operation(operation).input.deserialize(root)  # noqa: SLF001 - the fake's parsing
                status, body = hpr.hent_person(conn, int(parsed.hprNummer))
                return httpx.Response(status, content=body)

            adapter = HprAdapter(HprSource("http://hpr.test/"))
            batch = Batch("changes", [Entry(10 + i, f"{n:012d}", "changed") for i, n in enumerate([*numbers, 1])])
            async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
                await adapter.documents(client, batch)
    finally:
        engine.dispose()

    assert calls == ["HentPersoner", "HentPerson", "HentPerson", "HentPerson"]
    assert sorted(int(k) for k in batch.documents) == numbers
    assert batch.skipped == {12: "HPR number not found by HentPerson"}


def test_register_changes_page_through_the_changed_persons(nation) -> None:
    engine = nation.engine()
    fra, til = datetime(2025, 6, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with engine.connect() as conn:
            first = hpr.hent_register_endringer(conn, fra, til, 1, 7)
            second = hpr.hent_register_endringer(conn, fra, til, 2, 7)
            refused = hpr.hent_register_endringer(conn, fra, til, 1, 5000)
            expected = conn.execute(text("SELECT hpr_number FROM hpr_person "
                                         "WHERE last_changed >= :f AND last_changed < :t "
                                         "ORDER BY hpr_number"), {"f": fra, "t": til}).scalars().all()  # fmt: skip
    finally:
        engine.dispose()

    schema().validate(body_element(first[1]))
    page_one, total = changed_numbers(first[1])
    page_two, _ = changed_numbers(second[1])
    assert total == len(expected) > 7
    assert [p.hpr_number for p in page_one + page_two] == expected[:14]
    assert refused[0] == 500


def test_utf8_bytes_under_an_iso_8859_1_declaration_are_read_as_utf8(nation) -> None:
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            named = "family_name LIKE '%ø%' OR given_name LIKE '%å%' OR family_name LIKE '%å%'"
            number = conn.execute(text(f"SELECT hpr_number FROM hpr_person WHERE {named} LIMIT 1")).scalar_one()
            name = conn.execute(text("SELECT given_name || ' ' || family_name FROM hpr_person WHERE hpr_number = :n"),
                                {"n": number}).scalar_one()  # fmt: skip
            _, body = hpr.hent_person(conn, number)
    finally:
        engine.dispose()

    assert body.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    read = person_rows(body).tables["hpr_person"][0]

    # A client that trusts the declaration fails: element names such as Dødsdato are not names in Latin-1.
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)
    assert f"{read['given_name']} {read['family_name']}" == name


def test_a_genuinely_latin1_body_is_left_as_declared() -> None:
    body = "<?xml version='1.0' encoding='ISO-8859-1'?><x>Bjørnstad</x>".encode("latin-1")

    assert decode(body) == body
    assert etree.fromstring(decode(body)).text == "Bjørnstad"


def test_sentinel_dates_for_open_periods_are_null(nation) -> None:
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            number = conn.execute(
                text("SELECT hpr_number FROM hpr_approval WHERE valid_to IS NULL LIMIT 1")
            ).scalar_one()
            _, body = hpr.hent_person(conn, number)
    finally:
        engine.dispose()
    root = etree.fromstring(decode(body))
    for period in root.iter(f"{{{hpr.NAMESPACE}}}Gyldig"):
        begins = period[0]  # Fra; an open period has no Til: HPR may send a sentinel instead
        if len(period) == 1:
            etree.SubElement(period, begins.tag.replace("Fra", "Til")).text = "9999-12-31T23:59:59"
    person = root.find(f".//{{{hpr.NAMESPACE}}}HentPersonResult")
    died = person.find(f"{{{hpr.NAMESPACE}}}Dødsdato")
    if died is None:  # no death: HPR may send year 1 instead of leaving it out
        died = etree.Element(f"{{{hpr.NAMESPACE}}}Dødsdato")
        person.find(f"{{{hpr.NAMESPACE}}}AlternativeIder").addnext(died)
    died.text = "0001-01-01T00:00:00"
    mutated = etree.tostring(root, xml_declaration=True, encoding="utf-8")

    read = person_rows(mutated)

    assert b"9999-12-31T23:59:59" in mutated
    schema().validate(etree.fromstring(mutated).find(f"{SOAP}Body")[0])  # still the contract's shape
    assert all(a["valid_to"] is None for a in read.tables["hpr_approval"] if a["closing_status"] is None)
    assert read.tables["hpr_person"][0]["death_date"] is None


def test_not_found_is_hprs_fault_text_and_raises_without_the_number(nation) -> None:
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            status, body = hpr.hent_person(conn, 1)
    finally:
        engine.dispose()

    assert status == 500
    assert b"ArgumentException: HPR-nummer ikke funnet" in body
    with pytest.raises(HprNotFoundError) as raised:
        person_rows(body)
    assert "1" not in str(raised.value).replace("HPR", "")


def test_applying_a_person_replaces_their_rows(nation, tmp_path) -> None:
    from helsegraf.config import Settings  # noqa: PLC0415
    from helsegraf.migrate import upgrade  # noqa: PLC0415

    number = interesting_numbers(nation)[0]
    source = nation.engine()
    try:
        with source.connect() as conn:
            _, body = hpr.hent_person(conn, number)
    finally:
        source.dispose()
    url = f"sqlite:///{tmp_path / 'hpr.db'}"
    upgrade(Settings(database_url=url))
    target = create_engine(url)
    rows = person_rows(body)
    try:
        with target.begin() as conn:
            apply_person(conn, rows)
        with target.begin() as conn:
            apply_person(conn, rows)  # again: replaced, not duplicated
        with target.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    finally:
        target.dispose()

    assert counts == {t: len(rows.tables[t]) for t in TABLES}
    assert counts["hpr_person"] == 1
