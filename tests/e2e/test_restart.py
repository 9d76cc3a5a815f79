"""Restarting Home Assistant: the entry comes back connected from the saved session, with no QR code."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
import uuid

from tests.e2e.harness import (
    HaWebSocket,
    Stack,
    api_json,
    entity_states_of_entry,
    wait_until_connected,
    whatsapp_entries,
)

if TYPE_CHECKING:
    import aiohttp


async def test_restart_comes_back_connected_without_qr(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.hass is not None
    assert stack.simulator is not None
    before = await whatsapp_entries(http, stack.ha_url, stack.token)
    assert len(before) == 1
    linked_before = await api_json(http, "GET", f"{stack.simulator.url}_sim/state")
    assert linked_before["linked"] is True

    started = time.monotonic()
    await stack.restart_hass(http)
    status = await wait_until_connected(http, stack.ha_url, stack.token)
    elapsed = time.monotonic() - started

    after = await whatsapp_entries(http, stack.ha_url, stack.token)
    assert [(entry["entry_id"], entry["state"]) for entry in after] == [
        (before[0]["entry_id"], "loaded")
    ]
    assert status["config_entry_id"] == before[0]["entry_id"]
    assert status["account"] == linked_before["me"]["id"]
    # No QR code anywhere: the page never asked to link, and no flow is waiting for a phone.
    state = await api_json(http, "GET", f"{stack.simulator.url}_sim/state")
    assert state["qr"] is None
    assert state["state"] == "CONNECTED"
    websocket = await HaWebSocket.connect(http, stack.ha_url, stack.token)
    try:
        flows = await websocket.command({"type": "config_entries/flow/progress"})
    finally:
        await websocket.close()
    assert [flow for flow in flows if flow["handler"] == "whatsapp_web"] == []
    # The connection sensor says so too.
    entities = await entity_states_of_entry(
        http, stack.ha_url, stack.token, status["config_entry_id"]
    )
    sensors = [state for entity_id, state in entities.items() if entity_id.startswith("sensor.")]
    assert sensors == ["connected"], entities
    assert elapsed < 60


async def test_message_received_while_down_is_answered_after_restart(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    """The reply automation answers a message that arrived while Home Assistant was stopped, once."""
    assert stack.hass is not None
    assert stack.simulator is not None
    chats = await api_json(http, "GET", f"{stack.simulator.url}_sim/chats")
    chat = next(item["id"] for item in chats["chats"] if not item["is_group"])
    text = f"ping while down {uuid.uuid4().hex[:8]}"

    await asyncio.get_running_loop().run_in_executor(None, stack.hass.stop)
    await api_json(
        http, "POST", f"{stack.simulator.url}_sim/incoming", body={"chat": chat, "body": text}
    )
    stack.hass.start()
    await stack.hass.wait_until_serving(http)
    await stack.hass.wait_until_running(http, stack.token)
    await wait_until_connected(http, stack.ha_url, stack.token)

    deadline = time.monotonic() + 30
    replies: list[dict] = []
    while time.monotonic() < deadline:
        sent = (await api_json(http, "GET", f"{stack.simulator.url}_sim/sent"))["sent"]
        replies = [entry for entry in sent if entry.get("body") == f"pong: {text}"]
        if replies:
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1.0)
    sent = (await api_json(http, "GET", f"{stack.simulator.url}_sim/sent"))["sent"]
    replies = [entry for entry in sent if entry.get("body") == f"pong: {text}"]
    assert [(entry["chat"], entry["kind"]) for entry in replies] == [(chat, "message")]
