"""A person whose number was replaced: their access log holds the entries under both numbers, and a token
still carrying the old number is the same citizen."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import Graph, token
from helsegraf.config import Settings
from helsegraf.http.app import create_app
from helsegraf.identifiers import make_nin
from helsegraf.seeding import seed

LOG = "{ me { nin currentNin name { full } accessLog(first: 50) { totalCount edges { node { purpose } } } } }"


@pytest.fixture
async def redirected(empty_database_url: str, tmp_path):
    """A small nation in which one person's number Y was replaced by X (after a clinician read Y)."""
    settings = Settings(database_url=empty_database_url, home=tmp_path / "home")
    seed(settings, persons=300, seed_value=3, reset=False)
    engine = create_engine(settings.effective_database_url)
    with engine.begin() as conn:
        old = conn.execute(
            text("SELECT nin FROM preg_person WHERE replaced_by IS NULL ORDER BY nin LIMIT 1")
        ).scalar_one()
    new = next(n for i in range(900, 999) if (n := make_nin(date(1990, 5, 17), i)) is not None)
    app = create_app(settings)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    nation = type("N", (), {"settings": settings})()
    graph = Graph(client, token(nation, "clinician", hpr_number=1))
    before = f"before-{uuid.uuid4().hex}"
    await graph.data("query($n: ID!) { person(nin: $n) { name { full } } }", {"n": old}, **{"x-purpose": before})
    with engine.begin() as conn:  # what the sync engine does on ChangeInNorwegianIdentificationNumber
        columns = [c for c in conn.execute(text("SELECT * FROM preg_person LIMIT 0")) if c != "nin"]
        listed = ", ".join(columns)
        conn.execute(text(f"INSERT INTO preg_person (nin, {listed}) SELECT :new, {listed} FROM preg_person "
                          "WHERE nin = :old"), {"new": new, "old": old})  # fmt: skip
        conn.execute(text("UPDATE preg_person SET replaced_by = :new WHERE nin = :old"), {"new": new, "old": old})
    engine.dispose()
    yield graph, nation, old, new, before
    await client.aclose()
    await app.state.db.dispose()


async def test_the_log_of_a_person_whose_number_changed_holds_the_entries_under_both(redirected) -> None:
    graph, nation, old, new, before = redirected
    after = f"after-{uuid.uuid4().hex}"
    await graph.data("query($n: ID!) { person(nin: $n) { name { full } } }", {"n": new}, **{"x-purpose": after})

    for pid in (new, old):  # a token issued before the change still carries the old number
        me = (await graph.data(LOG, token=token(nation, "citizen", pid=pid)))["me"]
        purposes = [e["node"]["purpose"] for e in me["accessLog"]["edges"]]

        assert me["currentNin"] == new
        assert me["name"] is not None  # the citizen is themself under either number
        assert after in purposes
        assert before in purposes
        assert purposes.index(after) < purposes.index(before)  # newest first, across both numbers
        assert me["accessLog"]["totalCount"] >= 2

    admin = await graph.data(
        "query($n: ID!) { person(nin: $n) { accessLog(first: 50) { edges { node { purpose } } } } }",
        {"n": old},
        token=token(nation, "admin"),
    )
    assert before in [e["node"]["purpose"] for e in admin["person"]["accessLog"]["edges"]]


async def test_a_stranger_learns_nothing_from_a_replaced_number(redirected) -> None:
    graph, nation, old, _new, _before = redirected
    other = token(nation, "citizen", pid=make_nin(date(1980, 1, 2), 500))

    body = await graph.query(LOG.replace("{ me {", f'{{ person(nin: "{old}") {{', 1), token=other)

    person = body["data"]["person"]
    assert (person["currentNin"], person["name"], person["accessLog"]) == (None, None, None)
