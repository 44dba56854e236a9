"""The trust core: one decision on every path, and an access log that is exactly what left.

Each test here was written against a defect found by attacking the graph: `_entities` bypassing
authorisation, the child-under-16 rule, invented and omitted log entries, identity numbers in the
server's own log, the existence oracle, a protected child's location, the log's actor fields, and
what the schema tells about itself with introspection off.
"""

from __future__ import annotations

import base64
import logging
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from conftest import TODAY, db_rows, sealed, token
from helsegraf.authz.age import anniversary, is_under
from helsegraf.authz.guard import Guard, children_under_16
from helsegraf.authz.release import FIELD, OBJECT, Record, released_in
from helsegraf.http.observability import MASK, JsonFormatter, PlainFormatter, mask_identity_numbers
from helsegraf.identifiers import make_nin, nin_check_digits

ASSIGNMENT = "query($r: [_Any!]!) { _entities(representations: $r) { ... on GpAssignment { validFrom validTo gpHerId contract { id } } } }"  # noqa: E501


def entries(nation, request_id: str) -> list:
    return db_rows(nation, "SELECT * FROM audit_access_log WHERE request_id = :r ORDER BY nin", r=request_id)


def logged(nation, request_id: str) -> dict:
    return {e.nin or e.subject_hpr_number: e.fields for e in entries(nation, request_id)}


def clinician(nation) -> str:
    return token(
        nation, "clinician", hpr_number=nation.samples["gpHprNumber"], org_number=nation.samples["officeOrgNumber"]
    )


def membership(nation, nin: str):
    [row] = db_rows(nation, "SELECT * FROM flr_list_membership WHERE nin = :n AND valid_from <= :on "
                            "AND (valid_to IS NULL OR valid_to > :on)", n=nin, on=TODAY.isoformat())  # fmt: skip
    return row


def unregistered_nin(nation) -> str:
    """A valid synthetic number that PREG does not hold."""
    known = {r.nin for r in db_rows(nation, "SELECT nin FROM preg_person")}
    for individual in range(500, 999):
        nin = make_nin(date(1990, 5, 17), individual)
        if nin and nin not in known:
            return nin
    raise AssertionError("no free number")


# ------------------------------------------------------------------ 1. _entities goes through the guard


@pytest.mark.parametrize("role", [None, "citizen", "integrator", "analyst"])
async def test_entities_give_no_list_membership_to_a_caller_without_flr_read(make_graph, nation, role) -> None:
    graph = await make_graph()  # without SQL timings in the answer: they differ from request to request
    row = membership(nation, nation.samples["personWithGp"])
    bearer = token(nation, role, pid=nation.samples["parentOfChild"]) if role else None
    forged = base64.urlsafe_b64encode(b"x" * 16).rstrip(b"=").decode()

    bodies = []
    for identity in (sealed(nation, "membership", row.id), str(row.id), "377", forged):
        request_id = uuid.uuid4().hex
        response = await graph.post(ASSIGNMENT, {"r": [{"__typename": "GpAssignment", "id": identity}]},
                                    token=bearer, **{"x-request-id": request_id})  # fmt: skip
        assert response.status_code == 200
        assert entries(nation, request_id) == []
        bodies.append(response.json())

    assert bodies[0]["data"] == {"_entities": [None]}
    [redaction] = bodies[0]["extensions"]["redactions"]
    assert redaction["path"] == ["_entities", 0]
    assert all(body == bodies[0] for body in bodies), "a refused caller must not tell known ids from unknown ones"


async def test_entities_give_a_list_membership_to_a_clinician_and_log_it(graph, nation) -> None:
    nin = nation.samples["personWithGp"]
    row = membership(nation, nin)
    request_id = uuid.uuid4().hex

    reference = {"__typename": "GpAssignment", "id": sealed(nation, "membership", row.id)}
    body = await graph.query(ASSIGNMENT, {"r": [reference]}, token=clinician(nation), **{"x-request-id": request_id})

    [found] = body["data"]["_entities"]
    assert found["contract"]["id"] == str(row.contract_id)
    assert found["gpHerId"] == row.gp_her_id
    [entry] = entries(nation, request_id)
    assert (entry.nin, entry.fields, entry.scopes) == (nin, "gp", "flr:read")


async def test_ids_and_cursors_of_personal_lists_hand_out_no_serial_number(graph, nation) -> None:
    nin = nation.samples["personWithGp"]
    row = membership(nation, nin)
    admin = token(nation, "admin")

    gp = (await graph.data("query($n: ID!) { person(nin: $n) { gp { id } } }", {"n": nin}, token=admin))["person"]["gp"]
    page = (await graph.data("query($c: ID!) { gpContract(id: $c) { patients(first: 2) { edges { cursor } "
                             "pageInfo { endCursor } } } }", {"c": str(row.contract_id)}, token=admin))  # fmt: skip

    assert str(row.id) not in gp["id"]
    assert gp["id"] == sealed(nation, "membership", row.id)
    for cursor in [e["cursor"] for e in page["gpContract"]["patients"]["edges"]]:
        raw = base64.urlsafe_b64decode(cursor + "==")
        assert b"membership" not in raw
        assert not raw.decode("latin-1").isdigit()


async def test_entities_obey_the_same_cap_as_persons(graph, nation) -> None:
    representations = [{"__typename": "Person", "nin": nation.samples["personWithGp"]}] * 1001

    response = await graph.post("query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
                                {"r": representations})  # fmt: skip

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["maximum"] == 1000


@pytest.mark.parametrize(
    ("representation", "says"),
    [({"nin": "1"}, "__typename"), ({"__typename": "Nobody"}, "not an entity type"),
     ({"__typename": "Person"}, "needs nin"), ({"__typename": "Person", "nin": "12345678901"}, "check digit"),
     ({"__typename": "HealthPersonnel", "hprNumber": "abc"}, "whole number"),
     ({"__typename": "ReshUnit", "reshId": 10**12}, "whole number"),
     ({"__typename": "CommunicationParty", "herId": {"a": 1}}, "whole number"),
     ({"__typename": "GpContract", "id": "9" * 30}, "digits")],
)  # fmt: skip
async def test_a_bad_representation_is_the_callers_error(graph, representation, says) -> None:
    response = await graph.post("query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
                                {"r": [representation]})  # fmt: skip

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["_entities", 0]
    assert says in error["message"]


# ------------------------------------------------------------------ 2. the child-under-16 rule


@pytest.mark.parametrize("day", [28, 29, 30, 31])
def test_a_child_is_16_on_its_sixteenth_birthday_whatever_the_day(day: int) -> None:
    born = date(2010, 12, day)
    child = type("Child", (), {"nin": "c", "birth_date": born, "address_protection": "UGRADERT"})

    assert children_under_16([child], date(2026, 12, day) - timedelta(days=1)) == {"c": False}
    assert children_under_16([child], date(2026, 12, day)) == {}
    assert children_under_16([child], date(2027, 1, 1)) == {}


def test_a_child_born_on_the_29th_of_february_completes_its_years_on_the_1st_of_march() -> None:
    assert anniversary(date(2012, 2, 29), 16) == date(2028, 2, 29)  # a leap year
    assert anniversary(date(2084, 2, 29), 16) == date(2100, 3, 1)  # 2100 is not
    assert is_under(date(2084, 2, 29), 16, date(2100, 2, 28))
    assert not is_under(date(2084, 2, 29), 16, date(2100, 3, 1))
    assert is_under(date(2012, 2, 29), 16, date(2028, 2, 28))
    assert not is_under(date(2012, 2, 29), 16, date(2028, 2, 29))


@dataclass
class Family:
    parent: str
    sixteen_today: str
    sixteen_tomorrow: str
    protected: str
    membership_id: int


@pytest.fixture
def family(nation) -> Iterator[Family]:
    """A parent with a child turning 16 today, one turning 16 tomorrow, and a child under 16 with a protected
    address on a GP list: written into the test nation, removed after."""
    known = {r.nin for r in db_rows(nation, "SELECT nin FROM preg_person")}
    rng = random.Random(uuid.uuid4().int)

    def new_nin(born: date) -> str:
        while True:
            nin = make_nin(born, rng.randrange(500, 999))
            if nin and nin not in known:
                known.add(nin)
                return nin

    today = TODAY
    parent = new_nin(date(1980, 3, 3))
    today_child = new_nin(today.replace(year=today.year - 16))
    tomorrow_child = new_nin((today + timedelta(days=1)).replace(year=today.year - 16))
    protected = new_nin(today.replace(year=today.year - 9))
    contract_id = int(nation.samples["gpContractId"])
    membership_id = 9_000_000_000 + rng.randrange(10**8)
    person = ("INSERT INTO preg_person (nin, given_name, family_name, birth_date, gender, status, street, postal_code, "
              "postal_place, municipality_code, address_protection) VALUES (:nin, 'Test', 'Testesen', :born, 'FEMALE', "
              "'RESIDENT', 'Hemmelig vei 1', '0150', 'OSLO', '0301', :protection)")  # fmt: skip
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            for nin, born, protection in ((parent, date(1980, 3, 3), "UGRADERT"),
                                          (today_child, today.replace(year=today.year - 16), "UGRADERT"),
                                          (tomorrow_child, (today + timedelta(days=1)).replace(year=today.year - 16),
                                           "UGRADERT"),
                                          (protected, today.replace(year=today.year - 9), "FORTROLIG")):  # fmt: skip
                conn.execute(text(person), {"nin": nin, "born": born, "protection": protection})
            for child in (today_child, tomorrow_child, protected):
                relation = "INSERT INTO preg_parent_relation (child_nin, parent_nin, role) VALUES (:c, :p, 'MOTHER')"
                conn.execute(text(relation), {"c": child, "p": parent})
            conn.execute(text("INSERT INTO flr_list_membership (id, nin, contract_id, gp_her_id, valid_from) "
                              "VALUES (:id, :nin, :contract, :her, :since)"),
                         {"id": membership_id, "nin": protected, "contract": contract_id,
                          "her": nation.samples["gpHerId"], "since": today - timedelta(days=100)})  # fmt: skip
        yield Family(parent, today_child, tomorrow_child, protected, membership_id)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM flr_list_membership WHERE id = :id"), {"id": membership_id})
            conn.execute(text("DELETE FROM audit_access_log WHERE nin IN (:a, :b, :c, :d)"),
                         {"a": parent, "b": today_child, "c": tomorrow_child, "d": protected})  # fmt: skip
            conn.execute(text("DELETE FROM preg_parent_relation WHERE parent_nin = :p"), {"p": parent})
            conn.execute(text("DELETE FROM preg_person WHERE nin IN (:a, :b, :c, :d)"),
                         {"a": parent, "b": today_child, "c": tomorrow_child, "d": protected})  # fmt: skip
        engine.dispose()


async def test_a_parent_no_longer_sees_a_child_on_its_sixteenth_birthday(graph, family, nation) -> None:
    parent = token(nation, "citizen", pid=family.parent)
    query = "query($n: ID!) { person(nin: $n) { name { full } birthDate } }"

    sixteen = await graph.post(query, {"n": family.sixteen_today}, token=parent)
    fifteen = await graph.post(query, {"n": family.sixteen_tomorrow}, token=parent)

    assert sixteen.json()["data"]["person"] == {"name": None, "birthDate": None}
    assert {r["reason"] for r in sixteen.json()["extensions"]["redactions"]} == {"NOT_SELF"}
    assert fifteen.json()["data"]["person"]["name"] == {"full": "Test Testesen"}, fifteen.json()


# ------------------------------------------------------------------ 7. a protected child's location


async def test_a_parent_learns_nothing_of_where_a_protected_child_lives_or_is_treated(graph, family, nation) -> None:
    parent = token(nation, "citizen", pid=family.parent)
    query = ("query($n: ID!) { person(nin: $n) { name { full } addressProtection address { street } "
             "gp { contract { office { name address { street } } municipality { name } } gpHerId } "
             "gpHistory { id } } }")  # fmt: skip

    body = (await graph.post(query, {"n": family.protected}, token=parent)).json()
    entity = (await graph.post(ASSIGNMENT, {"r": [{"__typename": "GpAssignment",
                                                   "id": sealed(nation, "membership", family.membership_id)}]},
                               token=parent)).json()  # fmt: skip
    mine = (await graph.post("{ me { children { nin gp { gpHerId } address { street } } } }", token=parent)).json()

    person = body["data"]["person"]
    assert person["name"] == {"full": "Test Testesen"}  # the child is still theirs to see
    assert (person["address"], person["gp"], person["gpHistory"]) == (None, None, None)
    reasons = {tuple(r["path"]): r["reason"] for r in body["extensions"]["redactions"]}
    assert reasons == {("person", "address"): "ADDRESS_PROTECTED", ("person", "gp"): "ADDRESS_PROTECTED",
                       ("person", "gpHistory"): "ADDRESS_PROTECTED"}  # fmt: skip
    assert entity["data"] == {"_entities": [None]}
    assert entity["extensions"]["redactions"] == [{"path": ["_entities", 0], "reason": "ADDRESS_PROTECTED"}]
    [child] = [c for c in mine["data"]["me"]["children"] if c["nin"] == family.protected]
    assert child == {"nin": family.protected, "gp": None, "address": None}


async def test_health_personnel_keep_a_protected_childs_gp_relation(graph, family, nation) -> None:
    body = await graph.query("query($n: ID!) { person(nin: $n) { gp { gpHerId } address { street } } }",
                             {"n": family.protected}, token=clinician(nation))  # fmt: skip

    assert body["data"]["person"]["gp"] == {"gpHerId": nation.samples["gpHerId"]}
    assert body["data"]["person"]["address"] is None  # the address itself needs preg:protected-address
    assert body["extensions"]["redactions"] == [{"path": ["person", "address"], "reason": "ADDRESS_PROTECTED"}]


# ------------------------------------------------------------------ 3. the log invents nothing


def patients_token(nation) -> str:
    return token(nation, "integrator", scopes=("flr:patient-list",))


async def test_a_page_logs_its_patients_and_not_the_row_that_looked_ahead(graph, nation) -> None:
    request_id = uuid.uuid4().hex

    body = await graph.query("query($c: ID!) { gpContract(id: $c) { patients(first: 2) { edges { node { nin } } } } }",
                             {"c": nation.samples["gpContractId"]}, token=patients_token(nation),
                             **{"x-request-id": request_id})  # fmt: skip

    shown = {e["node"]["nin"] for e in body["data"]["gpContract"]["patients"]["edges"]}
    assert len(shown) == 2
    assert logged(nation, request_id) == dict.fromkeys(shown, "gp")


@pytest.mark.parametrize(
    "query",
    [
        "query($c: ID!) { gpContract(id: $c) { patients(first: 0) { totalCount } } }",
        "query($c: ID!) { gpContract(id: $c) { patients(first: 5) { totalCount pageInfo { hasNextPage } } } }",
        "query($c: ID!) { gpContract(id: $c) { patients(first: 5) @skip(if: true) { edges { node { nin } } } } }",
        "query($c: ID!, $no: Boolean!) { gpContract(id: $c) { patients(first: 5) @include(if: $no) { edges { node { nin } } } } }",  # noqa: E501
        (
            "query($c: ID!) { gpContract(id: $c) { ...P } } "
            "fragment P on GpContract { patients(first: 5) @include(if: false) { edges { node { nin } } } }"
        ),
        "query($c: ID!) { gpContract(id: $c) { gps { gp { person @skip(if: true) { nin } } } } }",
        "query($n: ID!, $no: Boolean!) { person(nin: $n) { parents @include(if: $no) { nin } children @skip(if: true) { nin } } }",  # noqa: E501
        "query($n: ID!, $no: Boolean!) { person(nin: $n) { ... @include(if: $no) { parents { nin } } } }",
    ],
)
async def test_what_was_not_sent_is_not_logged(graph, nation, query: str) -> None:
    request_id = uuid.uuid4().hex
    variables = {"c": nation.samples["gpContractId"], "n": nation.samples["childWithParent"], "no": False}

    await graph.query(query, {k: v for k, v in variables.items() if f"${k}" in query},
                      token=token(nation, "admin"), **{"x-request-id": request_id})  # fmt: skip

    # Only that the person asked for is registered left (their identity); nothing of the skipped edges.
    found = {variables["n"]: "identity"} if "person(nin" in query else {}
    assert logged(nation, request_id) == found


def test_a_release_counts_only_where_it_reached_the_response() -> None:
    records = [
        Record(FIELD, ["person", "gp"], "a", "gp", "flr:read"),  # permitted null: released
        Record(FIELD, ["other", "gp"], "b", "gp", "flr:read"),  # its parent was nulled by an error
        Record(FIELD, ["third", "name"], "c", "identity", "preg:identity"),  # the field itself errored
        Record(OBJECT, ["list", "patients", "edges", 0, "node"], "d", "gp", "flr:patient-list"),
        Record(OBJECT, ["list", "patients", "edges", 1, "node"], "e", "gp", "flr:patient-list"),  # never completed
    ]
    data = {"person": {"gp": None}, "other": None, "third": {"name": None},
            "list": {"patients": {"edges": [{"node": {"nin": "d"}}]}}}  # fmt: skip

    found = released_in(records, data, [["other", "gp", "contract"], ["third", "name"]])

    assert {s: r.groups for s, r in found.items()} == {"a": {"gp"}, "d": {"gp"}}


WITHOUT_ERRORS = [
    (
        "query($n: [ID!]!) { persons(nins: $n) { nin gp { gp { hprNumber name { full } } gpHerId "
        "contract { id office { orgNumber name } } officeCommunicationParty { herId electronicAddresses } } } }"
    ),
    "query($c: ID!) { gpContract(id: $c) { patients(first: 3) { edges { node { nin name { full } gp { gpHerId } } } } } }",  # noqa: E501
    (
        "query($n: [ID!]!) { persons(nins: $n) { nin a: name { full } parents { nin name { full } } children { nin } "
        "address { street } gpHistory { gpHerId } } }"
    ),
    "query($n: [ID!]!) { persons(nins: $n) { ... on Person { nin gp @skip(if: true) { gpHerId } birthDate } } }",
]


@pytest.mark.parametrize("query", WITHOUT_ERRORS)
@pytest.mark.parametrize("role", ["clinician", "admin", "citizen", "integrator"])
async def test_a_response_without_errors_logs_what_a_walk_of_it_finds(graph, nation, monkeypatch, query, role) -> None:
    """Without errors the log takes every record at once (fast paths on): the same as checking each in the response."""
    taken: list[tuple[Guard, dict]] = []
    every = Guard.released_without_errors

    def spied(self: Guard) -> dict:
        taken.append((self, every(self)))
        return taken[-1][1]

    monkeypatch.setattr(Guard, "released_without_errors", spied)
    samples = nation.samples
    nins = [samples[k] for k in ("personWithGp", "parentOfChild", "childWithParent", "protectedAddressPerson")]
    pid = samples["parentOfChild"] if role == "citizen" else None
    bearer = clinician(nation) if role == "clinician" else token(nation, role, pid=pid)

    response = await graph.post(query, {"n": nins, "c": samples["gpContractId"]} if "$c" in query else {"n": nins},
                                token=bearer)  # fmt: skip

    body = response.json()
    assert response.status_code == 200, body
    assert not body.get("errors"), body
    if not nation.settings.fast_paths:
        assert taken == []  # the slow path checks every record in the response
        return
    assert len(taken) == 1
    guard, released = taken[0]
    assert released == released_in(guard.records, body["data"], [])
    assert released or role != "admin"  # an admin may see them all: the check compared something


async def test_the_flr_subgraph_types_its_patient_pages_as_pages_of_persons(make_graph, nation) -> None:
    from helsegraf.schema.assembly import build_schema  # noqa: PLC0415

    sdl = " ".join(build_schema(["flr"]).as_str().split())
    graph = await make_graph(default_token=token(nation, "admin"), registers=frozenset({"flr"}))
    request_id = uuid.uuid4().hex

    body = await graph.query("query($c: ID!) { gpContract(id: $c) { patients(first: 2) { edges { node { nin } } } } }",
                             {"c": nation.samples["gpContractId"]}, **{"x-request-id": request_id})  # fmt: skip

    assert "type PersonConnection { " in sdl
    assert "edges: [PersonEdge!]!" in sdl.split("type PersonConnection {")[1].split("}")[0]
    shown = {e["node"]["nin"] for e in body["data"]["gpContract"]["patients"]["edges"]}
    assert len(shown) == 2
    assert logged(nation, request_id) == dict.fromkeys(shown, "gp")


# ------------------------------------------------------------------ 4. the log omits nothing


async def test_a_permitted_null_is_a_release(graph, nation) -> None:
    listed = {r.nin for r in db_rows(nation, "SELECT nin FROM flr_list_membership")}
    personnel = {r.nin for r in db_rows(nation, "SELECT nin FROM hpr_person WHERE nin IS NOT NULL")}
    [nin] = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person WHERE death_date IS NULL ORDER BY nin")
             if r.nin not in listed and r.nin not in personnel][:1]  # fmt: skip
    request_id = uuid.uuid4().hex

    body = await graph.query("query($n: ID!) { person(nin: $n) { gp { id } deathDate healthPersonnel { hprNumber } } }",
                             {"n": nin}, token=clinician(nation), **{"x-request-id": request_id})  # fmt: skip

    assert body["data"]["person"] == {"gp": None, "deathDate": None, "healthPersonnel": None}
    [entry] = entries(nation, request_id)
    assert (entry.nin, entry.fields) == (nin, "gp health-personnel identity")
    assert entry.scopes == "flr:read hpr:extended preg:identity"


async def test_hpr_data_of_a_health_worker_without_a_nin_is_logged_under_the_hpr_number(graph, nation) -> None:
    [hpr] = [r.hpr_number for r in db_rows(nation, "SELECT hpr_number FROM hpr_person WHERE nin IS NULL LIMIT 1")]
    request_id = uuid.uuid4().hex

    body = await graph.query("query($h: Int!) { healthPersonnel(hprNumber: $h) { nin birthDate } }", {"h": hpr},
                             token=clinician(nation), **{"x-request-id": request_id})  # fmt: skip

    assert body["data"]["healthPersonnel"]["nin"] is None
    [entry] = entries(nation, request_id)
    assert (entry.nin, entry.subject_hpr_number, entry.fields) == (None, hpr, "health-personnel")


# ------------------------------------------------------------------ 5. no identity number in the server's log


async def test_a_failing_log_write_and_a_bad_variable_leave_no_identity_number_in_the_log(
    make_graph, nation, caplog, capsys
) -> None:
    from test_access_log import blocked_audit_store  # noqa: PLC0415

    nin = nation.samples["personWithGp"]
    with blocked_audit_store(nation.backend) as url:
        graph = await make_graph(default_token=clinician(nation), register_urls={"audit": url})
        caplog.set_level(logging.DEBUG)
        refused = await graph.post("query($n: ID!) { person(nin: $n) { name { full } } }", {"n": nin})
        bad = await graph.post("query($n: ID!, $d: Date!) { person(nin: $n) { gp(at: $d) { id } } }",
                               {"n": nin, "d": f"{nin}-02-30"})  # fmt: skip
        unset = "query($n: ID!, $m: Int!) { person(nin: $n) { nin } gpContracts(first: $m) { totalCount } }"
        missing = await graph.post(unset, {"n": nin})

    assert refused.status_code == 503
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert missing.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    written = caplog.text + capsys.readouterr().err
    assert "refused" in written
    assert nin not in written


async def test_identity_numbers_the_caller_puts_in_ids_and_names_are_masked_in_every_log_line(graph, nation):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("helsegraf")
    logger.addHandler(handler)
    nin = nation.samples["personWithGp"]
    try:
        await graph.post(f"query nin_{nin} {{ __typename }}", **{"x-request-id": nin})
        await graph.post("{ __typename }", **{"x-request-id": f"req-{nin}"})
    finally:
        logger.removeHandler(handler)
    failure = logging.LogRecord("helsegraf.errors", logging.ERROR, __file__, 1, "internal error in request %s at %s",
                                ("abc", ["n" + nin, 12345678901]), None)  # fmt: skip

    lines = [formatter.format(r) for r in [*records, failure] for formatter in (JsonFormatter(), PlainFormatter())]

    assert len(records) >= 2
    assert not [line for line in lines if nin in line]
    assert all(MASK in JsonFormatter().format(r) for r in records)  # the request id was the number
    assert "12345678901" in lines[-1]  # not a valid number: digits that are not a nin stay searchable
    uuid_like = "3f2a01234567890fe1d2c3b4a5968778"  # a request id's hex with a run of digits in it
    assert mask_identity_numbers(f'"requestId": "{uuid_like}"') == f'"requestId": "{uuid_like}"'


# ------------------------------------------------------------------ 6. the existence oracle


@pytest.mark.parametrize("role", [None, "citizen", "integrator", "analyst"])
async def test_a_caller_who_may_see_nothing_cannot_tell_who_is_registered(make_graph, nation, role) -> None:
    graph = await make_graph()  # without SQL timings in the answer: they differ from request to request
    registered, unregistered = nation.samples["personWithGp"], unregistered_nin(nation)
    bearer = token(nation, role, pid=nation.samples["parentOfChild"]) if role else None
    queries = [
        ("query($n: ID!) { person(nin: $n) { nin name { full } birthDate address { street } gp { id } } }",
         lambda n: {"n": n}),
        ("query($n: [ID!]!) { persons(nins: $n) { nin status gpHistory { id } healthPersonnel { hprNumber } } }",
         lambda n: {"n": [n]}),
        ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { nin deathDate } } }",
         lambda n: {"r": [{"__typename": "Person", "nin": n}]}),
    ]  # fmt: skip

    for query, variables in queries:
        answers = []
        for nin in (registered, unregistered):
            response = await graph.post(query, variables(nin), token=bearer)
            answers.append((response.status_code, response.text.replace(nin, "NIN")))

        assert answers[0] == answers[1], query
        assert '"NIN"' in answers[0][1]


async def test_a_caller_who_may_see_identity_learns_that_a_number_is_unknown(graph, nation) -> None:
    body = await graph.query("query($n: ID!) { person(nin: $n) { nin } }", {"n": unregistered_nin(nation)},
                             token=clinician(nation))  # fmt: skip

    assert body["data"]["person"] is None


# ------------------------------------------------------------------ 8. what the caller held, stored whole


async def test_the_log_records_the_scopes_a_release_relied_on(graph, nation) -> None:
    citizen, stranger = nation.samples["personWithGp"], nation.samples["deceasedPerson"]
    extra = token(nation, "citizen", pid=citizen, scopes=("preg:identity",))
    query = "query($n: ID!) { person(nin: $n) { name { full } } }"
    requests = {}
    for nin in (citizen, stranger):
        requests[nin] = uuid.uuid4().hex
        await graph.query(query, {"n": nin}, token=extra, **{"x-request-id": requests[nin]})

    [mine] = entries(nation, requests[citizen])
    [theirs] = entries(nation, requests[stranger])
    assert (theirs.role, theirs.scopes, theirs.fields) == ("citizen", "preg:identity", "identity")
    assert mine.scopes == "preg:identity"  # the token's scope granted it before the citizen's own relation did


async def test_a_citizens_own_and_childs_records_are_logged_as_self_and_parent(graph, nation) -> None:
    parent, child = nation.samples["parentOfChild"], nation.samples["childWithParent"]
    request_id = uuid.uuid4().hex

    await graph.query("{ me { name { full } children { nin name { full } } } }",
                      token=token(nation, "citizen", pid=parent), **{"x-request-id": request_id})  # fmt: skip

    scopes = {e.nin: e.scopes for e in entries(nation, request_id)}
    assert scopes[parent] == "self"
    assert scopes[child] == "parent self"  # the child's name on the parent's grounds; the relation on the parent's own


async def test_actor_fields_and_the_purpose_are_stored_whole(graph, nation) -> None:
    subject, client = "s" * 300, "c" * 250
    bearer = token(nation, "clinician", subject=subject, client_id=client, hpr_number=1)
    request_id = "r" * 64
    purpose = "behandling \N{EN DASH} blodprøve på Ås (æøå)"

    await graph.query("query($n: ID!) { person(nin: $n) { name { full } } }", {"n": nation.samples["personWithGp"]},
                      token=bearer, **{"x-request-id": request_id, "x-purpose": purpose.encode()})  # fmt: skip

    [entry] = entries(nation, request_id)
    assert (entry.subject, entry.client_id, entry.request_id, entry.purpose) == (subject, client, request_id, purpose)


@pytest.mark.parametrize(
    ("headers", "says"),
    [({"x-request-id": "r" * 129}, "X-Request-Id"), ({"x-request-id": "a b"}, "X-Request-Id"),
     ({"x-purpose": "p" * 501}, "X-Purpose"), ({"x-purpose": b"\xff\xfe"}, "X-Purpose"),
     ({"x-purpose": b"a\x01b"}, "X-Purpose")],
)  # fmt: skip
async def test_what_the_log_cannot_store_whole_is_refused(graph, nation, headers, says) -> None:
    response = await graph.post("{ __typename }", token=clinician(nation), **headers)

    assert response.status_code == 400
    assert says in response.json()["errors"][0]["message"]
    assert response.headers["x-request-id"]


# ------------------------------------------------------------------ 9. introspection off means off


async def test_with_introspection_off_the_schema_is_told_nowhere(make_graph, nation) -> None:
    graph = await make_graph(http=replace(nation.settings.http, introspection=False))

    service = await graph.post("{ _service { sdl } }")
    schema = await graph.post("{ __schema { types { name } } }")
    typo = await graph.post('{ persn(nin: "1") { nin } }')
    argument = await graph.post("{ gpContracts(firs: 1) { totalCount } }")

    for response in (service, schema):
        assert response.json().get("data") is None
        assert "introspection" in response.json()["errors"][0]["message"]
    for response in (typo, argument):
        message = response.json()["errors"][0]["message"]
        assert "Did you mean" not in message
        assert "person" not in message.replace("persn", "")
        assert "first" not in message


async def test_with_introspection_on_suggestions_help(graph) -> None:
    typo = (await graph.post('{ persn(nin: "1") { nin } }')).json()

    assert "Did you mean" in typo["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "query($n: ID!, $u: ID!) { persons(nins: [$n, $u]) { nin } }",
        "query($n: ID!) { person(nin: $n) { nin } }",
        "query($n: ID!) { person(nin: $n) { __typename } }",
        'query($n: ID!) { _entities(representations: [{__typename: "Person", nin: $n}]) { __typename } }',
    ],
)
async def test_finding_a_person_is_a_release_of_their_identity(graph, nation, query: str) -> None:
    """A caller who may know whether someone is registered learned it: the found person is logged."""
    request_id = uuid.uuid4().hex
    known = nation.samples["personWithGp"]
    candidates = (f"{first9}{''.join(map(str, digits))}" for i in range(300, 999)
                  for first9 in [f"018170{i:03d}"] if (digits := nin_check_digits(first9)) is not None)  # fmt: skip
    unknown = next(n for n in candidates if not db_rows(nation, "SELECT 1 FROM preg_person WHERE nin = :n", n=n))
    variables = {"n": known, "u": unknown}

    body = await graph.query(query, {k: v for k, v in variables.items() if f"${k}" in query},
                             token=clinician(nation), **{"x-request-id": request_id})  # fmt: skip

    assert "errors" not in body
    assert logged(nation, request_id) == {known: "identity"}
    [entry] = entries(nation, request_id)
    assert entry.scopes == "preg:identity"
