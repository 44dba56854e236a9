"""Run helsegraf as Federation 2 subgraphs behind Hive Gateway, on this machine.

One `helsegraf serve --registers <r>` process per register, the subgraphs' SDL composed into a
supergraph with `@theguild/federation-composition` (gateway/compose.mjs), and Hive Gateway
(`@graphql-hive/gateway`, gateway/gateway.config.ts) serving it: it verifies the caller's token
against the same keys as the subgraphs (the development key's public half, or the JWKS), forwards
`Authorization`, `X-Purpose` and `X-Request-Id`, and names an unavailable register.
`helsegraf federation` runs all of it; the tests use the same functions.

Every process is started in a session (process group) of its own and stopped as a group (SIGTERM,
then SIGKILL), so that no subgraph, worker or gateway outlives `helsegraf federation`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from helsegraf.authz.tokens import DEV_AUDIENCE, DEV_ISSUER, AuthSettings, dev_public_jwks
from helsegraf.config import Settings
from helsegraf.registers import REGISTERS

CHECKOUT = Path(__file__).resolve().parents[2]
NODE_MINIMUM = (22, 15)
STOP_SECONDS = 20


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


def gateway_dir() -> Path:
    """Return the folder holding the gateway's npm packages (HELSEGRAF_GATEWAY_DIR, else the checkout's)."""
    return Path(os.environ.get("HELSEGRAF_GATEWAY_DIR") or CHECKOUT / "gateway")


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


def write_gateway_keys(out: Path, settings: Settings) -> Path | None:
    """Write the public keys the gateway verifies tokens with (`jwks.json`); None in production mode.

    In development mode that is the public half of the development signing key (created if missing);
    in production the gateway reads the same HELSEGRAF_AUTH_JWKS_URL or _JWKS_FILE as the subgraphs.
    """
    if settings.auth.mode != "development":
        return None
    out.mkdir(parents=True, exist_ok=True)
    path = out / "jwks.json"
    path.write_text(json.dumps(dev_public_jwks(settings.home), indent=2) + "\n")
    return path


def auth_environment(auth: AuthSettings) -> dict[str, str]:
    """Return the HELSEGRAF_AUTH_* variables that give a subgraph or the gateway these token settings."""
    values = {"MODE": auth.mode, "JWKS_URL": auth.jwks_url, "JWKS_FILE": auth.jwks_file, "ISSUER": auth.issuer,
              "AUDIENCE": auth.audience, "REDACTIONS_AS_ERRORS": "1" if auth.redactions_as_errors else "0",
              "JWKS_MIN_REFETCH_S": str(auth.jwks_min_refetch_s)}  # fmt: skip
    return {f"HELSEGRAF_AUTH_{name}": value for name, value in values.items() if value}


def gateway_environment(settings: Settings, jwks: Path | None, listing: Path) -> dict[str, str]:
    """Return the variables gateway.config.ts reads: where the keys are, the issuer and audience, the subgraphs."""
    env = {"HELSEGRAF_SUBGRAPHS": str(listing), **auth_environment(settings.auth)}
    if jwks is not None:  # development: the key's public half, with the development issuer and audience
        env |= {"HELSEGRAF_GATEWAY_JWKS_FILE": str(jwks), "HELSEGRAF_AUTH_ISSUER": settings.auth.issuer or DEV_ISSUER,
                "HELSEGRAF_AUTH_AUDIENCE": settings.auth.audience or DEV_AUDIENCE}  # fmt: skip
    return env


def node_binary() -> str | None:
    """Return the Node.js to run the gateway with: HELSEGRAF_NODE, tools/node's (npm ci), else `node` on PATH."""
    chosen = os.environ.get("HELSEGRAF_NODE")
    if chosen:
        return chosen
    bundled = CHECKOUT / "tools" / "node" / "node_modules" / ".bin" / "node"
    return str(bundled) if bundled.exists() else shutil.which("node")


def _node_version(node: str) -> tuple[int, int] | None:
    try:
        printed = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"v(\d+)\.(\d+)", printed.strip())
    return (int(found[1]), int(found[2])) if found else None


def node_ready(gateway: Path | None = None) -> str | None:
    """Return why the gateway tooling cannot run here, or None when it can."""
    gateway = gateway or gateway_dir()
    node = node_binary()
    if node is None:
        return "node is not installed (Node 22.15 or newer; `npm ci --prefix tools/node` installs one)"
    version = _node_version(node)
    if version is None or version < NODE_MINIMUM:
        shown = "an unknown version" if version is None else f"{version[0]}.{version[1]}"
        return (f"{node} is Node {shown}; Hive Gateway needs 22.15 or newer "
                "(`npm ci --prefix tools/node` installs one from the npm registry)")  # fmt: skip
    if not (gateway / "node_modules" / "@graphql-hive" / "gateway").is_dir():
        return f"run `npm ci --prefix {gateway}` first"
    return None


def _node_env(env: dict[str, str], node: str) -> dict[str, str]:
    """Put `node` first on PATH, so that npm's `#!/usr/bin/env node` scripts run with it."""
    return {**env, "PATH": f"{Path(node).parent}{os.pathsep}{env.get('PATH', os.defpath)}"}


def compose(listing: Path, supergraph: Path, gateway: Path | None = None) -> None:
    """Compose the supergraph; raise FederationError with the composer's messages on failure."""
    gateway = gateway or gateway_dir()
    node = node_binary()
    if node is None:
        raise FederationError("composition needs Node.js: node is not installed")
    result = subprocess.run([node, str(gateway / "compose.mjs"), str(listing), str(supergraph)],
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


def stop_group(process: subprocess.Popen[bytes], seconds: float = STOP_SECONDS) -> None:
    """Stop a process and everything in its process group: SIGTERM, then SIGKILL after `seconds`."""
    for sig, wait in ((signal.SIGTERM, seconds), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        with suppress(ProcessLookupError):  # the leader is gone; stop any worker it left in the group
            os.killpg(process.pid, signal.SIGKILL)
        break
    process.wait()


def _signal_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)


@contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd,
                                   start_new_session=True)  # fmt: skip
        try:
            yield process
        finally:
            stop_group(process)


@contextmanager
def running(settings: Settings, *, work: Path, gateway_port: int, base_port: int,
            registers: tuple[str, ...] = REGISTERS, env: dict[str, str] | None = None,
            started: dict[str, subprocess.Popen[bytes]] | None = None) -> Iterator[str]:  # fmt: skip
    """Start one subgraph process per register and Hive Gateway; yield the gateway's GraphQL URL.

    Subgraphs listen on `base_port`, `base_port + 1`, ...; with `base_port` 0 each gets a free port.
    `started`, when given, receives each process by register name (and "gateway").
    """
    started = {} if started is None else started
    gateway = gateway_dir()
    node = node_binary()
    if node is None:
        raise FederationError("Hive Gateway needs Node.js: node is not installed")
    ports = [base_port + i for i in range(len(registers))] if base_port else [free_port() for _ in registers]
    subgraphs = [Subgraph(name, port) for name, port in zip(registers, ports, strict=True)]
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **auth_environment(settings.auth), "HELSEGRAF_HOME": str(settings.home),
                   "HELSEGRAF_LOG_FORMAT": "plain", **(env or {})}  # fmt: skip
    for key, url in settings.register_urls.items():
        environment[f"HELSEGRAF_{key.upper()}_DATABASE_URL"] = url
    with ExitStack() as stack:
        for subgraph in subgraphs:
            database = settings.effective_database_url
            command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", database,
                       "--registers", subgraph.name, "--port", str(subgraph.port)]  # fmt: skip
            started[subgraph.name] = stack.enter_context(_process(command, environment, work / f"{subgraph.name}.log"))
        for subgraph in subgraphs:  # they start side by side; wait for each
            _wait(f"http://127.0.0.1:{subgraph.port}/healthz", started[subgraph.name], f"subgraph {subgraph.name}")
        listing = write_subgraphs(work, subgraphs)
        supergraph = work / "supergraph.graphql"
        compose(listing, supergraph, gateway)
        keys = write_gateway_keys(work, settings)
        hive = [str(gateway / "node_modules" / ".bin" / "hive-gateway"), "supergraph", str(supergraph),
                "--port", str(gateway_port), "--host", "127.0.0.1"]  # fmt: skip
        gateway_env = {**_node_env(environment, node), "HELSEGRAF_SUPERGRAPH": str(supergraph),
                       **gateway_environment(settings, keys, listing)}  # fmt: skip
        started["gateway"] = stack.enter_context(_process(hive, gateway_env, work / "gateway.log", cwd=gateway))
        _wait(f"http://127.0.0.1:{gateway_port}/readiness", started["gateway"], "Hive Gateway")
        stack.callback(_signal_all, started)  # runs first on the way out: every process stops side by side
        yield f"http://127.0.0.1:{gateway_port}/graphql"
