"""Throughput with wrk: a fixed number of requests in flight for a fixed time, from a native generator.

wrk (Debian's `wrk` package) drives the servers in `bench all` and `bench profile`, with
bench/wrk_post.lua cycling through the scenario's request bodies and checking every answer.
bench/loadgen.py (Python) is kept only for open-loop fixed-rate latency (`bench load`), which
wrk cannot do; at a few hundred requests a second it would itself be the bottleneck.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).with_name("wrk_post.lua")
INSTALL_HINT = (
    "wrk is not installed. It is the load generator of `python -m bench all` and `bench profile`: "
    "install Debian's package with `apt-get install -y wrk` (as root, or with sudo), then run again."
)


@dataclass
class Target:
    """A server to drive: its URL, the request bodies to cycle through, and the headers to send."""

    url: str
    bodies: list[bytes]
    headers: dict[str, str] = field(default_factory=dict)


def binary() -> str:
    """Return wrk's path, or exit with how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(INSTALL_HINT)
    return found


def version() -> str:
    """Return wrk's version line (wrk prints it with its usage)."""
    shown = subprocess.run([binary(), "-v"], capture_output=True, text=True, check=False)
    return (shown.stdout or shown.stderr).splitlines()[0].split(" Copyright")[0].strip()


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(target: Target, concurrency: int, duration: float, threads: int = 1) -> dict[str, Any]:
    """Keep `concurrency` requests in flight against `target` for `duration` seconds; return what wrk measured.

    Throughput counts good answers only (200 without GraphQL errors); `generator_cpu` is the share
    of one core that wrk itself used, so a reader can see it was not the limit.
    """
    with tempfile.NamedTemporaryFile("wb", suffix=".bodies", delete=False) as handle:
        handle.write(b"\n".join(b.replace(b"\n", b" ") for b in target.bodies) + b"\n")
    headers = [arg for key, value in target.headers.items() for arg in ("-H", f"{key}: {value}")]
    command = [binary(), "-t", str(min(threads, concurrency)), "-c", str(concurrency), "-d", f"{duration:g}s",
               "--timeout", "60s", "-s", str(LUA), *headers, target.url, "--", handle.name]  # fmt: skip
    try:
        before = _children_cpu_seconds()
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        cpu = _children_cpu_seconds() - before
    finally:
        Path(handle.name).unlink()
    line = next((x for x in finished.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if finished.returncode != 0 or line is None:
        msg = f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout.strip()}"
        raise RuntimeError(msg)
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    good = raw["requests"] - raw["bad_answers"]
    latency = raw["latency_us"]
    return {
        "generator": "wrk",
        "concurrency": concurrency,
        "threads": min(threads, concurrency),
        "duration_s": round(seconds, 2),
        "requests": raw["requests"],
        "bad_answers": raw["bad_answers"],
        "socket_errors": raw["socket_errors"],
        "throughput_rps": round(good / seconds, 2),
        "latency_ms": {key: round(latency[key] / 1000, 3) for key in ("mean", "p50", "p90", "p99", "max")},
        "generator_cpu": round(cpu / seconds, 3),
    }
