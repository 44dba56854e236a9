"""The contract's rarer person shapes, end to end: the fake sends them (checked against the OpenAPI document),
the sync stores them, the graph answers them with their redactions, and the access log holds what left.

Addresses abroad (a present address, a postal address abroad), unknown addresses (an unknown residence,
a present address unknown with a stay elsewhere), and holders of parental responsibility and guardians
without a Norwegian identification number. SQLite and PostgreSQL, through HTTP.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from helsegraf.config import Settings
from test_sync import FAST_PATHS, Rig, _whole_nation
from test_sync import rig as rig  # noqa: PLC0414 - the fixture, with the contract check on every exchange

FIELDS = "{ street postalCode postalPlace countryCode region addressUnknown stayElsewhere addressProtection }"
QUERY = f"""query($n: ID!) {{ person(nin: $n) {{
  address {{ street municipality {{ code }} }}
  residentialAddress {FIELDS} presentAddress {FIELDS} foreignPostalAddress {FIELDS} sharedResidence {FIELDS}
}} }}"""


def _open(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


async def _ask(rig: Rig, url: str, query: str, variables: dict[str, Any], **claims: Any) -> tuple[dict, str]:
    from helsegraf.authz.tokens import mint  # noqa: PLC0415
    from helsegraf.http.app import create_app  # noqa: PLC0415

    app = create_app(Settings(home=rig.tmp, database_url=url, fast_paths=FAST_PATHS))
    request_id = uuid.uuid4().hex
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graph") as client:
            headers = {"authorization": f"Bearer {mint(rig.tmp, **claims)}", "x-request-id": request_id}
            body = (await client.post("/graphql", json={"query": query, "variables": variables},
                                      headers=headers)).json()  # fmt: skip
    finally:
        await app.state.db.dispose()
    return body, request_id


def _logged(url: str, request_id: str) -> dict[str, tuple[str, str]]:
    rows = _open(url, f"SELECT nin, fields, scopes FROM audit_access_log WHERE request_id = '{request_id}'")
    return {r.nin: (r.fields, r.scopes) for r in rows}


def _redactions(body: dict) -> dict[tuple, str]:
    return {tuple(r["path"]): r["reason"] for r in body.get("extensions", {}).get("redactions", [])}


async def test_addresses_abroad_and_unknown_arrive_through_the_contract_and_reach_the_graph(rig: Rig) -> None:
    url = _whole_nation(rig)
    await rig.sync_once(url)
    rows = _open(url, "SELECT * FROM preg_address WHERE country_code IS NOT NULL OR address_unknown IS NOT NULL")
    by_shape = {}
    for r in rows:
        shape = (r.kind, r.country_code is not None, bool(r.address_unknown), r.stay_elsewhere is not None)
        by_shape.setdefault(shape, r)
    abroad = by_shape[("PRESENT", True, False, False)]
    elsewhere = by_shape[("PRESENT", False, True, True)]
    unknown = by_shape[("RESIDENTIAL", False, True, False)]
    postal = next(r for s, r in by_shape.items() if s[0] == "FOREIGN_POSTAL")
    [shared] = _open(url, "SELECT * FROM preg_address WHERE kind = 'SHARED' ORDER BY nin LIMIT 1")
    graded = next(r for r in rows if r.kind == "FOREIGN_POSTAL" and r.confidentiality == "StrictlyConfidential")

    answers = {}
    for name, row in (("abroad", abroad), ("elsewhere", elsewhere), ("unknown", unknown), ("postal", postal),
                      ("shared", shared)):  # fmt: skip
        body, _ = await _ask(rig, url, QUERY, {"n": row.nin}, role="admin")
        assert "errors" not in body, body
        answers[name] = body["data"]["person"]

    assert answers["abroad"]["presentAddress"] | {"addressProtection": None} == {
        "street": abroad.street, "postalCode": abroad.postal_code, "postalPlace": abroad.postal_place,
        "countryCode": abroad.country_code, "region": abroad.region, "addressUnknown": False, "stayElsewhere": None,
        "addressProtection": None,
    }  # fmt: skip
    present = answers["elsewhere"]["presentAddress"]
    assert (present["addressUnknown"], present["street"], present["stayElsewhere"]) == (
        True, None, elsewhere.stay_elsewhere.replace("OnSvalbard", "ON_SVALBARD").upper())  # fmt: skip
    residence = answers["unknown"]["residentialAddress"]
    assert (residence["addressUnknown"], residence["street"]) == (True, None)
    assert answers["unknown"]["address"] == {"street": None, "municipality": {"code": unknown.municipality_code}}
    assert answers["postal"]["foreignPostalAddress"]["countryCode"] == postal.country_code
    assert answers["postal"]["foreignPostalAddress"]["street"] == postal.street
    assert (answers["shared"]["sharedResidence"]["street"], answers["shared"]["sharedResidence"]["postalCode"]) == (
        shared.street, shared.postal_code)  # fmt: skip
    assert answers["shared"]["address"]["street"] != shared.street  # the child's own home is the other parent's

    # A strictly confidential person abroad: the whole address is hidden from a caller without the right,
    # and their log says only that they were found; an admin's log names the protected-address scope.
    clinician, request_id = await _ask(rig, url, QUERY, {"n": graded.nin}, role="clinician", hpr_number=1)
    admin, admin_request = await _ask(rig, url, QUERY, {"n": graded.nin}, role="admin")

    assert clinician["data"]["person"]["foreignPostalAddress"] is None
    assert _redactions(clinician)[("person", "foreignPostalAddress")] == "ADDRESS_PROTECTED"
    assert _logged(url, request_id)[graded.nin][0] == "identity"
    assert admin["data"]["person"]["foreignPostalAddress"]["street"] == graded.street
    assert admin["data"]["person"]["foreignPostalAddress"]["addressProtection"] == "STRENGT_FORTROLIG"
    fields, scopes = _logged(url, admin_request)[graded.nin]
    assert (fields, "preg:protected-address" in scopes.split()) == ("address identity", True)


UNNUMBERED = """query($child: ID!, $holder: ID!, $ward: ID!) {
  child: person(nin: $child) { parentalResponsibility { type responsible { nin } responsibleWithoutIdentifier {
    name { given family } birthDate gender citizenship } } }
  holder: person(nin: $holder) { parentalResponsibilityFor { type child { nin } childWithoutIdentifier {
    name { given family } birthDate } } }
  ward: person(nin: $ward) { guardianship { type scope inPersonalScope guardian { nin } guardianWithoutIdentifier {
    name { given family } birthDate gender citizenship } } }
}"""


async def test_holders_children_and_guardians_without_a_number_arrive_through_the_contract(rig: Rig) -> None:
    url = _whole_nation(rig)
    await rig.sync_once(url)
    others = _open(url, "SELECT * FROM preg_responsibility_without_id ORDER BY nin, position")
    holder_abroad = next(r for r in others if r.role == "RESPONSIBLE")
    child_abroad = next(r for r in others if r.role == "CHILD")
    guardian = _open(url, "SELECT * FROM preg_guardian_without_id ORDER BY nin, position")[0]
    [mother] = _open(
        url, f"SELECT responsible_nin FROM preg_parental_responsibility WHERE child_nin = '{holder_abroad.nin}'"
    )
    variables = {"child": holder_abroad.nin, "holder": child_abroad.nin, "ward": guardian.nin}

    body, request_id = await _ask(rig, url, UNNUMBERED, variables, role="admin")

    assert "errors" not in body, body
    data = body["data"]
    assert data["child"]["parentalResponsibility"] == [
        {"type": "JOINT", "responsible": {"nin": mother.responsible_nin}, "responsibleWithoutIdentifier": None},
        {"type": "JOINT", "responsible": None, "responsibleWithoutIdentifier": {
            "name": {"given": holder_abroad.given_name, "family": holder_abroad.family_name},
            "birthDate": str(holder_abroad.birth_date), "gender": "MALE", "citizenship": holder_abroad.citizenship}},
    ]  # fmt: skip
    held = [h for h in data["holder"]["parentalResponsibilityFor"] if h["child"] is None]
    assert [h["childWithoutIdentifier"]["birthDate"] for h in held] == [str(child_abroad.birth_date)]
    [guarded] = data["ward"]["guardianship"]
    assert guarded["guardian"] is None
    assert guarded["inPersonalScope"] is True
    assert guarded["guardianWithoutIdentifier"]["name"] == {"given": guardian.given_name,
                                                            "family": guardian.family_name}  # fmt: skip
    # Each numbered person whose data left is logged; the persons without a number have no log to keep.
    named = {e["responsible"]["nin"] for e in data["child"]["parentalResponsibility"] if e["responsible"]}
    named |= {e["child"]["nin"] for e in data["holder"]["parentalResponsibilityFor"] if e["child"]}
    expected = dict.fromkeys(named, "family") | dict.fromkeys((holder_abroad.nin, child_abroad.nin), "family identity")
    expected[guardian.nin] = "guardianship identity"
    assert {nin: fields for nin, (fields, _) in _logged(url, request_id).items()} == expected

    # Restrictions of legal capacity, one of each kind, answered under the guardianship scope.
    restricted = _open(url, "SELECT nin, kind, valid_from FROM preg_legal_capacity ORDER BY kind")
    assert {r.kind for r in restricted} == {"DEPRIVED", "LIMITED"}
    query = "query($n: ID!) { person(nin: $n) { legalCapacityRestrictions { kind validFrom } } }"
    for row in restricted:
        body, _ = await _ask(rig, url, query, {"n": row.nin}, role="admin")
        assert body["data"]["person"]["legalCapacityRestrictions"] == [
            {"kind": row.kind, "validFrom": str(row.valid_from)}
        ]
