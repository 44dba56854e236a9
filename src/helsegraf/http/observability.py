"""Observability: structured JSON logs, Prometheus metrics, and OpenTelemetry tracing when configured.

Nothing personal is ever logged, measured or traced: no identity numbers, no variables, no query
text, no tokens; only request ids, operation names, durations, statuses and counts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from helsegraf.identifiers import InvalidIdentifierError, parse_nin

REQUESTS: Final = Counter("helsegraf_requests", "GraphQL requests answered", ["operation", "status"])
LATENCY: Final = Histogram(
    "helsegraf_request_duration_seconds", "Time to answer a GraphQL request", ["operation", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)  # fmt: skip
STATEMENTS: Final = Histogram(
    "helsegraf_sql_statements_per_request",
    "SQL statements a request issued",
    buckets=(0, 1, 2, 4, 8, 12, 16, 24, 32, 64),
)
# With several workers each process holds its own pool: the exported value is the sum over live workers.
POOL: Final = Gauge(
    "helsegraf_db_pool_connections",
    "Database read-pool connections",
    ["database", "state"],
    multiprocess_mode="livesum",
)
REFUSED: Final = Counter("helsegraf_requests_refused", "Requests refused by a limit or a bad token", ["reason"])

OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATIONS = 200  # distinct operation labels; more are counted as "other" (bounded cardinality)
_known: set[str] = set()
tracer = trace.get_tracer("helsegraf")
log = logging.getLogger("helsegraf.requests")


def operation_label(name: str | None) -> str:
    """Return a bounded metric label for an operation name."""
    if not name:
        return "anonymous"
    if not OPERATION_NAME.fullmatch(name):
        return "other"
    if name not in _known and len(_known) >= MAX_OPERATIONS:
        return "other"
    _known.add(name)
    return name


_children: dict[tuple[str, int], tuple[Any, Any]] = {}


def observe_request(operation: str | None, status: int, seconds: float, statements: int) -> None:
    """Record one answered request (the labelled children are looked up once per label pair)."""
    key = (operation_label(operation), status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(key[0], str(status)), LATENCY.labels(key[0], str(status)))
    children[0].inc()
    children[1].observe(seconds)
    STATEMENTS.observe(statements)


def refresh_pool_gauges(pools: dict[str, Any]) -> None:
    """Set the pool gauges from the pools' own statistics."""
    for name, pool in pools.items():
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        POOL.labels(name, "open").set(size)
        POOL.labels(name, "idle").set(idle)
        POOL.labels(name, "in_use").set(max(0, size - idle))
        POOL.labels(name, "waiting").set(stats.get("requests_waiting", 0))


def multiprocess_directory() -> str | None:
    """Return the directory worker processes share their metrics through, when several serve (else None)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_endpoint(pools: dict[str, Any]) -> Any:
    """Return the /metrics endpoint (Prometheus text format), refreshing the pool gauges first.

    With several worker processes (`helsegraf serve --workers N`), whichever worker answers reports the
    sum over all of them, from the files they share (prometheus_client's multiprocess mode).
    """

    async def endpoint(_request: Request) -> Response:
        refresh_pool_gauges(pools)
        directory = multiprocess_directory()
        if directory is None:
            return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
        return Response(collect_workers(directory), media_type=CONTENT_TYPE_LATEST)

    return endpoint


def collect_workers(directory: str) -> bytes:
    """Return the metrics of every worker sharing `directory`, in Prometheus text format.

    Live gauges of workers that died without shutting down (killed, out of memory) are dropped first.
    """
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _running(int(pid)):
            _forget_live_gauges(directory, pid)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]  # unannotated upstream
    return generate_latest(registry)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


def _forget_live_gauges(directory: str, pid: int | str) -> None:
    """Remove a worker's live-gauge files, as prometheus_client's mark_process_dead does.

    Unlike it, this is safe when another worker's scrape removed them first.
    """
    for path in Path(directory).glob(f"gauge_live*_{pid}.db"):
        path.unlink(missing_ok=True)


def worker_exited() -> None:
    """Drop this worker's live gauges from the shared metrics (its counters and histograms stay summed)."""
    directory = multiprocess_directory()
    if directory is not None:
        _forget_live_gauges(directory, os.getpid())


def without_messages(exc_info: Any) -> str:
    """Format an exception as its types and stack frames only.

    An exception's message may carry the values it was raised about (a database error its parameters, a
    parse error the caller's input): never personal data in a log line, so only where it happened is kept.
    """
    _, error, trace = exc_info
    lines: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = traceback.extract_tb(trace if not lines else error.__traceback__)
        lines.append(f"{type(error).__module__}.{type(error).__qualname__}")
        lines += [f"  {f.filename}:{f.lineno} in {f.name}" for f in frames]
        error = error.__cause__ or error.__context__
        if error is not None:
            lines.append("caused by")
    return "\n".join(lines)


_DIGIT_RUN = re.compile(r"(?<!\d)\d{11}(?!\d)")
MASK: Final = "<nin>"


def mask_identity_numbers(line: str) -> str:
    """Replace every valid national identity number in a log line by `<nin>`.

    Some values in a line are the caller's choice (a request id, an operation name, an alias in an error
    path), so a caller could put a number there. A run of exactly eleven digits is masked when it is a
    valid fødselsnummer, D- or H-number (its check digits hold): other digit runs, such as parts of a
    hexadecimal request id, are left as they are, so that ids stay searchable.
    """
    if not _DIGIT_RUN.search(line):
        return line

    def hide(match: re.Match[str]) -> str:
        try:
            parse_nin(match.group())
        except InvalidIdentifierError:
            return match.group()
        return MASK

    return _DIGIT_RUN.sub(hide, line)


class _SafeFormatting(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """Format an exception without its messages (see `without_messages`)."""
        return without_messages(ei)

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then mask identity numbers in the whole line."""
        return mask_identity_numbers(self._line(record))

    def _line(self, record: logging.LogRecord) -> str:
        return super().format(record)


class PlainFormatter(_SafeFormatting):
    """Plain text lines; exceptions without their messages."""


class JsonFormatter(_SafeFormatting):
    """One JSON object per line: time, level, logger, message and the record's `fields`."""

    def _line(self, record: logging.LogRecord) -> str:
        """Format a record as JSON."""
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (it may be replaced after start-up)."""

    @property
    def stream(self) -> Any:
        """Return the current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


QUIET_LOGGERS: Final = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg", "psycopg.pool",
                         "uvicorn.access", "httpx", "httpcore")  # fmt: skip


def configure_logging(log_format: str) -> None:
    """Send helsegraf's logs to stderr, as JSON lines (default) or plain text."""
    root = logging.getLogger("helsegraf")
    if getattr(root, "_helsegraf_configured", False):
        return
    handler = _StderrHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else PlainFormatter("%(levelname)s %(name)s %(message)s")
    )
    root.addHandler(handler)
    # Libraries that log statements with their parameters, or request lines with their query strings (a GET
    # request's variables), never log below WARNING.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root.setLevel(logging.INFO)
    root.propagate = False
    root._helsegraf_configured = True  # type: ignore[attr-defined]  # noqa: SLF001


def log_request(fields: dict[str, Any]) -> None:
    """Write the one log line of a request."""
    log.info("request", extra={"fields": fields})


def configure_tracing() -> bool:
    """Switch on OpenTelemetry tracing when HELSEGRAF_OTEL_EXPORTER is `console` or `otlp`; tell whether it is on."""
    exporter_name = os.environ.get("HELSEGRAF_OTEL_EXPORTER", "").strip().lower()
    if exporter_name not in {"console", "otlp"}:
        return False
    try:
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - optional dependency
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter  # noqa: PLC0415
    except ImportError:
        logging.getLogger("helsegraf").warning("tracing needs the otel extra: pip install 'helsegraf[otel]'")
        return False
    if exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        exporter: Any = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT and friends configure it
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "helsegraf")})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return True


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """Open a tracing span (a no-op unless tracing is configured)."""
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current
