"""The scale-out settings: partitions, WAIT, instance name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from newsdrop.shared.settings import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PARTITIONS", "WAIT_REPLICAS", "WAIT_TIMEOUT_MS", "INSTANCE"):
        monkeypatch.delenv(f"NEWSDROP_{name}", raising=False)
    settings = Settings()
    assert settings.partitions == 1
    assert settings.wait_replicas == 0
    assert settings.wait_timeout_ms == 1000
    assert settings.instance_name is None  # unset: today's ledger key name


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDROP_PARTITIONS", "8")
    monkeypatch.setenv("NEWSDROP_WAIT_REPLICAS", "1")
    monkeypatch.setenv("NEWSDROP_WAIT_TIMEOUT_MS", "250")
    monkeypatch.setenv("NEWSDROP_INSTANCE", "ingest-a")
    settings = Settings()
    assert (settings.partitions, settings.wait_replicas, settings.wait_timeout_ms) == (8, 1, 250)
    assert settings.instance_name == "ingest-a"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("partitions", 0),
        ("partitions", 1025),
        ("wait_replicas", -1),
        ("wait_timeout_ms", 0),
        ("instance_name", ""),
        ("instance_name", "a b"),
        ("instance_name", "a{b}"),
        ("instance_name", "host:1"),
        ("instance_name", "tab\there"),
    ],
)
def test_invalid_values_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})
