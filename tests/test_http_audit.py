"""The graphql-http audit suite (GraphQL over HTTP) against a live `helsegraf serve`: no errors, no warnings."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import running_server

AUDIT = Path(__file__).parents[1] / "tools" / "graphql-http-audit"


def _node_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (AUDIT / "node_modules" / "graphql-http").is_dir():
        where = AUDIT.relative_to(Path.cwd()) if AUDIT.is_relative_to(Path.cwd()) else AUDIT
        return f"run `npm ci --prefix {where}` first"
    return None


def test_graphql_http_audit_passes_without_errors_or_warnings(sqlite_nation) -> None:
    missing = _node_ready()
    if missing is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the graphql-http audit must run under CI=true: {missing}")
        pytest.skip(missing)

    with running_server(sqlite_nation.settings) as server:
        command = [shutil.which("node") or "node", str(AUDIT / "audit.mjs"), f"{server.url}/graphql"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error (MUST), 0 warn (SHOULD)" in result.stdout, result.stdout
