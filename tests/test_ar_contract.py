"""AR's current contract in the graph: certificates, physical addresses, names, business types, services."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import db_rows
from helsegraf.schema import build_schema

PARTY = """
query($h: Int!) { communicationParty(herId: $h) { herId displayName parentName parentOrgNumber
  isValidCommunicationParty validFrom validTo lastChanged businessType { system code text }
  parentBusinessType { code } service { system code text } locationDescription
  physicalAddresses { type { system code text } street postbox postalCode city country }
  certificates { usage validFrom validTo serialNumber ldapUrl }
  coverageAreas { name municipalityCode } futureElectronicAddresses { type address validFrom } } }
"""


def _iso(value: object) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


async def test_an_office_party_has_its_certificates_addresses_and_business_type(graph, nation) -> None:
    her_id = db_rows(nation, "SELECT her_id FROM ar_certificate GROUP BY her_id HAVING count(*) > 2 ORDER BY her_id")[
        0
    ].her_id
    party = db_rows(nation, "SELECT * FROM ar_communication_party WHERE her_id = :h", h=her_id)[0]
    certificates = db_rows(
        nation, "SELECT * FROM ar_certificate WHERE her_id = :h ORDER BY valid_from, usage, id", h=her_id
    )

    found = (await graph.data(PARTY, {"h": her_id}))["communicationParty"]

    assert found["displayName"] == party.display_name
    assert [c["serialNumber"] for c in found["certificates"]] == [c.serial_number for c in certificates]
    assert {c["usage"] for c in found["certificates"]} == {"ENCRYPTION", "SIGNING"}
    assert [_iso(c["validTo"]) for c in found["certificates"]] == [_iso(c.valid_to) for c in certificates]
    assert all(c["ldapUrl"].startswith("ldap://") for c in found["certificates"])
    assert found["lastChanged"] is not None
    if party.type == "ORGANIZATION":
        assert found["businessType"]["system"] == "9040"
        assert found["businessType"]["text"]


async def test_certificates_filter_by_usage_and_moment(graph, nation) -> None:
    her_id = db_rows(nation, "SELECT her_id FROM ar_certificate GROUP BY her_id HAVING count(*) = 4 ORDER BY her_id")[
        0
    ].her_id
    rows = db_rows(nation, "SELECT * FROM ar_certificate WHERE her_id = :h ORDER BY valid_from", h=her_id)
    newest = max(rows, key=lambda r: _iso(r.valid_from))
    moment = _iso(newest.valid_from)
    query = (
        "query($h: Int!, $at: DateTime!) { communicationParty(herId: $h) { "
        "all: certificates { serialNumber } encryption: certificates(usage: ENCRYPTION) { usage } "
        "now: certificates(at: $at, usage: SIGNING) { serialNumber validFrom } } }"
    )

    found = (await graph.data(query, {"h": her_id, "at": moment}))["communicationParty"]

    assert len(found["all"]) == 4
    assert [c["usage"] for c in found["encryption"]] == ["ENCRYPTION", "ENCRYPTION"]
    # A renewed certificate overlaps its predecessor for a fortnight: both are valid at the renewal.
    assert len(found["now"]) == 2


async def test_organisation_addresses_are_visit_and_postal_with_the_leading_zero(graph, nation) -> None:
    address = db_rows(nation, "SELECT * FROM ar_physical_address WHERE type = 'RES' ORDER BY postal_code LIMIT 1")[0]

    found = (await graph.data(PARTY, {"h": address.her_id}))["communicationParty"]

    kinds = {a["type"]["code"]: a for a in found["physicalAddresses"]}
    assert set(kinds) == {"RES", "PST"}
    assert kinds["RES"]["street"] == address.street
    assert kinds["RES"]["postalCode"] == address.postal_code
    assert len(kinds["RES"]["postalCode"]) == 4
    assert kinds["PST"]["postbox"].startswith("Postboks")
    assert kinds["RES"]["type"]["system"] == "3401"
    assert kinds["RES"]["type"]["text"] == "Besøksadresse"


async def test_a_service_has_its_code_coverage_parent_name_and_parent_business_type(graph, nation) -> None:
    service = db_rows(nation, "SELECT * FROM ar_communication_party WHERE type = 'SERVICE' ORDER BY her_id")[0]
    parent = db_rows(nation, "SELECT * FROM ar_communication_party WHERE her_id = :h", h=service.parent_her_id)[0]

    found = (await graph.data(PARTY, {"h": service.her_id}))["communicationParty"]

    assert found["service"] == {"system": "8666", "code": "FL", "text": "Fastlegetjeneste"}
    assert found["parentName"] == parent.name
    assert found["parentOrgNumber"] == parent.org_number
    assert found["parentBusinessType"] == {"code": parent.business_type}
    assert found["coverageAreas"][0]["municipalityCode"] == service.municipality_code
    assert found["locationDescription"]


async def test_a_future_edi_address_is_listed_apart_from_the_current_ones(graph, nation) -> None:
    future = db_rows(nation, "SELECT * FROM ar_future_electronic_address ORDER BY id LIMIT 1")[0]

    found = await graph.data(
        "query($h: Int!) { communicationParty(herId: $h) { electronicAddresses "
        "futureElectronicAddresses { type address validFrom } } }",
        {"h": future.her_id},
    )

    party = found["communicationParty"]
    assert party["futureElectronicAddresses"] == [
        {"type": "E_EDI", "address": future.address, "validFrom": _iso(future.valid_from)}
    ]
    assert future.address not in party["electronicAddresses"]


def test_department_is_readable_but_deprecated_in_the_sdl() -> None:
    sdl = build_schema().as_str()

    party_type = sdl[sdl.index("enum PartyType") :].split("}", 1)[0]
    assert "DEPARTMENT @deprecated(reason: \"AR's current contract has no departments" in party_type
    assert "ORGANIZATION" in party_type
    assert "SERVICE" in party_type
    assert "PERSON" in party_type


async def test_an_old_department_party_still_answers(graph, nation) -> None:
    department = db_rows(nation, "SELECT her_id FROM ar_communication_party WHERE type = 'DEPARTMENT' LIMIT 1")[0]

    found = await graph.data("query($h: Int!) { communicationParty(herId: $h) { type } }", {"h": department.her_id})

    assert found["communicationParty"]["type"] == "DEPARTMENT"
