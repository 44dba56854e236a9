"""Every GraphQL example in README.md runs against the demo's data and answers something.

The demo (`helsegraf demo`) seeds 10,000 persons with seed 1; the README's ids are ones `helsegraf
sample` prints for that data. A README example that errors, is refused, or answers only nulls and
empty lists fails here, naming the example.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, print_ast

from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.data.sample import sample_ids
from helsegraf.http.app import create_app
from helsegraf.http.context import oslo_today
from helsegraf.seeding import seed

README = Path(__file__).parents[1] / "README.md"
DEMO_PERSONS, DEMO_SEED = 10_000, 1  # what `helsegraf demo` seeds


def readme_examples() -> list[tuple[str, str]]:
    """Return (where, document) for each operation in a ```graphql block and each curl `-d` query."""
    text = README.read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", text, re.DOTALL)
    examples = [
        (f"graphql block {number}: {print_ast(definition)[:60]!r}", print_ast(definition))
        for number, block in enumerate(blocks, start=1)
        for definition in parse(block).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    curls = re.findall(r"curl [^\n]*(?:\\\n[^\n]*)*?-d '(\{.*?\})'", text)
    return examples + [(f"curl: {body[:60]!r}", json.loads(body)["query"]) for body in curls]


def answered(value: Any) -> bool:
    """Tell whether a value holds anything: a non-null scalar somewhere, not only nulls and empty lists."""
    if isinstance(value, dict):
        return any(answered(v) for k, v in value.items() if k != "__typename")
    if isinstance(value, list):
        return any(answered(v) for v in value)
    return value is not None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("demo-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'helsegraf.db'}")
    seed(settings, persons=DEMO_PERSONS, seed_value=DEMO_SEED, reset=False)
    return settings, sample_ids(settings, oslo_today())


def test_the_readme_has_examples_to_check() -> None:
    assert len(readme_examples()) >= 6


async def test_every_readme_query_answers_against_the_demo_data(demo) -> None:
    settings, samples = demo
    variables = {"nins": [samples["personWithGp"], samples["personWhoChangedGp"]]}
    bearer = mint(settings.home, role="admin")
    app = create_app(settings)
    failures = []

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        for where, document in readme_examples():
            names = re.findall(r"\$(\w+)\s*:", document)
            missing = [n for n in names if n not in variables]
            if missing:
                failures.append(f"{where}: this test has no value for ${', $'.join(missing)}")
                continue
            request = {"query": document, "variables": {n: variables[n] for n in names}}
            response = await client.post("/graphql", json=request, headers={"authorization": f"Bearer {bearer}"})
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                failures.append(f"{where}: HTTP {response.status_code} {str(body.get('errors'))[:300]}")
            elif not all(answered(v) for v in (body.get("data") or {}).values()) or not body.get("data"):
                failures.append(f"{where}: answered nothing: {str(body.get('data'))[:300]}")
    await app.state.db.dispose()

    assert not failures, "\n".join(failures)


def test_the_readme_ids_are_ones_helsegraf_sample_prints_for_the_demo(demo) -> None:
    _settings, samples = demo
    text = README.read_text()
    printed = {str(v) for v in samples.values() if v is not None}

    nins = set(re.findall(r"(?<![\d-])(\d{11})(?!\d)", text))
    numbers = set(re.findall(r"(?:hprNumber|reshId|herId|--hpr|--org|--pid|municipality)[:= ]+\"?(\d{4,})", text))

    assert nins, "the README shows no identity number to check"
    assert not (nins | numbers) - printed, (
        f"ids in README.md that `helsegraf sample` does not print: {(nins | numbers) - printed}"
    )


KEY_FIGURES = '{ statistics { keyFigures(at: "2025-12-31") { code label unit value perturbed suppressed } } }'


async def test_the_readme_key_figures_are_the_demo_nations(demo) -> None:
    """The README's key-figure table is what the demo answers (under the tests' statistics secret)."""
    settings, _samples = demo
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        analyst = {"authorization": f"Bearer {mint(settings.home, role='analyst')}"}
        response = await client.post("/graphql", json={"query": KEY_FIGURES}, headers=analyst)
    await app.state.db.dispose()
    figures = response.json()["data"]["statistics"]["keyFigures"]

    def shown(f: dict) -> str:
        value = "suppressed" if f["suppressed"] else (
            str(int(f["value"])) if f["unit"] == "COUNT" else f"{f['value']:.2f}")  # fmt: skip
        return f"| {f['label']} | `{f['code']}` | {value}{' ~' if f['perturbed'] else ''} |"

    block = README.read_text().split("<!-- key-figures:start -->\n", 1)[1].split("<!-- key-figures:end -->", 1)[0]
    assert block.splitlines()[2:] == [shown(f) for f in figures]
