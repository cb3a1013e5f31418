"""What `newsdrop up` shows at a terminal: a backfill progress bar, then a live summary line.

The numbers are the services' own Prometheus metrics, scraped from their loopback ports
(``read_metrics``); the rules that turn two readings into a line are pure (``Reading``,
``backfill_figures``, ``summary_text``) and table-tested. ``TerminalDisplay`` is the thin
edge: a ``rich`` live area on stderr that the supervisor refreshes from its loop. Off a
terminal none of this runs: the services' JSON lines go to stderr as they are.
"""

from __future__ import annotations

import http.client
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import orjson
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

SCRAPE_TIMEOUT_SECONDS = 0.3
REFRESH_SECONDS = 0.5


def parse_samples(text: str) -> dict[str, float]:
    """Prometheus text exposition -> sample name -> value, summed over labels."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


def outcome_count(text: str, metric: str, outcome: str) -> float:
    """The value of ``metric`` with label ``outcome``, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and sample.labels.get("outcome") == outcome:
                return sample.value
    return 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One scrape of both services (``None``: that service did not answer)."""

    at: float  # time.monotonic() of the scrape
    found: int | None = None
    processed: int | None = None
    backfill_done: bool = False
    published: int = 0
    rejected: int = 0
    unchanged: int = 0
    applied: int | None = None
    lag: int | None = None

    @classmethod
    def of(cls, at: float, ingest: str | None, store: str | None) -> Reading:
        fields: dict[str, int | bool | None] = {}
        if ingest is not None:
            samples = parse_samples(ingest)
            fields["found"] = int(samples.get("newsdrop_ingest_backfill_found_files", 0))
            fields["processed"] = int(samples.get("newsdrop_ingest_backfill_processed_files", 0))
            fields["backfill_done"] = samples.get("newsdrop_ingest_backfill_done", 0) >= 1
            fields["published"] = int(samples.get("newsdrop_ingest_files_published_total", 0))
            fields["rejected"] = int(samples.get("newsdrop_ingest_files_rejected_total", 0))
            fields["unchanged"] = int(samples.get("newsdrop_ingest_files_unchanged_total", 0))
        if store is not None:
            applied = outcome_count(store, "newsdrop_store_versions_total", "applied")
            fields["applied"] = int(applied)
            lag = parse_samples(store).get("newsdrop_store_group_lag_entries")
            fields["lag"] = None if lag is None else int(lag)
        return cls(at, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class BackfillFigures:
    done: int
    total: int
    rate: float | None  # files per second since the first reading
    eta_seconds: float | None


def backfill_figures(first: Reading, now: Reading) -> BackfillFigures:
    """Progress between the first reading and this one: done of total, rate, ETA."""
    done, total = now.processed or 0, max(now.found or 0, now.processed or 0)
    elapsed = now.at - first.at
    rate = (done - (first.processed or 0)) / elapsed if elapsed > 0 else None
    eta = (total - done) / rate if rate else None
    return BackfillFigures(done, total, rate, eta)


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def backfill_text(figures: BackfillFigures, now: Reading) -> str:
    rate = "-" if figures.rate is None else f"{figures.rate:,.0f} files/s"
    eta = "-" if figures.eta_seconds is None else f"{figures.eta_seconds:,.0f} s"
    return (
        f"backfill {figures.done:,}/{figures.total:,}  published {now.published:,}  "
        f"rejected {now.rejected:,}  unchanged {now.unchanged:,}  {rate}  ETA {eta}"
    )


def summary_text(now: Reading, answered: frozenset[str] = frozenset()) -> str:
    """The one live line after the backfill (or while a service does not answer: "starting"
    until it first answered, then "not answering")."""

    def silent(service: str) -> str:
        return f"{service} {'not answering' if service in answered else 'starting'}"

    ingest = (
        silent("ingest")
        if now.found is None
        else f"published {now.published:,}  rejected {now.rejected:,}  unchanged {now.unchanged:,}"
    )
    store = (
        silent("store")
        if now.applied is None
        else f"store applied {now.applied:,}  lag {_count(now.lag)}"
    )
    return f"live  {ingest}  |  {store}"


SHOWN_LEVELS = frozenset({"warning", "error", "critical"})
_NOT_SHOWN = ("timestamp", "service", "level", "logger", "event")


def shown_line(raw: bytes) -> str | None:
    """What a service's log line shows above the live area: warnings and errors, short
    (``service level event key=value ...``); other lines only go to the log file. A line that
    is not a JSON object (a traceback, a raw print) is shown as it is."""
    text = raw.decode("utf-8", "replace").rstrip()
    if not text:
        return None
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if not isinstance(record, dict):
        return text
    level = str(record.get("level", ""))
    if level not in SHOWN_LEVELS:
        return None
    details = " ".join(f"{k}={v}" for k, v in record.items() if k not in _NOT_SHOWN)
    head = f"{record.get('service', '?')} {level} {record.get('event', '?')}"
    return f"{head} {details}".rstrip()


def log_sink(path: str, echo: Callable[[str], None]) -> Callable[[bytes], None]:
    """A child's line sink: appended to ``path``, and echoed when ``shown_line`` says so."""
    handle = open(path, "ab", buffering=0)  # noqa: SIM115 (lives as long as `up`)

    def sink(raw: bytes) -> None:
        handle.write(raw if raw.endswith(b"\n") else raw + b"\n")
        shown = shown_line(raw)
        if shown is not None:
            echo(shown)

    return sink


def scrape_host(http_host: str) -> str:
    """Where to reach a service bound to ``http_host``: loopback for a wildcard address."""
    try:
        address = ipaddress.ip_address(http_host)
    except ValueError:
        return http_host or "127.0.0.1"  # a host name
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return http_host


def read_metrics(host: str, port: int) -> str | None:
    """The text of ``http://host:port/metrics``, None when it does not answer in time."""
    connection = http.client.HTTPConnection(host, port, timeout=SCRAPE_TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        if response.status != 200:
            return None
        return response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


class TerminalDisplay:
    """The live area: refreshed by ``tick`` (called from the supervisor's loop); ``echo``
    prints a line above it (a service's warning)."""

    def __init__(self, host: str, ingest_port: int, store_port: int, logs: str) -> None:
        self.host = scrape_host(host)
        self.ports = (ingest_port, store_port)
        self.console = Console(stderr=True)
        self.live = Live(console=self.console, auto_refresh=False, transient=False)
        self.logs = logs
        self.first: Reading | None = None
        self.answered: set[str] = set()  # services that answered at least once
        self.last_scrape = 0.0

    def __enter__(self) -> TerminalDisplay:
        self.live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.live.stop()

    def echo(self, line: str) -> None:
        self.console.out(line, highlight=False)  # above the live area; no markup read

    def tick(self) -> None:
        now_mono = time.monotonic()
        if now_mono - self.last_scrape < REFRESH_SECONDS:
            return
        self.last_scrape = now_mono
        ingest, store = (read_metrics(self.host, port) for port in self.ports)
        reading = Reading.of(now_mono, ingest, store)
        self.answered |= {name for name, text in (("ingest", ingest), ("store", store)) if text}
        self.live.update(self.render(reading), refresh=True)

    def render(self, reading: Reading) -> Group:
        footer = Text(f"logs: {self.logs}   Ctrl-C stops everything", style="dim")
        if reading.found is None or reading.backfill_done:
            return Group(Text(summary_text(reading, frozenset(self.answered))), footer)
        if self.first is None:
            self.first = reading
        figures = backfill_figures(self.first, reading)
        grid = Table.grid(padding=(0, 1))
        bar = ProgressBar(total=max(figures.total, 1), completed=figures.done, width=30)
        grid.add_row(bar, Text(backfill_text(figures, reading)))
        return Group(grid, footer)
