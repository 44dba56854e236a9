"""Each register in a database of its own: the graph answers the same, because no SQL joins across registers."""

from __future__ import annotations

import httpx

from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.data.load import load
from helsegraf.data.nation import generate
from helsegraf.data.sample import sample_ids
from helsegraf.http.app import create_app
from helsegraf.http.context import oslo_today
from helsegraf.migrate import upgrade
from helsegraf.registers import STORES

QUERY = """query($nin: ID!) { person(nin: $nin) { name { full }
  gp { gp { name { full } approvals { category { text } } }
  contract { office { name reshUnits { reshId } } municipality { name } }
  officeCommunicationParty { herId electronicAddresses } } } }"""


async def test_the_graph_answers_the_same_from_one_database_per_register(tmp_path) -> None:
    world = generate(1500, 4)
    shared = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'shared.db'}")
    split = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'unused.db'}",
                     register_urls={s: f"sqlite:///{tmp_path / f'{s}.db'}" for s in STORES})  # fmt: skip
    answers = []
    for settings in (shared, split):
        upgrade(settings)
        load(settings, world)
        nin = sample_ids(settings, oslo_today())["personWithGp"]
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.post("/graphql", json={"query": QUERY, "variables": {"nin": nin}},
                                         headers={"authorization": f"Bearer {token_for(tmp_path)}"})  # fmt: skip
        await app.state.db.dispose()
        answers.append(response.json())

    assert "errors" not in answers[1], answers[1]
    assert answers[0] == answers[1]
    assert answers[1]["data"]["person"]["gp"]["officeCommunicationParty"]["electronicAddresses"]


def token_for(home) -> str:
    return mint(home, role="admin")
