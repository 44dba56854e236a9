"""The Starlette application: /graphql, /healthz, /readyz, /metrics, GraphiQL's assets, and the citizen app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from helsegraf.authz.tokens import Verifier
from helsegraf.config import Settings
from helsegraf.db import Database, track_sql
from helsegraf.http.citizen_app import MOUNT as APP_MOUNT
from helsegraf.http.citizen_app import CitizenApp, check_manifest
from helsegraf.http.context import ContextFactory, oslo_today
from helsegraf.http.demo_signin import demo_signin_routes
from helsegraf.http.errors import INTERNAL, SERVICE_UNAVAILABLE, error_body
from helsegraf.http.graphiql import MOUNT, GraphiQLAssets, GraphiQLPage
from helsegraf.http.graphql_http import GraphQLEndpoint, wants_html
from helsegraf.http.middleware import RequestIds, SecurityHeaders
from helsegraf.http.observability import (
    configure_logging,
    configure_tracing,
    log_request,
    metrics_endpoint,
    multiprocess_directory,
    observe_request,
    refresh_pool_gauges,
    span,
    worker_exited,
)
from helsegraf.http.samples import Samples
from helsegraf.http.trusted import TrustedDocuments
from helsegraf.registers import AUDIT, REGISTERS
from helsegraf.schema.assembly import build_schema
from helsegraf.sync.freshness import freshness, refresh_metrics

READY_TIMEOUT = 2.0
T = TypeVar("T")
log = logging.getLogger("helsegraf.errors")


async def within(seconds: float, work: Awaitable[T]) -> T:
    """Await `work` for at most `seconds`; raise TimeoutError when it takes longer, without waiting for it.

    A task cancelled mid-statement can take seconds to settle (psycopg cancels the query on the server,
    which a partitioned network never answers), so it is left to settle in the background.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        task.add_done_callback(_settled)
        raise TimeoutError
    return task.result()


def _settled(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("a request given up at its deadline ended with %s", type(task.exception()).__name__)


AUDIT_TABLES: Final = ("audit_access_log", "audit_statistics_query")  # what personal answers write before leaving


async def _ready(db: Database, store: str) -> bool:
    """Tell whether a store is ready: it answers on the pool that serves it, and the access log takes writes."""
    try:
        return await within(READY_TIMEOUT * 0.9, db.ready(store, write=store == AUDIT, write_tables=AUDIT_TABLES))
    except Exception:  # noqa: BLE001 - any failure (a timeout, an outage) means "not ready"
        return False


GC_GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Collect garbage less often, and never the objects alive at start-up.

    A large response allocates ~10^5 short-lived objects, and the default threshold (700) would run hundreds
    of collections per request. Objects alive at start-up (the schema, the code) are frozen out of collection.
    """
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 50)


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app serving `settings.registers` from their databases."""
    settings = settings or Settings.from_env()
    http = settings.http
    configure_logging(http.log_format)
    configure_tracing()
    db = Database(settings)
    schema = build_schema(settings.registers, fast=settings.fast_paths)
    verifier = Verifier(settings.auth, settings.home) if settings.auth.mode != "disabled" else None
    contexts = ContextFactory(settings, db, verifier)
    trusted = TrustedDocuments(http.trusted_documents) if http.trusted_documents else None
    ide, frontend = _frontend(settings, trusted)
    endpoint = GraphQLEndpoint(schema, contexts, contexts.finish, limits=http, graphiql=http.graphiql and ide is None,
                               trusted=trusted, introspection=http.introspection)  # fmt: skip

    async def graphql(request: Request) -> Response:
        if ide is not None and request.method == "GET" and wants_html(request):
            return await ide.response()
        started = time.perf_counter()
        with track_sql() as stats, span("graphql.request") as current:
            request.state.sql = stats
            try:
                response = await within(http.deadline_s, endpoint(request))
            except TimeoutError:
                response = _past_deadline(request, http.deadline_s)
            except Exception:
                request_id = getattr(request.state, "request_id", "")
                log.exception("unexpected failure in request %s", request_id)
                body = {"errors": [error_body("Internal server error", INTERNAL, requestId=request_id)]}
                response = JSONResponse(body, status_code=500, headers={"x-request-id": request_id})
            operation = getattr(request.state, "operation", None)
            current.set_attribute("graphql.operation.name", operation or "")
            current.set_attribute("http.response.status_code", response.status_code)
            current.set_attribute("db.statements", stats.statements)
        elapsed = time.perf_counter() - started
        timing = f'app;dur={elapsed * 1000:.2f}, db;dur={stats.milliseconds:.2f};desc="{stats.statements} statements, '
        timing += f'{stats.round_trips} round trips"'
        log_ms = getattr(request.state, "log_ms", None)
        response.headers["server-timing"] = timing if log_ms is None else f"{timing}, log;dur={log_ms:.2f}"
        observe_request(operation, response.status_code, elapsed, stats.statements)
        log_request({"requestId": getattr(request.state, "request_id", None), "operation": operation,
                     "method": request.method, "status": response.status_code, "durationMs": round(elapsed * 1000, 2),
                     "sqlStatements": stats.statements, "sqlMs": stats.milliseconds})  # fmt: skip
        return response

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/healthz", healthz),
        Route("/readyz", _readyz(settings, db)),
        Route("/metrics", _metrics_with_sync(settings, db)),
        *([Mount(MOUNT, GraphiQLAssets())] if http.graphiql else []),
        *frontend,
    ]
    middleware = [Middleware(RequestIds), Middleware(SecurityHeaders)]
    if http.cors_origins:
        cors = Middleware(CORSMiddleware, allow_origins=list(http.cors_origins), allow_methods=["GET", "POST"],
                          allow_headers=["authorization", "content-type", "x-purpose", "x-request-id"],
                          expose_headers=["x-request-id", "server-timing"], max_age=600)  # fmt: skip
        middleware.append(cors)
    publish_after = settings.stats_publish_after_days if "flr" in settings.registers else None  # statistics are FLR's
    app = Starlette(routes=routes, middleware=middleware,
                    lifespan=_lifespan(db, settings.access_log_retention_months, publish_after))  # fmt: skip
    app.state.settings, app.state.db, app.state.schema = settings, db, schema
    app.state.access_log = contexts.access_log
    app.state.operations = endpoint.operations
    tune_gc()
    return app


def _readyz(settings: Settings, db: Database) -> Callable[[Request], Awaitable[Response]]:
    """Return /readyz: 200 when every store answers on the pool that serves it and the access log takes writes."""

    async def readyz(_request: Request) -> Response:
        stores = sorted({*settings.registers, AUDIT})
        results = dict(zip(stores, await asyncio.gather(*(_ready(db, s) for s in stores)), strict=True))
        ready = all(results.values())
        body: dict[str, Any] = {
            "status": "ready" if ready else "unavailable",
            "stores": {k: "up" if v else "down" for k, v in results.items()},
        }
        # A synced register whose source has been out of reach (or far ahead) for longer than allowed is
        # degraded: the graph still answers from what it has; HELSEGRAF_READY_WHILE_LAGGING=0 makes it unready.
        http = settings.http
        lagging = {
            f.name: round(f.lag_seconds, 1) if f.lag_seconds is not None else None
            for f in await freshness(db, [r for r in sorted(settings.registers) if results.get(r)])
            if f.synced and (f.lag_seconds is None or f.lag_seconds > http.max_lag_s)
        }
        if lagging:
            body["degraded"] = lagging
            if ready:
                body["status"] = "degraded"
            if not http.ready_while_lagging:
                ready = False
        return JSONResponse(body, status_code=200 if ready else 503)

    return readyz


def _metrics_with_sync(settings: Settings, db: Database) -> Callable[[Request], Awaitable[Response]]:
    """Return /metrics with the sync gauges (lag, cursor, skips, errors) read from the cursor tables first."""
    metrics = metrics_endpoint(db.read_pools())

    async def endpoint(request: Request) -> Response:
        await refresh_metrics(db, sorted(settings.registers))
        return await metrics(request)  # type: ignore[no-any-return]

    return endpoint


def _past_deadline(request: Request, deadline_s: float) -> Response:
    """Answer a request that passed its deadline (HELSEGRAF_REQUEST_DEADLINE_S): 503, nothing released."""
    request_id = getattr(request.state, "request_id", "")
    log.warning("request %s passed its deadline of %g s", request_id, deadline_s)
    message = f"the request did not finish within {deadline_s:g} s (a register's database is slow or unreachable)"
    body = {"errors": [error_body(message, SERVICE_UNAVAILABLE, requestId=request_id)]}
    return JSONResponse(body, status_code=503, headers={"x-request-id": request_id, "retry-after": "5"})


def _frontend(settings: Settings, trusted: TrustedDocuments | None) -> tuple[GraphiQLPage | None, list[BaseRoute]]:
    """Return GraphiQL with an example over the data, the citizen app and the demo sign-in: the whole graph only."""
    if settings.registers != frozenset(REGISTERS):
        return None, []
    check_manifest(trusted)
    samples = Samples(settings)
    ide = GraphiQLPage(samples) if settings.http.graphiql else None
    return ide, [Mount(APP_MOUNT, CitizenApp(settings)), *demo_signin_routes(settings, samples)]


POOL_GAUGE_PERIOD_S = 5.0


def _lifespan(
    db: Database, retention_months: int | None, publish_after_days: int | None = None
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Several workers: each keeps its pool gauges current, as only one of them answers a scrape.
        refresher = asyncio.create_task(_refresh_pool_gauges(db)) if multiprocess_directory() else None
        keeper = asyncio.create_task(_keep_access_log(db, retention_months))
        publisher = None
        if publish_after_days is not None:
            publisher = asyncio.create_task(_keep_statistics_published(db, publish_after_days))
        yield
        if publisher is not None:
            publisher.cancel()
        keeper.cancel()
        if refresher is not None:
            refresher.cancel()
        worker_exited()
        await db.dispose()

    return lifespan


ACCESS_LOG_UPKEEP_S = 24 * 3600.0


async def _keep_access_log(db: Database, retention_months: int | None) -> None:
    """Create the access log's coming months' partitions, and apply the retention setting, daily.

    A missing partition never fails a write (the default partition takes the row), so a failure here is
    logged and tried again the next day.
    """
    from helsegraf.authz.log_partitions import ensure_partitions, prune  # noqa: PLC0415

    def upkeep(connection: Any) -> None:
        ensure_partitions(connection)
        if retention_months is not None:
            prune(connection, retention_months)

    while True:
        try:
            async with db.engine(AUDIT).begin() as conn:
                await conn.run_sync(upkeep)
        except Exception as exc:  # noqa: BLE001 - upkeep must never stop the server
            log.warning("access-log upkeep failed: %s", exc.__class__.__name__)
        await asyncio.sleep(ACCESS_LOG_UPKEEP_S)


STATISTICS_PUBLISHING_S = 3600.0


async def _keep_statistics_published(db: Database, after_days: int) -> None:
    """Publish the current reference date (the last quarter end before today) once it is `after_days` old.

    Checked at start and hourly. The first table of a date not yet published makes its grouped scans
    (stats/published.py), the longest work of a statistics request: made here, an analyst's first table
    of the quarter reads the stored publication instead. A date already published is only read (one
    statement); a failure is logged and tried again within the hour. Several workers or replicas may
    publish the same date at once: one publication is stored (insert-if-absent), the others read it.
    """
    from helsegraf.stats.engine import Engine, reference_date  # noqa: PLC0415 - the statistics engine, only here

    while True:
        today = oslo_today()
        ref = reference_date(today, today)
        if (today - ref).days >= after_days:
            try:
                engine = Engine(db.for_request(), today)
                await engine.publication(ref)
                await engine.personnel(ref)  # (a publication stored before HPR's were kept: completed)
            except Exception as exc:  # noqa: BLE001 - publishing ahead must never stop the server
                log.warning("publishing statistics of %s failed: %s", ref.isoformat(), exc.__class__.__name__)
        await asyncio.sleep(STATISTICS_PUBLISHING_S)


async def _refresh_pool_gauges(db: Database) -> None:
    while True:
        await asyncio.sleep(POOL_GAUGE_PERIOD_S)
        refresh_pool_gauges(db.read_pools())


def create_app_from_env() -> Starlette:
    """Build the app from the environment (the uvicorn factory of `helsegraf serve`)."""
    return create_app(Settings.from_env())
