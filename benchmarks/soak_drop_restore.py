"""Soak: 1,000 cycles of ``/_sim/connection drop`` / ``restore`` against one client.

    .venv/bin/python benchmarks/soak_drop_restore.py                # 1,000 cycles
    .venv/bin/python benchmarks/soak_drop_restore.py --cycles 100 --every 20 --driver cdp

Every cycle drops the connection, waits for the client to notice (reconnecting), restores it and
waits for connected. Every ``--probe`` cycles a message is queued while dropped and must arrive
exactly once. Every ``--every`` cycles the figures that could leak are read: open file descriptors
of this process, live asyncio tasks, Chromium processes, RSS of Python and of the browser. The
table shows them over the soak, with the growth from the first reading (after warm-up) to the last.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import time
from typing import Any

from common import OUR_DRIVERS, Table, cleanup, environment, work_directory

from custom_components.whatsapp_web.client import ClientState, WhatsAppWebClient
from custom_components.whatsapp_web.client.models import MessageReceived
from simulator.testing import Simulator
from tests.reliability.support import ResourceSample
from tests.support.clients import RemoteChromium, driver_factory


async def soak(args: argparse.Namespace) -> tuple[list[tuple[int, ResourceSample]], dict[str, Any]]:
    work = work_directory()
    profile = work / "profile"
    profile.mkdir()
    samples: list[tuple[int, ResourceSample]] = []
    received: list[str] = []
    probes: list[str] = []
    cycle_times: list[float] = []
    remote: RemoteChromium | None = None
    try:
        async with Simulator(chats=5, messages=2, groups=1, seed=11) as simulator:
            if args.driver == "cdp":
                remote = RemoteChromium(profile)
                factory = driver_factory("cdp", profile, await remote.start())
            else:
                factory = driver_factory(args.driver, profile)
            client = WhatsAppWebClient(
                factory, url=simulator.url, backoff_initial=0.2, backoff_max=2.0
            )
            # Only message ids are kept: holding every event would itself grow over 1,000 cycles.
            client.add_event_listener(
                lambda event: (
                    received.append(event.message.id)
                    if isinstance(event, MessageReceived)
                    else None
                )
            )
            samples.append((0, ResourceSample.take(str(profile))))
            try:
                await client.start()
                async for qr in client.qr_codes():
                    await simulator.control.link(qr=qr)
                    break
                await client.wait_for_state(ClientState.CONNECTED, timeout=60)
                chat = next(c["id"] for c in await simulator.control.chats() if not c["is_group"])
                for cycle in range(1, args.cycles + 1):
                    started = time.monotonic()
                    await simulator.control.connection("drop")
                    await client.wait_for_state(ClientState.RECONNECTING, timeout=30)
                    if cycle % args.probe == 0:
                        probes.append(await simulator.control.incoming(chat, f"probe {cycle}"))
                    await simulator.control.connection("restore")
                    await client.wait_for_state(ClientState.CONNECTED, timeout=60)
                    cycle_times.append(time.monotonic() - started)
                    if cycle % args.every == 0 or cycle == args.cycles:
                        await asyncio.sleep(1.0)
                        samples.append((cycle, ResourceSample.take(str(profile))))
                        last = samples[-1][1]
                        print(
                            f"cycle {cycle}: fds {last.fds}, tasks {last.tasks}, browsers {last.browsers}, "
                            f"python {last.python_rss_mib:.0f} MiB, browser {last.browser_rss_mib:.0f} MiB",
                            flush=True,
                        )
                await asyncio.sleep(2)
            finally:
                await client.stop()
        if remote is not None:
            await remote.stop()
            remote = None
        # Read after the simulator is gone too: its server keeps per-connection tasks until then.
        samples.append((-1, ResourceSample.take(str(profile))))
    finally:
        if remote is not None:
            await remote.stop()
        cleanup(work)
    return samples, {
        "probes": len(probes),
        "probes_once": sum(1 for p in probes if received.count(p) == 1),
        "cycle_times": cycle_times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100, help="cycles between readings")
    parser.add_argument(
        "--probe", type=int, default=10, help="cycles between queued probe messages"
    )
    parser.add_argument("--driver", choices=OUR_DRIVERS, default=OUR_DRIVERS[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    samples, extra = asyncio.run(soak(args))
    times = sorted(extra["cycle_times"])
    table = Table(
        f"drop/restore soak: {args.cycles} cycles, {args.driver} driver ({environment()})",
        header=("reading", "measure", "value", ""),
    )
    for cycle, sample in samples:
        label = "before start" if cycle == 0 else "after stop" if cycle == -1 else f"cycle {cycle}"
        table.add(
            label,
            "fds / tasks / browsers / python RSS / browser RSS",
            f"{sample.fds} / {sample.tasks} / {sample.browsers} / {sample.python_rss_mib:.0f} MiB / {sample.browser_rss_mib:.0f} MiB",
        )
    running = [s for c, s in samples if c > 0]
    if len(running) >= 2:
        first, last = running[0], running[-1]
        table.add(
            "growth",
            f"first reading (cycle {samples[1][0]}) -> last",
            f"fds {last.fds - first.fds:+d}, tasks {last.tasks - first.tasks:+d}, browsers {last.browsers - first.browsers:+d}, "
            f"python {last.python_rss_mib - first.python_rss_mib:+.1f} MiB, browser {last.browser_rss_mib - first.browser_rss_mib:+.1f} MiB",
        )
    table.add(
        "cycle time",
        "p50 / p99 / max",
        f"{times[len(times) // 2] * 1000:.0f} / {times[int(len(times) * 0.99) - 1] * 1000:.0f} / {times[-1] * 1000:.0f} ms",
    )
    table.add(
        "probes",
        "queued while dropped, delivered exactly once",
        f"{extra['probes_once']}/{extra['probes']}",
    )
    table.raw = {"samples": [(c, vars(s)) for c, s in samples], "cycle_times": extra["cycle_times"]}
    table.print()
    table.save(args.json)


if __name__ == "__main__":
    main()
