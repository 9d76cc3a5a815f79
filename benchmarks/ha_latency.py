"""Event latency through Home Assistant: the simulator's page -> a WebSocket subscriber of HA.

    .venv/bin/python benchmarks/ha_latency.py            # 1,000 messages (a p99 of 200 is their second worst)
    .venv/bin/python benchmarks/ha_latency.py --small    # 50 messages (about 1 to 2 minutes)

Starts the real product on loopback (``python -m simulator``, ``hass`` with this integration, the
integration's Chromium), onboards Home Assistant, links the account through the config flow, then
subscribes over Home Assistant's WebSocket API to ``whatsapp_message_received`` and injects incoming
messages one at a time. Per message:

- from the page's stamp: this process's wall clock when the WebSocket frame with the event arrived,
  minus the page's wall clock when it handed the message to its Store (``/_sim/stamps``); the
  simulator's HTTP answer and its push to the page are not in it;
- from the POST: from before ``POST /_sim/incoming`` to the frame.

Every process (hass and its Chromium, the simulator) is stopped at the end, on errors and on
Ctrl-C or SIGTERM too.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import shutil
import signal
import tempfile
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from common import Arrival, Table, environment, stamped_latency, summary_ms

from simulator.testing import SimulatorControl
from tests.e2e.harness import HaWebSocket, Stack, StackSettings, free_port

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

EVENT_TYPE = "whatsapp_message_received"
FRAME_TIMEOUT = 30.0


def event_frames(socket_: HaWebSocket) -> Callable[[str], Awaitable[Arrival]]:
    """Waits for the WebSocket frame of the event about a message id (other frames are skipped)."""

    async def arrival(message_id: str) -> Arrival:
        async with asyncio.timeout(FRAME_TIMEOUT):
            while True:
                frame = await socket_.receive(timeout=FRAME_TIMEOUT)
                arrived = time.monotonic(), time.time()
                if frame.get("type") != "event":
                    continue
                if frame["event"]["data"].get("id", {}).get("_serialized") == message_id:
                    return arrived

    return arrival


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    """Bring the stack up, link, subscribe, measure."""
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        await stack.bring_up(session)
        await stack.ensure_linked(session)
        ready = time.monotonic() - started
        assert stack.simulator is not None
        async with SimulatorControl(stack.simulator.url, session) as control:
            chat_id = next(c["id"] for c in await control.chats() if not c["is_group"])
            socket_ = await HaWebSocket.connect(session, stack.ha_url, stack.token)
            try:
                await socket_.command({"type": "subscribe_events", "event_type": EVENT_TYPE})
                # A first message warms up the path (automation triggers, the recorder, JIT).
                await stamped_latency(control, chat_id, 1, event_frames(socket_))
                figures = await stamped_latency(
                    control, chat_id, args.messages, event_frames(socket_)
                )
            finally:
                await socket_.close()
    return {"ready": ready, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000, help="incoming messages measured")
    parser.add_argument("--small", action="store_true", help="50 messages")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.small:
        args.messages = 50
    # SIGTERM ends the run like Ctrl-C does: through the clean-up below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    directory = Path(tempfile.mkdtemp(prefix="wa-ha-latency-"))
    stack = Stack(
        StackSettings(
            directory=directory,
            ha_port=free_port(),
            simulator_port=free_port(),
            username="bench",
            password="bench-password-not-secret",
            seed=7,
            chats=20,
            messages=5,
        )
    )
    try:
        results = asyncio.run(run(args, stack))
    finally:
        stack.stop()
        shutil.rmtree(directory, ignore_errors=True)
    table = Table(
        f"{EVENT_TYPE} -> Home Assistant WebSocket subscriber ({args.messages} messages, "
        f"one at a time; {environment()})",
        header=("scenario", "measure", "whatsapp_web in Home Assistant", ""),
    )
    table.add("start", "hass start, onboarding, link -> connected", f"{results['ready']:.1f} s")
    table.add(
        "event latency",
        "page stamp -> WebSocket frame (p50/p99/max)",
        summary_ms(results["from_page"]),
    )
    table.add(
        "event latency",
        "POST /_sim/incoming -> WebSocket frame",
        summary_ms(results["from_post"]),
    )
    table.raw = {"results": results, "args": vars(args) | {"json": str(args.json)}}
    table.print()
    table.save(args.json)


if __name__ == "__main__":
    main()
