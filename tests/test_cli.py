"""The command line as a newcomer meets it: one home for key and database, clear errors, honest help."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import free_port, running_server, token
from helsegraf.config import HttpSettings, Settings, legacy_home_notice

README = Path(__file__).parents[1] / "README.md"


def helsegraf(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "helsegraf.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def _env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user whose home folder is `home`, with no HELSEGRAF_HOME set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELSEGRAF_")}
    return {**env, "HOME": str(home), "COLUMNS": "200", **extra}


def test_a_token_minted_in_one_folder_is_accepted_by_a_server_started_in_another(sqlite_nation, tmp_path) -> None:
    user_home, here, there = tmp_path / "user", tmp_path / "here", tmp_path / "there"
    for folder in (user_home, here, there):
        folder.mkdir()
    minted = helsegraf("token", "--role", "admin", cwd=here, env=_env(user_home))
    port = free_port()
    command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url",
               sqlite_nation.settings.effective_database_url, "--port", str(port)]  # fmt: skip
    with (there / "serve.log").open("w") as log:
        server = subprocess.Popen(command, cwd=there, env=_env(user_home), stdout=log, stderr=subprocess.STDOUT)
    try:
        body = _query_when_up(port, minted.stdout.strip(), sqlite_nation.samples["personWithGp"])
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert minted.returncode == 0, minted.stderr
    assert (user_home / ".helsegraf" / "dev-signing-key.pem").stat().st_mode & 0o777 == 0o600
    assert not (here / ".helsegraf").exists()
    assert not (there / ".helsegraf").exists()
    assert body["data"]["person"]["name"]["full"], body


def _query_when_up(port: int, bearer: str, nin: str) -> dict:
    import time  # noqa: PLC0415

    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.25)
    response = httpx.post(f"{url}/graphql", json={"query": f'{{ person(nin: "{nin}") {{ name {{ full }} }} }}'},
                          headers={"authorization": f"Bearer {bearer}"}, timeout=30)  # fmt: skip
    return response.json()


def test_an_old_dot_helsegraf_in_the_current_folder_is_pointed_out_and_left_alone(tmp_path) -> None:
    user_home, project = tmp_path / "user", tmp_path / "project"
    (project / ".helsegraf").mkdir(parents=True)
    (project / ".helsegraf" / "helsegraf.db").write_bytes(b"")

    minted = helsegraf("token", "--role", "admin", cwd=project, env=_env(user_home))
    chosen = helsegraf("token", "--role", "admin", cwd=project,
                       env=_env(user_home, HELSEGRAF_HOME=str(project / ".helsegraf")))  # fmt: skip

    assert minted.returncode == 0
    assert "older helsegraf" in minted.stderr
    assert f"export HELSEGRAF_HOME={project / '.helsegraf'}" in " ".join(minted.stderr.split())
    assert (user_home / ".helsegraf" / "dev-signing-key.pem").exists()
    assert (project / ".helsegraf" / "helsegraf.db").exists()  # nothing moved or deleted
    assert "older helsegraf" not in chosen.stderr
    assert (project / ".helsegraf" / "dev-signing-key.pem").exists()


def test_helsegraf_home_defaults_to_the_users_home_and_expands_a_tilde(tmp_path) -> None:
    assert Settings.from_env({}).home == Path.home() / ".helsegraf"
    assert Settings.from_env({"HELSEGRAF_HOME": "~/elsewhere"}).home == Path.home() / "elsewhere"
    assert Settings.from_env({"HELSEGRAF_HOME": str(tmp_path)}).effective_database_url == (
        f"sqlite:///{tmp_path / 'helsegraf.db'}"
    )
    assert legacy_home_notice({"HELSEGRAF_HOME": str(tmp_path)}, cwd=tmp_path) is None


def test_a_statement_timeout_of_zero_turns_it_off_and_a_negative_one_is_refused() -> None:
    assert HttpSettings.from_env({"HELSEGRAF_STATEMENT_TIMEOUT_MS": "0"}).statement_timeout_ms == 0
    with pytest.raises(ValueError, match="0 \\(off\\) or more"):
        HttpSettings.from_env({"HELSEGRAF_STATEMENT_TIMEOUT_MS": "-1"})
    with pytest.raises(ValueError, match="positive"):
        HttpSettings.from_env({"HELSEGRAF_MAX_TOKENS": "0"})


def test_serve_with_the_statement_timeout_off_answers(nation) -> None:
    with running_server(nation.settings, env={"HELSEGRAF_STATEMENT_TIMEOUT_MS": "0"}) as server:
        query = f'{{ person(nin: "{nation.samples["personWithGp"]}") {{ nin }} }}'
        response = httpx.post(f"{server.url}/graphql", headers={"authorization": f"Bearer {token(nation)}"},
                              json={"query": query})  # fmt: skip

    assert response.status_code == 200
    assert response.json()["data"]["person"]["nin"] == nation.samples["personWithGp"]


def test_serve_on_a_busy_port_says_so_and_never_says_serving(sqlite_nation, tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = helsegraf("serve", "--database-url", sqlite_nation.settings.effective_database_url, "--port",
                           str(port), cwd=tmp_path, env=_env(tmp_path))  # fmt: skip

    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "serving" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("serve", "--database-url", "mysql://root@localhost/db"), {}),
        (("sample",), {"HELSEGRAF_DATABASE_URL": "mysql://root:secret@localhost/db"}),
        (("seed", "--persons", "10"), {"HELSEGRAF_FLR_DATABASE_URL": "oracle://x"}),
        (("serve",), {"HELSEGRAF_MAX_TOKENS": "many"}),
        (("token", "--role", "admin"), {"HELSEGRAF_AUTH_MODE": "sometimes"}),
    ],
)
def test_an_unusable_setting_is_one_clear_line_not_a_traceback(tmp_path, args, extra) -> None:
    result = helsegraf(*args, cwd=tmp_path, env=_env(tmp_path, **extra))

    assert result.returncode == 2
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def test_help_says_what_the_commands_take(tmp_path) -> None:
    seed_help = helsegraf("seed", "--help", cwd=tmp_path, env=_env(tmp_path)).stdout
    subgraphs_help = " ".join(helsegraf("subgraphs", "--help", cwd=tmp_path, env=_env(tmp_path)).stdout.split())
    reset = next(line for line in seed_help.splitlines() if "--reset" in line)

    assert "<bool>" not in reset
    assert "subgraphs/<register>.graphql" in subgraphs_help.replace("│ ", "").replace(" │", "")
    assert helsegraf("seed", "--reset", "true", cwd=tmp_path, env=_env(tmp_path)).returncode == 2


def test_the_readme_documents_every_option_of_the_commands_it_lists() -> None:
    commands = README.read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]

    for option in ("demo [--host", "--persons N", "federation [--port 4000] [--base-port 4101] [--work DIR]",
                   "--subject", "--database-url URL"):  # fmt: skip
        assert option in commands, option


async def test_access_log_times_carry_their_time_zone_on_every_backend(graph, nation) -> None:
    citizen = token(nation, "citizen", pid=nation.samples["personWithGp"])
    await graph.query("{ me { name { full } } }", token=citizen)

    body = await graph.query("{ me { accessLog(first: 1) { edges { node { at } } } } }", token=citizen)

    at = body["data"]["me"]["accessLog"]["edges"][0]["node"]["at"]
    assert at.endswith(("+00:00", "Z")), at
