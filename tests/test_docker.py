"""docker/: the compose file runs one subgraph per register behind the gateway, valid where a client can check it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import create_postgres_database, drop_postgres_database, require_postgres
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


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_the_seed_job_ends_without_a_health_check_and_keeps_the_key_private() -> None:
    seed = _compose()["services"]["seed"]
    command = seed["command"][0]

    assert seed["healthcheck"] == {"disable": True}
    assert "user" not in seed  # the image's own user, which owns /keys
    assert "chmod" not in command
    assert "a+r" not in command
    assert seed["restart"] == "no"


def test_postgres_is_health_checked_over_tcp() -> None:
    check = " ".join(_compose()["services"]["postgres"]["healthcheck"]["test"])

    assert "pg_isready -h 127.0.0.1 -p 5432" in check


def test_the_images_install_from_locked_versions_and_the_build_context_leaves_the_checkout_out() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    ignored = set((DOCKER.parent / ".dockerignore").read_text().split())

    assert "-c /tmp/constraints.txt" in dockerfile
    assert "COPY constraints.txt" in dockerfile
    assert "npm ci" in (DOCKER / "Dockerfile.gateway").read_text()
    assert {".git", ".venv", "**/node_modules", ".helsegraf", "bench/results"} <= ignored
    assert "chmod 700 /keys" in dockerfile


def test_constraints_pin_every_dependency_exactly() -> None:
    pins = dict(
        line.split("==", 1)
        for line in (DOCKER.parent / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )

    assert pins["strawberry-graphql"]
    assert pins["graphql-core"]
    assert "httpx" in pins
    pyproject = (DOCKER.parent / "pyproject.toml").read_text()
    assert f'"strawberry-graphql=={pins["strawberry-graphql"]}"' in pyproject
    assert f'"graphql-core=={pins["graphql-core"]}"' in pyproject


@pytest.fixture(scope="session")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with helsegraf installed without extras, as the Docker image and the README's plain install have it.

    `.ci/run` builds one and names it in HELSEGRAF_RUNTIME_VENV; otherwise it is built here (a minute).
    """
    given = os.environ.get("HELSEGRAF_RUNTIME_VENV")
    if given:
        return Path(given)
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    root = DOCKER.parent
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-c", str(root / "constraints.txt"), str(root)],
                   check=True, capture_output=True)  # fmt: skip
    return venv


def test_the_runtime_install_has_no_test_or_dev_packages(runtime_venv: Path) -> None:
    result = subprocess.run([str(runtime_venv / "bin" / "python"), "-c", "import pytest"], capture_output=True,
                            check=False)  # fmt: skip

    assert result.returncode != 0  # pytest is not there: what runs here needs only the runtime dependencies


@pytest.mark.postgres
def test_the_seed_jobs_exact_commands_run_from_a_runtime_only_install(runtime_venv: Path, tmp_path: Path) -> None:
    require_postgres()
    seed = _compose()["services"]["seed"]
    script = seed["command"][0].replace("$$", "$").replace("/subgraphs", str(tmp_path / "subgraphs"))
    url = create_postgres_database("helsegraf_docker_seed")
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    env = {"PATH": f"{runtime_venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
           **{k: v for k, v in seed["environment"].items() if k != "HELSEGRAF_DATABASE_URL"},
           "HELSEGRAF_DATABASE_URL": url, "HELSEGRAF_HOME": str(keys), "HELSEGRAF_SEED_PERSONS": "300"}  # fmt: skip
    try:
        shell = ["/bin/sh", "-c", script]
        first = subprocess.run(shell, env=env, capture_output=True, text=True, check=False, timeout=600)
        again = subprocess.run(shell, env=env, capture_output=True, text=True, check=False, timeout=600)
    finally:
        drop_postgres_database(url)

    assert first.returncode == 0, first.stderr[-3000:]
    assert again.returncode == 0, again.stderr[-3000:]  # a populated database is left alone
    assert "Seeded 300 persons" in first.stderr
    assert "Seeded" not in again.stderr
    assert (keys / "dev-signing-key.pem").stat().st_mode & 0o777 == 0o600
    listing = tmp_path / "subgraphs" / "subgraphs.json"
    assert {e["name"] for e in json.loads(listing.read_text())} == set(REGISTERS)
    assert all((tmp_path / "subgraphs" / "subgraphs" / f"{r}.graphql").stat().st_size for r in REGISTERS)
    jwks = json.loads((tmp_path / "subgraphs" / "jwks.json").read_text())
    assert "d" not in jwks["keys"][0]  # the public half only
