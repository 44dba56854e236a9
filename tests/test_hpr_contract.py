"""HPR's contract in the graph: code systems, merged numbers, single suspensions and the fields HPR holds."""

from __future__ import annotations

from datetime import timedelta

from conftest import db_rows, token

async def test_every_code_system_the_approval_prints_is_the_one_hpr_uses(graph, nation) -> None:
    rights = db_rows(nation, "SELECT a.hpr_number, r.code FROM hpr_requisition_right r "
                     "JOIN hpr_approval a ON a.id = r.approval_id ORDER BY a.hpr_number LIMIT 1")[0]  # fmt: skip
    competence = db_rows(nation, "SELECT a.hpr_number, c.code FROM hpr_additional_competence c "
                         "JOIN hpr_approval a ON a.id = c.approval_id LIMIT 1")[0]  # fmt: skip
    query = (
        "query($h: Int!) { healthPersonnel(hprNumber: $h) { approvalHistory { category { system } "
        "authorization { system } specialities { system code text } requisitionRights { system code text } "
        "additionalCompetences { system code text } } } }"
    )

    with_right = await graph.data(query, {"h": rights.hpr_number})
    with_competence = await graph.data(query, {"h": competence.hpr_number})
    lists = await graph.data(
        '{ r: codes(system: "rekvisisjonsrett") { system code text } t: codes(system: "7702") { system code } '
        's: codes(system: "spesialitet") { system } }'
    )

    approvals = with_right["healthPersonnel"]["approvalHistory"] + with_competence["healthPersonnel"]["approvalHistory"]
    assert {a["category"]["system"] for a in approvals} == {"9060"}
    assert {a["authorization"]["system"] for a in approvals} == {"7704"}
    printed = {(c["system"], c["code"], c["text"]) for a in approvals for c in a["requisitionRights"]}
    assert ("7701", rights.code, "Full rekvisisjonsrett") in printed
    assert {c["system"] for a in approvals for c in a["specialities"]} <= {"7426"}
    assert {(c["system"], c["code"]) for a in approvals for c in a["additionalCompetences"]} >= {
        ("7702", competence.code)
    }
    assert all(c["text"] for a in approvals for c in a["additionalCompetences"])
    assert {c["system"] for c in lists["r"]} == {"7701"}
    assert {c["code"] for c in lists["r"]} == {"1", "2"}
    assert {c["system"] for c in lists["t"]} == {"7702"}
    assert {c["system"] for c in lists["s"]} == {"7426"}


async def test_a_merged_hpr_number_answers_the_live_record_and_says_it_was_replaced(graph, nation) -> None:
    merged = db_rows(nation, "SELECT hpr_number, replaced_by, nin FROM hpr_person WHERE replaced_by IS NOT NULL")[0]
    query = (
        "query($h: Int!) { healthPersonnel(hprNumber: $h) { hprNumber replacedBy { hprNumber } "
        "replacedHprNumbers approvals { id } } }"
    )

    by_old = await graph.data(query, {"h": merged.hpr_number})
    by_new = await graph.data(query, {"h": merged.replaced_by})
    person = await graph.data("query($n: ID!) { person(nin: $n) { healthPersonnel { hprNumber } } }", {"n": merged.nin})

    assert by_old == by_new
    assert by_old["healthPersonnel"]["hprNumber"] == merged.replaced_by
    assert by_old["healthPersonnel"]["replacedBy"] is None
    assert merged.hpr_number in by_old["healthPersonnel"]["replacedHprNumbers"]
    assert by_old["healthPersonnel"]["approvals"], "the live record keeps the approvals"
    assert person["person"]["healthPersonnel"]["hprNumber"] == merged.replaced_by


async def test_a_suspended_speciality_or_right_leaves_the_approval_in_force(graph, nation) -> None:
    for column, table, argument, reason in (
        ("speciality_id", "hpr_speciality", "speciality", "SPECIALITY_SUSPENDED"),
        ("requisition_right_id", "hpr_requisition_right", "requisitionRight", "REQUISITION_RIGHT_SUSPENDED"),
    ):
        row = db_rows(nation, f"SELECT a.hpr_number, a.category, i.code, s.valid_from FROM hpr_suspension s "  # noqa: S608
                      f"JOIN {table} i ON i.id = s.{column} JOIN hpr_approval a ON a.id = s.approval_id "
                      "WHERE s.valid_to IS NULL ORDER BY s.id LIMIT 1")[0]  # fmt: skip
        inside, before = row.valid_from + timedelta(days=1), row.valid_from - timedelta(days=1)
        query = (
            f"query($h: Int!, $c: String!, $code: String!, $in: Date!, $before: Date!) {{ "
            f"healthPersonnel(hprNumber: $h) {{ "
            f"plain: authorization(category: $c, at: $in) {{ authorized reason }} "
            f"item: authorization(category: $c, at: $in, {argument}: $code) {{ authorized reason approval {{ id }} }} "
            f"earlier: authorization(category: $c, at: $before, {argument}: $code) {{ authorized reason }} "
            f'other: authorization(category: $c, at: $in, {argument}: "99") {{ authorized reason }} '
            f"approvals(at: $in) {{ suspensions {{ validFrom }} specialities {{ code suspensions {{ validFrom }} }} "
            f"requisitionRights {{ code suspensions {{ validFrom }} }} }} }} }}"
        )

        data = await graph.data(
            query, {"h": row.hpr_number, "c": row.category, "code": row.code, "in": inside.isoformat(), "before": before.isoformat()}
        )

        checks = data["healthPersonnel"]
        assert checks["plain"] == {"authorized": True, "reason": None}
        assert checks["item"]["authorized"] is False
        assert checks["item"]["reason"] == reason
        assert checks["item"]["approval"] is not None
        assert checks["earlier"] == {"authorized": True, "reason": None}
        assert checks["other"]["reason"] in {"NO_SPECIALITY", "NO_REQUISITION_RIGHT"}
        approval = next(a for a in checks["approvals"] if a["specialities"] or a["requisitionRights"])
        assert approval["suspensions"] == []
        items = approval["specialities"] if argument == "speciality" else approval["requisitionRights"]
        assert [s["validFrom"] for i in items if i["code"] == row.code for s in i["suspensions"]] == [
            row.valid_from.isoformat()
        ]


async def test_bad_speciality_argument_is_the_callers_error(graph, nation) -> None:
    hpr = nation.samples["gpHprNumber"]

    response = await graph.post(
        'query($h: Int!) { healthPersonnel(hprNumber: $h) { authorization(category: "LE", at: "2025-01-01", '
        'speciality: "1; DROP") { authorized } } }',
        {"h": hpr},
    )

    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "speciality" in body["errors"][0]["message"]


async def test_closing_status_conditions_and_contract_fields_match_hpr(graph, nation) -> None:
    closed = db_rows(nation, "SELECT hpr_number, id, closing_status, closing_status_text FROM hpr_approval "
                     "WHERE closing_status = '4'")[0]  # fmt: skip
    died = db_rows(nation, "SELECT * FROM hpr_person WHERE hpr_number = :h", h=closed.hpr_number)[0]
    condition = db_rows(nation, "SELECT a.hpr_number, c.* FROM hpr_condition c JOIN hpr_approval a ON a.id = c.approval_id")[0]
    query = (
        "query($h: Int!) { healthPersonnel(hprNumber: $h) { lastChanged deathDate lacksNin gender { system code } "
        "alternativeIds { type value } administrativeReactions { type { code text } approvalId validFrom } "
        "approvalHistory { id closingStatus { code text } conditions { type { code text } freeText } } } }"
    )

    dead = (await graph.data(query, {"h": closed.hpr_number}))["healthPersonnel"]
    conditioned = (await graph.data(query, {"h": condition.hpr_number}))["healthPersonnel"]

    assert dead["deathDate"] == died.death_date.isoformat()
    assert dead["lacksNin"] is True
    assert dead["gender"] == {"system": "3101", "code": died.gender}
    alternative = db_rows(nation, "SELECT type, value FROM hpr_alternative_id WHERE hpr_number = :h", h=closed.hpr_number)
    assert dead["alternativeIds"] == [{"type": a.type, "value": a.value} for a in alternative]
    assert dead["alternativeIds"][0]["type"] == "FHN"
    assert dead["lastChanged"] is not None
    ended = next(a for a in dead["approvalHistory"] if a["id"] == str(closed.id))
    assert ended["closingStatus"] == {"code": "4", "text": closed.closing_status_text}
    conditions = [c for a in conditioned["approvalHistory"] for c in a["conditions"]]
    assert conditions == [{"type": {"code": condition.code, "text": condition.text}, "freeText": condition.free_text}]


async def test_administrative_reactions_match_hpr(graph, nation) -> None:
    reaction = db_rows(nation, "SELECT * FROM hpr_administrative_reaction ORDER BY id LIMIT 1")[0]
    query = "query($h: Int!) { healthPersonnel(hprNumber: $h) { administrativeReactions { type { code } approvalId validFrom } } }"

    data = await graph.data(query, {"h": reaction.hpr_number})

    expected = {
        "type": {"code": reaction.code},
        "approvalId": str(reaction.approval_id) if reaction.approval_id is not None else None,
        "validFrom": reaction.valid_from.isoformat(),
    }
    assert expected in data["healthPersonnel"]["administrativeReactions"]


async def test_personal_hpr_fields_are_redacted_without_hpr_extended(graph, nation) -> None:
    hpr = db_rows(nation, "SELECT hpr_number FROM hpr_person WHERE nin IS NULL ORDER BY hpr_number LIMIT 1")[0].hpr_number
    query = (
        "query($h: Int!) { healthPersonnel(hprNumber: $h) { hprNumber lastChanged gender { code } deathDate lacksNin "
        "alternativeIds { value } administrativeReactions { validFrom } } }"
    )
    fields = ["gender", "deathDate", "lacksNin", "alternativeIds", "administrativeReactions"]

    anonymous = (await graph.post(query, {"h": hpr}, token=None)).json()
    integrator = await graph.query(query, {"h": hpr}, token=token(nation, "integrator", scopes=("flr:read",)))
    clinician = await graph.query(query, {"h": hpr}, token=token(nation, "clinician", hpr_number=hpr, org_number="999999999"))

    for body in (anonymous, integrator):
        found = body["data"]["healthPersonnel"]
        assert found["hprNumber"] == hpr
        assert found["lastChanged"] is not None
        assert all(found[f] is None for f in fields), found
        redacted = {r["path"][-1] for r in body["extensions"]["redactions"]}
        assert redacted == set(fields)
    assert clinician["data"]["healthPersonnel"]["lacksNin"] is True
    assert clinician["data"]["healthPersonnel"]["alternativeIds"]
