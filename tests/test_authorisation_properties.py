"""Property: for random queries and roles, no unpermitted personal field is ever non-null, nothing fails INTERNAL."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TODAY, db_rows
from helsegraf.authz.age import is_under
from test_authorisation import FIELD_SCOPES, ROLE_SCOPES, expected_reason, role_token

PERSON_LEAVES = {"name": "{ full }", "birthDate": "", "gender": "", "status": "", "deathDate": "",
                 "address": "{ street postalCode }", "addressProtection": ""}  # fmt: skip
Selection = dict[str, tuple[str, Any]]  # field -> (type of its value, nested selection or None)


@st.composite
def person(draw: st.DrawFn, depth: int) -> Selection:
    chosen: Selection = {"nin": ("ID", None)}
    for field in draw(st.lists(st.sampled_from(sorted(PERSON_LEAVES)), unique=True, max_size=4)):
        chosen[field] = ("leaf", PERSON_LEAVES[field])
    if depth > 0:
        edges = draw(
            st.lists(
                st.sampled_from(["parents", "children", "gp", "healthPersonnel", "accessLog"]), unique=True, max_size=3
            )
        )
        for edge in edges:
            if edge in {"parents", "children"}:
                chosen[edge] = ("Person", draw(person(depth - 1)))
            elif edge == "gp":
                chosen[edge] = ("GpAssignment", draw(assignment(depth - 1)))
            elif edge == "healthPersonnel":
                chosen[edge] = ("HealthPersonnel", draw(health_personnel(depth - 1)))
            else:
                chosen[edge] = ("leaf", "{ totalCount edges { node { purpose fields } } }")
    return chosen


@st.composite
def assignment(draw: st.DrawFn, depth: int) -> Selection:
    chosen: Selection = {"id": ("ID", None)}
    if draw(st.booleans()):
        chosen["gp"] = ("HealthPersonnel", draw(health_personnel(depth)))
    if draw(st.booleans()):
        patients = ("Person", draw(person(max(depth - 1, 0))))
        chosen["contract"] = ("GpContract", {"id": ("ID", None), "patients": ("PersonConnection", patients)})
    if draw(st.booleans()):
        chosen["officeCommunicationParty"] = ("leaf", "{ herId electronicAddresses }")
    return chosen


@st.composite
def health_personnel(draw: st.DrawFn, depth: int) -> Selection:
    chosen: Selection = {"hprNumber": ("Int", None)}
    for field in draw(st.lists(st.sampled_from(["nin", "birthDate", "name"]), unique=True, max_size=3)):
        chosen[field] = ("leaf", "{ full }" if field == "name" else "")
    if depth > 0 and draw(st.booleans()):
        chosen["person"] = ("Person", draw(person(depth - 1)))
    return chosen


def render(selection: Selection) -> str:
    parts = []
    for field, (kind, nested) in selection.items():
        if kind == "PersonConnection":
            parts.append(f"{field}(first: 3) {{ totalCount edges {{ node {{ {render(nested[1])} }} }} }}")
        elif isinstance(nested, dict):
            parts.append(f"{field} {{ {render(nested)} }}")
        else:
            parts.append(f"{field} {nested or ''}".strip())
    return " ".join(parts)


def leaks(type_name: str, selection: Selection, value: Any, role: str, relation_of) -> list[str]:
    """Return every personal field the role may not see but got a value for."""
    if value is None:
        return []
    if isinstance(value, list):
        return [leak for item in value for leak in leaks(type_name, selection, item, role, relation_of)]
    found = []
    relation = relation_of(value.get("nin")) if type_name == "Person" else "other"
    for field, (kind, nested) in selection.items():
        scope = FIELD_SCOPES.get((type_name, field))
        got = value.get(field)
        if (
            scope is not None
            and got is not None
            and expected_reason(role, scope, type_name, field, relation) is not None
        ):
            found.append(f"{type_name}.{field} leaked to {role} ({relation})")
        if kind == "PersonConnection" and got is not None:
            for edge in got["edges"]:
                found += leaks("Person", nested[1], edge["node"], role, relation_of)
        elif isinstance(nested, dict):
            found += leaks(kind, nested, got, role, relation_of)
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_queries_never_leak(graph, nation, data: st.DataObject) -> None:
    samples = nation.samples
    role = data.draw(st.sampled_from(sorted(ROLE_SCOPES)), label="role")
    subject = data.draw(
        st.sampled_from(["personWithGp", "parentOfChild", "childWithParent", "protectedAddressPerson"]), label="subject"
    )
    selection = data.draw(person(2), label="selection")
    pid = samples["parentOfChild"] if role == "citizen" else None
    children = _children_under_16(nation, pid)

    def relation_of(nin: str | None) -> str:
        return "self" if pid and nin == pid else "child" if nin in children else "other"

    body = (await graph.post(f"query($nin: ID!) {{ person(nin: $nin) {{ {render(selection)} }} }}",
                             {"nin": samples[subject]}, token=role_token(nation, role))).json()  # fmt: skip

    assert not [e for e in body.get("errors", []) if e["extensions"]["code"] == "INTERNAL"], body["errors"]
    assert leaks("Person", selection, body["data"]["person"], role, relation_of) == []


def _children_under_16(nation, pid: str | None) -> set[str]:
    if pid is None:
        return set()
    rows = db_rows(nation, "SELECT p.nin, p.birth_date FROM preg_parent_relation r "
                           "JOIN preg_person p ON p.nin = r.child_nin WHERE r.parent_nin = :p", p=pid)  # fmt: skip
    return {r.nin for r in rows if is_under(r.birth_date, 16, TODAY)}
