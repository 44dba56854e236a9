"""AR's export documents read into rows: sentinels become null, integer postal codes get their leading zero."""

from __future__ import annotations

from datetime import date

import pytest

from helsegraf.sync.ar import PartyDocumentError, none_if_sentinel, party_rows, postal_code

DOCUMENT = {
    "HerId": 8_100_123,
    "Name": "Fastlegetjeneste",
    "DisplayName": "Fastlegetjeneste - Sentrum legesenter",
    "Type": "Service",
    "ParentHerId": -1,
    "ParentName": None,
    "ParentOrganizationNumber": -1,
    "OrganizationNumber": 31_000_013,
    "Active": True,
    "IsValidCommunicationParty": True,
    "Valid": {"From": "2019-04-01T00:00:00", "To": "9999-12-31T23:59:59.997"},
    "LastChanged": "2025-11-03T10:15:00Z",
    "Municipality": {"CodeValue": "0301", "OID": 3402},
    "ElectronicAddresses": [{"Type": {"CodeValue": "E_EDI", "OID": 9044}, "Address": "sentrum@edi.nhn.no"}],
    "PhysicalAddresses": [
        {"Type": {"CodeValue": "RES", "OID": 3401}, "StreetAddress": "Storgata 1", "PostalCode": 150, "City": "Oslo"},
        {"TypeCodeValue": "PST", "Postbox": "Postboks 9", "PostalCode": "0151", "City": "Oslo"},
    ],
}


def test_sentinels_are_null_and_postal_codes_keep_four_digits() -> None:
    rows = party_rows(DOCUMENT)

    party = rows["ar_communication_party"][0]
    assert party["parent_her_id"] is None
    assert party["parent_org_number"] is None
    assert party["valid_to"] is None
    assert party["valid_from"] == date(2019, 4, 1)
    assert party["org_number"] == "031000013"  # an integer organisation number keeps nine digits
    assert party["type"] == "SERVICE"
    assert party["last_changed"].isoformat() == "2025-11-03T10:15:00+00:00"
    assert [a["postal_code"] for a in rows["ar_physical_address"]] == ["0150", "0151"]
    assert [a["type"] for a in rows["ar_physical_address"]] == ["RES", "PST"]
    assert rows["ar_electronic_address"] == [{"her_id": 8_100_123, "type": "E_EDI", "address": "sentrum@edi.nhn.no"}]


@pytest.mark.parametrize(("value", "expected"), [(-1, None), ("-1", None), ("9999-12-31T23:59:59.997", None),
                                                 (0, 0), ("2026-01-01", "2026-01-01"), (None, None)])  # fmt: skip
def test_none_if_sentinel(value, expected) -> None:
    assert none_if_sentinel(value) == expected


@pytest.mark.parametrize("bad", ["12345", "A150", -3])
def test_a_bad_postal_code_is_refused_without_echoing_it(bad) -> None:
    with pytest.raises(PartyDocumentError) as raised:
        postal_code(bad)
    assert str(bad) not in str(raised.value)


def test_a_document_without_a_her_id_is_refused() -> None:
    with pytest.raises(PartyDocumentError, match="HerId"):
        party_rows({**DOCUMENT, "HerId": None})
