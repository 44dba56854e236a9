"""Trusted documents, error masking, metrics, logs, tracing, CORS, security headers, switches."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.mmap_dict import MmapedDict

from conftest import running_server
from helsegraf.config import HttpSettings
from helsegraf.http.observability import JsonFormatter, collect_workers
from helsegraf.http.trusted import ManifestError, TrustedDocuments, document_id
from helsegraf.loaders.base import RowLoader

ALLOWED = 'query Codes { codes(system: "9060") { code } }'


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({document_id(ALLOWED): ALLOWED}))
    return str(path)


async def test_trusted_documents_run_only_the_allow_list(make_graph, manifest) -> None:
    graph = await make_graph(default_token=None, http=HttpSettings(trusted_documents=manifest))
    by_id = await graph.client.post("/graphql", json={"documentId": document_id(ALLOWED)})
    by_get = await graph.client.get("/graphql", params={"documentId": document_id(ALLOWED)})
    by_apollo = await graph.client.post(
        "/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(ALLOWED)[7:]}}}
    )
    same_text = await graph.post(ALLOWED)
    unknown = await graph.client.post("/graphql", json={"documentId": "sha256:" + "0" * 64})
    free_text = await graph.post('{ codes(system: "3402") { code } }')

    for response in (by_id, by_get, by_apollo, same_text):
        assert response.status_code == 200
        assert len(response.json()["data"]["codes"]) > 10
    for response in (unknown, free_text):
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "no trusted document" in unknown.json()["errors"][0]["message"]


def test_a_manifest_entry_that_is_not_its_documents_hash_stops_start_up(make_graph, tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"sha256:" + "1" * 64: ALLOWED}))

    with pytest.raises(ManifestError, match="not the sha256"):
        TrustedDocuments(str(path))


async def test_document_id_without_trusted_documents_is_refused(graph) -> None:
    response = await graph.client.post("/graphql", json={"documentId": document_id(ALLOWED)})

    assert response.status_code == 400
    assert "trusted documents" in response.json()["errors"][0]["message"]


async def test_an_internal_error_shows_a_request_id_and_no_trace(graph, nation, monkeypatch) -> None:
    async def explode(self, keys):
        raise RuntimeError("boom: SELECT secret FROM preg_person")

    monkeypatch.setattr(RowLoader, "batch_load_fn", explode)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("helsegraf.errors").addHandler(handler)
    try:
        response = await graph.post(
            "{ healthPersonnel(hprNumber: 1) { hprNumber } }", **{"x-request-id": "trace-me-123"}
        )
    finally:
        logging.getLogger("helsegraf.errors").removeHandler(handler)

    text = response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "trace-me-123"}
    assert error["message"] == "Internal server error"
    assert "boom" not in text
    assert "SELECT" not in text
    assert "Traceback" not in text
    assert any("trace-me-123" in r.getMessage() and r.exc_info for r in records)


async def test_metrics_expose_requests_latency_statements_batches_and_pools(graph, nation) -> None:
    await graph.query(
        "query PatientGp($nin: ID!) { person(nin: $nin) { gp { contract { id } } } }",
        {"nin": nation.samples["personWithGp"]},
    )

    text = (await graph.client.get("/metrics")).text

    assert 'helsegraf_requests_total{operation="PatientGp",status="200"}' in text
    assert 'helsegraf_request_duration_seconds_bucket{le="0.05",operation="PatientGp",status="200"}' in text
    assert "helsegraf_sql_statements_per_request_count" in text
    assert 'helsegraf_dataloader_batch_size_count{loader="flr_list_membership_by_nin_at"}' in text
    if nation.backend == "postgres":
        assert 'helsegraf_db_pool_connections{database="' in text
        assert 'state="in_use"' in text


PROBE = 'helsegraf_requests_total{operation="MetricsProbe",status="200"}'


def _answered_per_worker(shared: Path) -> dict[str, float]:
    """Read each worker's own count of probe requests from the files the workers share."""
    counts: dict[str, float] = {}
    for path in shared.glob("counter_*.db"):
        for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, _help = json.loads(key)
            if name == "helsegraf_requests_total" and labels.get("operation") == "MetricsProbe" and value:
                counts[path.stem.removeprefix("counter_")] = value
    return counts


def test_metrics_add_up_every_worker(sqlite_nation, tmp_path) -> None:
    """With several workers, whichever answers /metrics reports the requests all of them answered."""
    query = {"query": 'query MetricsProbe { codes(system: "9060") { code } }'}
    sent = 0

    with running_server(sqlite_nation.settings, "--workers", "2", env={"TMPDIR": str(tmp_path)}) as server:
        [shared] = tmp_path.glob("helsegraf-metrics-*")
        # Each request on a new connection; go on until both workers have answered some.
        while sent < 400 and len(_answered_per_worker(shared)) < 2:
            answers = [httpx.post(f"{server.url}/graphql", json=query, timeout=10) for _ in range(20)]
            assert {a.status_code for a in answers} == {200}
            sent += len(answers)
        per_worker = _answered_per_worker(shared)
        scrapes = [httpx.get(f"{server.url}/metrics", timeout=10).text for _ in range(6)]

    assert len(per_worker) == 2, "one worker answered every request"
    assert sum(per_worker.values()) == sent
    for text in scrapes:
        [count] = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(PROBE)]
        assert count == sent
        assert f'helsegraf_request_duration_seconds_count{{operation="MetricsProbe",status="200"}} {sent}.0' in text
    assert not shared.exists(), "the workers' metric files outlived the server"


SET_POOL_GAUGE = """
import sys, time
from helsegraf.http.observability import POOL
POOL.labels("nation", "open").set(float(sys.argv[1]))
print("set", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_killed_workers_pool_gauges_are_dropped(tmp_path) -> None:
    """A worker killed without shutting down leaves its live gauges behind; a scrape drops them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [subprocess.Popen([sys.executable, "-c", SET_POOL_GAUGE, str(n), "60"], env=env, stdout=subprocess.PIPE,
                                text=True) for n in (3, 4)]  # fmt: skip
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "set\n"
        both = collect_workers(str(tmp_path)).decode()
        workers[0].kill()
        workers[0].wait()
        after = collect_workers(str(tmp_path)).decode()
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()

    gauge = 'helsegraf_db_pool_connections{database="nation",state="open"}'
    assert f"{gauge} 7.0" in both
    assert f"{gauge} 4.0" in after
    assert not (tmp_path / f"gauge_livesum_{workers[0].pid}.db").exists()


async def test_request_log_is_json_and_never_personal(graph, nation) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("helsegraf.requests").addHandler(handler)
    nin = nation.samples["personWithGp"]
    try:
        await graph.query("query Who($nin: ID!) { person(nin: $nin) { name { full } } }", {"nin": nin})
    finally:
        logging.getLogger("helsegraf.requests").removeHandler(handler)

    [record] = records
    line = json.loads(JsonFormatter().format(record))
    assert {"requestId", "operation", "status", "durationMs", "sqlStatements", "sqlMs"} <= set(line)
    assert line["operation"] == "Who"
    assert line["status"] == 200
    assert nin not in json.dumps(line)
    assert graph.default_token not in json.dumps(line)


async def test_security_headers_and_no_caching(graph) -> None:
    response = await graph.post("{ __typename }")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_cors_for_configured_origins_only(make_graph) -> None:
    graph = await make_graph(http=HttpSettings(cors_origins=("https://min.helsenorge.example",)))
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }

    allowed = await graph.client.options("/graphql", headers={"origin": "https://min.helsenorge.example", **preflight})
    other = await graph.client.options("/graphql", headers={"origin": "https://evil.example", **preflight})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://min.helsenorge.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


async def test_introspection_and_graphiql_can_be_switched_off(make_graph) -> None:
    graph = await make_graph(http=HttpSettings(introspection=False, graphiql=False))
    on = await make_graph()

    introspection = await graph.post("{ __schema { types { name } } }")
    page = await graph.client.get("/graphql", headers={"accept": "text/html"})
    page_on = await on.client.get("/graphql", headers={"accept": "text/html"})

    assert introspection.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert "text/html" not in page.headers["content-type"]
    assert page_on.headers["content-type"].startswith("text/html")
    assert (await graph.client.get("/graphiql/graphiql-3.8.3.min.js")).status_code == 404


class _Assets(HTMLParser):
    """Collect the (address, integrity) of every script and stylesheet a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        address = named.get("src") if tag == "script" else named.get("href") if tag == "link" else None
        if address and (tag == "script" or named.get("rel") == "stylesheet"):
            self.found.append((address, named.get("integrity")))


async def test_graphiql_loads_every_asset_from_the_server_itself(make_graph) -> None:
    graph = await make_graph()

    page = await graph.client.get("/graphql", headers={"accept": "text/html"})
    parser = _Assets()
    parser.feed(page.text)
    fetched = {address: await graph.client.get(urljoin("http://test/graphql", address)) for address, _ in parser.found}

    assert "unpkg.com" not in page.text
    assert len(parser.found) == 7  # React, ReactDOM, js-cookie, GraphiQL's script and style, the explorer's two
    for address, integrity in parser.found:
        asset = fetched[address]
        assert address.startswith("graphiql/"), address
        assert asset.status_code == 200, address
        # Python's own table says application/javascript, the system's may say text/javascript: both run.
        scripts = {"text/javascript", "application/javascript"}
        assert asset.headers["content-type"].split(";")[0] in ({"text/css"} if address.endswith(".css") else scripts)
        assert "immutable" in asset.headers["cache-control"]
        # The browser checks subresource integrity: the served bytes must hash to the page's value.
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(asset.content).digest()).decode(), address
    missing = await graph.client.get("/graphiql/nothing.js")
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("cache-control", "")


@pytest.fixture(scope="session")
def span_exporter():
    """An in-memory span exporter installed once (OpenTelemetry allows one tracer provider per process)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


async def test_tracing_records_a_span_per_request(graph, span_exporter) -> None:
    exporter = span_exporter
    exporter.clear()

    await graph.query("query Traced { __typename }")

    spans = [s for s in exporter.get_finished_spans() if s.name == "graphql.request"]
    assert spans
    assert spans[-1].attributes["graphql.operation.name"] == "Traced"
    assert spans[-1].attributes["http.response.status_code"] == 200
