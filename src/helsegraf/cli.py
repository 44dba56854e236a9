"""The `helsegraf` command line: seed, serve, demo, token, schema, sample."""

from __future__ import annotations

import sys
from datetime import date
from functools import partial
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from helsegraf.config import Settings, redact_url

app = typer.Typer(
    help="helsegraf: one GraphQL graph over Norway's health-sector base registers.\n\n"
    "Start with `helsegraf demo`: it seeds a small synthetic nation into a SQLite file and serves "
    "GraphiQL on http://127.0.0.1:8000/graphql.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the shared database (default: HELSEGRAF_DATABASE_URL, "
                 "else a SQLite file under .helsegraf/)", show_default=False),
]  # fmt: skip


def _env_settings() -> Settings:
    """Read the settings from the environment; a bad value ends the command with one clear line."""
    import os  # noqa: PLC0415

    from helsegraf.authz.tokens import AuthConfigError  # noqa: PLC0415
    from helsegraf.config import legacy_home_notice  # noqa: PLC0415

    try:
        settings = Settings.from_env()
    except (ValueError, AuthConfigError) as exc:
        raise _fail(str(exc)) from None
    notice = legacy_home_notice(os.environ)
    if notice:
        err.print(f"[yellow]note:[/] {notice}", soft_wrap=True, highlight=False)
    return settings


def _settings(database_url: str | None) -> Settings:
    try:
        return _env_settings().with_database_url(database_url)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _port_free(host: str, port: int) -> None:
    """End the command with a clear error if `host:port` cannot be listened on (before saying "serving")."""
    import socket  # noqa: PLC0415

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _fail(f"--host {host!r} cannot be resolved: {exc.strerror}") from None
    family, kind, _proto, _name, address = infos[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise _fail(f"cannot listen on {host}:{port}: {exc.strerror} (is another server running there? "
                        "choose another with --port)") from None  # fmt: skip


def _database_error(url: str, exc: SQLAlchemyError) -> typer.Exit:
    """Report a database error in one line (the URL without its password), and exit."""
    first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return _fail(f"database error at {redact_url(url)}: {exc.__class__.__name__}: {first_line}")


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.command()
def seed(
    database_url: DatabaseUrl = None,
    persons: Annotated[int, typer.Option(min=1, max=10_000_000, help="Number of persons in the nation")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data")] = 1,
    reset: Annotated[
        bool, typer.Option("--reset", metavar="", help="Drop every register's tables and seed anew (a flag)")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help="Reference date of the nation (ISO date, default 2026-01-01)")
    ] = None,
) -> None:
    """Create or upgrade the schema and load a deterministic synthetic nation."""
    from helsegraf.data.load import LoadError  # noqa: PLC0415 - keep `--help` fast
    from helsegraf.data.nation import DEFAULT_AS_OF  # noqa: PLC0415
    from helsegraf.seeding import AlreadySeededError  # noqa: PLC0415
    from helsegraf.seeding import seed as run_seed  # noqa: PLC0415

    settings = _settings(database_url)
    try:
        reference = date.fromisoformat(as_of) if as_of else DEFAULT_AS_OF
    except ValueError:
        raise _fail(f"--as-of must be an ISO date like 2026-01-01, got {as_of!r}") from None
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        report = run_seed(settings, persons=persons, seed_value=seed, reset=reset, as_of=reference, console=err)
    except (AlreadySeededError, LoadError) as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _database_error(settings.effective_database_url, exc) from None
    table = Table(title=f"Seeded {persons:,} persons (seed {seed}) into {redact_url(settings.effective_database_url)}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    err.print(table)
    err.print(f"generated in {report.generate_seconds:.1f} s, loaded in {report.load_seconds:.1f} s "
              f"({report.total_rows / max(report.load_seconds, 1e-9):,.0f} rows/s)")  # fmt: skip


@app.command()
def sample(database_url: DatabaseUrl = None) -> None:
    """Print JSON with real ids from the data, for trying the graph."""
    from helsegraf.data.sample import SampleNotFoundError, sample_ids  # noqa: PLC0415

    settings = _settings(database_url)
    try:
        ids = sample_ids(settings, date.today())  # noqa: DTZ011 - "today" is the caller's calendar day
    except SampleNotFoundError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read samples from {redact_url(settings.effective_database_url)}: "
                    f"{exc.__class__.__name__} (has it been seeded? run `helsegraf seed`)") from None  # fmt: skip
    sys.stdout.write(orjson.dumps(ids, option=orjson.OPT_INDENT_2).decode() + "\n")


Registers = Annotated[
    str | None,
    typer.Option("--registers", help="Comma-separated registers to serve as a Federation subgraph "
                 "(preg,flr,hpr,resh,ar,bed,kodeverk); default all", show_default=False),
]  # fmt: skip
Host = Annotated[str, typer.Option(help="Interface to listen on")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")]


def _registers(value: str | None) -> frozenset[str]:
    from helsegraf.registers import parse_registers  # noqa: PLC0415

    try:
        return parse_registers(value)
    except ValueError as exc:
        raise _fail(f"--registers: {exc}") from None


def _check_database(settings: Settings) -> None:
    """Warn (without stopping) when the database is unreachable, has no tables yet, or has another schema."""
    from helsegraf.migrate import UnknownRevisionError, missing_tables, pending_migrations  # noqa: PLC0415
    from helsegraf.registers import AUDIT  # noqa: PLC0415

    stores = sorted({*settings.registers, AUDIT})
    try:
        # A store behind its newest revision lacks the tables later revisions add: that is `migrate`'s
        # to fix, so missing tables are reported only for stores whose schema is current (or absent).
        behind = {s: v for s, v in pending_migrations(settings, stores).items() if v[0] is not None}
        missing = missing_tables(settings, [s for s in stores if s not in behind])
    except SQLAlchemyError as exc:
        err.print(f"[yellow]warning:[/] cannot reach the database ({exc.__class__.__name__}); serving anyway, "
                  "/readyz reports 503 until it answers")  # fmt: skip
        return
    except UnknownRevisionError as exc:
        err.print(f"[yellow]warning:[/] {exc}; upgrade helsegraf")
        return
    if missing:
        err.print(f"[yellow]warning:[/] {len(missing)} tables are missing (e.g. {missing[0]}); run `helsegraf seed`")
    for store, (current, newest) in behind.items():
        err.print(f"[yellow]warning:[/] the {store} schema is at {current}, this version needs {newest}; "
                  "run `helsegraf migrate`")  # fmt: skip


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Upgrade every register's schema to this version's newest revision, keeping the data."""
    from helsegraf.migrate import UnknownRevisionError, pending_migrations, upgrade  # noqa: PLC0415
    from helsegraf.registers import STORES  # noqa: PLC0415

    settings = _settings(database_url)
    settings.home.mkdir(parents=True, exist_ok=True)
    behind: dict[str, tuple[str | None, str]] = {}
    for store in STORES:  # one at a time, so that an error names the store's own database
        try:
            behind |= pending_migrations(settings, [store])
            upgrade(settings, [store])
        except SQLAlchemyError as exc:
            raise _database_error(settings.url_for(store), exc) from None
        except UnknownRevisionError as exc:
            raise _fail(f"{exc}; upgrade helsegraf rather than the database") from None
    for store, (current, newest) in behind.items():
        err.print(f"{store}: {current or 'empty'} -> {newest}")
    err.print("every register's schema is up to date" if behind else "nothing to do: every schema was up to date")


@app.command("prune-access-log")
def prune_access_log(
    keep_months: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1200,
            help="Whole months to keep before the current one [default: HELSEGRAF_ACCESS_LOG_RETENTION_MONTHS]",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove the access log's entries older than the retention period, whole months at a time.

    Also creates the coming months' partitions (PostgreSQL). Run it from cron, or set
    HELSEGRAF_ACCESS_LOG_RETENTION_MONTHS and let `helsegraf serve` do it daily.
    """
    from helsegraf.migrate import prune_access_log as run_prune  # noqa: PLC0415
    from helsegraf.registers import AUDIT  # noqa: PLC0415

    settings = _settings(database_url)
    months = keep_months or settings.access_log_retention_months
    if months is None:
        raise _fail("say how many months to keep: --keep-months N (or HELSEGRAF_ACCESS_LOG_RETENTION_MONTHS)")
    try:
        pruned = run_prune(settings, months)
    except SQLAlchemyError as exc:
        raise _database_error(settings.url_for(AUDIT), exc) from None
    removed = ", ".join(m.strftime("%Y-%m") for m in pruned.months) or "no whole month"
    err.print(f"kept the access log from {pruned.before.isoformat()}: removed {removed}"
              f"{f' and {pruned.rows:,} rows' if pruned.rows else ''}")  # fmt: skip


@app.command("publish-statistics")
def publish_statistics(
    at: Annotated[
        str | None,
        typer.Option(help="A date (YYYY-MM-DD): publish the reference date of its counts of persons [default: today]"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Publish a reference date's counts of persons now, as the first table of that date would.

    Tables of a published date read the stored scans; the first table of a date otherwise makes them (one
    grouped scan of the date's memberships in FLR, HPR's approvals by category). Run after each quarter
    end, once the registrations that belong to it are in, so that no analyst waits for the scan. A date
    already published stays as it is.
    """
    import asyncio  # noqa: PLC0415

    from helsegraf.db import Database  # noqa: PLC0415
    from helsegraf.http.context import oslo_today  # noqa: PLC0415
    from helsegraf.registers import AUDIT  # noqa: PLC0415
    from helsegraf.stats.engine import Engine, StatisticsInputError, check_date  # noqa: PLC0415

    settings = _settings(database_url)
    today = oslo_today()
    try:
        on = date.fromisoformat(at) if at else today
        check_date(on, today)
    except (ValueError, StatisticsInputError) as exc:
        raise _fail(f"--at: {exc}") from None

    async def run() -> tuple[date, int, int, int]:
        db = Database(settings, pool_size=2)
        try:
            engine = Engine(db.for_request(), today)
            ref = engine.reference_date(on)
            found = await engine.publication(ref)
            personnel = await engine.personnel(ref)  # (a publication stored before HPR's were kept: now)
        finally:
            await db.dispose()
        return ref, len(found.lists), len(found.cells), len(personnel) - 1  # less every category together

    try:
        ref, lists, cells, categories = asyncio.run(run())
    except SQLAlchemyError as exc:
        raise _database_error(settings.url_for(AUDIT), exc) from None
    err.print(f"{ref.isoformat()} is published: {lists:,} lists, {cells:,} grouped rows of listed persons, "
              f"health personnel in {categories:,} categories")  # fmt: skip


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import os  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    os.environ["HELSEGRAF_DATABASE_URL"] = settings.effective_database_url
    os.environ["HELSEGRAF_REGISTERS"] = ",".join(sorted(settings.registers))
    shared_metrics = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The workers add up their metrics in files here, so /metrics reports the whole server.
        shared_metrics = tempfile.mkdtemp(prefix="helsegraf-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared_metrics
    try:
        uvicorn.run(
            "helsegraf.http.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,  # request lines carry GET query strings, i.e. variables with identity numbers
            timeout_graceful_shutdown=20,
            # A bounded request head (431) and a deadline to receive each request (408): http/server.py.
            http="helsegraf.http.server:BoundedHttpToolsProtocol",
        )
    finally:
        if shared_metrics is not None:
            shutil.rmtree(shared_metrics, ignore_errors=True)


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    registers: Registers = None,
) -> None:
    """Serve the graph over HTTP (all registers, or a subset as a Federation subgraph)."""
    from dataclasses import replace  # noqa: PLC0415

    settings = replace(_settings(database_url), registers=_registers(registers))
    _port_free(host, port)
    _check_database(settings)
    err.print(f"helsegraf serving {', '.join(sorted(settings.registers))} on http://{host}:{port}/graphql")
    _serve(settings, host, port, workers)


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    persons: Annotated[
        int, typer.Option(min=100, max=1_000_000, help="Persons to seed when the database is empty")
    ] = 10_000,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Run the registers' fakes and follow their changes")
    ] = True,
) -> None:
    """Seed the embedded SQLite database if it is empty, then serve GraphiQL with sample ids and tokens.

    Beside it run every register's fake and a sync following them, so the demo's persons move, are born
    and die, its organisations open and close, health personnel are suspended and merged, certificates
    renewed, units moved, GPs leave lists and codes are reworded while you watch.
    """
    from helsegraf.data.load import populated_registers  # noqa: PLC0415
    from helsegraf.data.sample import sample_ids  # noqa: PLC0415
    from helsegraf.migrate import upgrade  # noqa: PLC0415
    from helsegraf.seeding import seed as run_seed  # noqa: PLC0415

    settings = _env_settings()
    _port_free(host, port)
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings)
    from helsegraf.sync import demo as living  # noqa: PLC0415

    if not populated_registers(settings):
        err.print(f"Seeding a synthetic nation of {persons:,} persons into {settings.effective_database_url} ...")
        run_seed(settings, persons=persons, seed_value=1, reset=False, console=err)
        living.remember_nation(settings, persons, 1)
    ids = sample_ids(settings, date.today())  # noqa: DTZ011 - the caller's calendar day
    _print_demo_banner(settings, host, port, ids)
    if follow:
        nation_persons, nation_seed = living.seeded_nation(settings, persons)
        fakes = living.start(settings, nation_persons, nation_seed)
        if fakes is None:
            err.print(
                "[yellow]note:[/] port 8700 is taken: the demo runs without its living registers", highlight=False
            )
        else:
            err.print(f"Living registers: every register's fake (PREG, BED, HPR, AR, Kodeverk, RESH, FLR) at "
                      f"{fakes}, a day of changes every {living.DAY_SECONDS:.0f} s, followed into the demo's database "
                      "(query `registers { name lag }`)", highlight=False)  # fmt: skip
    _serve(settings, host, port, 1)


SyncRegisters = Annotated[
    str,
    typer.Option(
        "--registers",
        help="Comma-separated registers, or all (the default): preg, bed, hpr, ar, kodeverk, resh, flr",
    ),
]


def _sync_registers(value: str, known: tuple[str, ...]) -> frozenset[str]:
    names = frozenset(part.strip().lower() for part in value.split(",") if part.strip())
    if names == {"all"}:
        return frozenset(known)
    unknown = sorted(names - set(known))
    if not names or unknown:
        raise _fail(f"--registers: {', '.join(unknown) or 'none given'}; choose from {', '.join(known)}")
    return names


@app.command()
def upstream(
    registers: SyncRegisters = "all",
    host: Host = "127.0.0.1",
    port: Port = 8700,
    persons: Annotated[int, typer.Option(min=1, max=10_000_000, help="Persons in the nation (as `seed`)")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same as `seed --seed`)")] = 1,
    day_seconds: Annotated[float, typer.Option(min=0, help="Seconds between days of changes (0: no changes)")] = 60.0,
    scale: Annotated[int, typer.Option(min=1, max=10_000, help="Everyday changes per day, times five moves")] = 1,
) -> None:
    """Serve the synthetic nation through the registers' real contracts, with a stream of daily changes."""
    import os  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from helsegraf.data.nation import generate  # noqa: PLC0415
    from helsegraf.sync.credentials import CredentialError, env_flag, key_from_env  # noqa: PLC0415
    from helsegraf.upstream.auth import TokenIssuer  # noqa: PLC0415
    from helsegraf.upstream.server import SERVABLE, Upstream  # noqa: PLC0415

    chosen = _sync_registers(registers, SERVABLE)
    _port_free(host, port)
    try:  # the rehearsal HelseID: a registered public key for private_key_jwt, DPoP required or not
        public_key = key_from_env(os.environ, "HELSEGRAF_UPSTREAM_PREG_CLIENT_PUBLIC_KEY")
        issuer = TokenIssuer(public_key=public_key, require_dpop=env_flag(os.environ, "HELSEGRAF_UPSTREAM_PREG_DPOP"))
    except CredentialError as exc:
        raise _fail(str(exc)) from None
    err.print(f"Generating a nation of {persons:,} persons (seed {seed}) ...")
    fake = Upstream(generate(persons, seed), chosen, issuer=issuer)
    paths = {"preg": "persontjenesten/api/legal-basis/", "bed": "enhetsregisteret/api/", "hpr": "hpr/",
             "ar": "ar/", "kodeverk": "kodeverk/", "resh": "resh/", "flr": "flr/ (export: flr/export/)"}  # fmt: skip
    err.print("  ".join(f"{r}: http://{host}:{port}/{paths[r]}" for r in SERVABLE if r in chosen), highlight=False)
    uvicorn.run(fake.app(day_seconds=day_seconds, scale=scale), host=host, port=port, log_level="warning")


@app.command()
def sync(
    registers: SyncRegisters = "all",
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Bring each register up to date once, then stop")] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Keep following the change feeds (the default)")] = False,
    interval: Annotated[float | None, typer.Option(min=0.1, help="Seconds between polls while following")] = None,
) -> None:
    """Bootstrap each register's database from its source, then follow its change feed from the stored cursor."""
    import asyncio  # noqa: PLC0415
    import dataclasses  # noqa: PLC0415
    import logging  # noqa: PLC0415
    import os  # noqa: PLC0415

    from helsegraf.migrate import upgrade  # noqa: PLC0415
    from helsegraf.sync import SYNCABLE, sources_from_env  # noqa: PLC0415
    from helsegraf.sync.credentials import CredentialError  # noqa: PLC0415
    from helsegraf.sync.engine import SyncError  # noqa: PLC0415
    from helsegraf.sync.runner import run  # noqa: PLC0415

    if once and follow:
        raise _fail("--once and --follow exclude each other")
    chosen = _sync_registers(registers, SYNCABLE)
    settings = _settings(database_url)
    try:
        sources = sources_from_env(os.environ)
    except CredentialError as exc:  # names the setting and what is wrong, never the key
        raise _fail(str(exc)) from None
    if interval is not None:
        sources = dataclasses.replace(sources, interval_s=interval)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings, stores=sorted(chosen))
        asyncio.run(run(settings, sources, chosen, follow=not once, console=err))
    except SyncError as exc:
        raise _fail(str(exc), code=1) from None
    except SQLAlchemyError as exc:
        raise _database_error(settings.effective_database_url, exc) from None


def _print_demo_banner(settings: Settings, host: str, port: int, ids: dict[str, object]) -> None:
    url = f"http://{host}:{port}/graphql"
    plain = partial(err.print, soft_wrap=True, markup=False, highlight=False)
    err.rule("helsegraf demo")
    plain(f"GraphiQL:  {url}   (database: {settings.effective_database_url})")
    err.print("Sample ids from the data (all identity numbers are synthetic):")
    for key, value in ids.items():
        if value is not None:
            plain(f"  {key:28} {value}")
    tokens = _demo_tokens(ids)
    for role, token in tokens.items():
        err.print(f"Token ({role}):")
        plain(f"  Authorization: Bearer {token}")
    clinician = tokens["clinician"]
    from urllib.parse import quote  # noqa: PLC0415

    headers = quote(orjson.dumps({"Authorization": f"Bearer {clinician}"}).decode(), safe="")
    err.print("GraphiQL, ready: the example query, with the clinician's development token in its Headers tab:")
    plain(f"  {url}?headers={headers}")
    err.print("The citizen app (sign in as a sample citizen):")
    plain(f"  http://{host}:{port}/app/")
    query = (f'{{ person(nin: \\"{ids["personWithGp"]}\\") {{ name {{ full }} gp {{ gp {{ name {{ full }} }} '
             f"officeCommunicationParty {{ herId electronicAddresses }} }} }} }}")  # fmt: skip
    err.print("Try (as the clinician):")
    plain(f"  curl -s {url} -H 'Content-Type: application/json' -H 'Authorization: Bearer {clinician}' "
          f"-H 'X-Purpose: demo' -d '{{\"query\": \"{query}\"}}'")  # fmt: skip
    err.rule()


def _demo_tokens(ids: dict[str, object]) -> dict[str, str]:
    """Mint a citizen, clinician and analyst token for the demo (development signing)."""
    from helsegraf.authz.tokens import mint  # noqa: PLC0415

    home = _env_settings().home
    parent = str(ids.get("parentOfChild") or ids["personWithGp"])
    return {
        f"citizen {parent}": mint(home, role="citizen", pid=parent, ttl_seconds=12 * 3600),
        "clinician": mint(home, role="clinician", hpr_number=int(str(ids["gpHprNumber"])),
                          org_number=str(ids["officeOrgNumber"]), ttl_seconds=12 * 3600),
        "analyst": mint(home, role="analyst", ttl_seconds=12 * 3600),
    }  # fmt: skip


@app.command()
def token(
    role: Annotated[str, typer.Option(help="citizen, clinician, integrator, analyst or admin")],
    pid: Annotated[str | None, typer.Option(help="The citizen's national identity number (citizen role)")] = None,
    hpr: Annotated[int | None, typer.Option(help="The health worker's HPR number (clinician role)")] = None,
    org: Annotated[str | None, typer.Option(help="The caller's organisation number (orgnr_parent)")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="A scope to add (repeatable), e.g. flr:patient-list")] = None,
    ttl: Annotated[int, typer.Option(min=60, max=7 * 24 * 3600, help="Lifetime in seconds")] = 3600,
    subject: Annotated[str | None, typer.Option(help="The token's subject (default: a random dev-<role>-xxxx)")] = None,
) -> None:
    """Print a development JWT for a role preset (development signing only)."""
    from helsegraf.authz.principal import ROLE_SCOPES  # noqa: PLC0415
    from helsegraf.authz.requirements import SCOPES  # noqa: PLC0415
    from helsegraf.authz.tokens import mint  # noqa: PLC0415
    from helsegraf.identifiers import InvalidIdentifierError, parse_nin, parse_org_number  # noqa: PLC0415

    settings = _env_settings()
    if settings.auth.mode != "development":
        raise _fail("tokens can only be minted with development signing (HELSEGRAF_AUTH_MODE=development)")
    if role not in ROLE_SCOPES:
        raise _fail(f"--role must be one of {', '.join(ROLE_SCOPES)}, got {role!r}")
    unknown = sorted(set(scope or ()) - set(SCOPES))
    if unknown:
        raise _fail(f"unknown scope(s) {', '.join(unknown)}; known: {' '.join(SCOPES)}")
    if role == "citizen" and not pid:
        raise _fail("the citizen role needs --pid (the citizen's national identity number)")
    if role == "clinician" and (hpr is None or not org):
        raise _fail("the clinician role needs --hpr and --org")
    try:
        pid = parse_nin(pid).value if pid else None
    except InvalidIdentifierError as exc:
        raise _fail(f"--pid: {exc.reason}") from None
    try:
        org = parse_org_number(org) if org else None
    except InvalidIdentifierError as exc:
        raise _fail(f"--org: {exc.reason}") from None
    sys.stdout.write(mint(settings.home, role=role, pid=pid, hpr_number=hpr, org_number=org,
                          scopes=tuple(scope or ()), ttl_seconds=ttl, subject=subject) + "\n")  # fmt: skip


@app.command()
def schema(registers: Registers = None) -> None:
    """Print the SDL (Federation directives included) of all registers or a subgraph."""
    from helsegraf.schema import build_schema  # noqa: PLC0415

    sys.stdout.write(build_schema(_registers(registers)).as_str() + "\n")


@app.command()
def subgraphs(
    out: Annotated[
        str,
        typer.Option(
            help="Folder to write into: subgraphs/<register>.graphql, subgraphs.json (the list "
            "gateway/compose.mjs composes) and, with development signing, jwks.json (the key's public half)"
        ),
    ],
    url: Annotated[
        str, typer.Option(help="Each subgraph's URL; {register} is replaced by the register's name")
    ] = "http://subgraph-{register}:8000/graphql",
) -> None:
    """Write every register subgraph's SDL, the list gateway/compose.mjs composes, and the gateway's keys."""
    from pathlib import Path  # noqa: PLC0415

    from helsegraf.federation import Subgraph, write_gateway_keys, write_subgraphs  # noqa: PLC0415
    from helsegraf.registers import REGISTERS  # noqa: PLC0415

    if "{register}" not in url:
        raise _fail(f"--url must contain {{register}}, got {url!r}")
    settings = _env_settings()
    listing = write_subgraphs(Path(out), [Subgraph(name, 0, url.format(register=name)) for name in REGISTERS])
    keys = write_gateway_keys(Path(out), settings)
    err.print(f"wrote {len(REGISTERS)} subgraphs' SDL under {Path(out) / 'subgraphs'} and {listing}")
    if keys is not None:
        err.print(f"wrote {keys}: the development key's public half, for the gateway (HELSEGRAF_GATEWAY_JWKS_FILE)")
    else:
        err.print("production signing: give the gateway the same HELSEGRAF_AUTH_JWKS_URL (or _JWKS_FILE), "
                  "HELSEGRAF_AUTH_ISSUER and HELSEGRAF_AUTH_AUDIENCE as the subgraphs")  # fmt: skip


class _Stop(Exception):  # noqa: N818 - a signal, not an error
    """SIGTERM or SIGHUP arrived: unwind, stopping every process that was started."""


def _raise_stop(signum: int, _frame: object) -> None:
    import signal  # noqa: PLC0415

    for again in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):  # a second signal must not cut the clean-up short
        signal.signal(again, signal.SIG_IGN)
    raise _Stop(signum)


@app.command()
def federation(
    database_url: DatabaseUrl = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of Hive Gateway")] = 4000,
    base_port: Annotated[
        int, typer.Option(min=1, max=65000, help="Port of the first subgraph; the other six follow")
    ] = 4101,
    work: Annotated[
        str | None,
        typer.Option(
            help="Folder for the subgraphs' SDL, the supergraph, the gateway's keys and the logs "
            "(default: federation/ under HELSEGRAF_HOME)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve every register as its own subgraph behind Hive Gateway (needs `npm ci --prefix gateway`).

    SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the gateway and every subgraph, with their process groups.
    """
    import signal  # noqa: PLC0415
    import time  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from helsegraf.federation import FederationError, node_ready, running  # noqa: PLC0415

    missing = node_ready()
    if missing is not None:
        raise _fail(f"Hive Gateway cannot run: {missing}")
    settings = _settings(database_url)
    folder = Path(work) if work else settings.home / "federation"
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    try:
        with running(settings, work=folder, gateway_port=port, base_port=base_port) as url:
            err.print(f"Hive Gateway: {url}  (subgraphs on ports {base_port}-{base_port + 6}, logs in {folder}); "
                      "Ctrl-C stops")  # fmt: skip
            while True:
                time.sleep(3600)
    except FederationError as exc:
        raise _fail(f"{exc} (logs in {folder})") from None
    except (KeyboardInterrupt, _Stop):
        err.print("stopped: the gateway and every subgraph")


def main() -> None:
    """Run the command line."""
    app()


if __name__ == "__main__":
    main()
