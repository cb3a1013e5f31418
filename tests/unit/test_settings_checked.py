"""Every setting is checked at start: a bad value is one line naming it and exit 2, in every
command that reads settings (up included), by environment variable or command-line option;
settings that relate to the machine (folders, ports) or to each other are checked before
anything starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from newsdrop.cli import app
from newsdrop.shared.settings import Settings, env_var

# One bad value per setting (a new setting must get one here, or a reason in NO_BAD_VALUE).
BAD: dict[str, str] = {
    "redis_url": "localhost:6379",
    "prefix": "a b",
    "log_level": "verbose",
    "log_format": "xml",
    "state_dir": "",
    "http_host": "",
    "graceful_timeout": "inf",
    "partitions": "0",
    "wait_replicas": "-1",
    "wait_timeout_ms": "0",
    "instance_name": "a:b",
    "max_file_bytes": "0",
    "inbox": "",
    "settle_seconds": "-1",
    "rescan_seconds": "nan",
    "include": "",
    "on_success": "archive",
    "on_failure": "delete",
    "move_dir": " ",
    "publish_batch": "0",
    "parse_workers": "-1",
    "ingest_port": "70000",
    "consumer_name": "",
    "store_batch": "0",
    "claim_idle_seconds": "0",
    "max_deliveries": "0",
    "rejected_maxlen": "0",
    "store_port": "-1",
    "trim_seconds": "-1",
    "max_future_seconds": "-1",
    "tombstone_retention_seconds": "0",
    "on_delete": "purge",
    "exclude": "tmp/*.md",
    "watch": "maybe",
}
NO_BAD_VALUE = {"volatile_fields": "any comma-separated list of field names is valid"}
COMMANDS = (["ingest"], ["store"], ["up"], ["tail"], ["get", "x"], ["stats"], ["streams"], ["url"])


def test_every_setting_has_a_bad_value_here() -> None:
    assert BAD.keys() | NO_BAD_VALUE.keys() == Settings.model_fields.keys()
    assert not BAD.keys() & NO_BAD_VALUE.keys()


def assert_one_line_naming(result: object, command: str, *names: str) -> None:
    exit_code = getattr(result, "exit_code")  # noqa: B009 - typer's Result, typed loosely
    stderr: str = getattr(result, "stderr")  # noqa: B009
    assert exit_code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"newsdrop {command}: "), lines[0]
    assert any(name in lines[0] for name in names), lines[0]
    assert "Traceback" not in getattr(result, "output")  # noqa: B009


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_environment_value_is_one_line_and_exit_2(name: str, command: list[str]) -> None:
    result = CliRunner().invoke(app, command, env={env_var(name): BAD[name]})
    assert_one_line_naming(result, command[0], name, env_var(name))


def options_of(command: str) -> dict[str, list[str]]:
    params = get_command(app).commands[command].params  # type: ignore[attr-defined]
    return {p.name: p.opts for p in params if p.param_type_name == "option"}


OPTIONS = [
    (command, name)
    for command in ("ingest", "store", "up", "tail", "stats", "streams")
    for name in sorted(options_of(command))
    # (a blank path typed as an option arrives as Path("."), the current folder: a folder)
    if name in BAD and BAD[name].strip()
]


@pytest.mark.parametrize(("command", "name"), OPTIONS)
def test_a_bad_option_value_exits_2_naming_it(command: str, name: str) -> None:
    flag = options_of(command)[name][0]
    result = CliRunner().invoke(app, [command, flag, BAD[name]])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    if name in ("on_success", "log_format"):  # an enum: the option parser names the flag
        assert flag in result.stderr
    else:
        assert_one_line_naming(result, command, name, env_var(name))


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def run(command: str, env: dict[str, str], *args: str) -> object:
    base = {"REDIS_URL": "redis://127.0.0.1:1/0", "NEWSDROP_INGEST_PORT": "0"}
    return CliRunner().invoke(
        app, [command, *args], env={**base, "NEWSDROP_STORE_PORT": "0", **env}
    )


@pytest.mark.parametrize("command", ["ingest", "up"])
def test_an_inbox_that_is_a_file_is_refused(command: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run(command, {}, "--inbox", str(tmp_path / "file"))
    assert_one_line_naming(result, command, "is a file, not a folder")
    result = run(command, {}, "--inbox", str(tmp_path / "file" / "inbox"))
    assert_one_line_naming(result, command, "cannot be created")
    assert "NEWSDROP_INBOX" in result.stderr


@pytest.mark.parametrize("command", ["ingest", "up"])
@pytest.mark.parametrize(
    ("action", "move_dir"),
    [
        ("NEWSDROP_ON_SUCCESS", "inbox/done"),  # the reported loop: done/processed/done/...
        ("NEWSDROP_ON_FAILURE", "inbox/done"),
        ("NEWSDROP_ON_SUCCESS", "inbox"),  # the inbox itself
        ("NEWSDROP_ON_SUCCESS", "."),  # processed/ would be the inbox
    ],
)
def test_a_move_folder_the_watcher_sees_is_refused(
    command: str, action: str, move_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inbox = "processed" if move_dir == "." else "inbox"
    env = {action: "move", "NEWSDROP_MOVE_DIR": move_dir, "NEWSDROP_INBOX": inbox}
    result = run(command, env)
    assert_one_line_naming(result, command, "NEWSDROP_MOVE_DIR")
    assert "ingested again" in result.stderr


def test_a_hidden_move_folder_inside_the_inbox_and_keep_are_accepted(tmp_path: Path) -> None:
    from newsdrop.shared.start_checks import move_problems

    inbox = tmp_path / "inbox"
    for move_dir in (None, inbox / ".done", tmp_path / "done"):
        settings = Settings(inbox=inbox, move_dir=move_dir, on_success="move", on_failure="move")
        assert move_problems(settings) == []
    assert move_problems(Settings(inbox=inbox, move_dir=inbox)) == []  # nothing is moved


def test_a_move_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "done").write_text("x")
    env = {"NEWSDROP_ON_SUCCESS": "move", "NEWSDROP_MOVE_DIR": str(tmp_path / "done")}
    result = run("ingest", env, "--inbox", str(tmp_path / "inbox"))
    assert_one_line_naming(result, "ingest", "NEWSDROP_MOVE_DIR")
    assert "is a file" in result.stderr


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        ("ingest", "NEWSDROP_INGEST_PORT"),
        ("store", "NEWSDROP_STORE_PORT"),
        ("up", "NEWSDROP_INGEST_PORT"),
        ("up", "NEWSDROP_STORE_PORT"),
    ],
)
def test_a_port_in_use_is_one_line_naming_the_setting(
    command: str, variable: str, taken_port: int, tmp_path: Path
) -> None:
    result = run(
        command, {variable: str(taken_port)}, *(["--inbox", str(tmp_path)] * (command != "store"))
    )
    assert_one_line_naming(result, command, f"{variable}={taken_port}")
    assert "in use" in result.stderr
    assert "newsdrop is up." not in result.output  # refused before anything started


def test_up_refuses_one_port_for_both_services_and_a_state_folder_that_is_a_file(
    tmp_path: Path,
) -> None:
    result = run("up", {"NEWSDROP_INGEST_PORT": "18089", "NEWSDROP_STORE_PORT": "18089"})
    assert_one_line_naming(result, "up", "both 18089")
    (tmp_path / "state").write_text("x")
    env = {"REDIS_URL": ""}  # unset: the embedded server would keep its data there
    result = run("up", env, "--state-dir", str(tmp_path / "state"), "--inbox", str(tmp_path))
    assert_one_line_naming(result, "up", "NEWSDROP_STATE_DIR")


def test_an_http_host_that_is_no_address_here_is_refused() -> None:
    result = run("store", {"NEWSDROP_HTTP_HOST": "no-such-host.invalid"})
    assert_one_line_naming(result, "store", "NEWSDROP_HTTP_HOST")


def test_url_prints_redis_url_or_the_running_ups_and_exits_1_without(tmp_path: Path) -> None:
    from newsdrop.shared.state import write_state_url

    state = tmp_path / "state"
    missing = CliRunner().invoke(app, ["url", "--state-dir", str(state)], env={"REDIS_URL": ""})
    assert missing.exit_code == 1 and "no Redis" in missing.stderr and not missing.stdout
    state.mkdir()
    write_state_url(state, "redis://127.0.0.1:40123/0")
    found = CliRunner().invoke(app, ["url", "--state-dir", str(state)], env={"REDIS_URL": ""})
    assert (found.exit_code, found.stdout) == (0, "redis://127.0.0.1:40123/0\n")
    given = CliRunner().invoke(
        app, ["url", "--state-dir", str(state)], env={"REDIS_URL": "redis://h:1/2"}
    )
    assert (given.exit_code, given.stdout) == (0, "redis://h:1/2\n")
