"""`newsdrop bench`: options -> a BenchConfig, then the benchmark (``newsdrop.bench``).

The benchmark needs psutil, which a production install leaves out: the `bench` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

BENCH_EXTRA_MISSING = "newsdrop bench needs the bench extra: pip install 'newsdrop[bench]'"

# The corpus shipped with the repository: from the current folder (a checkout) or beside
# the package (an editable install). A wheel carries no corpus: pass --corpus.
CORPUS_CANDIDATES = (
    Path("tests/data/corpus"),
    Path(__file__).resolve().parents[2] / "tests" / "data" / "corpus",
)


def default_corpus() -> Path | None:
    return next((p for p in CORPUS_CANDIDATES if (p / "news").is_dir()), None)


# `--cluster` runs the backfill twice: a modest default keeps the run under ~2 minutes.
DEFAULT_FILES = 20_000
DEFAULT_CLUSTER_FILES = 10_000


def _scale(
    files: int, corpus: Path, out: Path | None, work_dir: Path | None, idle: float, *, cold: bool
) -> None:
    from newsdrop.bench.errors import BenchError
    from newsdrop.bench.scale import ScaleConfig, run_scale

    config = ScaleConfig(files, corpus, out=out, work_dir=work_dir, idle_seconds=idle)
    if cold:
        config.pycache = None
    try:
        run_scale(config, echo=typer.echo)
    except BenchError as exc:
        typer.echo(f"newsdrop bench --scale: FAILED: {exc}", err=True)
        raise typer.Exit(1) from exc


def bench(
    files: Annotated[
        int | None,
        typer.Option(
            help=f"Article files to generate [default: {DEFAULT_FILES:,}; "
            f"{DEFAULT_CLUSTER_FILES:,} with --cluster].",
            min=10,
            show_default=False,
        ),
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option(help="Corpus folder (news/, versions/) to derive from.")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="With --write: results/<date>.json and README.md go here.")
    ] = Path("benchmarks"),
    write: Annotated[
        bool,
        typer.Option(
            "--write/--no-write",
            help="Also write the results file, OUT/README.md and the table in the README "
            "beside OUT (default: print only).",
        ),
    ] = False,
    baseline: Annotated[bool, typer.Option(help="Run the naive baseline too.")] = True,
    peer: Annotated[
        bool,
        typer.Option(help="Run the bytewax peer too (source checkout + the `bench` extra)."),
    ] = True,
    live_renames: Annotated[int, typer.Option(help="Live files renamed in.", min=0)] = 500,
    live_writes: Annotated[int, typer.Option(help="Live files written in place.", min=0)] = 200,
    interval_ms: Annotated[float, typer.Option(help="Between live files.", min=0)] = 20.0,
    work_dir: Annotated[
        Path | None, typer.Option(help="Keep the generated files and logs here.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Backfill timeout (s).", min=1)] = 240.0,
    cold: Annotated[
        bool, typer.Option("--cold", help="Services start without compiled bytecode.")
    ] = False,
    cluster: Annotated[
        int,
        typer.Option(
            help="Also run the same files through a private cluster of N primaries "
            "(`newsdrop up` with REDIS_URL = a node) and compare with one node.",
            min=0,
        ),
    ] = 0,
    cluster_replicas: Annotated[
        int, typer.Option(help="With --cluster: replicas per primary.", min=0)
    ] = 0,
    scale: Annotated[
        int,
        typer.Option(
            help="Instead: the scale benchmark on this many files (make bench-scale: "
            "1,000,000): backfill verified, peak RSS, Redis per article, idle CPU, restart.",
            min=0,
        ),
    ] = 0,
    idle_seconds: Annotated[
        float, typer.Option(help="With --scale: idle CPU measured over this long.", min=1)
    ] = 60.0,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="With --cluster: NEWSDROP_PARTITIONS there (> 1) [default: 2N].",
            min=2,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Benchmark: newsdrop vs a naive baseline, same files, private Redis (verified)."""
    try:
        import psutil  # noqa: F401  (only to tell a missing extra from a broken benchmark)
    except ImportError:
        typer.echo(BENCH_EXTRA_MISSING, err=True)
        raise typer.Exit(2) from None
    from newsdrop.bench.errors import BenchError
    from newsdrop.bench.run import BenchConfig, run_benchmark

    found = corpus or default_corpus()
    if found is None:
        typer.echo("newsdrop bench: corpus not found; pass --corpus", err=True)
        raise typer.Exit(2)
    if scale:
        _scale(scale, found, out if write else None, work_dir, idle_seconds, cold=cold)
        return
    if files is None:
        files = DEFAULT_CLUSTER_FILES if cluster else DEFAULT_FILES
    config = BenchConfig(
        files=files,
        corpus=found,
        out=out if write else None,
        work_dir=work_dir,
        baseline=baseline,
        peer=peer,
        live_renames=live_renames,
        live_writes=live_writes,
        interval_ms=interval_ms,
        timeout=timeout,
        cluster=cluster,
        cluster_replicas=cluster_replicas,
        partitions=partitions,
    )
    if cold:
        config.pycache = None
    try:
        run_benchmark(config, echo=typer.echo)
    except BenchError as exc:
        typer.echo(f"newsdrop bench: FAILED: {exc}", err=True)
        raise typer.Exit(1) from exc
