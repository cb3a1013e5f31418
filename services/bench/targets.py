"""The targets of issues 7 and 17 and whether a result meets them (pure functions)."""

from __future__ import annotations

from typing import Any

TARGET_FILES_PER_SECOND = 10_000
TARGET_RATIO_VS_BASELINE = 20.0
TARGET_LIVE_P99_MS = 20.0  # issue 17 (issue 7 asked for 50)
TARGET_MEMORY_RATIO = 1.5
TARGET_RATIO_VS_PEER = 1.5  # issue 17: >= 1.5x the bytewax peer in the same run


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of the issue: the measured value, the bound, and whether it is met."""
    out: dict[str, dict[str, Any]] = {}
    backfill = result.get("backfill")
    if backfill:
        fps = backfill["files_per_second"]
        out["backfill_files_per_second"] = {
            "value": fps,
            "target": f">= {TARGET_FILES_PER_SECOND}",
            "met": fps >= TARGET_FILES_PER_SECOND,
        }
        ratio = backfill.get("ratio_vs_baseline")
        if ratio is not None:
            out["ratio_vs_baseline"] = {
                "value": ratio,
                "target": f">= {TARGET_RATIO_VS_BASELINE:g}x",
                "met": ratio >= TARGET_RATIO_VS_BASELINE,
            }
        peer_ratio = backfill.get("ratio_vs_peer")
        if peer_ratio is not None:
            out["ratio_vs_peer"] = {
                "value": peer_ratio,
                "target": f">= {TARGET_RATIO_VS_PEER:g}x",
                "met": peer_ratio >= TARGET_RATIO_VS_PEER,
            }
    live = result.get("live")
    if live:
        settle_ms = live["settle_seconds"] * 1000
        for mode, bound in (("rename", TARGET_LIVE_P99_MS), ("write", settle_ms + 50)):
            if mode in live:
                p99 = live[mode]["p99_ms"]
                out[f"live_{mode}_p99_ms"] = {
                    "value": p99,
                    "target": f"<= {bound:g}",
                    "met": p99 <= bound and live[mode]["missing"] == 0,
                }
    memory = result.get("memory")
    if memory:
        ratio = memory["redis_bytes_per_article_vs_json"]
        out["redis_memory_vs_json"] = {
            "value": ratio,
            "target": f"<= {TARGET_MEMORY_RATIO}x",
            "met": ratio <= TARGET_MEMORY_RATIO,
        }
    return out
