"""Options named after Settings fields: every service option reaches Settings, flags kept."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from newsdrop.cli import app
from newsdrop.cli.options import FLAGS, load_settings
from newsdrop.shared.settings import Settings, env_var

SERVICE_COMMANDS = ("ingest", "store", "up")


def options_of(command: str) -> dict[str, Any]:
    """name -> the click option (typer ships its own click: compared by shape, not class)."""
    commands = get_command(app).commands  # type: ignore[attr-defined]
    params = commands[command].params
    return {p.name: p for p in params if p.param_type_name == "option"}


@pytest.mark.parametrize("command", SERVICE_COMMANDS)
def test_service_options_are_settings_fields_with_their_env_var(command: str) -> None:
    options = options_of(command)
    assert options.keys() - {"help"} <= Settings.model_fields.keys()
    for name, option in options.items():
        if name != "help":
            assert option.help is not None and env_var(name) in option.help, name


def test_flags_that_differ_from_the_field_name_are_kept() -> None:
    assert "--host" in options_of("ingest")["http_host"].opts
    assert "--port" in options_of("ingest")["ingest_port"].opts
    assert "--port" in options_of("store")["store_port"].opts
    assert "--batch" in options_of("store")["store_batch"].opts
    assert "--redis-url" in options_of("tail")["redis_url"].opts
    assert FLAGS.keys() <= Settings.model_fields.keys()


def test_enum_options_ignore_case() -> None:
    # DELETE is read as `delete` (then refused by Settings, not by the option parser)
    result = CliRunner().invoke(app, ["ingest", "--log-format", "JSON", "--on-failure", "DELETE"])
    assert result.exit_code == 2
    assert result.stderr.startswith("newsdrop ingest: on_failure: ")


def test_a_name_that_is_no_setting_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="batch"):
        load_settings("store", batch=5)


def test_invalid_values_exit_2_with_one_line_per_problem() -> None:
    with pytest.raises(typer.Exit) as exit_info:
        load_settings("ingest", on_failure="delete", publish_batch=0)
    assert exit_info.value.exit_code == 2
    result = CliRunner().invoke(app, ["ingest", "--on-failure", "delete", "--publish-batch", "0"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("newsdrop ingest: ") for line in lines)
    assert any("never deleted" in line for line in lines)


def test_service_without_redis_url_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("NEWSDROP_REDIS_URL", raising=False)
    for command in ("ingest", "store"):
        result = CliRunner().invoke(app, [command])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"newsdrop {command}: no Redis: set REDIS_URL")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["retract", "--wait", "abc", "https://example.com/a"], "'--wait'"),
        (["tail", "--limit", "0"], "'--limit'"),
        (["get", "--no-such-option", "x"], "--no-such-option"),
    ],
)
def test_a_bad_option_is_one_plain_error_line_naming_it(argv: list[str], named: str) -> None:
    """Click's own errors: exit 2 (like a bad setting), one ``Error:`` line, no rich box."""
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and named in errors[0], result.output
    assert not any(mark in result.output for mark in "╭│╰"), result.output
