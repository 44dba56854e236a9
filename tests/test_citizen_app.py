"""The citizen app (examples/citizen-app): its demo sign-in, how the server ships it, and the app in a browser.

The browser tests run the app's Playwright suite (`npm test` in examples/citizen-app) in Debian's Chromium
against `helsegraf serve` in trusted-documents mode with the app's own manifest, on a nation seeded for this
module (SQLite and PostgreSQL) with what the shared test nation lacks: a municipality with more open GP
lists than a page holds, and a child under 16 with a protected address. Without Node, the app's npm
packages or Chromium they are skipped, except under CI=true, where they must run.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from graphql import build_schema, parse, validate
from sqlalchemy import func, insert, select, update

from conftest import (
    NATION_PERSONS,
    NATION_SEED,
    Nation,
    create_postgres_database,
    db_rows,
    drop_postgres_database,
    free_port,
    require_postgres,
    running_server,
    token,
)
from helsegraf.authz.tokens import AuthSettings, mint
from helsegraf.config import HttpSettings, Settings
from helsegraf.data.load import load
from helsegraf.data.nation import generate
from helsegraf.data.sample import sample_ids, years_before
from helsegraf.http.app import create_app
from helsegraf.http.citizen_app import APP_DIR, MANIFEST
from helsegraf.http.context import oslo_today
from helsegraf.http.demo_signin import CITIZENS, CLIENT_ID
from helsegraf.http.trusted import TrustedDocuments, document_id
from helsegraf.migrate import upgrade
from helsegraf.models import flr, hpr, preg
from helsegraf.schema import build_schema as build_graph
from helsegraf.schema.flr import serving_period

APP = Path(__file__).resolve().parents[1] / "examples" / "citizen-app"
CHROMIUM = os.environ.get("HELSEGRAF_CHROMIUM", "/usr/bin/chromium")
JS_BUDGET_GZIPPED = 250_000
PAGE_SIZE = 10
EXTRA_OPEN_LISTS = 11
IN_CI = os.environ.get("CI", "").lower() == "true"
NPX = shutil.which("npx") or "npx"


def _require_browser() -> None:
    missing = [
        what
        for what, ok in (
            ("node", shutil.which("node") is not None),
            (
                "the app's npm packages (npm ci --prefix examples/citizen-app)",
                (APP / "node_modules" / "@playwright" / "test").is_dir(),
            ),
            (f"Chromium at {CHROMIUM} (apt-get install chromium)", Path(CHROMIUM).exists()),
        )
        if not ok
    ]
    if not missing:
        return
    if IN_CI:
        pytest.fail(f"the browser tests need {', '.join(missing)} under CI=true")
    pytest.skip(f"needs {', '.join(missing)}")


# --- the demo sign-in and what the server ships (through the app, over HTTP) ---------------------------------


async def test_demo_signin_lists_sample_citizens_and_mints_their_tokens(make_graph, nation) -> None:
    graph = await make_graph()

    listed = await graph.client.get("/demo/citizens")
    citizens = listed.json()["citizens"]
    chosen = next(c for c in citizens if c["id"] == "personWithGp")
    minted = await graph.client.post("/demo/token", json={"citizen": "personWithGp"})
    body = minted.json()
    me = await graph.data("{ me { nin name { full } } }", token=body["access_token"])

    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "no-store"
    assert {c["id"] for c in citizens} <= {key for key, _ in CITIZENS}
    assert {"personWithGp", "personWithoutGp", "parentOfChild", "adultWithProtectedAddress"} <= {
        c["id"] for c in citizens
    }
    assert chosen["nin"] == nation.samples["personWithGp"]
    assert minted.status_code == 200
    assert minted.headers["cache-control"] == "no-store"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["helseid://claims/identity/pid"] == chosen["nin"]
    assert claims["client_id"] == CLIENT_ID
    assert claims["scope"] == ""
    assert me["me"]["nin"] == chosen["nin"]
    assert me["me"]["name"]["full"]


@pytest.mark.parametrize(
    ("request_body", "content_type", "status", "says"),
    [
        ({"citizen": "someoneElse"}, "application/json", 400, "citizen must be one of"),
        ({"nin": "01815338878"}, "application/json", 400, "citizen must be one of"),
        (["personWithGp"], "application/json", 400, "citizen must be one of"),
        ("{not json", "application/json", 400, "not valid JSON"),
        ({"citizen": "personWithGp"}, "text/plain", 415, "application/json"),
        ({"citizen": "x" * 2000}, "application/json", 413, "larger than 1024 bytes"),
    ],
)
async def test_demo_signin_mints_only_for_its_listed_citizens(
    make_graph, request_body: Any, content_type: str, status: int, says: str
) -> None:
    graph = await make_graph()
    raw = request_body if isinstance(request_body, str) else json.dumps(request_body)

    response = await graph.client.post(
        "/demo/token", content=raw, headers={"content-type": content_type, "x-request-id": "demo-1"}
    )

    assert response.status_code == status
    assert response.json()["error"] == "invalid_request"
    assert says in response.json()["error_description"]
    assert response.headers["x-request-id"] == "demo-1"
    assert "access_token" not in response.text


async def test_demo_signin_hands_no_tokens_to_other_machines(nation) -> None:
    app = create_app(nation.settings)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        listed = await client.get("/demo/citizens")
        minted = await client.post("/demo/token", json={"citizen": "personWithGp"})
    await app.state.db.dispose()

    for refused in (listed, minted):
        assert refused.status_code == 403
        assert refused.json()["error"] == "access_denied"
        assert "access_token" not in refused.text
        assert nation.samples["personWithGp"] not in refused.text


async def test_a_trusted_server_without_the_app_s_documents_warns(make_graph, tmp_path, caplog) -> None:
    (tmp_path / "other.json").write_text(json.dumps({document_id("{ __typename }"): "{ __typename }"}))

    await make_graph(http=replace(HttpSettings(), trusted_documents=str(tmp_path / "other.json")))

    assert any("documents the trusted-documents manifest lacks" in r.getMessage() for r in caplog.records)


async def test_demo_signin_is_absent_in_production_mode(make_graph, tmp_path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "prod-1", "use": "sig", "alg": "ES256"}]}))
    auth = AuthSettings(
        mode="production", jwks_file=str(tmp_path / "jwks.json"), issuer="https://helseid.example", audience="helsegraf"
    )
    graph = await make_graph(auth=auth)

    citizens = await graph.client.get("/demo/citizens")
    minted = await graph.client.post("/demo/token", json={"citizen": "personWithGp"})
    config = await graph.client.get("/app/config.json")
    page = await graph.client.get("/app/")

    assert citizens.status_code == 404
    assert minted.status_code == 404
    assert config.json() == {"graphqlUrl": "/graphql", "trustedDocuments": False, "demoSignIn": False}
    assert page.status_code == 200


async def test_the_app_is_served_at_app_with_its_config(make_graph) -> None:
    open_graph = await make_graph()
    trusted_graph = await make_graph(http=replace(HttpSettings(), trusted_documents=str(MANIFEST)))
    assets = sorted(p.name for p in (APP_DIR / "assets").iterdir())
    script = next(name for name in assets if name.endswith(".js"))

    page = await open_graph.client.get("/app/")
    deep_link = await open_graph.client.get("/app/logg-over-bruk")
    asset = await open_graph.client.get(f"/app/assets/{script}")
    missing_asset = await open_graph.client.get("/app/assets/index-missing.js")
    missing_file = await open_graph.client.get("/app/favicon.ico")
    open_config = (await open_graph.client.get("/app/config.json")).json()
    trusted_config = (await trusted_graph.client.get("/app/config.json")).json()

    assert page.status_code == 200
    assert '<html lang="nb">' in page.text
    assert f"/app/assets/{script}" in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert deep_link.status_code == 200
    assert deep_link.text == page.text
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing_asset.status_code == 404
    assert missing_file.status_code == 404
    assert open_config == {"graphqlUrl": "/graphql", "trustedDocuments": False, "demoSignIn": True}
    assert trusted_config == {"graphqlUrl": "/graphql", "trustedDocuments": True, "demoSignIn": True}


async def test_a_subgraph_serves_no_app(make_graph) -> None:
    graph = await make_graph(registers=frozenset({"flr"}))

    assert (await graph.client.get("/app/")).status_code == 404
    assert (await graph.client.get("/demo/citizens")).status_code == 404


async def test_graphiql_opens_with_an_example_over_the_data_and_the_authorization_hint(make_graph, nation) -> None:
    graph = await make_graph()

    page = (await graph.client.get("/graphql", headers={"accept": "text/html"})).text
    example = (await graph.client.post("/graphql", json={"query": _example_from(page)})).json()

    assert "Personal fields need a token." in page
    assert "Authorization" in page
    assert 'defaultEditorToolsVisibility: "headers"' in page
    assert "shouldPersistHeaders: false" in page
    assert f'person(nin: "{nation.samples["personWithGp"]}")' in page
    assert f'gpContracts(municipality: "{nation.samples["municipalityWithOpenLists"]}"' in page
    assert "unpkg.com" not in page
    assert "errors" not in example
    assert example["data"]["person"]["name"] is None
    assert {"path": ["person", "name"], "reason": "UNAUTHENTICATED"} in example["extensions"]["redactions"]
    assert example["data"]["gpContracts"]["totalCount"] >= 1


def _example_from(page: str) -> str:
    start = page.index("const EXAMPLE_QUERY = `") + len("const EXAMPLE_QUERY = `")
    return page[start : page.index("`;", start)]


async def test_a_trusted_server_refuses_documents_the_build_did_not_produce(make_graph, nation) -> None:
    graph = await make_graph(http=replace(HttpSettings(), trusted_documents=str(MANIFEST)))
    citizen = token(nation, "citizen", pid=nation.samples["personWithGp"])
    documents = TrustedDocuments(str(MANIFEST)).documents
    own = next(key for key, text in documents.items() if "query MinFastlege" in text)
    headers = {"authorization": f"Bearer {citizen}"}

    allowed = await graph.client.post("/graphql", json={"documentId": own}, headers=headers)
    free_text = await graph.client.post("/graphql", json={"query": "{ me { nin name { full } } }"}, headers=headers)
    unknown = await graph.client.post("/graphql", json={"documentId": "sha256:" + "0" * 64}, headers=headers)

    assert allowed.json()["data"]["me"]["nin"] == nation.samples["personWithGp"]
    for refused in (free_text, unknown):
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert "data" not in refused.json()


async def test_access_log_times_carry_their_offset(graph, nation) -> None:
    citizen = token(nation, "citizen", pid=nation.samples["personWithoutGp"])
    await graph.data("{ me { name { full } } }", token=citizen)

    data = await graph.data("{ me { accessLog(first: 1) { edges { node { at } } } } }", token=citizen)

    at = datetime.fromisoformat(data["me"]["accessLog"]["edges"][0]["node"]["at"])
    assert at.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60


def test_the_manifest_holds_exactly_the_bundle_s_documents_and_each_is_valid() -> None:
    documents = TrustedDocuments(str(MANIFEST)).documents
    bundle = "".join(p.read_text() for p in (APP_DIR / "assets").glob("*.js"))
    schema = build_schema(build_graph(frozenset(_all_registers())).as_str(), assume_valid_sdl=True)
    sent = set(_hashes_in(bundle))

    assert sent == set(documents)
    for document in documents.values():
        assert validate(schema, parse(document)) == []


def _all_registers() -> set[str]:
    from helsegraf.registers import REGISTERS  # noqa: PLC0415

    return set(REGISTERS)


def _hashes_in(bundle: str) -> list[str]:
    import re  # noqa: PLC0415

    return re.findall(r"hash:`(sha256:[0-9a-f]{64})`", bundle)


def test_the_production_build_is_under_250_kb_of_javascript_gzipped() -> None:
    scripts = list((APP_DIR / "assets").glob("*.js"))
    gzipped = sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in scripts)

    assert scripts
    assert gzipped < JS_BUDGET_GZIPPED, f"{gzipped:,} bytes of JavaScript gzipped"


def test_the_shipped_build_is_free_of_machine_paths_and_timestamps() -> None:
    text = "".join(p.read_text() for p in APP_DIR.rglob("*") if p.is_file())

    assert str(APP.parent.parent) not in text
    assert "/home/" not in text
    assert "sourceMappingURL" not in text


def test_helsegraf_demo_serves_the_app_and_prints_a_ready_graphiql_link(tmp_path) -> None:
    port = free_port()
    environment = {**os.environ, "HELSEGRAF_HOME": str(tmp_path / "home"), "HELSEGRAF_LOG_FORMAT": "plain"}
    output = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "helsegraf.cli", "demo", "--port", str(port), "--persons", "1000"],
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, demo)
        printed = (tmp_path / "demo.log").read_text()
        link = next(
            line.strip() for line in printed.splitlines() if line.strip().startswith(f"{base}/graphql?headers=")
        )
        headers = json.loads(unquote(link.split("?headers=", 1)[1]))
        page = httpx.get(link, headers={"accept": "text/html"}, timeout=10).text
        answer = httpx.post(f"{base}/graphql", json={"query": _example_from(page)}, headers=headers, timeout=10).json()
        app = httpx.get(f"{base}/app/", timeout=10)
        citizens = httpx.get(f"{base}/demo/citizens", timeout=10).json()["citizens"]
    finally:
        demo.terminate()
        demo.wait(timeout=30)
        output.close()

    assert f"{base}/app/" in printed
    assert "errors" not in answer
    assert answer["data"]["person"]["name"]["full"]
    assert "redactions" not in answer.get("extensions", {})
    assert app.status_code == 200
    assert '<html lang="nb">' in app.text
    assert citizens


def _wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("helsegraf demo did not start")


def test_the_sample_citizens_are_what_the_sign_in_page_says(nation) -> None:
    today, samples = oslo_today(), nation.samples
    sixteen, seventeen = years_before(today, 16), years_before(today, 17)

    memberships = db_rows(
        nation, "SELECT valid_from, valid_to FROM flr_list_membership WHERE nin = :n", n=samples["personWithoutGp"]
    )
    children = db_rows(
        nation,
        "SELECT c.birth_date FROM preg_person c JOIN preg_parent_relation r "
        "ON r.child_nin = c.nin WHERE r.parent_nin = :p",
        p=samples["parentOfChildrenUnderAndOver16"],
    )
    protected = db_rows(
        nation,
        "SELECT birth_date, address_protection FROM preg_person WHERE nin = :n",
        n=samples["adultWithProtectedAddress"],
    )[0]

    assert not [m for m in memberships if m.valid_from <= today and (m.valid_to is None or m.valid_to > today)]
    assert any(c.birth_date > sixteen for c in children)
    assert any(seventeen < c.birth_date <= sixteen for c in children)
    assert protected.address_protection != "UGRADERT"
    assert protected.birth_date <= years_before(today, 18)


# --- the app in a browser -------------------------------------------------------------------------------------


@dataclass
class AppNation:
    """A nation seeded for the browser tests, and the persons the tests sign in as or look for."""

    nation: Nation
    persons: dict[str, Any]


def _full_name(row: Any) -> str:
    return " ".join(p for p in (row.given_name, row.middle_name, row.family_name) if p)


def _person(nation: Nation, nin: str) -> dict[str, str]:
    row = db_rows(nation, "SELECT given_name, middle_name, family_name FROM preg_person WHERE nin = :nin", nin=nin)[0]
    return {"nin": nin, "name": _full_name(row)}


def _current_gp(nation: Nation, nin: str, today: date) -> tuple[str, str] | None:
    """Return the name of the doctor serving a person's list today and the office's name, as the graph picks them."""
    memberships = [
        m
        for m in db_rows(
            nation, "SELECT contract_id, valid_from, valid_to FROM flr_list_membership WHERE nin = :nin", nin=nin
        )
        if m.valid_from <= today and (m.valid_to is None or m.valid_to > today)
    ]
    if not memberships:
        return None
    contract = memberships[0].contract_id
    periods = db_rows(
        nation,
        "SELECT hpr_number, relationship, valid_from, valid_to FROM flr_gp_period WHERE contract_id = :c",
        c=contract,
    )
    period = serving_period(periods, today)
    doctor = db_rows(
        nation, "SELECT given_name, middle_name, family_name FROM hpr_person WHERE hpr_number = :h", h=period.hpr_number
    )[0]
    office = db_rows(
        nation,
        "SELECT o.name FROM flr_gp_contract c JOIN bed_organization o "
        "ON o.org_number = c.office_org_number WHERE c.id = :c",
        c=contract,
    )[0]
    return _full_name(doctor), office.name


def _add_open_lists(nation: Nation, municipality: str, count: int) -> None:
    """Open `count` more GP lists at a municipality's open office (a group practice), each with its own fastlege."""
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            c, g = flr.GpContract, flr.GpPeriod
            office = conn.execute(
                select(c.office_org_number)
                .where(c.municipality_code == municipality, c.is_open)
                .order_by(c.id)
                .limit(1)
            ).scalar_one()
            top_contract = conn.execute(select(func.max(c.id))).scalar_one()
            top_period = conn.execute(select(func.max(g.id))).scalar_one()
            a = hpr.Approval
            doctors = list(
                conn.execute(
                    select(a.hpr_number)
                    .where(a.category == "LE", a.hpr_number.not_in(select(g.hpr_number)))
                    .distinct()
                    .order_by(a.hpr_number)
                    .limit(count)
                ).scalars()
            )
            assert len(doctors) == count, "the nation has too few doctors without a list"
            for i, doctor in enumerate(doctors, start=1):
                conn.execute(
                    insert(c).values(
                        id=top_contract + i,
                        office_org_number=office,
                        municipality_code=municipality,
                        max_patients=900 + 10 * i,
                        is_open=True,
                        valid_from=date(2020, 1, 1),
                    )
                )
                conn.execute(
                    insert(g).values(
                        id=top_period + i,
                        contract_id=top_contract + i,
                        hpr_number=doctor,
                        relationship="LPFL",
                        working_percentage=100,
                        valid_from=date(2020, 1, 1),
                    )
                )
    finally:
        engine.dispose()


def _protect_a_child(nation: Nation, today: date, keep_clear: set[str]) -> None:
    """Give a child under 16 a strictly confidential address its parents do not share (a child in care, say)."""
    rows = db_rows(
        nation,
        """
        SELECT c.nin FROM preg_person c JOIN preg_parent_relation r ON r.child_nin = c.nin
        JOIN preg_person p ON p.nin = r.parent_nin
        WHERE c.status = 'RESIDENT' AND c.address_protection = 'UGRADERT' AND c.birth_date > :sixteen
          AND p.status = 'RESIDENT' AND p.address_protection = 'UGRADERT'
        GROUP BY c.nin ORDER BY c.nin""",
        sixteen=years_before(today, 16),
    )
    relations = db_rows(nation, "SELECT child_nin, parent_nin FROM preg_parent_relation")
    near = {r.child_nin for r in relations if r.parent_nin in keep_clear}
    child = next(r.nin for r in rows if r.nin not in near)
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            p = preg.Person
            conn.execute(update(p).where(p.nin == child).values(address_protection="STRENGT_FORTROLIG"))
    finally:
        engine.dispose()


def _children(nation: Nation, parent: str, today: date) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rows = db_rows(
        nation,
        "SELECT c.nin, c.given_name, c.middle_name, c.family_name, c.birth_date FROM preg_person c "
        "JOIN preg_parent_relation r ON r.child_nin = c.nin WHERE r.parent_nin = :p ORDER BY c.nin",
        p=parent,
    )
    sixteen, seventeen = years_before(today, 16), years_before(today, 17)
    under = [{"nin": r.nin, "name": _full_name(r)} for r in rows if r.birth_date > sixteen]
    aged_16 = [{"nin": r.nin, "name": _full_name(r)} for r in rows if seventeen < r.birth_date <= sixteen]
    return under, aged_16


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_nation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppNation]:
    """The test nation (3,000 persons, seed 7), seeded anew with more open lists in one place and a protected child."""
    _require_browser()
    home = tmp_path_factory.mktemp(f"citizen-app-{request.param}")
    if request.param == "postgres":
        require_postgres()
        url = create_postgres_database("helsegraf_app")
    else:
        url = f"sqlite:///{home / 'nation.db'}"
    settings = Settings(home=home, database_url=url)
    upgrade(settings)
    world = generate(NATION_PERSONS, NATION_SEED)
    load(settings, world)
    today = oslo_today()
    first = sample_ids(settings, today)
    nation = Nation(request.param, settings, world, first)
    municipality = first["municipalityWithOpenLists"]
    _add_open_lists(nation, municipality, EXTRA_OPEN_LISTS)
    _protect_a_child(
        nation,
        today,
        {
            first["parentOfChildrenUnderAndOver16"],
            first["personWithGp"],
            first["personWithoutGp"],
            first["parentOfChild"],
        },
    )
    samples = sample_ids(settings, today)
    nation.samples = samples
    try:
        yield AppNation(nation, _persons(nation, samples, today, municipality))
    finally:
        if request.param == "postgres":
            drop_postgres_database(url)


def _persons(nation: Nation, samples: dict[str, Any], today: date, municipality: str) -> dict[str, Any]:
    with_gp = samples["personWithGp"]
    gp_name, office_name = _current_gp(nation, with_gp, today) or ("", "")
    home = db_rows(
        nation,
        "SELECT k.text FROM flr_list_membership l JOIN flr_gp_contract c ON c.id = l.contract_id "
        "JOIN kodeverk_code k ON k.system_oid = '3402' AND k.value = c.municipality_code "
        "WHERE l.nin = :nin AND l.valid_to IS NULL",
        nin=with_gp,
    )
    parent = samples["parentOfChildrenUnderAndOver16"]
    under, aged_16 = _children(nation, parent, today)
    protected_parent, protected_child = samples["parentOfProtectedChild"], samples["protectedChild"]
    child_gp = _current_gp(nation, protected_child, today)
    assert child_gp is not None, "the protected child is on no GP list"
    protected = samples["adultWithProtectedAddress"]
    protected_gp = _current_gp(nation, protected, today)
    open_lists = db_rows(
        nation,
        "SELECT count(*) AS n, min(k.text) AS name FROM flr_gp_contract c JOIN kodeverk_code k "
        "ON k.system_oid = '3402' AND k.value = c.municipality_code "
        "WHERE c.municipality_code = :m AND c.is_open",
        m=municipality,
    )[0]
    assert PAGE_SIZE < open_lists.n < 2 * PAGE_SIZE
    assert under, "the sample parent has no child under 16"
    assert aged_16, "the sample parent has no child of 16"
    return {
        "withGp": {
            **_person(nation, with_gp),
            "gpName": gp_name,
            "officeName": office_name,
            "municipality": home[0].text,
        },
        "withoutGp": _person(nation, samples["personWithoutGp"]),
        "parent": {**_person(nation, parent), "under16": under, "aged16": aged_16},
        "protectedChild": {
            "parent": _person(nation, protected_parent),
            "child": _person(nation, protected_child),
            "gpName": child_gp[0],
            "officeName": child_gp[1],
        },
        "protectedPerson": {**_person(nation, protected), "gpName": protected_gp[0] if protected_gp else None},
        "pagedMunicipality": {"code": municipality, "name": open_lists.name, "openLists": open_lists.n},
    }


def _cli_token(settings: Settings, *args: str) -> str:
    """Mint a token the way a developer does: `helsegraf token ...`."""
    environment = {**os.environ, "HELSEGRAF_HOME": str(settings.home)}
    done = subprocess.run(
        [sys.executable, "-m", "helsegraf.cli", "token", *args],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_the_citizen_app_in_a_browser(app_nation: AppNation, tmp_path: Path) -> None:
    nation, persons = app_nation.nation, app_nation.persons
    settings, samples = nation.settings, nation.samples
    trusted = {"HELSEGRAF_TRUSTED_DOCUMENTS": str(MANIFEST)}
    screenshots = APP / "test-results" / "screenshots" / nation.backend
    with (
        running_server(settings, env=trusted) as app,
        running_server(settings) as open_server,
        running_server(settings, env=trusted) as doomed,
    ):
        clinician = _cli_token(
            settings, "--role", "clinician", "--hpr", str(samples["gpHprNumber"]), "--org", samples["officeOrgNumber"]
        )
        expired_at = int(time.time()) - 3600
        expired = mint(
            settings.home, role="citizen", pid=persons["withGp"]["nin"], ttl_seconds=600, now=expired_at - 600
        )
        fixture = {
            **persons,
            "openUrl": open_server.url,
            "outage": {"url": doomed.url, "pid": doomed.process.pid},
            "clinician": {
                "token": clinician,
                "hprNumber": samples["gpHprNumber"],
                "orgNumber": samples["officeOrgNumber"],
            },
            "expiredToken": expired,
            "expiredAt": expired_at,
        }
        environment = {
            **os.environ,
            "HELSEGRAF_APP_URL": app.url,
            "HELSEGRAF_APP_FIXTURE": json.dumps(fixture),
            "HELSEGRAF_APP_SCREENSHOTS": str(screenshots),
            "HELSEGRAF_CHROMIUM": CHROMIUM,
            "TMPDIR": str(tmp_path),
            "CI": "true",
        }
        run = subprocess.run(
            [NPX, "--no-install", "playwright", "test"],
            cwd=APP,
            env=environment,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        log = httpx.get(f"{open_server.url}/healthz", timeout=5)

    assert run.returncode == 0, f"Playwright failed:\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    assert log.status_code == 200
    rows = db_rows(nation, "SELECT count(*) AS n FROM audit_access_log WHERE client_id = :c", c=CLIENT_ID)
    assert rows[0].n > 0, "the app's reads are missing from the access log"
    assert sorted(p.name for p in screenshots.glob("*.png")) == [f"{n:02d}-{v}.png" for n, v in enumerate(SCREENS, 1)]


SCREENS = (
    "logg-inn",
    "min-fastlege",
    "min-fastlege-uten-fastlege",
    "min-fastlege-beskyttet-adresse",
    "finn-fastlege-min-kommune",
    "finn-fastlege-side-1",
    "finn-fastlege-side-2",
    "mine-barn",
    "mine-barn-beskyttet-barn",
    "logg-over-bruk",
    "logg-over-bruk-side-2",
    "logg-inn-utlopt",
    "tjenesten-svarer-ikke",
    "min-fastlege-mobil",
    "logg-over-bruk-mobil",
)
