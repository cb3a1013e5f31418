from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import logging
from newsdrop.shared.logging import configure_logging, get_logger
from newsdrop.shared.settings import LogFormat
configure_logging("ingest", "INFO", LogFormat.JSON)
get_logger("newsdrop.ingest.accounting").info("file_published", path="a/b.md", id="abc")
get_logger().debug("hidden")
logging.getLogger("faststream").warning("from stdlib")
"""


def test_json_lines_carry_service_and_context() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["event"] == "file_published"
    assert (first["service"], first["path"], first["id"], first["level"]) == (
        "ingest",
        "a/b.md",
        "abc",
        "info",
    )
    assert "timestamp" in first
    assert first["logger"] == "newsdrop.ingest.accounting"  # logger names are kept
    assert second["service"] == "ingest"
    assert second["event"] == "from stdlib"
    assert second["level"] == "warning"
    assert second["logger"] == "faststream"
    assert result.stdout == ""


def test_no_print_statements_in_product_code() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path)
        for folder in ("services", "shared")
        for path in (root / folder).rglob("*.py")
        if "print(" in path.read_text()
    ]
    assert offenders == []
