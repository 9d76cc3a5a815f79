"""Memory over a long run of traffic: this client against whatsapp-web.js on the same simulator.

    .venv/bin/python benchmarks/soak_traffic.py            # 100,000 events, 5,000 sends per side
    .venv/bin/python benchmarks/soak_traffic.py --small    # 10,000 events, 500 sends per side
    .venv/bin/python benchmarks/soak_traffic.py --small --only ours --json /tmp/soak.json

Each side links a fresh profile to its own simulator (10 chats and 500 groups, the same seed), then
the simulator generates the traffic itself at a steady rate (``POST /_sim/traffic``: text, media,
reactions, acks of our own messages and group events, half in the 1:1 chats and half in the groups)
while the side sends messages one after the other, spread over the run. Nobody sends an HTTP request
per incoming message. Every 10% of the run one line is printed:

- browser PSS: every Chromium process of the side together;
- host RSS: this Python process (with the client) for ours, runner.js's Node process for
  whatsapp-web.js; ``driver``: Playwright's Node driver for ours;
- JS heap: the page's used JavaScript heap (DevTools ``Runtime.getHeapUsage`` for ours, Puppeteer's
  ``page.metrics()`` through runner.js for whatsapp-web.js);
- file descriptors and asyncio tasks of the host process (tasks: ours only);
- ours only: the messages WhatsApp Web holds in memory and how many the client unloaded
  (client/message_cache.py; ``--keep-messages`` turns unloading off, as before it existed).

Browser PSS and JS heap are the median of 5 samples 0.5 s apart: under traffic Chromium's PSS
swings by 100 MiB within a second (allocator and garbage collector timing). For the same reason the
growth is read from the least-squares trend through the readings from 10% to the end (the trend's
rise over the run, against its value at 10%), next to the raw first and last readings.

The table gives each figure's growth from the 10% reading (after the warm-up) to the last. Target
(issue 17): this client's growth at most 10%, and below whatsapp-web.js's.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
import statistics
import time
from typing import TYPE_CHECKING, Any

from common import (
    OUR_DRIVERS,
    Table,
    browser_for_ours,
    cleanup,
    descendants_named,
    environment,
    link_ours,
    link_theirs,
    memory_mib,
    our_client,
    simulator_process,
    work_directory,
    wwebjs,
)
import psutil

from custom_components.whatsapp_web.client import MessageCacheLimits
from custom_components.whatsapp_web.client.errors import WhatsAppWebError
from simulator.testing import SimulatorControl

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from custom_components.whatsapp_web.client import WhatsAppWebClient
    from custom_components.whatsapp_web.client.drivers.base import BrowserDriver
    from custom_components.whatsapp_web.client.models import ClientEvent
    from tests.compat.conftest import WwebjsRunner

KINDS = {"text": 60, "media": 5, "reaction": 10, "ack": 15, "group": 10}
DIRECT_CHATS = 10
GROUPS = 500
SEED = 7
# Chromium's PSS swings by 100 MiB within a second under traffic (allocator and garbage
# collector timing): each reading is the median of a few samples.
SAMPLES = 5
SAMPLE_GAP = 0.5


@dataclass
class Reading:
    """One line of the soak."""

    percent: int
    delivered: int
    seconds: float
    browser_pss: float
    host_rss: float
    driver_pss: float
    js_heap: float
    fds: int
    tasks: int | None
    events: int
    sends: int
    processes: int = 0
    #: Messages the page holds in memory (WAWebCollections.Msg), and how many the client unloaded.
    page_messages: int | None = None
    unloaded: int | None = None

    def line(self, side: str) -> str:
        tasks = "-" if self.tasks is None else str(self.tasks)
        return (
            f"[{side}] {self.percent:3d}% ({self.delivered} events, {self.seconds:.0f} s): "
            f"browser PSS {self.browser_pss:.0f} MiB, host RSS {self.host_rss:.0f} MiB"
            f"{f' (+ driver {self.driver_pss:.0f})' if self.driver_pss else ''}, "
            f"JS heap {self.js_heap:.1f} MiB, fds {self.fds}, tasks {tasks}, "
            f"events seen {self.events}, sends {self.sends}, browser processes {self.processes}"
            + (
                ""
                if self.page_messages is None
                else f", page messages {self.page_messages} ({self.unloaded} unloaded)"
            )
        )


def fd_count(pid: int) -> int:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).num_fds()
    return -1


class SteadySender:
    """Sends ``total`` messages one after the other, spread evenly over ``seconds``."""

    def __init__(
        self,
        send: Callable[[str, str], Awaitable[Any]],
        chats: list[str],
        total: int,
        seconds: float,
    ) -> None:
        self.send = send
        self.chats = chats
        self.total = total
        self.seconds = seconds
        self.done = 0
        self.failed: list[str] = []

    async def run(self) -> None:
        started = time.monotonic()
        for n in range(self.total):
            due = started + n * self.seconds / self.total
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            try:
                await self.send(self.chats[n % len(self.chats)], f"soak send {n}")
            except (WhatsAppWebError, AssertionError) as error:
                self.failed.append(f"{n}: {error}"[:200])
            self.done += 1


async def run_traffic(
    args: argparse.Namespace,
    control: SimulatorControl,
    side: str,
    read: Callable[[int, int, float], Awaitable[Reading]],
    send: Callable[[str, str], Awaitable[Any]],
) -> tuple[list[Reading], SteadySender, dict[str, Any]]:
    """Start the traffic and the sender; a reading before, then at every 10% of the events."""
    direct = [c["id"] for c in await control.chats() if not c["is_group"]][:DIRECT_CHATS]
    readings = [await read(0, 0, 0.0)]
    print(readings[0].line(side), flush=True)
    seconds = args.events / args.rate
    sender = SteadySender(send, direct, args.sends, seconds)
    await control.traffic(
        args.events, args.rate, kinds=KINDS, chats=DIRECT_CHATS, groups=GROUPS, seed=SEED
    )
    started = time.monotonic()
    sending = asyncio.create_task(sender.run())
    status: dict[str, Any] = {}
    try:
        for percent in range(10, 101, 10):
            wanted = args.events * percent // 100
            while True:
                status = await control.traffic_status()
                if status["delivered"] >= wanted or not status["running"]:
                    break
                await asyncio.sleep(0.25)
            if status["error"]:
                raise RuntimeError(f"the simulator's traffic stopped: {status['error']}")
            if percent == 100:
                # The last sends, and the client's handling of the last events, finish first.
                await sending
                await asyncio.sleep(args.settle)
            reading = await read(percent, status["delivered"], time.monotonic() - started)
            reading.sends = sender.done
            readings.append(reading)
            print(reading.line(side), flush=True)
    finally:
        if not sending.done():
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
    return readings, sender, status


async def soak_ours(args: argparse.Namespace) -> dict[str, Any]:
    work = work_directory()
    events: Counter[str] = Counter()
    try:
        async with (
            simulator_process(DIRECT_CHATS + GROUPS, args.messages, 40, GROUPS) as simulator,
            browser_for_ours(args.driver, work / "profile") as remote_url,
        ):
            control = SimulatorControl(simulator.url)
            client: WhatsAppWebClient = our_client(
                simulator.url,
                work / "profile",
                remote_url,
                extra_args=args.browser_arg,
                driver=args.driver,
                message_cache=MessageCacheLimits(every_messages=0) if args.keep_messages else None,
            )

            # Only counted: keeping every event would itself grow over the run.
            def count(event: ClientEvent) -> None:
                events[type(event).__name__] += 1

            client.add_event_listener(count)
            me = psutil.Process()
            try:
                await link_ours(client, control, timeout=240)
                await asyncio.sleep(args.settle)

                async def read(percent: int, delivered: int, seconds: float) -> Reading:
                    heaps, browsers, drivers = [], [], []
                    for _ in range(SAMPLES):
                        heaps.append((await client.memory()).js_heap_used_mib)
                        browsers.append(memory_mib(descendants_named(me.pid, "chrom"))[1])
                        drivers.append(memory_mib(descendants_named(me.pid, "node"))[1])
                        await asyncio.sleep(SAMPLE_GAP)
                    heap, browser_pss, driver_pss = map(
                        statistics.median, (heaps, browsers, drivers)
                    )
                    return Reading(
                        percent=percent,
                        delivered=delivered,
                        seconds=seconds,
                        browser_pss=browser_pss,
                        host_rss=me.memory_info().rss / 2**20,
                        driver_pss=driver_pss,
                        js_heap=heap,
                        fds=fd_count(me.pid),
                        tasks=len(asyncio.all_tasks()),
                        events=sum(events.values()),
                        sends=0,
                        processes=len(descendants_named(me.pid, "chrom")),
                        page_messages=await page_message_count(client),
                        unloaded=client.message_cache.unloaded_total,
                    )

                async def send(chat: str, text: str) -> None:
                    await client.send_message(chat, text)

                await control.clear_sent()
                readings, sender, status = await run_traffic(args, control, "ours", read, send)
                delivered = [e for e in await control.sent() if e["kind"] == "message"]
                attribution = await attribute_heap(client) if args.attribute else None
            finally:
                await client.stop()
            await control.close()
    finally:
        cleanup(work)
    return {
        "readings": [asdict(r) for r in readings],
        "events": dict(events),
        "traffic": status,
        "sends": {"done": sender.done, "failed": sender.failed, "reached": len(delivered)},
        "attribution": attribution,
    }


# The simulator's page keeps every message it was sent (WAWebCollections.Msg and each chat's
# msgs); forgetting them shows how much of the heap is that store rather than the client's.
FORGET_PAGE_MESSAGES = """() => {
    const collections = window.require('WAWebCollections');
    const count = collections.Msg.getModelsArray().length;
    for (const chat of collections.Chat.getModelsArray()) { chat.msgs.reset(); }
    collections.Msg.reset();
    return count;
}"""


def page_driver(client: WhatsAppWebClient) -> BrowserDriver:
    """The driver of the client's page, for measurements the client has no call for."""
    session = client._session  # noqa: SLF001 - a measurement
    assert session is not None, "the client has no page"
    return session.driver


async def page_message_count(client: WhatsAppWebClient) -> int:
    """How many messages WhatsApp Web holds in memory now."""
    count = "() => window.require('WAWebCollections').Msg.getModelsArray().length"
    return int(await page_driver(client).evaluate(count, timeout=60))


async def attribute_heap(client: WhatsAppWebClient) -> dict[str, float]:
    """Heap after a full collection, then again once the page forgot its messages (MiB)."""
    driver = page_driver(client)
    collect = "() => { window.gc(); }"
    await driver.evaluate(collect, timeout=60)
    before = (await client.memory()).js_heap_used_mib
    messages = await driver.evaluate(FORGET_PAGE_MESSAGES, timeout=60)
    await driver.evaluate(collect, timeout=60)
    after = (await client.memory()).js_heap_used_mib
    print(
        f"[ours] heap after a full GC {before:.1f} MiB; the page forgets its {messages} messages: "
        f"{after:.1f} MiB",
        flush=True,
    )
    return {"heap_after_gc": before, "page_messages": messages, "heap_without_them": after}


async def soak_theirs(args: argparse.Namespace) -> dict[str, Any]:
    work = work_directory()
    events: Counter[str] = Counter()
    try:
        async with simulator_process(DIRECT_CHATS + GROUPS, args.messages, 40, GROUPS) as simulator:
            control = SimulatorControl(simulator.url)
            started = time.monotonic()
            async with wwebjs(simulator, work) as runner:
                await link_theirs(runner, control, started, timeout=300)
                await asyncio.sleep(args.settle)
                node_pid = runner.pid

                def drain(runner: WwebjsRunner = runner) -> None:
                    # runner.js writes every event in full; only their names are kept here.
                    for event in runner.events:
                        events[str(event.get("event"))] += 1
                    runner.events.clear()

                async def read(percent: int, delivered: int, seconds: float) -> Reading:
                    drain()
                    heaps, browsers = [], []
                    for _ in range(SAMPLES):
                        heap = await runner.command("heapUsage", within=60)
                        heaps.append(heap["used"] / 2**20)
                        browsers.append(memory_mib(descendants_named(node_pid, "chrom"))[1])
                        await asyncio.sleep(SAMPLE_GAP)
                    return Reading(
                        percent=percent,
                        delivered=delivered,
                        seconds=seconds,
                        browser_pss=statistics.median(browsers),
                        host_rss=psutil.Process(node_pid).memory_info().rss / 2**20,
                        driver_pss=0.0,
                        js_heap=statistics.median(heaps),
                        fds=fd_count(node_pid),
                        tasks=None,
                        events=sum(events.values()),
                        sends=0,
                        processes=len(descendants_named(node_pid, "chrom")),
                    )

                async def send(chat: str, text: str) -> None:
                    await runner.command("sendMessage", chat=chat, text=text, within=60)
                    if len(runner.events) > 2000:
                        drain()

                await control.clear_sent()
                readings, sender, status = await run_traffic(
                    args, control, "whatsapp-web.js", read, send
                )
                delivered = [e for e in await control.sent() if e["kind"] == "message"]
                drain()
            await control.close()
    finally:
        cleanup(work)
    return {
        "readings": [asdict(r) for r in readings],
        "events": dict(events),
        "traffic": status,
        "sends": {"done": sender.done, "failed": sender.failed, "reached": len(delivered)},
    }


MEASURES = (
    ("browser PSS", "browser_pss", "MiB"),
    ("host RSS", "host_rss", "MiB"),
    ("driver PSS", "driver_pss", "MiB"),
    ("JS heap (used)", "js_heap", "MiB"),
    ("file descriptors", "fds", ""),
    ("asyncio tasks", "tasks", ""),
)


def trend_growth(points: list[tuple[float, float]]) -> float | None:
    """Percent rise of the least-squares line through (percent, value) over its span, against the
    line's value at the first point; None when the line starts at zero."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    start = mean_y + slope * (xs[0] - mean_x)
    if start <= 0:
        return None
    return slope * (xs[-1] - xs[0]) / start * 100


def after_warm_up(side: dict[str, Any]) -> list[dict[str, Any]]:
    """The readings from 10% on."""
    return [r for r in side["readings"] if r["percent"] >= 10]


def growth(side: dict[str, Any] | None, key: str, unit: str) -> str:
    """``trend +x% (first -> last)`` from the 10% reading to the last one."""
    if side is None:
        return "(not run)"
    readings = after_warm_up(side)
    if any(r[key] is None for r in readings):
        return "n/a"
    a, b = float(readings[0][key]), float(readings[-1][key])
    if not a and not b:
        return "n/a"
    trend = trend_growth([(float(r["percent"]), float(r[key])) for r in readings])
    fmt = ".0f" if unit == "" else ".1f"
    share = "" if trend is None else f"trend {trend:+.1f}%; "
    return f"{share}{a:{fmt}} -> {b:{fmt}} {unit}".rstrip()


def total_growth(side: dict[str, Any] | None) -> float | None:
    """Trend growth of browser PSS + host RSS + driver PSS from 10% on, in percent."""
    if side is None:
        return None
    return trend_growth(
        [
            (float(r["percent"]), float(r["browser_pss"] + r["host_rss"] + r["driver_pss"]))
            for r in after_warm_up(side)
        ]
    )


def summary(
    args: argparse.Namespace, ours: dict[str, Any] | None, theirs: dict[str, Any] | None
) -> Table:
    """The side-by-side table of both soaks."""
    table = Table(
        f"traffic soak: {args.events} events at {args.rate:.0f}/s ({', '.join(f'{k} {v}%' for k, v in KINDS.items())}) "
        f"over {DIRECT_CHATS} chats and {GROUPS} groups, {args.sends} sends; {args.driver} driver, "
        f"{'keeps every message' if args.keep_messages else 'unloads old messages'} ({environment()})"
    )
    for name, key, unit in MEASURES:
        table.add("growth 10% -> end", name, growth(ours, key, unit), growth(theirs, key, unit))
    ours_total, theirs_total = total_growth(ours), total_growth(theirs)
    table.add(
        "growth 10% -> end",
        "total (browser + host + driver), trend",
        "(not run)" if ours_total is None else f"{ours_total:+.1f}%",
        "(not run)" if theirs_total is None else f"{theirs_total:+.1f}%",
    )
    table.add(
        "events",
        "seen by the client (by kind)",
        ", ".join(f"{k} {v}" for k, v in sorted((ours or {}).get("events", {}).items())) or "-",
        ", ".join(f"{k} {v}" for k, v in sorted((theirs or {}).get("events", {}).items())) or "-",
    )
    table.add(
        "sends",
        "done / reached /_sim/sent / failed",
        "-"
        if ours is None
        else f"{ours['sends']['done']} / {ours['sends']['reached']} / {len(ours['sends']['failed'])}",
        "-"
        if theirs is None
        else f"{theirs['sends']['done']} / {theirs['sends']['reached']} / {len(theirs['sends']['failed'])}",
    )
    held = [r.get("page_messages") for r in (ours or {}).get("readings", [])]
    table.add(
        "page",
        "messages in WhatsApp Web's memory at 10% / at the end",
        "-" if len(held) < 2 else f"{held[1]} / {held[-1]}",
        "-",
    )
    table.raw = {"ours": ours, "theirs": theirs, "args": vars(args) | {"json": str(args.json)}}
    return table


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000, help="incoming events per side")
    parser.add_argument("--sends", type=int, default=5_000, help="sends per side")
    parser.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="incoming events per second (whatsapp-web.js falls behind at 200 on 2 cores)",
    )
    parser.add_argument("--messages", type=int, default=2, help="seeded messages per chat")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before readings")
    parser.add_argument("--only", choices=("ours", "theirs"))
    parser.add_argument("--driver", choices=OUR_DRIVERS, default=OUR_DRIVERS[0])
    parser.add_argument(
        "--keep-messages",
        action="store_true",
        help="ours never unloads old messages from the page (how it ran before they were unloaded)",
    )
    parser.add_argument(
        "--browser-arg",
        action="append",
        default=[],
        help="an extra Chromium flag for this client (Playwright driver; repeat for more)",
    )
    parser.add_argument(
        "--small", action="store_true", help="10,000 events and 500 sends (the same shape)"
    )
    parser.add_argument(
        "--attribute",
        action="store_true",
        help="at the end (ours): the heap after a full GC, and again once the simulator's page "
        "forgot the messages it keeps (adds --js-flags=--expose-gc)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.attribute:
        args.browser_arg.append("--js-flags=--expose-gc")
    if args.small:
        args.events, args.sends = args.events // 10, args.sends // 10
    ours = await soak_ours(args) if args.only != "theirs" else None
    theirs = await soak_theirs(args) if args.only != "ours" else None
    table = summary(args, ours, theirs)
    table.print()
    ours_total, theirs_total = total_growth(ours), total_growth(theirs)
    if ours_total is not None:
        verdict = "met" if ours_total <= 10 else "NOT met"
        if theirs_total is not None:
            verdict += f"; whatsapp-web.js {theirs_total:+.1f}%"
        print(f"memory growth after the first 10%: {ours_total:+.1f}% (target <= 10%: {verdict})")
    table.save(args.json)


if __name__ == "__main__":
    asyncio.run(main())
