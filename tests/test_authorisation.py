"""Who sees which personal field: a matrix of roles and fields generated from the schema, checked against CONTRACT.md.

The expectations here are written from CONTRACT.md's scope table, independently of the
declarations in the code. Every field of the personal types must either be public (listed
below) or appear in FIELD_SCOPES, so a new personal field without a declaration fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import token
from helsegraf.authz.tokens import AuthSettings
from helsegraf.schema import build_schema

# CONTRACT.md: which scope opens which personal field.
FIELD_SCOPES: dict[tuple[str, str], str] = {
    ("Person", "name"): "preg:identity", ("Person", "birthDate"): "preg:identity",
    ("Person", "gender"): "preg:identity", ("Person", "status"): "preg:identity",
    ("Person", "deathDate"): "preg:identity", ("Person", "address"): "preg:address",
    ("Person", "currentNin"): "preg:identity", ("Person", "replacedBy"): "preg:identity",
    ("Person", "lastChanged"): "preg:identity", ("Person", "maritalStatus"): "preg:identity",
    ("Person", "citizenship"): "preg:identity", ("Person", "identificationNumbers"): "preg:identity",
    ("Person", "addressProtection"): "preg:address", ("Person", "parents"): "preg:family",
    ("Person", "children"): "preg:family", ("Person", "gp"): "flr:read", ("Person", "gpHistory"): "flr:read",
    ("Person", "hasGp"): "flr:read", ("GpAtTime", "gp"): "flr:read",
    ("Person", "healthPersonnel"): "hpr:extended", ("Person", "accessLog"): "audit:read",
    ("HealthPersonnel", "nin"): "hpr:extended", ("HealthPersonnel", "birthDate"): "hpr:extended",
    ("HealthPersonnel", "person"): "hpr:extended", ("GpContract", "patients"): "flr:patient-list",
    ("HealthPersonnel", "gender"): "hpr:extended", ("HealthPersonnel", "deathDate"): "hpr:extended",
    ("HealthPersonnel", "lacksNin"): "hpr:extended", ("HealthPersonnel", "alternativeIds"): "hpr:extended",
    ("HealthPersonnel", "administrativeReactions"): "hpr:extended",
    ("Query", "statistics"): "stats:read", ("Query", "statisticsQueryLog"): "audit:read",
    ("Person", "presentAddress"): "preg:address", ("Person", "postalAddress"): "preg:address",
    ("Person", "parentalResponsibility"): "preg:family", ("Person", "parentalResponsibilityFor"): "preg:family",
    ("Person", "guardianship"): "preg:guardianship",
    ("Person", "residentialAddress"): "preg:address", ("Person", "foreignPostalAddress"): "preg:address",
    ("Person", "sharedResidence"): "preg:address", ("Person", "legalCapacityRestrictions"): "preg:guardianship",
}  # fmt: skip
# Personal fields of objects reached only through a person's personal field (each decided again by the
# object's own grading): declared like the rest, checked role by role in test_preg_model.py.
NESTED_FIELD_SCOPES: dict[tuple[str, str], str] = {
    **{("DatedAddress", f): "preg:address" for f in ("street", "postalCode", "postalPlace", "district",
                                                     "validFrom", "validTo", "municipality", "addressProtection",
                                                     "countryCode", "region", "addressUnknown", "stayElsewhere")},
    **{("PersonWithoutIdentifier", f): "preg:identity" for f in ("name", "birthDate", "gender", "citizenship")},
}  # fmt: skip
# A citizen sees these on their own record (and, but for the access log, their children's under 16).
SELF_FIELDS = {f for (t, f) in FIELD_SCOPES if t == "Person"} | {"GpAtTime.gp"}  # a batch answer about a person
PARENT_FIELDS = SELF_FIELDS - {"accessLog"}
PUBLIC = {
    "Person": {"nin"},
    "HealthPersonnel": {"hprNumber", "name", "approvals", "approvalHistory", "authorization", "gpContracts",
                        "gpPeriods", "gpGender", "communicationParties", "lastChanged", "replacedBy",
                        "replacedHprNumbers"},
}  # fmt: skip
ROLE_SCOPES = {
    "anonymous": set(), "citizen": set(), "integrator": set(), "analyst": {"stats:read"},
    "clinician": {"preg:identity", "preg:address", "flr:read", "hpr:extended"},
    "admin": set(FIELD_SCOPES.values()) | {"preg:protected-address"},
}  # fmt: skip


def personal_fields() -> dict[tuple[str, str], Any]:
    """Every field the schema declares a requirement on, by (type, GraphQL field name)."""
    schema = build_schema()
    found = {}
    for name, graphql_type in schema._schema.type_map.items():  # noqa: SLF001 - reading the built schema
        definition = getattr(graphql_type, "extensions", {}) or {}
        strawberry_definition = definition.get("strawberry-definition")
        if strawberry_definition is None or not hasattr(strawberry_definition, "fields"):
            continue
        for field in strawberry_definition.fields:
            if field.metadata.get("requirement") is not None:
                found[name, schema.config.name_converter.get_graphql_name(field)] = field.metadata["requirement"]
    return found


def all_fields(type_name: str) -> set[str]:
    return set(build_schema()._schema.type_map[type_name].fields)  # noqa: SLF001


def test_every_personal_field_is_declared_as_contract_md_says() -> None:
    declared = personal_fields()

    scopes = FIELD_SCOPES | NESTED_FIELD_SCOPES
    assert set(declared) == set(scopes)
    for key, requirement in declared.items():
        assert requirement.scopes == (scopes[key],), key
    for type_name, public in PUBLIC.items():
        undeclared = all_fields(type_name) - public - {f for t, f in FIELD_SCOPES if t == type_name}
        assert not undeclared, f"{type_name} fields without a declaration: {undeclared}"


def test_declarations_print_as_federation_directives() -> None:
    sdl = " ".join(build_schema().as_str().split())

    assert (
        "patients(first: Int = null, after: String = null, at: Date = null): PersonConnection "
        '@requiresScopes(scopes: [["flr:patient-list"]])' in sdl
    )
    assert (
        'name: PersonName @authenticated @policy(policies: [["preg:identity"], ["self-or-parent-of-child-under-16"]])'
        in sdl
    )
    assert (
        'address: Address @authenticated @policy(policies: [ ["preg:address", "address-not-protected"] '
        '["preg:address", "preg:protected-address"] ["self-or-parent-of-child-under-16", "address-not-protected"] '
        '["self"] ])'
    ) in sdl


def expected_reason(role: str, scope: str, type_name: str, field: str, relation: str) -> str | None:
    """CONTRACT.md's answer: None when visible, else the redaction reason."""
    if type_name != "Person":
        field = f"{type_name}.{field}"  # self-access applies to a person's own record only
    if scope in ROLE_SCOPES[role]:
        return None
    if role == "anonymous":
        return "UNAUTHENTICATED"
    if role == "citizen" and relation == "self" and field in SELF_FIELDS:
        return None
    if role == "citizen" and relation == "child" and field in PARENT_FIELDS:
        return None
    if role == "citizen" and field in SELF_FIELDS:
        return "NOT_SELF"
    return "MISSING_SCOPE"


ARGUMENTS = {"hasGp": "(hprNumber: 1)"}  # fields that need an argument to be asked at all


def selection(type_name: str, field: str) -> str:
    if field in ARGUMENTS:
        return field + ARGUMENTS[field]
    graphql_type = build_schema()._schema.type_map[type_name].fields[field].type  # noqa: SLF001
    while hasattr(graphql_type, "of_type"):
        graphql_type = graphql_type.of_type
    if hasattr(graphql_type, "fields"):
        return f"{field} {{ __typename }}"
    return field


def subject_query(type_name: str, field: str) -> str:
    inner = selection(type_name, field)
    return {
        "Person": f"query($nin: ID!) {{ subject: person(nin: $nin) {{ {inner} }} }}",
        "HealthPersonnel": f"query($h: Int!) {{ subject: healthPersonnel(hprNumber: $h) {{ {inner} }} }}",
        "GpContract": f"query($c: ID!) {{ subject: gpContract(id: $c) {{ {inner} }} }}",
        "GpAtTime": 'query($nin: ID!) { subject: gpsAtTime(queries: [{nin: $nin, at: "2025-06-01"}]) { '
        + inner
        + " } }",
        "Query": f"{{ {inner} }}",
    }[type_name]


def variables_for(type_name: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"Person": {"nin": variables["nin"]}, "HealthPersonnel": {"h": variables["h"]},
            "GpContract": {"c": variables["c"]}, "GpAtTime": {"nin": variables["nin"]},
            "Query": {}}[type_name]  # fmt: skip


def role_token(nation, role: str) -> str | None:
    samples = nation.samples
    return {
        "anonymous": None,
        "citizen": token(nation, "citizen", pid=samples["parentOfChild"]),
        "clinician": token(
            nation, "clinician", hpr_number=samples["gpHprNumber"], org_number=samples["officeOrgNumber"]
        ),
        "integrator": token(nation, "integrator"),
        "analyst": token(nation, "analyst"),
        "admin": token(nation, "admin"),
    }[role]


@pytest.mark.parametrize("relation", ["other", "self", "child"])
@pytest.mark.parametrize("role", sorted(ROLE_SCOPES))
async def test_role_by_field_matrix(graph, nation, role: str, relation: str) -> None:
    samples = nation.samples
    nin = {"other": samples["personWithGp"], "self": samples["parentOfChild"], "child": samples["childWithParent"]}[
        relation
    ]
    variables = {"nin": nin, "h": samples["gpHprNumber"], "c": samples["gpContractId"]}
    bearer = role_token(nation, role)
    fields = FIELD_SCOPES if relation == "other" else {k: v for k, v in FIELD_SCOPES.items() if k[0] == "Person"}
    failures = []

    for (type_name, field), scope in sorted(fields.items()):
        query, used = subject_query(type_name, field), variables_for(type_name, variables)
        seen = (await graph.post(query, used, token=bearer)).json()
        admin = (await graph.post(query, used)).json()
        path = ["subject", field] if type_name != "Query" else [field]
        if type_name == "GpAtTime":  # a list of answers: the first is the subject
            path = ["subject", 0, field]
            seen["data"]["subject"], admin["data"]["subject"] = seen["data"]["subject"][0], admin["data"]["subject"][0]
        value = seen["data"]["subject"][field] if type_name != "Query" else seen["data"][field]
        reasons = [r["reason"] for r in seen.get("extensions", {}).get("redactions", []) if r["path"] == path]
        want = expected_reason(role, scope, type_name, field, relation)
        admin_value = admin["data"]["subject"][field] if type_name != "Query" else admin["data"][field]
        if want is None and (reasons or value != admin_value):
            failures.append(f"{type_name}.{field}: should be visible, got {value!r} redacted {reasons}")
        if want is not None and (value is not None or reasons != [want]):
            failures.append(f"{type_name}.{field}: should be redacted {want}, got {value!r} reasons {reasons}")
        assert "errors" not in seen, seen["errors"]

    assert not failures, "\n".join(failures)


async def test_protected_address_needs_the_protected_address_scope(graph, nation) -> None:
    nin = nation.samples["protectedAddressPerson"]
    query = "query($nin: ID!) { person(nin: $nin) { address { street } addressProtection } }"
    clinician = role_token(nation, "clinician")

    seen = (await graph.post(query, {"nin": nin}, token=clinician)).json()
    admin = await graph.data(query, {"nin": nin})
    citizen = (await graph.post(query, {"nin": nin}, token=token(nation, "citizen", pid=nin))).json()

    assert seen["data"]["person"] == {"address": None, "addressProtection": nation.samples["protectedAddressLevel"]}
    assert seen["extensions"]["redactions"] == [{"path": ["person", "address"], "reason": "ADDRESS_PROTECTED"}]
    assert admin["person"]["address"] is not None
    assert citizen["data"]["person"]["address"] == admin["person"]["address"]


async def test_redactions_can_also_be_errors_for_gateways(make_graph, nation) -> None:
    graph = await make_graph(auth=AuthSettings(redactions_as_errors=True))

    body = (await graph.post("query($nin: ID!) { person(nin: $nin) { nin name { full } } }",
                             {"nin": nation.samples["personWithGp"]}, token=None)).json()  # fmt: skip

    assert body["data"] == {"person": {"nin": nation.samples["personWithGp"], "name": None}}
    assert body["errors"] == [{"message": "not permitted: UNAUTHENTICATED", "path": ["person", "name"],
                               "extensions": {"code": "FORBIDDEN", "reason": "UNAUTHENTICATED"}}]  # fmt: skip
