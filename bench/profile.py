"""Where helsegraf's CPU goes: py-spy flame graphs of `helsegraf serve` answering the integrator query.

`python -m bench profile --persons N --patients 1,1000` starts `helsegraf serve` on the benchmark
nation, keeps wrk's load on it (clinician token, access log written) and, for each patient count,
records py-spy twice in a row under the same steady load: an SVG flame graph, then the same
kind of samples as collapsed stacks, from which a text summary gives the share of CPU samples
by package (each sample counted for the package of its innermost Python frame: time inside a
C extension such as psycopg's binary or orjson counts for the Python function that called it).
Idle samples (a worker waiting in the event loop for work) are left out by py-spy.
Everything goes to bench/results/profile-<patients>-patients-<date>.{svg,txt,collapsed}.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bench import peers, wrk
from bench.common import RESULTS, nation_database, stop, table, write_results
from bench.graph import INTEGRATOR_QUERY, _patients
from bench.load import _serve
from helsegraf.authz.tokens import mint

PY_SPY_HINT = (
    "py-spy is not installed: `.venv/bin/pip install -r bench/requirements.txt` (it is on PyPI). "
    "Recording another process needs ptrace, which root has; elsewhere run as root or allow "
    "ptrace (kernel.yama.ptrace_scope=0)."
)
GROUPS = {"graphql": "graphql-core", "psycopg_pool": "psycopg", "uvicorn": "uvicorn/starlette",
          "starlette": "uvicorn/starlette", "httptools": "uvicorn/starlette", "h11": "uvicorn/starlette"}  # fmt: skip
ORDER = ("psycopg", "asyncio", "uvicorn/starlette", "graphql-core", "strawberry")


def py_spy() -> str:
    """Return py-spy's path (beside this Python first), or exit with how to install it."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit(PY_SPY_HINT)
    return found


def package(frame: str) -> str:
    """Return the package a collapsed-stack frame (`function (path/module.py:line)`) belongs to."""
    where = frame.rsplit(" (", 1)[-1].rstrip(")").rsplit(":", 1)[0]
    if where.startswith("<frozen"):
        return "stdlib (other)"
    if where == "<string>":
        return "generated code (<string>)"
    parts = where.split("/")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    top = parts[0].removesuffix(".py")
    if top == "helsegraf":
        return "helsegraf." + parts[1].removesuffix(".py") if len(parts) > 1 else "helsegraf"
    if top in GROUPS:
        return GROUPS[top]
    if top in sys.stdlib_module_names:
        return top if top == "asyncio" else "stdlib (other)"
    return top


def summarise(collapsed: str) -> dict[str, Any]:
    """Return the samples' shares by package (innermost frame) and the busiest functions."""
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        by_package[package(leaf)] += int(count)
        by_function[leaf] += int(count)
        total += int(count)
    ordered = [p for p in ORDER if p in by_package]
    ordered += sorted((p for p in by_package if p.startswith("helsegraf")), key=lambda p: -by_package[p])
    ordered += [p for p, _ in by_package.most_common() if p not in ordered]
    ours = sum(n for p, n in by_package.items() if p.startswith("helsegraf"))
    return {
        "samples": total,
        "share_by_package": {p: round(by_package[p] / total, 4) for p in ordered} if total else {},
        "share_helsegraf": round(ours / total, 4) if total else 0,
        "top_functions": [(f, round(n / total, 4)) for f, n in by_function.most_common(15)] if total else [],
    }


def _record(pid: int, seconds: float, rate: int, fmt: str, out: Path) -> None:
    command = [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--duration", f"{seconds:g}",
               "--rate", str(rate), "--format", fmt, "--output", str(out)]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0 or not out.exists():
        msg = f"py-spy failed ({finished.returncode}): {finished.stderr.strip()[-500:]}"
        raise RuntimeError(msg)


def _profile(side: peers.Side, size: int, nins: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Profile one patient count: warm up, then flame graph and collapsed stacks under one steady load."""
    target = side.target([nins[i : i + size] for i in range(0, len(nins), size)])
    wrk.run(target, options["concurrency"], 3)
    load: dict[str, Any] = {}
    seconds = options["duration"]
    driver = threading.Thread(target=lambda: load.update(wrk.run(target, options["concurrency"], 2 * seconds + 3)))
    driver.start()
    stem = RESULTS / f"profile-{size}-patients-{date.today().isoformat()}"  # noqa: DTZ011
    try:
        _record(side.process.pid, seconds, options["rate"], "flamegraph", stem.with_suffix(".svg"))
        _record(side.process.pid, seconds, options["rate"], "raw", stem.with_suffix(".collapsed"))
    finally:
        driver.join()
    found = summarise(stem.with_suffix(".collapsed").read_text())
    found |= {"patients": size, "load_while_profiled": load, "flame_graph": str(stem.with_suffix(".svg")),
              "collapsed_stacks": str(stem.with_suffix(".collapsed"))}  # fmt: skip
    stem.with_suffix(".txt").write_text(_text(found))
    return found


def _text(found: dict[str, Any]) -> str:
    load = found["load_while_profiled"]
    lines = [f"helsegraf serve, integrator query, {found['patients']} patient(s) per request, clinician token",
             (f"load while profiled: wrk c{load.get('concurrency')}, {load.get('throughput_rps')} req/s "
             f"(py-spy pauses the process to sample, so this is below the unprofiled rate)"),
             f"{found['samples']} CPU samples; share by package of the innermost Python frame:", ""]  # fmt: skip
    rows = [(p, f"{s:.1%}") for p, s in found["share_by_package"].items()]
    rows.append(("(helsegraf.* together)", f"{found['share_helsegraf']:.1%}"))
    lines.append(table(rows, ("package", "CPU")))
    lines += ["", "busiest functions (innermost frame):", ""]
    lines.append(table([(f, f"{s:.1%}") for f, s in found["top_functions"]], ("function (file:line)", "CPU")))
    return "\n".join(lines) + "\n"


def run(persons: int, sizes: list[int], duration: float, concurrency: int, workers: int, rate: int) -> None:
    """Profile helsegraf for each patient count; print and write the summaries."""
    py_spy()
    wrk.binary()
    RESULTS.mkdir(exist_ok=True)
    settings = nation_database(persons)
    url = settings.effective_database_url
    nins = _patients(url, 4000)
    home = tempfile.mkdtemp(prefix="helsegraf-profile-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=4 * 3600)
    process, base = _serve(url, home, workers)
    headers = {"Authorization": f"Bearer {bearer}", "X-Purpose": "benchmark"}
    side = peers.Side("helsegraf", process, f"{base}/graphql", INTEGRATOR_QUERY, headers)
    options = {"duration": duration, "concurrency": concurrency, "rate": rate}
    results: dict[str, Any] = {"persons": persons, "workers": workers, "generator": wrk.version(), **options}
    try:
        for size in sizes:
            found = _profile(side, size, nins, options)
            results[f"{size}_patients"] = found
            print(Path(found["flame_graph"]).with_suffix(".txt").read_text())
            print(f"flame graph: {found['flame_graph']}\n")
    finally:
        stop(process)
    print(f"results: {write_results(f'profile-{persons}', results)}")
