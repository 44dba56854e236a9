"""HPR, FLR contracts, BED, RESH, AR and Kodeverk through HTTP, checked against the database rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import TODAY, db_rows

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"


async def test_health_personnel_approvals_match_hpr(graph, nation) -> None:
    hpr = nation.samples["gpHprNumber"]
    person = db_rows(nation, "SELECT * FROM hpr_person WHERE hpr_number = :h", h=hpr)[0]
    approvals = db_rows(nation, "SELECT * FROM hpr_approval WHERE hpr_number = :h ORDER BY valid_from, id", h=hpr)
    current = [a for a in approvals if a.valid_from <= TODAY and (a.valid_to is None or a.valid_to > TODAY)]

    data = await graph.data(
        "query($h: Int!) { healthPersonnel(hprNumber: $h) { hprNumber name { given family } "
        "approvals { id category { code text } authorization { code text } validFrom validTo "
        "specialities { code text validFrom } requisitionRights { code } suspensions { validFrom } } "
        "approvalHistory { id } } }",
        {"h": hpr},
    )

    found = data["healthPersonnel"]
    assert found["name"] == {"given": person.given_name, "family": person.family_name}
    assert [a["id"] for a in found["approvalHistory"]] == [str(a.id) for a in approvals]
    assert [a["id"] for a in found["approvals"]] == [str(a.id) for a in current]
    first = found["approvals"][0]
    assert first["category"] == {"code": "LE", "text": "Lege"}
    assert first["authorization"]["code"] in {"1", "2"}
    specialities = db_rows(nation, "SELECT code FROM hpr_speciality WHERE approval_id = :a", a=int(first["id"]))
    assert [s["code"] for s in first["specialities"]] == [s.code for s in specialities]
    assert all(s["text"] for s in first["specialities"])


async def test_authorization_is_false_inside_a_suspension_and_true_after_it(graph, nation) -> None:
    hpr, category = nation.samples["suspendedHprNumber"], nation.samples["suspendedCategory"]
    inside, after = nation.samples["dateInsideSuspension"], nation.samples["dateAfterSuspension"]
    query = (
        "query($h: Int!, $c: String!, $inside: Date!, $after: Date!, $before: Date!) { "
        "healthPersonnel(hprNumber: $h) { "
        "inside: authorization(category: $c, at: $inside) { authorized reason approval { category { code } } } "
        "after: authorization(category: $c, at: $after) { authorized reason } "
        "before: authorization(category: $c, at: $before) { authorized reason } "
        'other: authorization(category: "KI", at: $after) { authorized reason } } }'
    )

    data = await graph.data(query, {"h": hpr, "c": category, "inside": inside, "after": after, "before": "1900-01-01"})

    checks = data["healthPersonnel"]
    assert checks["inside"] == {
        "authorized": False,
        "reason": "SUSPENDED",
        "approval": {"category": {"code": category}},
    }
    assert checks["after"] == {"authorized": True, "reason": None}
    assert checks["before"] == {"authorized": False, "reason": "NOT_YET_VALID"}
    assert checks["other"] == {"authorized": False, "reason": "NO_APPROVAL_IN_CATEGORY"}


async def test_gp_contract_fields_gps_and_list_size(graph, nation) -> None:
    contract_id = int(nation.samples["gpContractId"])
    row = db_rows(nation, "SELECT * FROM flr_gp_contract WHERE id = :c", c=contract_id)[0]
    size = db_rows(
        nation,
        f"SELECT count(*) AS n FROM flr_list_membership WHERE contract_id = :c AND {ON}",
        c=contract_id,
        on=TODAY.isoformat(),
    )[0].n
    periods = db_rows(
        nation,
        f"SELECT hpr_number, relationship FROM flr_gp_period WHERE contract_id = :c AND {ON}",
        c=contract_id,
        on=TODAY.isoformat(),
    )

    data = await graph.data(
        "query($id: ID!) { gpContract(id: $id) { id maxPatients listSize placesAvailable isOpen validFrom "
        "municipality { code name } office { orgNumber } gps { relationship gp { hprNumber } } } }",
        {"id": str(contract_id)},
    )

    contract = data["gpContract"]
    assert contract["maxPatients"] == row.max_patients
    assert contract["listSize"] == size
    assert contract["isOpen"] == bool(row.is_open)
    assert contract["placesAvailable"] == (max(0, row.max_patients - size) if row.is_open else 0)
    assert contract["office"]["orgNumber"] == row.office_org_number
    assert contract["municipality"]["code"] == row.municipality_code
    assert contract["municipality"]["name"]
    assert sorted((g["gp"]["hprNumber"], g["relationship"]) for g in contract["gps"]) == sorted(
        (p.hpr_number, p.relationship) for p in periods
    )


async def test_patients_page_through_the_whole_list(graph, nation) -> None:
    contract_id = nation.samples["gpContractId"]
    sql = f"SELECT nin FROM flr_list_membership WHERE contract_id = :c AND {ON} ORDER BY id"
    expected = [r.nin for r in db_rows(nation, sql, c=int(contract_id), on=TODAY.isoformat())]
    query = ("query($id: ID!, $after: String) { gpContract(id: $id) { patients(first: 100, after: $after) { "
             "totalCount pageInfo { hasNextPage endCursor } edges { cursor node { nin } } } } }")  # fmt: skip

    seen, after = [], None
    while True:
        page = (await graph.data(query, {"id": contract_id, "after": after}))["gpContract"]["patients"]
        seen += [edge["node"]["nin"] for edge in page["edges"]]
        assert page["totalCount"] == len(expected)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == expected


async def test_gp_contracts_filter_by_municipality_and_open_lists(graph, nation) -> None:
    municipality = nation.samples["municipalityWithOpenLists"]
    expected = [r.id for r in db_rows(
        nation, f"SELECT id FROM flr_gp_contract WHERE municipality_code = :m AND is_open = :t AND {ON} ORDER BY id",
        m=municipality, t=True, on=TODAY.isoformat())]  # fmt: skip
    sql = f"SELECT count(*) AS n FROM flr_gp_contract WHERE municipality_code = :m AND {ON}"
    all_in_municipality = db_rows(nation, sql, m=municipality, on=TODAY.isoformat())[0].n

    data = await graph.data(
        "query($m: String!) { open: gpContracts(municipality: $m, openOnly: true, first: 100) { "
        "totalCount edges { node { id isOpen } } } "
        "all: gpContracts(municipality: $m) { totalCount } }",
        {"m": municipality},
    )

    assert [int(e["node"]["id"]) for e in data["open"]["edges"]] == expected
    assert data["open"]["totalCount"] == len(expected) > 0
    assert all(e["node"]["isOpen"] for e in data["open"]["edges"])
    assert data["all"]["totalCount"] == all_in_municipality


async def test_gp_contracts_pages_and_rejects_bad_arguments(graph, nation) -> None:
    total = db_rows(nation, f"SELECT count(*) AS n FROM flr_gp_contract WHERE {ON}", on=TODAY.isoformat())[0].n
    first = await graph.data(
        "{ gpContracts(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"
    )
    page = first["gpContracts"]
    second = await graph.data("query($a: String) { gpContracts(first: 1, after: $a) { edges { node { id } } } }",
                              {"a": page["pageInfo"]["endCursor"]})  # fmt: skip

    assert page["totalCount"] == total
    assert page["pageInfo"]["hasNextPage"] is (total > 1)
    assert int(second["gpContracts"]["edges"][0]["node"]["id"]) > int(page["edges"][0]["node"]["id"])
    for arguments, code, words in (("first: 101", "QUERY_TOO_COMPLEX", "between 0 and 100"),
                                   ("first: -1", "BAD_USER_INPUT", "between 0 and 100"),
                                   ('municipality: "Oslo"', "BAD_USER_INPUT", "kommunenummer"),
                                   ('after: "bogus"', "BAD_USER_INPUT", "not a cursor")):  # fmt: skip
        response = await graph.post(f"{{ gpContracts({arguments}) {{ totalCount }} }}")
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == code, error
        assert words in error["message"], error


async def test_organization_edges_across_registers(graph, nation) -> None:
    org = nation.samples["officeOrgNumber"]
    row = db_rows(nation, "SELECT * FROM bed_organization WHERE org_number = :o", o=org)[0]
    sql = f"SELECT id FROM flr_gp_contract WHERE office_org_number = :o AND {ON} ORDER BY id"
    contracts = [r.id for r in db_rows(nation, sql, o=org, on=TODAY.isoformat())]
    parties = [
        r.her_id
        for r in db_rows(
            nation, "SELECT her_id FROM ar_communication_party WHERE org_number = :o ORDER BY her_id", o=org
        )
    ]

    data = await graph.data(
        "query($o: ID!) { organization(orgNumber: $o) { name orgForm industryCode "
        "parent { orgNumber children { orgNumber } } address { postalCode municipality { code } } "
        "gpContracts { id } communicationParties { herId } reshUnits { reshId } } }",
        {"o": org},
    )

    found = data["organization"]
    assert found["name"] == row.name
    assert found["orgForm"] == row.org_form
    assert found["parent"]["orgNumber"] == row.parent_org_number
    assert org in {c["orgNumber"] for c in found["parent"]["children"]}
    assert found["address"]["municipality"]["code"] == row.municipality_code
    assert [int(c["id"]) for c in found["gpContracts"]] == contracts
    assert [p["herId"] for p in found["communicationParties"]] == parties


async def test_organization_rejects_a_bad_organisation_number(graph) -> None:
    response = await graph.post('{ organization(orgNumber: "123456789") { name } }')

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "check digit" in error["message"]


async def test_resh_unit_that_moved_has_other_ancestors_before_and_after(graph, nation) -> None:
    resh_id, moved = nation.samples["reshIdWithParentHistory"], date.fromisoformat(nation.samples["reshMovedOn"])
    links = db_rows(nation, "SELECT * FROM resh_parent_link WHERE resh_id = :r ORDER BY valid_from", r=resh_id)
    query = ("query($r: Int!, $before: Date, $after: Date) { reshUnit(reshId: $r) { name "
             "old: parent(at: $before) { reshId children(at: $before) { reshId } } new: parent(at: $after) { reshId } "
             "before: ancestors(at: $before) { reshId unitType } after: ancestors(at: $after) { reshId unitType } "
             "parentHistory { parentReshId validFrom validTo } } }")  # fmt: skip

    data = await graph.data(query, {"r": resh_id, "before": str(moved - timedelta(days=1)), "after": str(moved)})

    unit = data["reshUnit"]
    assert unit["old"]["reshId"] == links[0].parent_resh_id
    assert unit["new"]["reshId"] == links[-1].parent_resh_id
    assert resh_id in {c["reshId"] for c in unit["old"]["children"]}
    assert unit["before"] != unit["after"]
    assert unit["before"][0]["reshId"] == links[0].parent_resh_id
    assert unit["after"][0]["reshId"] == links[-1].parent_resh_id
    assert unit["before"][-1]["unitType"] == unit["after"][-1]["unitType"] == "RHF"
    assert [(h["parentReshId"], h["validFrom"]) for h in unit["parentHistory"]] == [
        (ln.parent_resh_id, str(ln.valid_from)) for ln in links
    ]


async def test_resh_services_and_organization(graph, nation) -> None:
    unit = db_rows(
        nation,
        "SELECT u.resh_id, u.org_number FROM resh_unit u JOIN resh_service s ON s.resh_id = u.resh_id "
        "ORDER BY u.resh_id LIMIT 1",
    )[0]
    codes = [
        r.code
        for r in db_rows(nation, "SELECT code FROM resh_service WHERE resh_id = :r ORDER BY code", r=unit.resh_id)
    ]

    query = "query($r: Int!) { reshUnit(reshId: $r) { services { code text } organization { orgNumber } } }"
    data = await graph.data(query, {"r": unit.resh_id})

    assert [s["code"] for s in data["reshUnit"]["services"]] == codes
    assert all(s["text"] for s in data["reshUnit"]["services"])
    assert data["reshUnit"]["organization"]["orgNumber"] == unit.org_number


async def test_communication_party_edges(graph, nation) -> None:
    her_id = nation.samples["gpHerId"]
    party = db_rows(nation, "SELECT * FROM ar_communication_party WHERE her_id = :h", h=her_id)[0]
    siblings = [
        r.her_id
        for r in db_rows(
            nation,
            "SELECT her_id FROM ar_communication_party WHERE parent_her_id = :p ORDER BY her_id",
            p=party.parent_her_id,
        )
    ]

    data = await graph.data(
        "query($h: Int!) { communicationParty(herId: $h) { type active healthPersonnel { hprNumber } "
        "allElectronicAddresses { type { code } address } "
        "parent { type organization { orgNumber } children { herId } } } }",
        {"h": her_id},
    )

    found = data["communicationParty"]
    assert found["type"] == "PERSON"
    assert found["healthPersonnel"]["hprNumber"] == party.hpr_number
    assert found["parent"]["type"] == "ORGANIZATION"
    assert [c["herId"] for c in found["parent"]["children"]] == siblings
    assert found["allElectronicAddresses"][0]["type"]["code"] == "E_EDI"


async def test_codes_by_name_or_oid_and_unknown_system(graph, nation) -> None:
    expected = [
        (r.value, r.text)
        for r in db_rows(nation, "SELECT value, text FROM kodeverk_code WHERE system_oid = '9060' ORDER BY value")
    ]

    by_name = await graph.data('{ codes(system: "helsepersonellkategori") { system code text active } }')
    by_oid = await graph.data('{ codes(system: "9060") { code } municipality(code: "0301") { name } }')
    unknown = (await graph.post('{ codes(system: "nope") { code } municipality(code: "0301") { name } }')).json()

    assert [(c["code"], c["text"]) for c in by_name["codes"]] == expected
    assert [c["code"] for c in by_oid["codes"]] == [code for code, _ in expected]
    assert by_oid["municipality"] == {"name": "Oslo"}
    assert unknown["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert unknown["errors"][0]["path"] == ["codes"]
    assert unknown["data"] == {"codes": None, "municipality": {"name": "Oslo"}}  # a bad system nulls its field only


async def test_unknown_keys_answer_null(graph) -> None:
    data = await graph.data("{ healthPersonnel(hprNumber: 1) { hprNumber } reshUnit(reshId: 1) { reshId } "
                            'communicationParty(herId: 1) { herId } gpContract(id: "1") { id } '
                            'organization(orgNumber: "974760673") { name } }')  # fmt: skip

    assert set(data.values()) == {None}


async def test_remaining_edges_follow_their_registers(graph, nation) -> None:
    hpr = nation.samples["gpHprNumber"]
    periods = db_rows(
        nation,
        "SELECT contract_id, valid_from, valid_to FROM flr_gp_period WHERE hpr_number = :h ORDER BY valid_from, id",
        h=hpr,
    )
    current = sorted(
        {p.contract_id for p in periods if p.valid_from <= TODAY and (p.valid_to is None or p.valid_to > TODAY)}
    )
    parties = [
        r.her_id
        for r in db_rows(
            nation, "SELECT her_id FROM ar_communication_party WHERE hpr_number = :h ORDER BY her_id", h=hpr
        )
    ]
    contract = nation.samples["gpContractId"]
    contract_periods = db_rows(nation, "SELECT relationship, hpr_number, substitute_for_hpr_number FROM flr_gp_period "
                                       "WHERE contract_id = :c ORDER BY valid_from, id", c=int(contract))  # fmt: skip
    hospital = db_rows(
        nation, "SELECT org_number FROM resh_unit WHERE unit_type = 'HOSPITAL' ORDER BY resh_id LIMIT 1"
    )[0].org_number
    units = [
        r.resh_id
        for r in db_rows(nation, "SELECT resh_id FROM resh_unit WHERE org_number = :o ORDER BY resh_id", o=hospital)
    ]
    query = """query($h: Int!, $c: ID!, $o: ID!, $her: Int!) {
      healthPersonnel(hprNumber: $h) {
        gpContracts { id } gpPeriods { validFrom } communicationParties { herId municipality { code } } }
      gpContract(id: $c) { gpPeriods { relationship hprNumber substituteFor { hprNumber } } }
      organization(orgNumber: $o) { reshUnits { reshId parentHistory { parent { reshId } } } }
      communicationParty(herId: $her) { organization { orgNumber } parent { organization { orgNumber } } } }"""

    data = await graph.data(query, {"h": hpr, "c": contract, "o": hospital, "her": nation.samples["gpHerId"]})

    doctor = data["healthPersonnel"]
    assert sorted(int(c["id"]) for c in doctor["gpContracts"]) == current
    assert [p["validFrom"] for p in doctor["gpPeriods"]] == [str(p.valid_from) for p in periods]
    assert [p["herId"] for p in doctor["communicationParties"]] == parties
    assert all(p["municipality"]["code"] for p in doctor["communicationParties"])
    assert [
        (p["relationship"], p["hprNumber"], (p["substituteFor"] or {}).get("hprNumber"))
        for p in data["gpContract"]["gpPeriods"]
    ] == [(p.relationship, p.hpr_number, p.substitute_for_hpr_number) for p in contract_periods]
    assert [u["reshId"] for u in data["organization"]["reshUnits"]] == units
    assert all(link["parent"]["reshId"] for u in data["organization"]["reshUnits"] for link in u["parentHistory"])
    party = data["communicationParty"]
    assert party["organization"] is None
    assert party["parent"]["organization"]["orgNumber"] == nation.samples["officeOrgNumber"]


def _operating_in(nation, prefix: str) -> set[int]:
    """Contracts valid today operating in a postal-code prefix: the office's address in BED, or a utekontor."""
    contracts = {c.id: c for c in db_rows(nation, f"SELECT id, office_org_number FROM flr_gp_contract WHERE {ON}",
                                          on=TODAY)}  # fmt: skip
    offices = {o.org_number for o in db_rows(nation, "SELECT org_number FROM bed_organization "
                                             "WHERE postal_code LIKE :p", p=prefix + "%")}  # fmt: skip
    outside = {o.contract_id for o in db_rows(nation, f"SELECT contract_id FROM flr_out_of_office "
                                              f"WHERE postal_code LIKE :p AND {ON}",
                                              p=prefix + "%", on=TODAY)}  # fmt: skip
    return {i for i, c in contracts.items() if c.office_org_number in offices or i in outside}


async def test_gp_contracts_operating_in_a_postal_code(graph, nation) -> None:
    utekontor = db_rows(nation, f"SELECT postal_code FROM flr_out_of_office WHERE {ON} ORDER BY id", on=TODAY)
    office = db_rows(nation, "SELECT o.postal_code FROM flr_gp_contract c JOIN bed_organization o "
                             f"ON o.org_number = c.office_org_number WHERE {ON.replace('valid', 'c.valid')} "
                             "ORDER BY c.id", on=TODAY)  # fmt: skip
    prefixes = {office[0].postal_code, office[0].postal_code[:2]} | ({utekontor[0].postal_code} if utekontor else set())
    for prefix in sorted(prefixes):
        expected = _operating_in(nation, prefix)
        data = await graph.data(
            "query($p: String!) { gpContracts(postalCode: $p, first: 100) { totalCount edges { node { id } } } }",
            {"p": prefix},
        )
        assert expected, prefix
        assert data["gpContracts"]["totalCount"] == len(expected)
        assert [int(e["node"]["id"]) for e in data["gpContracts"]["edges"]] == sorted(expected)[:100]


async def test_search_for_gp_by_name_municipality_postal_code_and_open_lists(graph, nation) -> None:
    both = f"{ON.replace('valid', 'p.valid')} AND {ON.replace('valid', 'c.valid')}"
    periods = db_rows(nation, "SELECT p.hpr_number, c.id, c.municipality_code, c.is_open FROM flr_gp_period p "
                              f"JOIN flr_gp_contract c ON c.id = p.contract_id WHERE {both}", on=TODAY)  # fmt: skip
    names = {p.hpr_number: p for p in db_rows(nation, "SELECT hpr_number, given_name, middle_name, family_name "
                                              "FROM hpr_person")}  # fmt: skip
    gp = periods[0]
    person = names[gp.hpr_number]
    municipality = gp.municipality_code
    query = """query($n: String, $m: String, $p: String, $o: Boolean!, $first: Int, $after: String) {
      searchGps(name: $n, municipality: $m, postalCode: $p, openOnly: $o, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { hprNumber name { family } } } } }"""

    async def hits(**arguments) -> tuple[int, list[int]]:
        variables = {"n": None, "m": None, "p": None, "o": False, "first": 100, "after": None, **arguments}
        found = (await graph.data(query, variables))["searchGps"]
        return found["totalCount"], [e["node"]["hprNumber"] for e in found["edges"]]

    def full(h: int) -> str:
        p = names[h]
        return " ".join(x for x in (p.given_name, p.middle_name, p.family_name) if x).casefold()

    in_municipality = sorted({p.hpr_number for p in periods if p.municipality_code == municipality})
    assert await hits(m=municipality) == (len(in_municipality), in_municipality)
    open_ones = sorted({p.hpr_number for p in periods if p.municipality_code == municipality and p.is_open})
    assert await hits(m=municipality, o=True) == (len(open_ones), open_ones)
    # By name, in any case, every word found: given and family name of one GP.
    words = f"{person.family_name.upper()}  {person.given_name.lower()}"
    named = sorted({p.hpr_number for p in periods
                    if all(w.casefold() in full(p.hpr_number) for w in words.split())})  # fmt: skip
    assert gp.hpr_number in named
    assert await hits(n=words) == (len(named), named)
    # By the postal code where the list operates.
    [office] = db_rows(nation, "SELECT o.postal_code FROM flr_gp_contract c JOIN bed_organization o "
                               "ON o.org_number = c.office_org_number WHERE c.id = :c", c=gp.id)  # fmt: skip
    prefix = office.postal_code
    operating = _operating_in(nation, prefix)
    by_code = sorted({p.hpr_number for p in periods if p.id in operating})
    assert gp.hpr_number in by_code
    assert await hits(p=prefix) == (len(by_code), by_code)
    # Paged: two GPs at a time, the cursor picks up where the page ended.
    pages, after = [], None
    while True:
        found = (await graph.data(query, {"n": None, "m": municipality, "p": None, "o": False, "first": 2,
                                          "after": after}))["searchGps"]  # fmt: skip
        pages += [e["node"]["hprNumber"] for e in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert pages == in_municipality


async def test_search_for_gp_refuses_bad_arguments_naming_them(graph) -> None:
    for arguments, named in [
        ("", "searchGps"), ('name: "x"', "name"), ('name: "Robert\'); DROP"', "name"), ('name: "a1b2"', "name"),
        ('municipality: "301"', "municipality"), ('postalCode: "1"', "postalCode"),
        ('postalCode: "01501"', "postalCode"),
        ('postalCode: "0a"', "postalCode"), ('municipality: "0301", first: 101', "first"),
        ('municipality: "0301", after: "nope"', "after"), (f'name: "{"a" * 101}"', "name"),
    ]:  # fmt: skip
        called = f"searchGps({arguments})" if arguments else "searchGps"
        response = await graph.post(f"{{ {called} {{ totalCount }} }}")
        body = response.json()
        [error] = body["errors"]
        assert error["extensions"]["code"] in {"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"}, (arguments, body)
        assert named in error["message"], (arguments, error["message"])
    response = await graph.post('{ gpContracts(postalCode: "12345") { totalCount } }')
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "postalCode" in error["message"]  # noqa: PT018


AUTHORIZATION = (
    'query($h: Int!) { healthPersonnel(hprNumber: $h) { authorization(category: "CATEGORY", at: "2025-01-01") '
    "{ authorized } } }"
)


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        ("{ healthPersonnel(hprNumber: -5) { hprNumber } }", "hprNumber"),
        ("{ healthPersonnel(hprNumber: 0) { hprNumber } }", "hprNumber"),
        ("{ communicationParty(herId: -1) { herId } }", "herId"),
        ("{ reshUnit(reshId: -3) { reshId } }", "reshId"),
        (AUTHORIZATION.replace("CATEGORY", "LE; --"), "category"),
        (AUTHORIZATION.replace("CATEGORY", ""), "category"),
        ('query($n: ID!) { person(nin: $n) { hasGp(hprNumber: -1, at: "2020-01-01") } }', "hprNumber"),
    ],
)
async def test_bad_keys_and_categories_are_the_callers_error_naming_the_argument(graph, nation, query, argument):
    variables = {"h": nation.samples["gpHprNumber"], "n": nation.samples["personWithGp"]}
    variables = {k: v for k, v in variables.items() if f"${k}:" in query}

    body = (await graph.post(query, variables)).json()

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert body["errors"][0]["message"].startswith(f"{argument}: "), body
