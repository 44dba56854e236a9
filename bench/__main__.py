"""Run helsegraf's benchmarks: `python -m bench <command> [--persons N]` (commands: `COMMANDS` below).

Every command seeds (once) and uses a nation of its own in PostgreSQL at HELSEGRAF_BENCH_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test, whose server gets a database per nation size),
prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        msg = f"must be at least 1, got {number}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if number <= 0:
        msg = f"must be more than 0 seconds, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _counts(value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        msg = f"expected comma-separated whole numbers, got {value!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not numbers or min(numbers) < 1:
        msg = f"every number must be at least 1, got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return numbers


def _sizes(value: str) -> list[int]:
    numbers = _counts(value)
    if max(numbers) > 1000:
        msg = f"at most 1,000 patients per request (helsegraf's persons(nins) limit), got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return numbers


def _persons(parser: argparse.ArgumentParser) -> None:
    what = "size of the synthetic nation (seeded once into a database of its own; default 100000)"
    parser.add_argument("--persons", type=_positive, default=100_000, help=what)


def _parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one parser per command, in a row
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    about = ("Measure the integrator query on every server in alternating rounds with wrk, after checking "
             "that they answer alike; then helsegraf alone on scenarios (c)-(e).")  # fmt: skip
    every = sub.add_parser("all", help="helsegraf beside PostGraphile v5, the baseline and plain Strawberry (wrk)",
                           description=about)  # fmt: skip
    _persons(every)
    every.add_argument("--duration", type=_seconds, default=15, help="seconds per measurement (default 15)")
    every.add_argument("--rounds", type=_positive, default=3, help="alternating rounds per scenario (default 3)")
    every.add_argument("--workers", type=_positive, default=2, help="worker processes of every server (default 2)")
    every.add_argument("--concurrency", type=_counts, default=[1, 8],
                       help="requests in flight, comma-separated (default 1,8)")  # fmt: skip
    every.add_argument("--patients", type=_sizes, default=[1, 100, 1000], dest="sizes",
                       help="patients per request, comma-separated (default 1,100,1000)")  # fmt: skip
    every.add_argument("--warmup", type=_seconds, default=3,
                       help="seconds of load before each scenario's first round, per server (default 3)")  # fmt: skip
    every.add_argument("--threads", type=_positive, default=1, help="wrk threads (default 1; at most --concurrency)")
    every.add_argument("--integrator-only", action="store_true", help="skip helsegraf's scenarios (c)-(e)")
    again = sub.add_parser("report", help="print the tables of a stored `bench all` result again",
                           description="Print the tables of a bench/results/suite-*.json file.")  # fmt: skip
    again.add_argument("file", help="a bench/results/suite-<persons>-<date>.json file")
    profile = sub.add_parser("profile", help="py-spy flame graphs of helsegraf answering the integrator query",
                             description="Profile `helsegraf serve` under wrk load (clinician token) with py-spy: "
                             "an SVG flame graph and a text summary of CPU by package, in bench/results/.")  # fmt: skip
    _persons(profile)
    profile.add_argument("--patients", type=_sizes, default=[1, 1000], dest="sizes",
                         help="patients per request, comma-separated: one profile each (default 1,1000)")  # fmt: skip
    profile.add_argument("--duration", type=_seconds, default=15, help="seconds each profile samples (default 15)")
    profile.add_argument("--concurrency", type=_positive, default=8, help="requests in flight (default 8)")
    profile.add_argument("--workers", type=_positive, default=1,
                         help="helsegraf worker processes, all profiled (default 1)")  # fmt: skip
    profile.add_argument("--rate", type=_positive, default=100, help="py-spy samples per second (default 100)")
    seed = sub.add_parser("seed", help="seeding throughput on PostgreSQL")
    _persons(seed)
    graph = sub.add_parser("graph", help="integrator query latency in-process on PostgreSQL")
    _persons(graph)
    graph.add_argument("--single-runs", type=_positive, default=500, help="1-patient requests (default 500)")
    graph.add_argument("--batch-runs", type=_positive, default=30, help="1,000-patient requests (default 30)")
    load = sub.add_parser("load", help="open-loop fixed-rate latency against `helsegraf serve` (bench/loadgen.py)")
    _persons(load)
    load.add_argument("--duration", type=_seconds, default=60, help="seconds per scenario (default 60)")
    load.add_argument("--single-rate", type=float, default=100, help="1-patient requests per second (default 100)")
    load.add_argument("--hundred-rate", type=float, default=10, help="100-patient requests per second (default 10)")
    load.add_argument("--workers", type=_positive, default=2, help="helsegraf worker processes (default 2)")
    fed = sub.add_parser("federation", help="the gateway's added latency for the 100-patient query")
    _persons(fed)
    fed.add_argument("--runs", type=_positive, default=100, help="requests per side (default 100)")
    app = sub.add_parser("app", help="the citizen app in Chromium against `helsegraf demo`: Min fastlege, bundle size")
    app.add_argument("--runs", type=_positive, default=20, help="renders of Min fastlege to time (default 20)")
    log = sub.add_parser("log", help="the access log's durable write: alone and grouped, under concurrent writers",
                         description="Time the access log's write directly and through the group commit.")  # fmt: skip
    log.add_argument("--runs", type=_positive, default=300, help="writes each way for the lone writer (default 300)")
    log.add_argument("--rows", type=_positive, default=1, help="persons per write (default 1)")
    log.add_argument("--concurrency", type=_positive, default=8, help="writers at once under load (default 8)")
    log.add_argument("--duration", type=_seconds, default=10, help="seconds of load each way (default 10)")
    scale = sub.add_parser("log-scale", help="a person's own access log read from a national-scale log",
                           description="Fill (once) a partitioned access log and time `me { accessLog }` on it, "
                           "and the write path beside an empty log.")  # fmt: skip
    scale.add_argument("--rows", type=_positive, default=20_000_000, help="generated entries (default 20,000,000)")
    scale.add_argument("--months", type=_positive, default=24, help="months they span (default 24)")
    scale.add_argument("--probe", type=_positive, default=2_000,
                       help="entries of the sample citizen whose log is read (default 2,000)")  # fmt: skip
    scale.add_argument("--runs", type=_positive, default=200, help="requests each way (default 200)")
    sync = sub.add_parser("sync", help="PREG bootstrap persons/s through the Persontjenesten fake, and follow lag",
                          description="Bootstrap PREG from `helsegraf upstream` into PostgreSQL, then follow a "
                          "steady stream of changes and report the lag.")  # fmt: skip
    _persons(sync)
    sync.add_argument("--concurrency", type=_positive, default=8, help="bulk-by-id calls in flight (default 8)")
    sync.add_argument("--workers", type=int, default=0,
                      help="processes making the bulk calls, validating and mapping (default 0: none)")  # fmt: skip
    sync.add_argument("--batch", type=_positive, default=10_000, help="events per transaction (default 10000)")
    sync.add_argument("--rate", type=_positive, default=10_000, help="events a minute while following (default 10000)")
    sync.add_argument("--interval", type=_seconds, default=5, help="seconds between polls (default 5)")
    sync.add_argument("--duration", type=_seconds, default=60, help="seconds of following (default 60)")
    _versions_and_stats(sub)
    hostile = sub.add_parser("hostile", help="good traffic's throughput and the worker's memory under attack",
                             description="Good traffic alone, then beside refused documents, fan-out fragments, "
                             "1 MB heads and stalled connections (bench/hostile.py).")  # fmt: skip
    _persons(hostile)
    hostile.add_argument("--duration", type=_seconds, default=30, help="seconds alone and under attack (default 30)")
    hostile.add_argument("--concurrency", type=_positive, default=4, help="good requests in flight (default 4)")
    hostile.add_argument("--attackers", type=_positive, default=4, help="attacking requests in flight (default 4)")
    hostile.add_argument("--stalled", type=_positive, default=50, help="connections held stalled (default 50)")
    hostile.add_argument("--refusal-delay-ms", type=int, default=0,
                         help="the server's HELSEGRAF_REFUSAL_DELAY_MS (default 0: at once)")  # fmt: skip
    hostile.add_argument("--rounds", type=_positive, default=3,
                         help="alternating rounds that share --duration on each side (default 3)")  # fmt: skip
    return parser


def _versions_and_stats(sub: Any) -> None:
    _versions(sub)
    _stats(sub)
    _cpu(sub)


def _cpu(sub: Any) -> None:
    about = ("Ask `helsegraf serve --workers 1` the integrator query (clinician token) one request at a time and "
             "report the server's own CPU time per request, or with --callgrind the instructions it executed "
             "(valgrind's callgrind: repeatable on a loaded machine).")  # fmt: skip
    cpu = sub.add_parser("cpu", help="server CPU or instructions (--callgrind) per integrator request",
                         description=about)  # fmt: skip
    _persons(cpu)
    cpu.add_argument("--patients", type=_sizes, default=[1, 100, 1000], dest="sizes",
                     help="patients per request, comma-separated (default 1,100,1000)")  # fmt: skip
    what = "measured requests per size (default by size: 300/60/12, with --callgrind 30/6/3)"
    cpu.add_argument("--requests", type=_positive, default=None, help=what)
    cpu.add_argument("--callgrind", action="store_true", help="count instructions under valgrind's callgrind")


def _stats(sub: Any) -> None:
    stats = sub.add_parser("stats", help="the key-figure table and SSB 12005 for all municipalities on PostgreSQL",
                           description="Seed a nation; time statistics { keyFigures } and { ssb12005 }.")  # fmt: skip
    _persons(stats)
    stats.add_argument("--runs", type=_positive, default=5, help="timed requests per table and date (default 5)")
    stats.add_argument("--database", metavar="NAME", type=_database_name, default=None,
                       help="an already seeded PostgreSQL database on the bench server to time instead of "
                            "seeding one (--persons is then read from it)")  # fmt: skip


def _database_name(value: str) -> str:
    longest = 63  # PostgreSQL's identifiers
    if not (0 < len(value) <= longest and value.replace("_", "").replace("-", "").isalnum() and value.isascii()):
        raise argparse.ArgumentTypeError(f"{value[:70]!r} is not a database name (letters, digits, _ and -)")
    return value


def _versions(sub: Any) -> None:
    about = ("Measure this checkout's helsegraf and another worktree's (its own .venv and nation) against the "
             "hand-written baseline in alternating rounds with wrk.")  # fmt: skip
    versions = sub.add_parser("versions", help="this checkout beside another commit's, each against the baseline",
                              description=about)  # fmt: skip
    _persons(versions)
    versions.add_argument("--tree", required=True, help="the other checkout (a git worktree with a .venv)")
    versions.add_argument("--duration", type=_seconds, default=10, help="seconds per measurement (default 10)")
    versions.add_argument("--rounds", type=_positive, default=3, help="alternating rounds per scenario (default 3)")
    versions.add_argument("--workers", type=_positive, default=2, help="worker processes of every server (default 2)")
    versions.add_argument("--concurrency", type=_counts, default=[1, 8],
                          help="requests in flight, comma-separated (default 1,8)")  # fmt: skip
    versions.add_argument("--patients", type=_sizes, default=[1, 100, 1000], dest="sizes",
                          help="patients per request, comma-separated (default 1,100,1000)")  # fmt: skip
    versions.add_argument("--warmup", type=_seconds, default=3, help="seconds of load per side first (default 3)")


def _report(module: Any, args: argparse.Namespace) -> None:
    try:
        module.report(json.loads(Path(args.file).read_text()))
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"{args.file} is not a readable `bench all` result: {error}") from None


SUITE_OPTIONS = ("duration", "rounds", "workers", "concurrency", "sizes", "warmup", "threads", "integrator_only")
VERSION_OPTIONS = ("duration", "rounds", "workers", "concurrency", "sizes", "warmup")
# Each command: the bench module that runs it (imported only when asked for) and how it is called.
COMMANDS: dict[str, tuple[str, Callable[[Any, argparse.Namespace], None]]] = {
    "all": ("suite", lambda m, a: m.run(a.persons, {k: getattr(a, k) for k in SUITE_OPTIONS})),
    "report": ("suite", _report),
    "profile": ("profile", lambda m, a: m.run(a.persons, a.sizes, a.duration, a.concurrency, a.workers, a.rate)),
    "seed": ("seeding", lambda m, a: m.run(a.persons)),
    "graph": ("graph", lambda m, a: m.run(a.persons, a.single_runs, a.batch_runs)),
    "load": ("load", lambda m, a: m.run(a.persons, a.duration, a.single_rate, a.hundred_rate, a.workers)),
    "log": ("log", lambda m, a: m.run(a.runs, a.rows, a.concurrency, a.duration)),
    "log-scale": ("log_scale", lambda m, a: m.run(a.rows, a.months, a.probe, a.runs)),
    "app": ("app", lambda m, a: m.run(a.runs)),
    "versions": ("versions", lambda m, a: m.run(a.persons, a.tree, {k: getattr(a, k) for k in VERSION_OPTIONS})),
    "federation": ("federation", lambda m, a: m.run(a.persons, a.runs)),
    "sync": ("sync", lambda m, a: m.run(a.persons, a.concurrency, a.rate, a.interval, a.duration, a.workers, a.batch)),
    "hostile": (
        "hostile",
        lambda m, a: m.run(a.persons, a.duration, a.concurrency, a.attackers, a.stalled, a.refusal_delay_ms, a.rounds),
    ),
    "stats": ("stats", lambda m, a: m.run(a.persons, a.runs, a.database)),
    "cpu": ("cpu", lambda m, a: m.run(a.persons, a.sizes, a.requests, a.callgrind)),
}


def main() -> None:
    """Parse the command line and run a benchmark."""
    args = _parser().parse_args()
    module, call = COMMANDS[args.command]
    call(importlib.import_module(f"bench.{module}"), args)


if __name__ == "__main__":
    main()
