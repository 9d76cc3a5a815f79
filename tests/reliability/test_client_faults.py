"""Faults below Home Assistant: the client on the simulator in a real Chromium.

- 100 cycles of ``/_sim/connection drop`` / ``restore``: each reconnects, messages queued while
  dropped arrive once, and nothing grows (tasks, file descriptors, browser processes, memory).
- A page that stops answering (an endless loop in the page): the watchdog replaces the browser
  within a bounded time and the session resumes without a QR.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import TYPE_CHECKING

import pytest

from custom_components.whatsapp_web.client import ClientState, WhatsAppWebClient
from custom_components.whatsapp_web.client.models import ClientEvent, MessageReceived
from simulator.testing import Simulator
from tests.support.clients import DRIVERS, LAUNCHING, browser_for, link, new_client, short_tmp

from .support import ResourceSample, ResourceSeries, record_figure, wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from .conftest import Secrets

pytestmark = pytest.mark.usefixtures("socket_enabled")

CYCLES = int(__import__("os").environ.get("RELIABILITY_CYCLES", "100"))
# Cycles before the first reading: the first reconnections warm caches up (V8, aiohttp pools).
WARM_UP_CYCLES = 10
# Every this many cycles a message is queued while the connection is down, and must arrive once.
PROBE_EVERY = 10


@pytest.fixture
def tmp_root() -> AsyncIterator[Path]:
    root = short_tmp()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def received_ids(events: list[ClientEvent]) -> list[str]:
    return [event.message.id for event in events if isinstance(event, MessageReceived)]


async def test_drop_restore_cycles_leak_nothing(tmp_root: Path, leak_guard: Secrets) -> None:
    """100 drops and restores: every one reconnects; tasks, fds, processes and memory stay flat."""
    events: list[ClientEvent] = []
    before = ResourceSample.take(str(tmp_root))
    async with Simulator(chats=3, messages=2, groups=1, seed=11) as simulator:
        leak_guard.watch(simulator)
        async with browser_for("local", tmp_root) as (factory, _remote):
            client = new_client(simulator, factory)
            client.add_event_listener(events.append)
            client.add_qr_listener(lambda qr: leak_guard.add("QR string", qr))
            series = ResourceSeries()
            probes: list[str] = []
            started = time.monotonic()
            try:
                await link(client, simulator)
                chat = next(c["id"] for c in await simulator.control.chats() if not c["is_group"])
                for cycle in range(1, CYCLES + 1):
                    await simulator.control.connection("drop")
                    await client.wait_for_state(ClientState.RECONNECTING, timeout=15)
                    if cycle % PROBE_EVERY == 0:
                        body = f"queued while dropped, cycle {cycle}"
                        leak_guard.add("message body", body)
                        probes.append(await simulator.control.incoming(chat, body))
                    await simulator.control.connection("restore")
                    await client.wait_for_state(ClientState.CONNECTED, timeout=20)
                    if cycle in (WARM_UP_CYCLES, CYCLES):
                        # Let the last batch of events and the cursor save settle before reading.
                        await asyncio.sleep(1.5)
                        series.add(ResourceSample.take(str(tmp_root)))
                elapsed = time.monotonic() - started
                await wait_until(lambda: set(probes) <= set(received_ids(events)), timeout=20)
                assert client.state is ClientState.CONNECTED
            finally:
                await client.stop()
    # Read after the simulator is gone too: its server keeps per-connection tasks until then.
    after = ResourceSample.take(str(tmp_root))

    ids = received_ids(events)
    assert all(ids.count(probe) == 1 for probe in probes), (
        "each queued message arrives exactly once"
    )
    warm, last = series.samples[0], series.samples[-1]
    record_figure(
        "drop/restore x100 (client)",
        "time",
        f"{elapsed:.1f} s ({elapsed / CYCLES * 1000:.0f} ms/cycle)",
    )
    record_figure(
        "drop/restore x100 (client)", f"cycle {WARM_UP_CYCLES} -> {CYCLES}", series.describe()
    )
    record_figure(
        "drop/restore x100 (client)",
        "after stop vs before start",
        f"fds {before.fds}->{after.fds}, tasks {before.tasks}->{after.tasks}, browser processes {after.browsers}",
    )
    assert last.fds - warm.fds <= 3, series.describe()
    assert last.tasks <= warm.tasks, series.describe()
    assert last.browsers == warm.browsers, series.describe()
    assert last.python_rss_mib - warm.python_rss_mib <= 25, series.describe()
    assert last.browser_rss_mib <= warm.browser_rss_mib * 1.25 + 20, series.describe()
    assert after.browsers == 0, "no Chromium process outlives the client"
    assert after.fds <= before.fds, f"fds {before.fds} before, {after.fds} after"
    assert after.tasks <= before.tasks, (
        f"tasks {before.tasks} before, {after.tasks} after: {after.task_names}"
    )


# The page's main thread spins forever from the next task on: evaluate returns, then nothing answers.
HANG_PAGE = "() => { setTimeout(() => { for (;;) {} }, 0); return true; }"


@pytest.mark.parametrize("kind", DRIVERS)
async def test_hung_page_is_replaced_by_the_watchdog(
    kind: str, tmp_root: Path, leak_guard: Secrets
) -> None:
    """An endless loop in the page: restarted within interval + timeout (+ margin), no new QR."""
    interval, timeout = 1.0, 2.0
    async with (
        Simulator(chats=2, messages=1, groups=0, seed=12) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):
        leak_guard.watch(simulator)
        client: WhatsAppWebClient = new_client(
            simulator, factory, watchdog_interval=interval, watchdog_timeout=timeout
        )
        qrs: list[str | None] = []
        try:
            leak_guard.add("QR string", await link(client, simulator))
            client.add_qr_listener(qrs.append)
            old_pids = set(client.browser_pids)
            session = client._session
            assert session is not None
            await session.driver.evaluate(HANG_PAGE, timeout=5)
            hung_at = time.monotonic()
            await client.wait_for_state(ClientState.RECONNECTING, timeout=interval + timeout + 8)
            noticed = time.monotonic() - hung_at
            await client.wait_for_state(ClientState.CONNECTED, timeout=40)
            recovered = time.monotonic() - hung_at
            assert client._session is not session, "a new page (and browser) replaced the hung one"
            if kind in LAUNCHING:
                assert set(client.browser_pids).isdisjoint(old_pids)
            chat = next(c["id"] for c in await simulator.control.chats() if not c["is_group"])
            sent = await client.send_message(chat, "after the hang")
            # The send resolves once the page has the message; the server's outbox follows.
            await simulator.control.wait_sent(lambda e: e.get("id") == sent.id, timeout=20)
            assert [e["id"] for e in await simulator.control.sent() if e["kind"] == "message"] == [
                sent.id
            ]
            assert not [qr for qr in qrs if qr], "the session resumed without a QR"
        finally:
            await client.stop()
    record_figure(
        f"hung page ({kind})", "noticed / connected again", f"{noticed:.1f} s / {recovered:.1f} s"
    )
    assert noticed <= interval + timeout + 3
