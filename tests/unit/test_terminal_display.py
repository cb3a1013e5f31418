"""The terminal display's rules: metrics text -> a reading, two readings -> a line."""

from __future__ import annotations

import orjson
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from newsdrop.terminal_display import (
    Reading,
    backfill_figures,
    backfill_text,
    scrape_host,
    shown_line,
    summary_text,
)


def ingest_text(found: int, processed: int, done: int, published: int, rejected: int) -> str:
    """The exposition text of the ingest metrics the display reads (prometheus_client)."""
    registry = CollectorRegistry()
    Gauge("newsdrop_ingest_backfill_found_files", "", registry=registry).set(found)
    Gauge("newsdrop_ingest_backfill_processed_files", "", registry=registry).set(processed)
    Gauge("newsdrop_ingest_backfill_done", "", registry=registry).set(done)
    Counter("newsdrop_ingest_files_published", "", registry=registry).inc(published)
    rejected_by = Counter("newsdrop_ingest_files_rejected", "", ["reason"], registry=registry)
    rejected_by.labels("yaml_error").inc(rejected)
    rejected_by.labels("too_large").inc(1)
    Counter("newsdrop_ingest_files_unchanged", "", registry=registry).inc(2)
    return generate_latest(registry).decode()


def store_text(applied: int, lag: int) -> str:
    registry = CollectorRegistry()
    versions = Counter("newsdrop_store_versions", "", ["outcome"], registry=registry)
    versions.labels("applied").inc(applied)
    versions.labels("stale").inc(7)
    Gauge("newsdrop_store_group_lag_entries", "", registry=registry).set(lag)
    return generate_latest(registry).decode()


def test_a_reading_takes_the_counters_summed_over_labels() -> None:
    reading = Reading.of(1.0, ingest_text(100, 40, 0, 30, 5), store_text(28, 2))
    assert (reading.found, reading.processed, reading.backfill_done) == (100, 40, False)
    assert (reading.published, reading.rejected, reading.unchanged) == (30, 6, 2)
    assert (reading.applied, reading.lag) == (28, 2)


def test_a_service_that_does_not_answer_is_unknown_not_zero() -> None:
    reading = Reading.of(1.0, None, None)
    assert reading.found is None and reading.applied is None
    assert summary_text(reading) == "live  ingest starting  |  store starting"
    answered = frozenset({"ingest", "store"})
    assert summary_text(reading, answered) == "live  ingest not answering  |  store not answering"


def test_backfill_rate_and_eta_from_the_first_reading() -> None:
    first = Reading.of(10.0, ingest_text(1000, 100, 0, 90, 10), None)
    now = Reading.of(12.0, ingest_text(1000, 500, 0, 480, 20), None)
    figures = backfill_figures(first, now)
    assert (figures.done, figures.total, figures.rate, figures.eta_seconds) == (500, 1000, 200, 2.5)
    line = backfill_text(figures, now)
    assert line.startswith("backfill 500/1,000  published 480  rejected 21")
    assert line.endswith("200 files/s  ETA 2 s")  # 2.5 s, rounded half to even


def test_no_rate_before_time_passes_and_total_never_below_done() -> None:
    first = Reading.of(10.0, ingest_text(5, 8, 0, 8, 0), None)  # the walk lags the count
    figures = backfill_figures(first, first)
    assert (figures.total, figures.rate, figures.eta_seconds) == (8, None, None)
    assert backfill_text(figures, first).endswith("-  ETA -")


def test_the_summary_line_after_the_backfill() -> None:
    reading = Reading.of(1.0, ingest_text(163, 163, 1, 155, 8), store_text(155, 0))
    assert summary_text(reading) == (
        "live  published 155  rejected 9  unchanged 2  |  store applied 155  lag 0"
    )


def line(**record: object) -> bytes:
    return orjson.dumps(record) + b"\n"


@pytest.mark.parametrize("level", ["warning", "error", "critical"])
def test_warnings_and_errors_are_shown_short(level: str) -> None:
    raw = line(
        event="file_rejected",
        path="a.md",
        reason="yaml_error",
        service="ingest",
        level=level,
        timestamp="2026-12-03T10:00:00Z",
        logger="newsdrop.ingest.accounting",
    )
    assert shown_line(raw) == f"ingest {level} file_rejected path=a.md reason=yaml_error"


def test_info_lines_only_go_to_the_log_file() -> None:
    assert shown_line(line(event="file_published", service="ingest", level="info")) is None
    assert shown_line(b"\n") is None


def test_a_line_that_is_not_json_is_shown_as_it_is() -> None:
    assert shown_line(b"Traceback (most recent call last):\n") == (
        "Traceback (most recent call last):"
    )
    assert shown_line(b"[1, 2]\n") == "[1, 2]"
    assert shown_line(b"\xff bad\n") == "\ufffd bad"


@pytest.mark.parametrize(
    ("bound", "scraped"),
    [("0.0.0.0", "127.0.0.1"), ("::", "::1"), ("127.0.0.1", "127.0.0.1"), ("", "127.0.0.1")],
)
def test_a_wildcard_bind_is_scraped_on_loopback(bound: str, scraped: str) -> None:
    assert scrape_host(bound) == scraped
