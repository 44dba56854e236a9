"""FLR's contract in the graph: status, waiting list, utekontor, working days, reasons, ConfirmGP, at-time batch."""

from __future__ import annotations

from datetime import timedelta

from conftest import TODAY, db_rows, token
from test_statistics_fixes import db_execute


async def test_contract_fields_match_flr(graph, nation) -> None:
    row = db_rows(nation, "SELECT c.* FROM flr_gp_contract c JOIN flr_out_of_office o ON o.contract_id = c.id")[0]
    coop = db_rows(nation, "SELECT municipality_code FROM flr_coop_municipality WHERE contract_id = :c", c=row.id)
    out = db_rows(nation, "SELECT * FROM flr_out_of_office WHERE contract_id = :c", c=row.id)
    query = (
        "query($id: ID!) { gpContract(id: $id) { isOpen status { system code text } patientsOnWaitingList commonList "
        "agreementDate updatedOn endReason { code } coopMunicipalities { code name } "
        "outOfOfficeLocations { street postalCode postalPlace validFrom } gpPeriods { workingOnDays } } }"
    )

    found = (await graph.data(query, {"id": str(row.id)}))["gpContract"]

    assert found["status"]["system"] == "7751"
    assert found["status"]["code"] == ("FAAA" if found["isOpen"] else "FALU")
    assert found["status"]["text"]
    assert found["patientsOnWaitingList"] == row.patients_on_waiting_list
    assert found["commonList"] == bool(row.common_list)
    assert found["agreementDate"] == row.agreement_date.isoformat()
    assert found["updatedOn"] is not None
    assert [m["code"] for m in found["coopMunicipalities"]] == [c.municipality_code for c in coop]
    assert all(m["name"] for m in found["coopMunicipalities"])
    assert found["outOfOfficeLocations"] == [
        {"street": o.street, "postalCode": o.postal_code, "postalPlace": o.postal_place,
         "validFrom": o.valid_from.isoformat()} for o in out
    ]  # fmt: skip
    assert all(p["workingOnDays"] and set(p["workingOnDays"]) <= {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY",
               "FRIDAY"} for p in found["gpPeriods"])  # fmt: skip


async def test_membership_reasons_follow_a_change_of_gp(graph, nation) -> None:
    changed = db_rows(nation, "SELECT nin FROM flr_list_membership WHERE end_code = 'BY' ORDER BY nin LIMIT 1")[0].nin
    query = (
        "query($n: ID!) { person(nin: $n) { gpHistory { validFrom validTo "
        "beginReason { code text } endReason { code } } } }"
    )

    history = (await graph.data(query, {"n": changed}))["person"]["gpHistory"]

    oldest, newest = history[-1], history[0]
    assert oldest["beginReason"]["code"] == "NY"
    assert oldest["endReason"] == {"code": "BY"}
    assert newest["beginReason"] == {"code": "BY", "text": "Bytte av fastlege"}


async def test_has_gp_confirms_the_doctor_serving_the_list_on_the_day(graph, nation) -> None:
    on = TODAY.isoformat()
    member = db_rows(
        nation,
        "SELECT m.nin, p.hpr_number FROM flr_list_membership m JOIN flr_gp_period p ON p.contract_id = m.contract_id "
        "WHERE m.valid_from <= :on AND (m.valid_to IS NULL OR m.valid_to > :on) "
        "AND p.valid_from <= :on AND (p.valid_to IS NULL OR p.valid_to > :on) ORDER BY m.nin LIMIT 1",
        on=on,
    )[0]
    other = db_rows(nation, "SELECT hpr_number FROM hpr_person WHERE hpr_number <> :h ORDER BY hpr_number LIMIT 1",
                    h=member.hpr_number)[0].hpr_number  # fmt: skip
    query = (
        "query($n: ID!, $h: Int!, $o: Int!, $before: Date!) { person(nin: $n) { "
        "yes: hasGp(hprNumber: $h) other: hasGp(hprNumber: $o) before: hasGp(hprNumber: $h, at: $before) } }"
    )

    found = await graph.data(query, {"n": member.nin, "h": member.hpr_number, "o": other, "before": "1950-01-01"})
    anonymous = (await graph.post(query, {"n": member.nin, "h": member.hpr_number, "o": other,
                                          "before": "1950-01-01"}, token=None)).json()  # fmt: skip

    assert found["person"] == {"yes": True, "other": False, "before": False}
    assert anonymous["data"]["person"] is None or anonymous["data"]["person"]["yes"] is None


async def test_gps_at_time_answers_each_person_on_their_own_date(graph, nation) -> None:
    rows = db_rows(nation, "SELECT nin, contract_id, valid_from, valid_to FROM flr_list_membership "
                   "WHERE valid_to IS NOT NULL ORDER BY nin LIMIT 2")  # fmt: skip
    queries = [{"nin": r.nin, "at": (r.valid_to - timedelta(days=1)).isoformat()} for r in rows]
    queries.append({"nin": rows[0].nin, "at": "1900-01-01"})
    queries.append({"nin": "12345678901", "at": "2020-01-01"})
    query = "query($q: [NinAtTime!]!) { gpsAtTime(queries: $q) { nin at gp { contract { id } validTo } } }"

    body = (await graph.post(query, {"q": queries})).json()
    integrator = (await graph.post(query, {"q": queries[:1]}, token=token(nation, "integrator", scopes=()))).json()

    answers = body["data"]["gpsAtTime"]
    assert [a["gp"]["contract"]["id"] for a in answers[:2]] == [str(r.contract_id) for r in rows]
    assert [a["gp"]["validTo"] for a in answers[:2]] == [r.valid_to.isoformat() for r in rows]
    assert answers[2] == {"nin": rows[0].nin, "at": "1900-01-01", "gp": None}
    assert answers[3] is None
    assert body["errors"][0]["path"] == ["gpsAtTime", 3]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert integrator["data"]["gpsAtTime"][0]["gp"] is None
    assert integrator["extensions"]["redactions"] == [{"path": ["gpsAtTime", 0, "gp"], "reason": "MISSING_SCOPE"}]


async def test_gps_at_time_is_capped(graph) -> None:
    queries = [{"nin": "12345678901", "at": "2020-01-01"}] * 1001

    body = (await graph.post("query($q: [NinAtTime!]!) { gpsAtTime(queries: $q) { nin } }", {"q": queries})).json()

    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


GP_GENDER = """query($h: Int!, $at: Date) { healthPersonnel(hprNumber: $h) { hprNumber
  gpGender(at: $at) { system code text } gender { code } } }"""
CODE_OF = {"MALE": "1", "FEMALE": "2"}


async def test_a_gps_gender_is_public_as_flr_holds_it_and_no_one_elses_is(graph, nation) -> None:
    """`HealthPersonnel.gpGender` gives FLR's GP gender (3101) to anyone, only while the doctor serves a list as
    fastlege or delelege at the date: a health worker with no GP period, a substitute, a GP who has left (asked
    after), and a period stored without FLR's gender give null; HPR's own `gender` stays redacted."""
    on = TODAY.isoformat()
    valid = "p.valid_from <= :on AND (p.valid_to IS NULL OR p.valid_to > :on)"
    gp = db_rows(nation, f"SELECT p.hpr_number, p.gp_gender FROM flr_gp_period p WHERE p.relationship = 'LPFL' AND "
                 f"{valid} AND p.hpr_number NOT IN (SELECT hpr_number FROM flr_gp_period WHERE relationship = 'LPVI') "
                 "ORDER BY p.hpr_number LIMIT 1", on=on)[0]  # fmt: skip
    never, substitute = [r.hpr_number for r in db_rows(nation, "SELECT hpr_number FROM hpr_person WHERE hpr_number "
                         "NOT IN (SELECT hpr_number FROM flr_gp_period) ORDER BY hpr_number LIMIT 2")]  # fmt: skip
    period = db_rows(nation, "SELECT max(id) + 1 AS n FROM flr_gp_period")[0].n
    contract = db_rows(nation, f"SELECT p.contract_id FROM flr_gp_period p WHERE p.hpr_number = :h AND {valid}",
                       h=gp.hpr_number, on=on)[0].contract_id  # fmt: skip
    # A substitute (vikar) on the GP's list, whose gender FLR holds too: not a GP, so not published.
    db_execute(
        nation,
        "INSERT INTO flr_gp_period (id, contract_id, hpr_number, relationship, "
        "substitute_for_hpr_number, working_percentage, valid_from, gp_gender) VALUES "
        f"({period}, {contract}, {substitute}, 'LPVI', {gp.hpr_number}, 100, '2020-01-01', 'FEMALE')",
    )
    left = db_rows(nation, "SELECT p.hpr_number, p.valid_from, p.gp_gender FROM flr_gp_period p WHERE "
                   "p.relationship = 'LPFL' AND p.valid_to IS NOT NULL AND p.valid_to <= :on AND NOT EXISTS "
                   "(SELECT 1 FROM flr_gp_period q WHERE q.hpr_number = p.hpr_number AND "
                   "(q.valid_to IS NULL OR q.valid_to > :on)) "
                   "ORDER BY p.hpr_number LIMIT 1", on=on)[0]  # fmt: skip
    assert gp.gp_gender in CODE_OF
    assert left.gp_gender in CODE_OF
    try:
        await _asked_every_way(graph, nation, gp, (never, substitute), left, contract)
    finally:
        db_execute(nation, f"DELETE FROM flr_gp_period WHERE id = {period}")
    # A period FLR sent without the GP's gender (stored before FLR's rows held it) tells nothing.
    db_execute(nation, f"UPDATE flr_gp_period SET gp_gender = NULL WHERE hpr_number = {gp.hpr_number}")
    try:
        body = await graph.query(GP_GENDER, {"h": gp.hpr_number}, token=None)
        assert body["data"]["healthPersonnel"]["gpGender"] is None
    finally:
        db_execute(nation, f"UPDATE flr_gp_period SET gp_gender = '{gp.gp_gender}' WHERE hpr_number = {gp.hpr_number}")


async def _asked_every_way(graph, nation, gp, nobodies: tuple[int, int], left, contract: int) -> None:
    async def asked(hpr: int, at: str | None = None, **kwargs) -> dict:
        body = await graph.query(GP_GENDER, {"h": hpr, "at": at}, **kwargs)
        return body["data"]["healthPersonnel"]

    for who in ({"token": None}, {"token": token(nation, "citizen")}, {"token": token(nation, "analyst")}):
        found = await asked(gp.hpr_number, **who)
        assert found["gpGender"]["system"] == "3101"
        assert found["gpGender"]["code"] == CODE_OF[gp.gp_gender]
        assert found["gpGender"]["text"] == ("Kvinne" if gp.gp_gender == "FEMALE" else "Mann")
        assert found["gender"] is None  # HPR's gender of a health worker: hpr:extended
        for hpr in (*nobodies, left.hpr_number):
            assert (await asked(hpr, **who))["gpGender"] is None, hpr
    # A date after today: null (a GP-to-be is not a GP yet; the statistics describe no date after today).
    later = (TODAY + timedelta(days=1)).isoformat()
    assert (await asked(gp.hpr_number, later))["gpGender"] is None
    # A GP who left: their gender at a date they served (as the statistics count them then), not after.
    assert (await asked(left.hpr_number, left.valid_from.isoformat()))["gpGender"]["code"] == CODE_OF[left.gp_gender]
    # Through the list the GP serves, the same value.
    data = await graph.data("query($id: ID!) { gpContract(id: $id) { gps { hprNumber gp { gpGender { code } } } } }",
                            {"id": str(contract)}, token=None)  # fmt: skip
    serving = {d["hprNumber"]: d["gp"]["gpGender"] for d in data["gpContract"]["gps"]}
    assert serving[gp.hpr_number] == {"code": CODE_OF[gp.gp_gender]}
    assert serving[nobodies[1]] is None  # the substitute on the same list
