"""Property: for random queries and roles, the access log is exactly what the response released.

Queries are drawn with aliases, inline fragments, `@skip`/`@include` (literal and by variable), paging
of patient lists and several roots. For every response the test works out, from the response alone
(and the registers' own keys), which (person, field group) pairs it released: every personal field
present and not redacted, permitted nulls included, and every person a personal edge led to. It then
reads the access log of that request and requires the same set, and that no field outside the caller's
rights is non-null. It runs on SQLite and PostgreSQL, and CI runs it with the fast paths on and off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import db_rows, token
from test_authorisation import FIELD_SCOPES, expected_reason
from test_authorisation_properties import _children_under_16

GROUPS = {
    ("Person", "name"): "identity", ("Person", "birthDate"): "identity", ("Person", "gender"): "identity",
    ("Person", "status"): "identity", ("Person", "deathDate"): "identity", ("Person", "address"): "address",
    ("Person", "addressProtection"): "address", ("Person", "parents"): "family", ("Person", "children"): "family",
    ("Person", "gp"): "gp", ("Person", "gpHistory"): "gp", ("Person", "healthPersonnel"): "health-personnel",
    ("Person", "accessLog"): "access-log", ("HealthPersonnel", "nin"): "health-personnel",
    ("HealthPersonnel", "birthDate"): "health-personnel", ("HealthPersonnel", "person"): "health-personnel",
    ("GpContract", "patients"): "gp", ("Person", "presentAddress"): "address", ("Person", "postalAddress"): "address",
    ("Person", "parentalResponsibility"): "family", ("Person", "parentalResponsibilityFor"): "family",
    ("Person", "guardianship"): "guardianship", ("Person", "residentialAddress"): "address",
    ("Person", "foreignPostalAddress"): "address", ("Person", "sharedResidence"): "address",
    ("Person", "legalCapacityRestrictions"): "guardianship",
}  # fmt: skip
# Relation entries that name another person, and where that person's nin is in the entry (released too).
NAMED = {"parentalResponsibility": "responsible", "parentalResponsibilityFor": "child", "guardianship": "guardian"}
PERSON_LEAVES = {"name": "{ full }", "birthDate": "", "gender": "", "status": "", "deathDate": "",
                 "address": "{ street }", "addressProtection": "", "presentAddress": "{ street validFrom }",
                 "postalAddress": "{ street addressProtection }",
                 "parentalResponsibility": "{ type responsible { nin } }",
                 "parentalResponsibilityFor": "{ type child { nin } }",
                 "guardianship": "{ type scope guardian { nin } }",
                 "residentialAddress": "{ street addressUnknown }",
                 "foreignPostalAddress": "{ street countryCode addressProtection }",
                 "sharedResidence": "{ street validFrom }",
                 "legalCapacityRestrictions": "{ kind validFrom }"}  # fmt: skip
ROLES = ("anonymous", "citizen", "clinician", "integrator", "integrator", "admin", "admin", "analyst")


@dataclass
class Field:
    """One field of a drawn selection: its response key, name, arguments, condition and what is below it."""

    key: str
    name: str
    type: str  # the type of the field's value ("leaf" for scalars)
    args: str = ""
    below: list[Field] = field(default_factory=list)
    raw: str = ""  # a fixed selection below a leaf-like field
    condition: str = ""  # a directive such as "@skip(if: true)"
    fragment: str | None = None  # "": rendered inside `... [condition] { }`


def included(condition: str, yes: bool) -> bool:
    if not condition:
        return True
    value = {"true": True, "false": False, "$yes": yes}[condition.split("if: ")[1].rstrip(")")]
    return not value if condition.startswith("@skip") else value


conditions = st.sampled_from(["", "", "", "@skip(if: true)", "@skip(if: false)", "@include(if: false)",
                              "@include(if: true)", "@include(if: $yes)", "@skip(if: $yes)"])  # fmt: skip


@st.composite
def aliased(draw: st.DrawFn, name: str, kind: str, **rest: Any) -> Field:
    key = draw(st.sampled_from([name, name, f"a_{name}", f"b_{name}"]))
    fragment = draw(st.sampled_from([None, None, None, ""]))
    return Field(key, name, kind, condition=draw(conditions), fragment=fragment, **rest)


@st.composite
def person(draw: st.DrawFn, depth: int) -> list[Field]:
    chosen = [Field(draw(st.sampled_from(["nin", "nin", "who"])), "nin", "leaf")]
    leaves = draw(st.lists(st.sampled_from(sorted(PERSON_LEAVES)), unique=True, max_size=3))
    chosen += [draw(aliased(name, "leaf", raw=PERSON_LEAVES[name])) for name in leaves]
    if depth > 0:
        for name in draw(st.lists(st.sampled_from(["parents", "children", "gp", "gpHistory", "healthPersonnel",
                                                   "accessLog"]), unique=True, max_size=2)):  # fmt: skip
            if name in {"parents", "children"}:
                chosen.append(draw(aliased(name, "Person", below=draw(person(depth - 1)))))
            elif name in {"gp", "gpHistory"}:
                chosen.append(draw(aliased(name, "GpAssignment", below=draw(assignment(depth - 1)))))
            elif name == "healthPersonnel":
                chosen.append(draw(aliased(name, "HealthPersonnel", below=draw(personnel(depth - 1)))))
            else:
                chosen.append(
                    draw(aliased(name, "leaf", args="(first: 2)", raw="{ totalCount edges { node { fields } } }"))
                )
    return chosen


@st.composite
def assignment(draw: st.DrawFn, depth: int) -> list[Field]:
    chosen = [Field("id", "id", "leaf"), Field("gpHerId", "gpHerId", "leaf")]
    if draw(st.booleans()):
        chosen.append(draw(aliased("gp", "HealthPersonnel", below=draw(personnel(max(depth - 1, 0))))))
    if draw(st.booleans()):
        chosen.append(draw(aliased("contract", "GpContract", below=draw(contract(max(depth - 1, 0))))))
    return chosen


@st.composite
def contract(draw: st.DrawFn, depth: int) -> list[Field]:
    chosen = [Field("id", "id", "leaf")]
    often = st.sampled_from([True, True, True, False])
    if draw(often):
        first = draw(st.integers(0, 3))
        page = [Field("totalCount", "totalCount", "leaf")]
        if draw(often):
            node = Field("node", "node", "Person", below=draw(person(max(depth - 1, 0))))
            page.append(Field("edges", "edges", "Edge", below=[node]))
        chosen.append(draw(aliased("patients", "PersonConnection", args=f"(first: {first})", below=page)))
    return chosen


@st.composite
def personnel(draw: st.DrawFn, depth: int) -> list[Field]:
    chosen = [Field("hprNumber", "hprNumber", "leaf")]
    leaves = draw(st.lists(st.sampled_from(["nin", "birthDate"]), unique=True, max_size=2))
    chosen += [draw(aliased(name, "leaf")) for name in leaves]
    if depth > 0 and draw(st.booleans()):
        chosen.append(draw(aliased("person", "Person", below=draw(person(depth - 1)))))
    return chosen


def render(fields: list[Field]) -> str:
    parts = []
    for f in fields:
        alias = f"{f.key}: " if f.key != f.name else ""
        inner = f" {{ {render(f.below)} }}" if f.below else f" {f.raw}" if f.raw else ""
        text = f"{alias}{f.name}{f.args}{inner}"
        if f.fragment is None:
            parts.append(f"{alias}{f.name}{f.args} {f.condition}{inner}".replace("  ", " "))
        else:
            parts.append(f"... {f.condition} {{ {text} }}")
    return " ".join(parts)


@dataclass
class Oracle:
    """Works out from a response what it released."""

    yes: bool
    redacted: set[tuple[Any, ...]]
    hpr_nins: dict[int, str | None]
    knows: Any = None  # nin -> whether the caller may learn that the person is registered
    released: set[tuple[Any, str]] = field(default_factory=set)

    def walk(self, type_name: str, fields: list[Field], value: Any, path: tuple[Any, ...], subject: Any) -> None:
        if value is None:
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.walk(type_name, fields, item, (*path, i), subject)
            return
        subject = self.subject(type_name, fields, value, subject)
        for f in fields:
            if not included(f.condition, self.yes):
                continue
            here = (*path, f.key)
            if type_name == "Query" and f.name in {"person", "persons"}:
                self.found(f, value.get(f.key))
            group = GROUPS.get((type_name, f.name))
            if group is not None and here not in self.redacted:
                if subject is not None:
                    self.released.add((subject, group))
                self.related(f, value.get(f.key))
            if f.below:
                self.walk(f.type, f.below, value.get(f.key), here, subject)

    def subject(self, type_name: str, fields: list[Field], value: dict[str, Any], above: Any) -> Any:
        """Return whose data an object is: a person's nin, a health worker's nin or HPR number."""
        if type_name == "Person":
            return next(value[f.key] for f in fields if f.name == "nin")
        if type_name == "HealthPersonnel":
            number = next(value[f.key] for f in fields if f.name == "hprNumber")
            return self.hpr_nins[number] or number
        return above

    def found(self, f: Field, answer: Any) -> None:
        """Add the persons a look-up found for a caller who may know they are registered (their identity)."""
        nin = next(g for g in f.below if g.name == "nin")
        for item in answer if isinstance(answer, list) else [answer]:
            if isinstance(item, dict) and self.knows is not None and self.knows(item[nin.key]):
                self.released.add((item[nin.key], "identity"))

    def related(self, f: Field, child: Any) -> None:
        """Add the persons a personal edge led to: a list's patients, a person's parents or children."""
        if child is None:
            return
        if f.name == "patients":
            for edges in (g for g in f.below if g.name == "edges"):
                node = next(g for g in edges.below if g.name == "node")
                nin = next(g for g in node.below if g.name == "nin")
                self.released.update((edge[node.key][nin.key], "gp") for edge in child[edges.key])
        elif f.name in {"parents", "children"}:
            nin = next(g for g in f.below if g.name == "nin")
            self.released.update((item[nin.key], "family") for item in child)
        elif f.name in NAMED:
            self.released.update((item[NAMED[f.name]]["nin"], "family") for item in child)


def leaked(type_name: str, fields: list[Field], value: Any, role: str, relation_of: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [leak for item in value for leak in leaked(type_name, fields, item, role, relation_of)]
    found = []
    nin = next((value.get(f.key) for f in fields if f.name == "nin" and type_name == "Person"), None)
    relation = relation_of(nin) if type_name == "Person" else "other"
    for f in fields:
        scope = FIELD_SCOPES.get((type_name, f.name))
        got = value.get(f.key)
        if scope is not None and got is not None and expected_reason(role, scope, type_name, f.name, relation):
            found.append(f"{type_name}.{f.name} leaked to {role} ({relation})")
        if f.below and got is not None:
            found += leaked(f.type, f.below, got, role, relation_of)
    return found


ROOTS = ("person", "persons", "gpContract", "healthPersonnel")


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
async def test_the_access_log_is_exactly_what_the_response_released(graph, nation, data: st.DataObject) -> None:
    samples = nation.samples
    role = data.draw(st.sampled_from(ROLES), label="role")
    root = data.draw(st.sampled_from(ROOTS), label="root")
    yes = data.draw(st.booleans(), label="yes")
    pid = samples["parentOfChild"] if role == "citizen" else None
    subjects = [samples[k] for k in ("personWithGp", "parentOfChild", "childWithParent", "protectedAddressPerson")]
    if root == "person":
        fields = [Field("person", "person", "Person", args=f'(nin: "{data.draw(st.sampled_from(subjects))}")',
                        below=data.draw(person(2)))]  # fmt: skip
    elif root == "persons":
        chosen = data.draw(st.lists(st.sampled_from(subjects), min_size=1, max_size=3))
        fields = [Field("persons", "persons", "Person", args=f"(nins: {str(chosen).replace(chr(39), chr(34))})",
                        below=data.draw(person(1)))]  # fmt: skip
    elif root == "gpContract":
        fields = [Field("gpContract", "gpContract", "GpContract", args=f'(id: "{samples["gpContractId"]}")',
                        below=data.draw(contract(1)))]  # fmt: skip
    else:
        fields = [Field("healthPersonnel", "healthPersonnel", "HealthPersonnel",
                        args=f"(hprNumber: {samples['gpHprNumber']})", below=data.draw(personnel(2)))]  # fmt: skip
    rendered = render(fields)
    query = f"query($yes: Boolean!) {{ {rendered} }}" if "$yes" in rendered else f"{{ {rendered} }}"
    scopes = tuple(data.draw(st.lists(st.sampled_from(["flr:patient-list", "flr:read", "preg:identity",
                                                       "hpr:extended", "preg:family", "preg:guardianship"]),
                                   unique=True)))  # fmt: skip
    bearer = None if role == "anonymous" else token(
        nation, role, pid=pid, hpr_number=samples["gpHprNumber"] if role == "clinician" else None,
        scopes=scopes if role == "integrator" else ())  # fmt: skip
    request_id = uuid.uuid4().hex

    variables = {"yes": yes} if "$yes" in rendered else {}
    response = await graph.post(query, variables, token=bearer, **{"x-request-id": request_id})

    body = response.json()
    assert response.status_code == 200, body
    assert "data" in body, (query, body)
    assert not [e for e in body.get("errors", []) if e["extensions"]["code"] == "INTERNAL"], body["errors"]
    redacted = {tuple(r["path"]) for r in body.get("extensions", {}).get("redactions", [])}
    hpr_nins = {r.hpr_number: r.nin for r in db_rows(nation, "SELECT hpr_number, nin FROM hpr_person")}
    children = _children_under_16(nation, pid)

    def relation_of(nin: str | None) -> str:
        return "self" if pid and nin == pid else "child" if nin in children else "other"

    def knows(nin: str) -> bool:
        if role == "integrator":
            return "preg:identity" in scopes
        return expected_reason(role, "preg:identity", "Person", "name", relation_of(nin)) is None

    oracle = Oracle(yes, redacted, hpr_nins, knows)
    oracle.walk("Query", fields, body["data"], (), None)
    log = db_rows(nation, "SELECT nin, subject_hpr_number, fields FROM audit_access_log WHERE request_id = :r",
                  r=request_id)  # fmt: skip
    logged = {(e.nin or e.subject_hpr_number, group) for e in log for group in e.fields.split()}
    assert logged == oracle.released, (role, scopes, query, variables, logged ^ oracle.released)

    if role != "integrator":  # an integrator's scopes are drawn; the matrix test covers them field by field
        assert leaked("Query", fields, body["data"], role, relation_of) == []
