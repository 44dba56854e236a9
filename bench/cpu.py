"""The server's own work per request: CPU milliseconds, or (`--callgrind`) instructions, for the integrator query.

`python -m bench cpu` starts `helsegraf serve --workers 1` on the benchmark nation and asks it the
integrator query with a clinician token (authorisation decided, the access log written), one
request at a time, for 1, 100 and 1,000 patients per request. It reports what the server process
itself spent per answered request (not PostgreSQL, not the client):

- by default its CPU time (user + system, from /proc), over many requests: cheap, but on a
  shared machine it moves with the neighbours' load (caches, frequency, steal);
- with `--callgrind`, the server runs under valgrind's callgrind (`--instr-atstart=no`); after the
  warm-up requests `callgrind_control` switches instrumentation on and zeroes the counters, and
  after the measured ones dumps them: the instructions it executed (`Ir`) divided by the requests.
  A count of instructions does not depend on the load, so it is the figure to compare a change by
  (valgrind makes the server 30-100 times slower, hence fewer requests). The dumps stay in
  bench/results/ for `callgrind_annotate`.

Every request asks other patients (the same sequence on every run), the hash seed is fixed
(PYTHONHASHSEED=0), and HELSEGRAF_FAST_PATHS is passed through, so `HELSEGRAF_FAST_PATHS=0
python -m bench cpu --callgrind` counts the slow paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import RESULTS, nation_database, start_server, stop, table, write_results
from bench.graph import INTEGRATOR_QUERY, _patients
from bench.versions import _cpu_seconds
from helsegraf.authz.tokens import mint

PATIENTS = 4000
# Requests measured per size: CPU time is counted in clock ticks (10 ms), so it needs many; an
# instruction count is exact, and valgrind is slow.
REQUESTS = {"cpu": {1: 300, 100: 60, 1000: 12}, "callgrind": {1: 30, 100: 6, 1000: 3}}
WARMUP = {"cpu": {1: 30, 100: 6, 1000: 3}, "callgrind": {1: 10, 100: 3, 1000: 2}}


def _callgrind_tools() -> tuple[str, str]:
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        msg = "--callgrind needs valgrind (Debian's package: apt-get install -y valgrind)"
        raise SystemExit(msg)
    return valgrind, control


def _serve(url: str, home: str, callgrind: Path | None) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "HELSEGRAF_HOME": home, "HELSEGRAF_LOG_FORMAT": "plain", "PYTHONHASHSEED": "0"}
    command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", url, "--workers", "1"]
    if callgrind is None:
        return start_server(command, ready="/readyz", what="helsegraf serve", env=env)
    valgrind, _ = _callgrind_tools()
    # Under valgrind a 1,000-patient request takes tens of seconds: past the server's default deadlines.
    env |= {"HELSEGRAF_REQUEST_DEADLINE_S": "900", "HELSEGRAF_REQUEST_TIMEOUT_S": "900"}
    wrapped = [valgrind, "--tool=callgrind", "--instr-atstart=no", "--trace-children=no",
               f"--callgrind-out-file={callgrind}", *command]  # fmt: skip
    return start_server(wrapped, ready="/readyz", what="helsegraf serve under callgrind", env=env, timeout_s=600)


def _control(*args: str) -> None:
    _, control = _callgrind_tools()
    done = subprocess.run([control, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"callgrind_control {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
        raise RuntimeError(msg)


def _instructions(dump: Path) -> int:
    """Return the instructions (Ir) a callgrind dump counted: its `summary:` (or `totals:`) line."""
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    msg = f"{dump} has no summary line"
    raise RuntimeError(msg)


def _newest_dump(prefix: Path, before: set[Path]) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        new = [p for p in prefix.parent.glob(prefix.name + "*") if p not in before and p.stat().st_size]
        if new:
            time.sleep(0.5)  # let callgrind finish writing it
            return max(new, key=lambda p: p.stat().st_mtime)
        time.sleep(0.2)
    msg = f"callgrind wrote no dump beside {prefix}"
    raise RuntimeError(msg)


class _Asker:
    def __init__(self, base: str, bearer: str, nins: list[str]) -> None:
        self.http = httpx.Client(base_url=base, timeout=600,
                                 headers={"authorization": f"Bearer {bearer}", "x-purpose": "benchmark"})  # fmt: skip
        self.nins = nins
        self.offset = 0
        self.statements: set[int] = set()

    def ask(self, size: int) -> None:
        start = self.offset % (len(self.nins) - size + 1)
        self.offset += size
        variables = {"nins": self.nins[start : start + size]}
        response = self.http.post("/graphql", json={"query": INTEGRATOR_QUERY, "variables": variables})
        body = response.json()
        if response.status_code != httpx.codes.OK or body.get("errors"):
            msg = f"{size} patients: {response.status_code} {str(body)[:300]}"
            raise RuntimeError(msg)
        timing = response.headers.get("server-timing", "")
        if 'desc="' in timing:
            self.statements.add(int(timing.split('desc="', 1)[1].split(" ", 1)[0]))


def run(persons: int, sizes: list[int], requests: int | None, callgrind: bool) -> dict[str, Any]:
    """Measure the server's CPU time or instructions per request for each size; print and write them."""
    mode = "callgrind" if callgrind else "cpu"
    settings = nation_database(persons)
    url = settings.effective_database_url
    nins = _patients(url, PATIENTS)
    home = tempfile.mkdtemp(prefix="helsegraf-bench-cpu-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=8 * 3600)
    RESULTS.mkdir(exist_ok=True)
    prefix = RESULTS / f"callgrind-{time.strftime('%Y%m%d-%H%M%S')}.out" if callgrind else None
    process, base = _serve(url, home, prefix)
    asker = _Asker(base, bearer, nins)
    fast_paths = os.environ.get("HELSEGRAF_FAST_PATHS", "1")
    found: dict[str, Any] = {"persons": persons, "mode": mode, "fast_paths": fast_paths, "sizes": {}}
    try:
        if callgrind:
            _control("--instr=on", str(process.pid))
        for size in sizes:
            count = requests or REQUESTS[mode][size]
            for _ in range(WARMUP[mode][size]):
                asker.ask(size)
            if prefix is not None:
                _control("--zero", str(process.pid))
                before = set(prefix.parent.glob(prefix.name + "*"))
            cpu_before, started = _cpu_seconds(process.pid), time.perf_counter()
            for _ in range(count):
                asker.ask(size)
            cpu = _cpu_seconds(process.pid) - cpu_before
            elapsed = time.perf_counter() - started
            cell: dict[str, Any] = {"requests": count, "cpu_ms_per_request": round(cpu * 1000 / count, 3),
                                    "wall_ms_per_request": round(elapsed * 1000 / count, 3)}  # fmt: skip
            if prefix is not None:
                _control("--dump", str(process.pid))
                dump = _newest_dump(prefix, before)
                cell["instructions_per_request"] = round(_instructions(dump) / count)
                cell["dump"] = str(dump)
            found["sizes"][str(size)] = cell
            shown = f", {cell['instructions_per_request'] / 1e6:.2f}M instructions" if callgrind else ""
            print(f"{size} patient(s): {cell['cpu_ms_per_request']:.2f} ms CPU{shown} per request", flush=True)
    finally:
        stop(process)
    found["statements_per_request"] = sorted(asker.statements)
    found["load_average"] = os.getloadavg()
    _report(found)
    print(f"results: {write_results(f'cpu-{mode}-{persons}', found)}")
    return found


def _report(found: dict[str, Any]) -> None:
    callgrind = found["mode"] == "callgrind"
    header = ("patients", "requests", "instructions/request" if callgrind else "CPU ms/request", "wall ms/request")
    rows = [(size, str(cell["requests"]),
             f"{cell['instructions_per_request'] / 1e6:.2f}M" if callgrind else f"{cell['cpu_ms_per_request']:.2f}",
             f"{cell['wall_ms_per_request']:.1f}") for size, cell in found["sizes"].items()]  # fmt: skip
    print(f"\nhelsegraf serve --workers 1, clinician token, one request at a time, HELSEGRAF_FAST_PATHS="
          f"{found['fast_paths']}, {'callgrind instructions (Ir)' if callgrind else 'server CPU (user + system)'}"
          f" per answered request; statements per request {found['statements_per_request']}; load average "
          f"{', '.join(f'{x:.1f}' for x in found['load_average'])}")  # fmt: skip
    print(table(rows, header))
