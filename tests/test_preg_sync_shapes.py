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
  residentialAddress {FIELDS} presentAddress {FIELDS} foreignPostalAddress {FIELDS}
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
    graded = next(r for r in rows if r.kind == "FOREIGN_POSTAL" and r.confidentiality == "StrictlyConfidential")

    answers = {}
    for name, row in (("abroad", abroad), ("elsewhere", elsewhere), ("unknown", unknown), ("postal", postal)):
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
