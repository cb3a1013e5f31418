"""How fast the parser is on the benchmark's own files: fast path vs the PyYAML-only reference."""

from __future__ import annotations

import time
from collections.abc import Callable

from newsdrop.bench.generate import GeneratedFile
from newsdrop.shared.parse import parse_article, parse_article_reference


def parse_speed(files: list[GeneratedFile], sample: int) -> dict[str, float]:
    """µs per file of parse_article (fast path) and of the PyYAML-only reference, same files."""
    data = [f.data for f in files[:sample]]

    def best(function: Callable[[bytes], object]) -> float:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            for item in data:
                function(item)
            runs.append((time.perf_counter() - started) / len(data) * 1e6)
        return min(runs)

    fast, ref = best(parse_article), best(parse_article_reference)
    return {"fast_us": round(fast, 1), "reference_us": round(ref, 1), "ratio": round(ref / fast, 2)}
