"""Writing a run down: benchmarks/results/<date>.json, benchmarks/README.md, the README table."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from newsdrop.bench import report

README_START = "<!-- bench-table:start (written by `make bench`) -->"
README_END = "<!-- bench-table:end -->"


def with_latest_table(readme: str, heading: str, table_markdown: str) -> str:
    """``readme`` with the text between the bench-table markers replaced (unchanged if absent)."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        return readme
    body = f"{README_START}\n{heading}\n\n{table_markdown}\n"
    return readme[:start] + body + readme[end:]


def benchmarks_readme(result: dict[str, Any], results_name: str) -> str:
    """The text of benchmarks/README.md for ``result`` (written to results/``results_name``)."""
    return (
        "# Benchmarks\n\n"
        "`make bench` (= `newsdrop bench`) generates article files from the corpus, runs a naive\n"
        "baseline and the real pipeline (`newsdrop up`) against a private Redis on the same\n"
        "machine, verifies the changelog, then measures live latency and memory, and prints\n"
        "the table. `make bench-write` (= `newsdrop bench --write`) also writes this file,\n"
        "`results/<date>.json` and the table in the project README. Details and profiles:\n"
        "[docs/performance.md](../docs/performance.md).\n\n"
        f"## Latest run ({result['date']}, {result['machine']['cpus']} CPUs, "
        f"{result['workload']['files']:,} files)\n\n"
        f"{report.markdown(result)}\n\n"
        f"Raw numbers: [results/{results_name}](results/{results_name})\n"
    )


def write_results(out: Path, result: dict[str, Any], echo: Callable[[str], None]) -> None:
    """Write the results JSON and benchmarks/README.md into ``out``, and the table into the
    project README beside ``out`` (between its bench-table markers), if there is one."""
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{result['date'][:10]}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    heading = (
        f"### Latest `make bench` ({result['date']}, {result['machine']['cpus']} CPUs, "
        f"{result['workload']['files']:,} files)"
    )
    project_readme = out.parent / "README.md"  # the project's README shows it too
    if project_readme.is_file():
        text = project_readme.read_text(encoding="utf-8")
        updated = with_latest_table(text, heading, report.markdown(result))
        if updated != text:
            project_readme.write_text(updated, encoding="utf-8")
    readme = out / "README.md"
    readme.write_text(benchmarks_readme(result, path.name))
    with contextlib.suppress(ValueError):
        echo(f"\nwrote {path.relative_to(Path.cwd())} and {readme.relative_to(Path.cwd())}")
