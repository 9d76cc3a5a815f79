"""What every benchmark shares: the simulator process, both clients, measurements, the table.

Both sides meet the same simulator, started once per run as ``python -m simulator`` in its own process
(so its CPU is not counted against either client):

- this project's ``WhatsAppWebClient`` with Debian's Chromium, on the simulator's own URL, through
  one of its drivers (``--driver``: ``local``, the default, DevTools over pipes; ``playwright``;
  ``cdp``, a Chromium started with a DevTools port);
- the unmodified whatsapp-web.js 1.34 through ``tests/compat/runner.js`` (Node + Puppeteer + the same
  Chromium), on the simulator's page served for ``https://web.whatsapp.com/``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import statistics
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.whatsapp_web.client import ClientState, WhatsAppWebClient  # noqa: E402
from custom_components.whatsapp_web.client.drivers.cdp import CdpDriver  # noqa: E402
from custom_components.whatsapp_web.client.drivers.local import LocalChromiumDriver  # noqa: E402
from custom_components.whatsapp_web.client.drivers.playwright import PlaywrightDriver  # noqa: E402
from simulator.server import render_page  # noqa: E402
from tests.compat.conftest import (  # noqa: E402
    CHROMIUM,
    WEB_VERSION,
    SimulatorProcess,
    WwebjsRunner,
)
from tests.support.clients import RemoteChromium  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from simulator.testing import SimulatorControl

OURS = "whatsapp_web (this client)"
THEIRS = "whatsapp-web.js 1.34"


# ---------------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def summary_ms(seconds: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    return (
        f"p50 {percentile(seconds, 0.5) * 1000:.1f} ms, p99 {percentile(seconds, 0.99) * 1000:.1f} ms, "
        f"max {max(seconds) * 1000:.1f} ms"
        if seconds
        else "n/a"
    )


@dataclass
class Table:
    """Rows of (scenario, measure, ours, theirs), printed as text and saved as JSON."""

    title: str
    header: tuple[str, str, str, str] = ("scenario", "measure", OURS, THEIRS)
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, scenario: str, measure: str, ours: Any, theirs: Any = "") -> None:
        self.rows.append((scenario, measure, str(ours), str(theirs)))

    def print(self) -> None:
        columns = 4 if any(row[3] for row in self.rows) or self.header[3] else 3
        header = self.header[:columns]
        rows = [row[:columns] for row in self.rows]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(columns)]
        line = "+".join("-" * (w + 2) for w in widths)
        print(f"\n{self.title}")
        print(line)
        print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        print(line)
        for row in rows:
            print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        print(line)

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        path.write_text(
            json.dumps(
                {"title": self.title, "header": self.header, "rows": self.rows, "raw": self.raw},
                indent=2,
                ensure_ascii=False,
                default=str,
            )
        )
        print(f"figures written to {path}")


# ---------------------------------------------------------------------------------------------
# Processes and memory


def descendants_named(root_pid: int, *names: str) -> list[psutil.Process]:
    """Live descendants of ``root_pid`` whose process name contains one of ``names``."""
    try:
        root = psutil.Process(root_pid)
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            name = child.name().lower()
            if child.status() != psutil.STATUS_ZOMBIE and any(n in name for n in names):
                found.append(child)
    return found


def memory_mib(processes: list[psutil.Process]) -> tuple[float, float]:
    """(RSS, PSS) of the processes in MiB; PSS shares pages fairly among the processes using them."""
    rss = pss = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = process.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


def our_memory(baseline_rss_mib: float) -> dict[str, float]:
    """This client's share of this Python process (RSS over ``baseline_rss_mib``, read before the
    client started: the benchmark's own imports are not the client's), Playwright's Node driver and
    every Chromium process, in MiB."""
    me = psutil.Process()
    python_rss, _ = memory_mib([me])
    node_rss, node_pss = memory_mib(descendants_named(me.pid, "node"))
    browser_rss, browser_pss = memory_mib(descendants_named(me.pid, "chrom"))
    python_share = max(0.0, python_rss - baseline_rss_mib)
    return {
        "python_rss": python_share,
        "driver_rss": node_rss,
        "browser_rss": browser_rss,
        "browser_pss": browser_pss,
        "total_pss": python_share + node_pss + browser_pss,
    }


def their_memory(runner: Any) -> dict[str, float]:
    """runner.js's Node process and every Chromium process it started (its descendants), in MiB."""
    process = runner._process  # noqa: SLF001 - runner.js's own process, for its memory
    if process is None or process.returncode is not None:
        return dict.fromkeys(
            ("python_rss", "driver_rss", "browser_rss", "browser_pss", "total_pss"), 0.0
        )
    node_rss, node_pss = memory_mib([psutil.Process(process.pid)])
    browser_rss, browser_pss = memory_mib(descendants_named(process.pid, "chrom"))
    return {
        "python_rss": 0.0,
        "driver_rss": node_rss,
        "browser_rss": browser_rss,
        "browser_pss": browser_pss,
        "total_pss": node_pss + browser_pss,
    }


def describe_memory(figures: dict[str, float]) -> str:
    return (
        f"browser {figures['browser_rss']:.0f} RSS / {figures['browser_pss']:.0f} PSS; "
        f"host {figures['python_rss'] + figures['driver_rss']:.0f}; total {figures['total_pss']:.0f}"
    )


# ---------------------------------------------------------------------------------------------
# The simulator and the two clients


@contextlib.asynccontextmanager
async def simulator_process(
    chats: int, messages: int, contacts: int = 20, groups: int = 2, long_chat: int = 0
) -> AsyncIterator[SimulatorProcess]:
    """``python -m simulator`` with a data set of this size (``long_chat``: see ``--long-chat``)."""
    simulator = SimulatorProcess()
    await simulator.start(
        "--chats",
        str(chats),
        "--messages",
        str(messages),
        "--contacts",
        str(contacts),
        "--groups",
        str(groups),
        "--long-chat",
        str(long_chat),
        "--seed",
        "7",
        "--qr-interval",
        "60",
        "--log-level",
        "WARNING",
    )
    try:
        yield simulator
    finally:
        await simulator.stop()


def work_directory() -> Path:
    """A short temporary directory (Chromium's socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix="wa-bench-"))


# The drivers a benchmark can measure this client with (``--driver``); the first is the default.
OUR_DRIVERS = ("local", "playwright", "cdp")


def our_client(
    url: str,
    profile: Path,
    remote_url: str | None = None,
    extra_args: list[str] | None = None,
    *,
    driver: str = "local",
    **timing: Any,
) -> WhatsAppWebClient:
    """This client on Debian's Chromium, production timings: launched by the pipe driver or through
    Playwright, or, with ``remote_url``, reached through the CDP driver (a Chromium started with a
    DevTools port)."""
    profile.mkdir(parents=True, exist_ok=True)
    if remote_url is not None:
        return WhatsAppWebClient(lambda: CdpDriver(remote_url), url=url, **timing)
    launcher = PlaywrightDriver if driver == "playwright" else LocalChromiumDriver
    return WhatsAppWebClient(
        lambda: launcher(
            profile_dir=str(profile), executable_path=CHROMIUM, extra_args=list(extra_args or [])
        ),
        url=url,
        **timing,
    )


@contextlib.asynccontextmanager
async def browser_for_ours(driver: str, profile: Path) -> AsyncIterator[str | None]:
    """For the CDP driver, a Chromium with a DevTools port on 127.0.0.1 (its URL); else None."""
    if driver != "cdp":
        yield None
        return
    await asyncio.to_thread(profile.mkdir, parents=True, exist_ok=True)
    # RemoteChromium waits for this file; a previous run's copy would name a dead port.
    await asyncio.to_thread((profile / "DevToolsActivePort").unlink, missing_ok=True)
    remote = RemoteChromium(profile)
    try:
        yield await remote.start()
    finally:
        await remote.stop()


async def link_ours(
    client: WhatsAppWebClient, control: SimulatorControl, timeout: float = 120
) -> float:
    """Start, scan the first QR, wait for connected; seconds from start to connected."""
    started = time.monotonic()
    await client.start()
    async with asyncio.timeout(timeout):
        async for qr in client.qr_codes():
            await control.link(qr=qr)
            break
    await client.wait_for_state(ClientState.CONNECTED, timeout=timeout)
    return time.monotonic() - started


@contextlib.asynccontextmanager
async def wwebjs(
    simulator: SimulatorProcess, work: Path, name: str = "wwebjs"
) -> AsyncIterator[WwebjsRunner]:
    """A whatsapp-web.js client (runner.js) on this simulator, closed with every process it started."""
    cache = work / "wwebjs_cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"{WEB_VERSION}.html").write_text(
        render_page(simulator.ws_url, WEB_VERSION), encoding="utf-8"
    )
    auth = work / f"auth-{name}"
    config = {
        "cacheDir": str(cache),
        "webVersion": WEB_VERSION,
        "dataPath": str(auth),
        "mode": "qr",
        "chromium": CHROMIUM,
        "authTimeoutMs": 120000,
    }
    runner = WwebjsRunner(name, config, profile_marker=str(auth))
    await runner.start()
    try:
        yield runner
    finally:
        await runner.close()


async def link_theirs(
    runner: WwebjsRunner, control: SimulatorControl, started: float, timeout: float = 180
) -> float:
    """Scan whatsapp-web.js's first QR, wait for ``ready``; seconds from ``started``."""
    qr = await runner.wait_event("qr", within=timeout)
    await control.link(qr=qr["args"][0])
    await runner.wait_event("ready", within=timeout)
    return time.monotonic() - started


type Arrival = tuple[float, float]  # (time.monotonic() here, time.time() in the client's process)


async def stamped_latency(
    control: SimulatorControl,
    chat_id: str,
    samples: int,
    arrival: Callable[[str], Awaitable[Arrival]],
) -> dict[str, list[float]]:
    """Incoming messages one at a time: seconds from the page's stamp, and from the POST.

    ``from_page``: the client process's wall clock when its event arrived minus the page's wall
    clock when it handed the message to its Store (both on this machine); the simulator's HTTP
    answer and its push to the page are not in it. ``from_post``: from before ``POST
    /_sim/incoming`` to the event as this benchmark's process sees it (the figure of issue 4).
    """
    await control.stamping(True)
    from_page: list[float] = []
    from_post: list[float] = []
    try:
        for n in range(samples):
            started = time.monotonic()
            message_id = await control.incoming(chat_id, f"latency {n}")
            seen_here, arrived_wall = await arrival(message_id)
            from_post.append(seen_here - started)
            from_page.append(arrived_wall - await control.message_stamp(message_id))
    finally:
        await control.stamping(False)
    return {"from_page": from_page, "from_post": from_post}


async def timed(call: Callable[[], Any]) -> float:
    """Seconds one awaited call takes."""
    started = time.monotonic()
    await call()
    return time.monotonic() - started


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def environment() -> str:
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, Chromium {CHROMIUM}"
