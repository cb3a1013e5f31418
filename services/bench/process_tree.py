"""The services' processes under `newsdrop up`, and their memory and CPU, seen with psutil.

psutil (the `bench` extra) is imported where it is used, not at import time: the rest of
the CLI, and the bench's own modules, import without it (`newsdrop bench` then says which
extra is missing).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

SERVICES = ("ingest", "store")

# Each service's processes: its main process first, then all of its descendants.
ServiceTree = dict[str, list["psutil.Process"]]


def service_tree(root_pid: int) -> ServiceTree:
    """The processes of each service started by the process ``root_pid`` (`newsdrop up`)."""
    import psutil

    out: ServiceTree = {name: [] for name in SERVICES}
    try:
        children = psutil.Process(root_pid).children()
    except psutil.Error:
        return out
    for child in children:
        try:
            cmdline = " ".join(child.cmdline())
            service = next((s for s in SERVICES if f"newsdrop {s}" in cmdline), None)
            if service:
                out[service] = [child, *child.children(recursive=True)]
        except psutil.Error:
            continue
    return out


def peak_rss_bytes(process: psutil.Process) -> int:
    """VmHWM (the kernel's peak resident set) of one process, 0 if gone or not Linux."""
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(tree: ServiceTree, redis_pids: Sequence[int]) -> dict[str, float]:
    """CPU time (user + system) used so far by each service's processes and by Redis (all
    its server processes: one, or every node of a cluster)."""
    import psutil

    out: dict[str, float] = {}
    groups: dict[str, list[psutil.Process]] = {}
    for service, procs in tree.items():
        groups[f"{service} main"] = procs[:1]
        groups[f"{service} workers"] = procs[1:]
    if redis_pids:
        groups["redis"] = []
        for pid in redis_pids:
            with contextlib.suppress(psutil.Error):
                groups["redis"].append(psutil.Process(pid))
    for name, procs in groups.items():
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        out[name] = total
    return out


@dataclass
class RssSampler:
    """Samples the summed RSS of each service's process tree; keeps the peaks."""

    tree: Callable[[], ServiceTree]
    interval: float = 0.1
    peak_tree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    peak_main: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    processes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        import psutil

        for service, procs in self.tree().items():
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak_tree[service] = max(self.peak_tree[service], total)
            if procs:
                self.peak_main[service] = max(self.peak_main[service], peak_rss_bytes(procs[0]))
                self.processes[service] = max(self.processes[service], len(procs))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def summary(self) -> dict[str, dict[str, float]]:
        """Per service: peak RSS of the main process and of the whole tree (MB), processes."""
        return {
            service: {
                "peak_main_mb": round(self.peak_main[service] / 2**20, 1),
                "peak_tree_mb": round(self.peak_tree[service] / 2**20, 1),
                "processes": self.processes[service],
            }
            for service in SERVICES
        }
