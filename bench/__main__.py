"""Run helsegraf's benchmarks: `python -m bench all|seed|graph|load|federation [--persons N]`."""

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
    seed.add_argument(
        "--persons",
        type=int,
        default=100_000,
        help="persons in the benchmark nation (seeded once into its own database, reused)",
    )
    graph = sub.add_parser("graph", help="integrator query latency in-process on PostgreSQL")
    graph.add_argument(
        "--persons",
        type=int,
        default=100_000,
        help="persons in the benchmark nation (seeded once into its own database, reused)",
    )
    graph.add_argument("--single-runs", type=int, default=500, help="requests for one patient, measured one at a time")
    graph.add_argument(
        "--batch-runs", type=int, default=30, help="requests for 100 and 1,000 patients, measured one at a time"
    )
    load = sub.add_parser("load", help="steady-rate load against `helsegraf serve --workers 2` on PostgreSQL")
    load.add_argument(
        "--persons",
        type=int,
        default=100_000,
        help="persons in the benchmark nation (seeded once into its own database, reused)",
    )
    load.add_argument("--duration", type=float, default=60, help="seconds of load per scenario")
    load.add_argument("--single-rate", type=float, default=100, help="one-patient requests per second")
    load.add_argument("--hundred-rate", type=float, default=10, help="100-patient requests per second")
    load.add_argument("--workers", type=int, default=2, help="worker processes of `helsegraf serve`")
    fed = sub.add_parser("federation", help="the gateway's added latency for the 100-patient query")
    fed.add_argument(
        "--persons",
        type=int,
        default=100_000,
        help="persons in the benchmark nation (seeded once into its own database, reused)",
    )
    fed.add_argument("--runs", type=int, default=100, help="requests through the gateway and straight to the subgraphs")
    every = sub.add_parser("all", help="every scenario, with the physical-limit baseline beside (a) and (b)")
    every.add_argument(
        "--persons",
        type=int,
        default=100_000,
        help="persons in the benchmark nation (seeded once into its own database, reused)",
    )
    every.add_argument("--duration", type=float, default=15, help="seconds of load per scenario")
    every.add_argument("--concurrency", type=int, default=8, help="requests in flight under load")
    every.add_argument("--workers", type=int, default=2, help="worker processes of `helsegraf serve`")
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
    elif args.command == "federation":
        from bench import federation as federation_bench  # noqa: PLC0415

        federation_bench.run(args.persons, args.runs)


if __name__ == "__main__":
    main()
