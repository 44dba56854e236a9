"""Run helsegraf's benchmarks: `python -m bench all|seed|graph|load|federation|app [--persons N]`."""

from __future__ import annotations

import argparse


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        msg = f"must be at least 1, got {number}"
        raise argparse.ArgumentTypeError(msg)
    return number


def main() -> None:
    """Parse the command line and run a benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed", help="seeding throughput on PostgreSQL")
    seed.add_argument("--persons", type=int, default=100_000)
    graph = sub.add_parser("graph", help="integrator query latency in-process on PostgreSQL")
    graph.add_argument("--persons", type=int, default=100_000)
    graph.add_argument("--single-runs", type=int, default=500)
    graph.add_argument("--batch-runs", type=int, default=30)
    load = sub.add_parser("load", help="steady-rate load against `helsegraf serve --workers 2` on PostgreSQL")
    load.add_argument("--persons", type=int, default=100_000)
    load.add_argument("--duration", type=float, default=60)
    load.add_argument("--single-rate", type=float, default=100)
    load.add_argument("--hundred-rate", type=float, default=10)
    load.add_argument("--workers", type=int, default=2)
    fed = sub.add_parser("federation", help="the gateway's added latency for the 100-patient query")
    fed.add_argument("--persons", type=int, default=100_000)
    fed.add_argument("--runs", type=int, default=100)
    app = sub.add_parser("app", help="the citizen app in Chromium against `helsegraf demo`: Min fastlege, bundle size")
    app.add_argument("--runs", type=_positive, default=20)
    every = sub.add_parser("all", help="every scenario, with the physical-limit baseline beside (a) and (b)")
    every.add_argument("--persons", type=int, default=100_000)
    every.add_argument("--duration", type=float, default=15)
    every.add_argument("--concurrency", type=int, default=8)
    every.add_argument("--workers", type=int, default=2)
    every.add_argument("--rounds", type=_positive, default=3, help="alternating rounds for (a) and (b)")
    args = parser.parse_args()
    if args.command == "seed":
        from bench import seeding  # noqa: PLC0415

        seeding.run(args.persons)
    elif args.command == "graph":
        from bench import graph as graph_bench  # noqa: PLC0415

        graph_bench.run(args.persons, args.single_runs, args.batch_runs)
    elif args.command == "load":
        from bench import load as load_bench  # noqa: PLC0415

        load_bench.run(args.persons, args.duration, args.single_rate, args.hundred_rate, args.workers)
    elif args.command == "all":
        from bench import suite  # noqa: PLC0415

        suite.run(args.persons, args.duration, args.concurrency, args.workers, args.rounds)
    elif args.command == "app":
        from bench import app as app_bench  # noqa: PLC0415

        app_bench.run(args.runs)
    elif args.command == "federation":
        from bench import federation as federation_bench  # noqa: PLC0415

        federation_bench.run(args.persons, args.runs)


if __name__ == "__main__":
    main()
