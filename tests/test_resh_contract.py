"""RESH's contract in the graph: levels and designations as codes, treatment facility, top organisation, services."""

from __future__ import annotations

from conftest import db_rows
from helsegraf.schema import build_schema

UNIT = """
query($r: Int!) { reshUnit(reshId: $r) { reshId displayName lastChanged
  organizationalLevel { system code text } organizationalDesignation { system code text }
  treatmentFacilityOrgNumber treatmentFacility { orgNumber } topOrgNumber topOrganization { reshId name }
  serviceDetails { code { system code text } ownerReshId owner { reshId } validFrom validTo } } }
"""


async def test_a_section_has_its_level_designation_treatment_facility_and_trust(graph, nation) -> None:
    section = db_rows(nation, "SELECT * FROM resh_unit WHERE unit_type = 'SECTION' AND valid_to IS NULL "
                      "ORDER BY resh_id LIMIT 1")[0]  # fmt: skip
    hospital = db_rows(nation, "SELECT * FROM resh_unit WHERE unit_type = 'HOSPITAL' AND org_number = :o",
                       o=section.treatment_facility_org_number)  # fmt: skip
    trust = db_rows(nation, "SELECT * FROM resh_unit WHERE resh_id = :r", r=section.top_org_resh_id)[0]

    found = (await graph.data(UNIT, {"r": section.resh_id}))["reshUnit"]

    assert found["organizationalLevel"] == {"system": "8628", "code": "9", "text": "Annet"}
    assert found["organizationalDesignation"] == {"system": "8624", "code": "06", "text": "Seksjon"}
    assert hospital, "the treatment facility is the section's hospital"
    assert found["treatmentFacilityOrgNumber"] == hospital[0].org_number
    assert found["treatmentFacility"] == {"orgNumber": hospital[0].org_number}
    assert trust.unit_type == "HF"
    assert found["topOrganization"] == {"reshId": trust.resh_id, "name": trust.name}
    assert found["topOrgNumber"] == trust.org_number
    assert found["displayName"].startswith(section.name)
    assert found["lastChanged"] is not None


async def test_a_hospital_is_its_own_treatment_facility_and_an_institution(graph, nation) -> None:
    hospital = db_rows(nation, "SELECT * FROM resh_unit WHERE unit_type = 'HOSPITAL' ORDER BY resh_id LIMIT 1")[0]

    found = (await graph.data(UNIT, {"r": hospital.resh_id}))["reshUnit"]

    assert found["organizationalLevel"]["text"] == "Institusjon"
    assert found["organizationalDesignation"]["text"] == "Sykehus"
    assert found["treatmentFacilityOrgNumber"] == hospital.org_number


async def test_services_carry_their_code_system_owner_and_validity(graph, nation) -> None:
    service = db_rows(nation, "SELECT * FROM resh_service ORDER BY resh_id, code LIMIT 1")[0]
    rows = db_rows(nation, "SELECT * FROM resh_service WHERE resh_id = :r ORDER BY code", r=service.resh_id)

    found = (await graph.data(UNIT, {"r": service.resh_id}))["reshUnit"]

    details = sorted(found["serviceDetails"], key=lambda s: s["code"]["code"])
    assert [d["code"]["code"] for d in details] == [r.code for r in rows]
    assert {d["code"]["system"] for d in details} == {service.code_system}
    assert all(d["code"]["text"] for d in details)
    assert details[0]["ownerReshId"] == service.owner_resh_id
    assert details[0]["owner"] == {"reshId": service.owner_resh_id}
    assert details[0]["validFrom"] == service.valid_from.isoformat()


async def test_the_level_and_designation_lists_are_the_published_ones(graph) -> None:
    data = await graph.data('{ d: codes(system: "8624") { code text } l: codes(system: "8628") { code text } }')

    assert len(data["d"]) == 23
    assert {"code": "05", "text": "Avdeling"} in data["d"]
    assert {"code": "31", "text": "DPS"} in data["d"]
    assert data["l"] == [{"code": c, "text": t} for c, t in (("1", "RHF"), ("2", "HF"), ("3", "Institusjon"),
                                                             ("9", "Annet"))]  # fmt: skip


def test_the_free_string_unit_type_is_deprecated_for_the_codes() -> None:
    sdl = build_schema().as_str()

    unit = sdl[sdl.index("type ReshUnit") :].split("\n}", 1)[0]
    assert "unitType: String @deprecated" in unit
    assert "organizationalLevel: Code" in unit
