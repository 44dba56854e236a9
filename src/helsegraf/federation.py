"""Run helsegraf as Federation 2 subgraphs behind Hive Gateway, on this machine.

One `helsegraf serve --registers <r>` process per register, the subgraphs' SDL composed into a
supergraph with `@theguild/federation-composition` (gateway/compose.mjs), and Hive Gateway
(`@graphql-hive/gateway`, gateway/gateway.config.ts) serving it and forwarding the caller's
`Authorization` and `X-Purpose` headers. `helsegraf federation` runs all of it; the tests use the
same functions.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from helsegraf.config import Settings
from helsegraf.registers import REGISTERS

GATEWAY_DIR = Path(__file__).resolve().parents[2] / "gateway"


class FederationError(RuntimeError):
    """A subgraph, the composition or the gateway could not be brought up."""


@dataclass(frozen=True)
class Subgraph:
    """A register served as a subgraph."""

    name: str
    port: int
    address: str | None = None

    @property
    def url(self) -> str:
        """Return the subgraph's GraphQL URL (on loopback at its port, unless given)."""
        return self.address or f"http://127.0.0.1:{self.port}/graphql"


def free_port() -> int:
    """Return a loopback TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_subgraphs(out: Path, subgraphs: list[Subgraph]) -> Path:
    """Write each subgraph's SDL and the list compose.mjs reads; return the list's path."""
    from helsegraf.schema import build_schema  # noqa: PLC0415 - building schemas is slow; only here

    folder = out / "subgraphs"
    folder.mkdir(parents=True, exist_ok=True)
    for subgraph in subgraphs:
        (folder / f"{subgraph.name}.graphql").write_text(build_schema([subgraph.name]).as_str() + "\n")
    listing = out / "subgraphs.json"
    entries = [{"name": s.name, "sdl": f"subgraphs/{s.name}.graphql", "url": s.url} for s in subgraphs]
    listing.write_text(json.dumps(entries, indent=2) + "\n")
    return listing


def node_ready(gateway_dir: Path = GATEWAY_DIR) -> str | None:
    """Return why the gateway tooling cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (gateway_dir / "node_modules" / "@graphql-hive" / "gateway").is_dir():
        return f"run `npm ci --prefix {gateway_dir}` first"
    return None


def compose(listing: Path, supergraph: Path, gateway_dir: Path = GATEWAY_DIR) -> None:
    """Compose the supergraph; raise FederationError with the composer's messages on failure."""
    node = shutil.which("node")
    if node is None:
        raise FederationError("composition needs Node.js: node is not installed")
    result = subprocess.run([node, str(gateway_dir / "compose.mjs"), str(listing), str(supergraph)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise FederationError(f"composition failed:\n{result.stderr}")


def _wait(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FederationError(f"{what} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise FederationError(f"{what} did not answer {url} within {seconds:.0f} s")


@contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path, *, ready: str, what: str, cwd: Path | None = None
) -> Iterator[None]:
    with log.open("w") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            _wait(ready, process, what)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running(settings: Settings, *, work: Path, gateway_port: int, base_port: int,
            registers: tuple[str, ...] = REGISTERS, env: dict[str, str] | None = None) -> Iterator[str]:  # fmt: skip
    """Start one subgraph process per register and Hive Gateway; yield the gateway's GraphQL URL.

    Subgraphs listen on `base_port`, `base_port + 1`, ...; with `base_port` 0 each gets a free port.
    """
    ports = [base_port + i for i in range(len(registers))] if base_port else [free_port() for _ in registers]
    subgraphs = [Subgraph(name, port) for name, port in zip(registers, ports, strict=True)]
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "HELSEGRAF_HOME": str(settings.home), "HELSEGRAF_LOG_FORMAT": "plain", **(env or {})}
    for key, url in settings.register_urls.items():
        environment[f"HELSEGRAF_{key.upper()}_DATABASE_URL"] = url
    with ExitStack() as stack:
        for subgraph in subgraphs:
            database = settings.effective_database_url
            command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", database,
                       "--registers", subgraph.name, "--port", str(subgraph.port)]  # fmt: skip
            log = work / f"{subgraph.name}.log"
            ready = f"http://127.0.0.1:{subgraph.port}/healthz"
            stack.enter_context(_process(command, environment, log, ready=ready, what=f"subgraph {subgraph.name}"))
        listing = write_subgraphs(work, subgraphs)
        supergraph = work / "supergraph.graphql"
        compose(listing, supergraph)
        gateway = [str(GATEWAY_DIR / "node_modules" / ".bin" / "hive-gateway"), "supergraph", str(supergraph),
                   "--port", str(gateway_port), "--host", "127.0.0.1"]  # fmt: skip
        stack.enter_context(_process(gateway, {**environment, "HELSEGRAF_SUPERGRAPH": str(supergraph)},
                                     work / "gateway.log", ready=f"http://127.0.0.1:{gateway_port}/readiness",
                                     what="Hive Gateway", cwd=GATEWAY_DIR))  # fmt: skip
        yield f"http://127.0.0.1:{gateway_port}/graphql"
