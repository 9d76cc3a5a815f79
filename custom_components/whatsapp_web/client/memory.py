"""How much memory the browser holds: the page's JavaScript heap and the processes' PSS.

The memory guard of the integration and the soak benchmark read the same figures. PSS (proportional
set size) shares the pages Chromium's processes have in common fairly among them, so the sum over
every process is what the browser costs the host; RSS would count the shared pages once per process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .drivers.base import BrowserDriver

MIB = 2**20


@dataclass(frozen=True, slots=True)
class MemoryReading:
    """One reading. ``browser_pss`` is None for a browser that is not ours to see (remote)."""

    js_heap_used: int
    js_heap_total: int
    browser_pss: int | None
    browser_processes: int

    @property
    def js_heap_used_mib(self) -> float:
        """The page's live JavaScript objects, in MiB."""
        return self.js_heap_used / MIB

    @property
    def browser_pss_mib(self) -> float | None:
        """Every Chromium process of the browser together, in MiB."""
        return None if self.browser_pss is None else self.browser_pss / MIB


def process_pss(pid: int) -> int | None:
    """A process's PSS in bytes from ``/proc/<pid>/smaps_rollup``; None when unreadable or gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Pss:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def processes_pss(pids: list[int]) -> tuple[int | None, int]:
    """(sum of PSS in bytes, processes counted); (None, 0) when none could be read."""
    total = 0
    counted = 0
    for pid in pids:
        pss = process_pss(pid)
        if pss is not None:
            total += pss
            counted += 1
    return (total if counted else None), counted


async def read_memory(driver: BrowserDriver, timeout: float) -> MemoryReading:
    """The page's JavaScript heap and, for a browser the driver launched, its processes' PSS."""
    used, total = await driver.js_heap(timeout=timeout)
    pids = driver.browser_pids()
    pss, counted = await asyncio.to_thread(processes_pss, pids) if pids else (None, 0)
    return MemoryReading(used, total, pss, counted)
