"""helsegraf now beside helsegraf at another commit: each one's ratio to the hand-written baseline.

`python -m bench versions --tree /path/to/other/checkout` compares this checkout's helsegraf with
the one in another git worktree (with its own `.venv`, e.g. `git worktree add ../old <commit>`),
so that a change can be judged as a before/after pair on the same machine at the same time.
Each side runs on a nation seeded by its own code (same size and seed, so the same persons),
with its own signing key and a clinician token; the baseline (bench/baseline.py) runs on this
checkout's database. The three take turns within each round (forwards, then backwards), like
`bench all`, and a ratio (helsegraf / baseline) is the median of the round-by-round ratios.
The answers of both helsegrafs are checked equal before anything is measured.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench import peers, wrk
from bench.common import (
    ADMIN_URL,
    database_name,
    database_url,
    nation_database,
    start_server,
    stop,
    table,
    write_results,
)
from bench.graph import INTEGRATOR_QUERY, _patients
from helsegraf.authz.tokens import mint

PATIENTS = 4000
# Run by the other checkout's own Python: seed its nation (when needed) and mint a clinician token.
_OTHER_SETUP = """
import json, sys
from pathlib import Path
from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.data.load import populated_registers
from helsegraf.seeding import seed
url, persons, home = sys.argv[1], int(sys.argv[2]), sys.argv[3]
settings = Settings(database_url=url)
try:
    populated = populated_registers(settings).get("preg")
except Exception:
    populated = None
if populated != persons:
    seed(settings, persons=persons, seed_value=1, reset=True)
print(json.dumps({"token": mint(Path(home), role="clinician", hpr_number=1, org_number="974760673",
                                ttl_seconds=4 * 3600)}))
"""


def _commit(tree: Path) -> str:
    command = ["git", "-C", str(tree), "log", "-1", "--format=%h %s"]
    shown = subprocess.run(command, capture_output=True, text=True, check=False)
    return shown.stdout.strip()[:100] or "?"


def _other(tree: Path, persons: int, workers: int) -> tuple[peers.Side, str]:
    """Seed the other checkout's nation with its own code, start its server; return its side and database URL."""
    python = tree / ".venv" / "bin" / "python"
    if not python.exists():
        msg = f"{tree} has no .venv: create it with `python3 -m venv .venv && .venv/bin/pip install -e .`"
        raise SystemExit(msg)
    name = database_name(f"{persons}_1_{_commit(tree).split()[0]}")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name).replace("postgresql://", "postgresql+psycopg://")
    home = tempfile.mkdtemp(prefix="helsegraf-bench-other-")
    env = {**os.environ, "HELSEGRAF_HOME": home, "HELSEGRAF_LOG_FORMAT": "plain"}
    env.pop("PYTHONPATH", None)
    made = subprocess.run([str(python), "-c", _OTHER_SETUP, url, str(persons), home], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if made.returncode != 0:
        msg = f"the other checkout could not seed or mint: {made.stderr.strip()[-800:]}"
        raise SystemExit(msg)
    token = json.loads(made.stdout.strip().splitlines()[-1])["token"]
    command = [str(python), "-m", "helsegraf.cli", "serve", "--database-url", url, "--workers", str(workers)]
    process, base = start_server(command, ready="/readyz", what="helsegraf other", env=env)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "benchmark"}
    return peers.Side("other", process, f"{base}/graphql", INTEGRATOR_QUERY, headers), url


def _check(this: peers.Side, other: peers.Side, nins: list[str]) -> None:
    for batch in (nins[:1], nins[:100], nins[:1000]):
        ours, theirs = this.ask(batch).json(), other.ask(batch).json()
        if ours.get("errors") or ours.get("data") != theirs.get("data"):
            msg = f"the two checkouts answer {len(batch)} patients differently (or with errors)"
            raise SystemExit(msg)


def run(persons: int, tree: str, options: dict[str, Any]) -> dict[str, Any]:
    """Measure this checkout and `tree` against the baseline; print and write the results."""
    wrk.binary()
    other_tree = Path(tree).resolve()
    settings = nation_database(persons)
    url = settings.effective_database_url
    nins = _patients(url, PATIENTS)
    home = tempfile.mkdtemp(prefix="helsegraf-bench-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=4 * 3600)
    from bench.load import _serve  # noqa: PLC0415

    started = []
    try:
        process, base = _serve(url, home, options["workers"])
        started.append(process)
        this = peers.Side("this", process, f"{base}/graphql", INTEGRATOR_QUERY,
                          {"Authorization": f"Bearer {bearer}", "X-Purpose": "benchmark"})  # fmt: skip
        other, other_url = _other(other_tree, persons, options["workers"])
        started.append(other.process)
        if _patients(other_url, PATIENTS) != nins:
            msg = "the other checkout's nation has other patients (a different generator): not comparable"
            raise SystemExit(msg)
        _check(this, other, nins)
        baseline_process, baseline_base = start_server(
            [sys.executable, "-m", "bench.baseline", "--database-url", url, "--workers", str(options["workers"])],
            ready="/healthz", what="the baseline")  # fmt: skip
        started.append(baseline_process)
        sides = {"baseline": peers.Side("baseline", baseline_process, f"{baseline_base}/answer", None, {}),
                 "this": this, "other": other}  # fmt: skip
        results = _measure(sides, nins, options)
    finally:
        stop(*started)
    found = {"persons": persons, "generator": wrk.version(), "this": _commit(Path.cwd()),
             "other": _commit(other_tree), **options, "scenarios": results}  # fmt: skip
    _report(found)
    print(f"results: {write_results(f'versions-{persons}', found)}")
    return found


def _cpu_seconds(pid: int) -> float:
    """Return the CPU seconds (user + system) a server's process and its worker processes have used."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    total = 0.0
    for process in [str(pid), *children]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _run(side: peers.Side, target: wrk.Target, concurrency: int, duration: float) -> dict[str, float]:
    """Measure one round: requests/s, and the server's own CPU milliseconds per answered request.

    On a machine shared with other work, throughput moves with the neighbours' load; the CPU a
    server spends per request moves much less, so it is the steadier figure to compare.
    """
    before = _cpu_seconds(side.process.pid)
    measured = wrk.run(target, concurrency, duration)
    used = _cpu_seconds(side.process.pid) - before
    answered = measured["requests"] - measured["bad_answers"]
    return {"rps": measured["throughput_rps"], "cpu_ms": round(used * 1000 / answered, 3) if answered else 0.0}


def _measure(sides: dict[str, peers.Side], nins: list[str], options: dict[str, Any]) -> dict[str, Any]:
    order = list(sides)
    results: dict[str, Any] = {}
    for size in options["sizes"]:
        batches = [nins[i : i + size] for i in range(0, PATIENTS, size)]
        targets = {name: sides[name].target(batches) for name in order}
        for name in order:
            wrk.run(targets[name], max(options["concurrency"]), options["warmup"])
        for concurrency in options["concurrency"]:
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in order}
            for number in range(options["rounds"]):
                for name in order if number % 2 == 0 else reversed(order):
                    rounds[name].append(_run(sides[name], targets[name], concurrency, options["duration"]))
            cell: dict[str, Any] = {name: {"rps": statistics.median(m["rps"] for m in r),
                                           "cpu_ms_per_request": statistics.median(m["cpu_ms"] for m in r),
                                           "rounds": r} for name, r in rounds.items()}  # fmt: skip
            for name in ("this", "other"):
                pairs = zip(rounds[name], rounds["baseline"], strict=True)
                ratios = [o["rps"] / b["rps"] for o, b in pairs if b["rps"] and o["rps"]]
                cell[name]["ratio_to_baseline"] = round(statistics.median(ratios), 3) if ratios else None
            results[f"{size}_patients_c{concurrency}"] = cell
            shown = (f"{n} {cell[n]['rps']:.1f} req/s, {cell[n]['cpu_ms_per_request']:.2f} CPU ms" for n in order)
            print(f"{size} patients c{concurrency}: " + ", ".join(shown), flush=True)
    return results


def report_rows(found: dict[str, Any]) -> list[tuple[str, ...]]:
    """Return one table row per scenario: requests/s of each side and each helsegraf's ratio to the baseline."""
    rows = []
    for scenario, cell in found["scenarios"].items():
        size, concurrency = scenario.split("_patients_")
        rows.append((f"{size} patient(s), {concurrency}", _figure(cell, "baseline"), _figure(cell, "other"),
                     _figure(cell, "this")))  # fmt: skip
    return rows


def _figure(cell: dict[str, Any], side: str) -> str:
    ratio = cell[side].get("ratio_to_baseline")
    figure = f"{cell[side]['rps']:.1f}" + (f" ({ratio:.2f}x)" if ratio else "")
    return figure + f", {cell[side]['cpu_ms_per_request']:.2f} ms CPU"


def _report(found: dict[str, Any]) -> None:
    print(f"\nrequests/s, median of {found['rounds']} rounds of {found['duration']:g} s ({found['generator']}); "
          "in brackets helsegraf / baseline, the median of round-by-round ratios; then the server's own CPU "
          "per answered request (its processes, not PostgreSQL's), median of rounds")  # fmt: skip
    print(f"other: {found['other']}\nthis:  {found['this']}\n")
    print(table(report_rows(found), ("scenario", "baseline", "other checkout", "this checkout")))
