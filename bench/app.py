"""The citizen app in a browser: how fast "Min fastlege" renders against `helsegraf demo`, and the bundle's size.

Starts the real `helsegraf demo` (SQLite, 10,000 persons, seed 1, seeded into a folder of its own on the first
run and reused after), then, in Debian's Chromium driven by Playwright (`examples/citizen-app/scripts/
bench-render.mjs`), signs in as the demo's citizen with a GP again and again, each time in a new browser
context (a first visit: nothing cached), and times the click on the sign-in button until Min fastlege shows
the GP. Target: under 1 s at the 95th percentile. Needs `npm ci --prefix examples/citizen-app` and Chromium.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import start_server, summary, table, write_results
from helsegraf.http.citizen_app import APP_DIR

APP = Path(__file__).resolve().parents[1] / "examples" / "citizen-app"
HOME = Path(tempfile.gettempdir()) / "helsegraf-bench-app"
TARGET_MS = 1000.0


def bundle_sizes() -> dict[str, int]:
    """Return the shipped build's JavaScript and CSS, raw and gzipped, in bytes."""
    sizes = {"js": 0, "js_gzip": 0, "css": 0, "css_gzip": 0}
    for path in sorted((APP_DIR / "assets").iterdir()):
        kind = path.suffix.lstrip(".")
        if kind in {"js", "css"}:
            data = path.read_bytes()
            sizes[kind] += len(data)
            sizes[f"{kind}_gzip"] += len(gzip.compress(data, compresslevel=9))
    return sizes


def run(runs: int) -> dict[str, Any]:
    """Time Min fastlege in the browser against the demo, and print the bundle's size."""
    HOME.mkdir(exist_ok=True)
    environment = {**os.environ, "HELSEGRAF_HOME": str(HOME), "HELSEGRAF_LOG_FORMAT": "plain"}
    print(f"starting helsegraf demo in {HOME} (seeds 10,000 persons on the first run) ...")
    command = [sys.executable, "-m", "helsegraf.cli", "demo"]
    process, base = start_server(command, ready="/healthz", what="helsegraf demo", env=environment)
    try:
        citizens = httpx.get(f"{base}/demo/citizens", timeout=60).json()["citizens"]
        nin = next(c["nin"] for c in citizens if c["id"] == "personWithGp")
        done = subprocess.run(["node", "scripts/bench-render.mjs", base, nin, str(runs)], cwd=APP, env=environment,  # noqa: S607 - node from PATH, as npm runs it
                              capture_output=True, text=True, check=False, timeout=600)  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
    if done.returncode != 0:
        msg = f"the browser benchmark failed:\n{done.stdout}\n{done.stderr}"
        raise RuntimeError(msg)
    samples = json.loads(done.stdout.strip().splitlines()[-1])
    results: dict[str, Any] = {
        "runs": runs,
        "sign_in_to_min_fastlege": summary(samples["signInToRender"]),
        "page_load_to_sign_in_page": summary(samples["load"]),
        "page_load_to_min_fastlege": summary(samples["loadToRender"]),
        "bundle_bytes": bundle_sizes(),
        "target_ms": TARGET_MS,
    }
    rows = [(name, str(r["p50_ms"]), str(r["p95_ms"]), str(r["p99_ms"])) for name, r in (
        ("sign-in click -> Min fastlege shows the GP", results["sign_in_to_min_fastlege"]),
        ("page load -> sign-in page ready", results["page_load_to_sign_in_page"]),
        ("page load -> Min fastlege (sign-in included)", results["page_load_to_min_fastlege"]),
    )]  # fmt: skip
    print(table(rows, (f"Chromium, {runs} first visits", "p50 ms", "p95 ms", "p99 ms")))
    sizes = results["bundle_bytes"]
    print(f"bundle: JavaScript {sizes['js']:,} bytes ({sizes['js_gzip']:,} gzipped, budget 250,000); "
          f"CSS {sizes['css']:,} bytes ({sizes['css_gzip']:,} gzipped)")  # fmt: skip
    met = results["sign_in_to_min_fastlege"]["p95_ms"] < TARGET_MS
    print(f"Min fastlege under {TARGET_MS:.0f} ms at p95: {'met' if met else 'NOT MET'}")
    print(f"results: {write_results('app', results)}")
    return results
