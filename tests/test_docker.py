"""docker/: the compose file runs one subgraph per register behind the gateway, valid where a client can check it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helsegraf.registers import REGISTERS

DOCKER = Path(__file__).parents[1] / "docker"


def test_compose_has_postgres_a_seed_job_a_subgraph_per_register_and_the_gateway() -> None:
    services = set(re.findall(r"^  ([a-z-]+):$", (DOCKER / "compose.yaml").read_text(), re.MULTILINE))

    assert {"postgres", "seed", "gateway"} | {f"subgraph-{r}" for r in REGISTERS} <= services
    assert "--registers" in (DOCKER / "compose.yaml").read_text()
    assert "HEALTHCHECK" in (DOCKER / "Dockerfile").read_text()
    assert "HEALTHCHECK" in (DOCKER / "Dockerfile.gateway").read_text()


def test_compose_file_is_valid() -> None:
    client = shutil.which("docker-compose")
    if client is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI needs docker-compose to validate docker/compose.yaml (.ci/run installs it)")
        pytest.skip("no docker-compose client to validate with (no Docker engine is needed for `config`)")

    result = subprocess.run(
        [client, "-f", str(DOCKER / "compose.yaml"), "config", "--quiet"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
