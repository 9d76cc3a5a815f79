"""Measurements and helpers shared by the reliability tests (and the benchmarks).

Everything here observes the real system: ``/proc`` for file descriptors and processes, psutil for
resident memory, the simulator's control API for what WhatsApp saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
import gc
import os
from pathlib import Path
import signal
import time
from typing import TYPE_CHECKING, Any

import psutil

from tests.support.figures import FIGURES, record_figure

__all__ = ["FIGURES", "record_figure"]

if TYPE_CHECKING:
    from collections.abc import Iterable


def open_fds() -> int:
    """File descriptors this process holds now."""
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def browser_processes(root_pid: int | None = None) -> list[psutil.Process]:
    """Live Chromium processes descending from this process (Playwright's Node driver included)."""
    root = psutil.Process(root_pid or os.getpid())
    found = []
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if "chrom" in child.name().lower() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


def processes_using(marker: str) -> list[psutil.Process]:
    """Live Chromium processes whose command line mentions ``marker`` (a profile directory)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if "chrom" in (process.info["name"] or "").lower() and any(
                marker in part for part in process.info["cmdline"] or ()
            ):
                found.append(process)
    return found


def kill_all(processes: Iterable[psutil.Process]) -> list[int]:
    """SIGKILL every listed process at once; returns their ids."""
    pids = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
            pids.append(process.pid)
    return pids


def rss_mib(processes: Iterable[psutil.Process]) -> float:
    """Resident memory of the listed processes, MiB."""
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_info().rss
    return total / (1024 * 1024)


def own_rss_mib() -> float:
    """Resident memory of this Python process, MiB."""
    return psutil.Process().memory_info().rss / (1024 * 1024)


def live_tasks() -> int:
    """Tasks of the running loop that have not finished (the caller's own task included)."""
    return len([task for task in asyncio.all_tasks() if not task.done()])


@dataclass
class ResourceSample:
    """One reading of everything that could leak."""

    at: float
    fds: int
    tasks: int
    browsers: int
    python_rss_mib: float
    browser_rss_mib: float
    task_names: list[str] = field(default_factory=list)

    @classmethod
    def take(cls, marker: str | None = None) -> ResourceSample:
        gc.collect()
        browsers = processes_using(marker) if marker else browser_processes()
        tasks = [task for task in asyncio.all_tasks() if not task.done()]
        return cls(
            task_names=sorted(f"{task.get_name()}:{task.get_coro()!r}"[:200] for task in tasks),
            at=time.monotonic(),
            fds=open_fds(),
            tasks=len(tasks),
            browsers=len(browsers),
            python_rss_mib=own_rss_mib(),
            browser_rss_mib=rss_mib(browsers),
        )


@dataclass
class ResourceSeries:
    """Samples over a soak; tells whether something grows."""

    samples: list[ResourceSample] = field(default_factory=list)

    def add(self, sample: ResourceSample) -> None:
        self.samples.append(sample)

    def describe(self) -> str:
        first, last = self.samples[0], self.samples[-1]
        return (
            f"fds {first.fds}->{last.fds}, tasks {first.tasks}->{last.tasks}, "
            f"browser processes {first.browsers}->{last.browsers}, "
            f"python RSS {first.python_rss_mib:.0f}->{last.python_rss_mib:.0f} MiB, "
            f"browser RSS {first.browser_rss_mib:.0f}->{last.browser_rss_mib:.0f} MiB"
        )


async def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.05) -> None:
    """Poll a sync or async predicate until it holds; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def profile_mode(path: Path) -> int:
    """Permission bits of a directory."""
    return path.stat().st_mode & 0o777
