"""Events on Home Assistant's WebSocket API, and a YAML automation that answers through the service."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
import uuid

from tests.e2e.harness import HaWebSocket, Stack, api_json

if TYPE_CHECKING:
    import aiohttp


async def first_direct_chat(http: aiohttp.ClientSession, stack: Stack) -> str:
    """A seeded one-to-one chat of the simulator's account."""
    assert stack.simulator is not None
    chats = await api_json(http, "GET", f"{stack.simulator.url}_sim/chats")
    return next(chat["id"] for chat in chats["chats"] if not chat["is_group"])


async def test_websocket_subscriber_receives_incoming_message(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.simulator is not None
    chat = await first_direct_chat(http, stack)
    status = await api_json(http, "GET", f"{stack.ha_url}/api/whatsapp_web/status", stack.token)
    websocket = await HaWebSocket.connect(http, stack.ha_url, stack.token)
    try:
        subscription = await websocket.send(
            {"type": "subscribe_events", "event_type": "whatsapp_message_received"}
        )
        answer = await websocket.receive()
        assert answer["id"] == subscription
        assert answer["success"] is True
        body = f"hello from the e2e test {uuid.uuid4().hex[:8]}"
        message_id = await api_json(
            http, "POST", f"{stack.simulator.url}_sim/incoming", body={"chat": chat, "body": body}
        )
        async with asyncio.timeout(20):
            while True:
                message = await websocket.receive(timeout=20)
                if message.get("type") == "event" and message["event"]["data"].get("body") == body:
                    break
    finally:
        await websocket.close()
    event = message["event"]
    assert message["id"] == subscription
    assert event["event_type"] == "whatsapp_message_received"
    data = event["data"]
    assert data["id"]["_serialized"] == message_id["id"]
    assert data["from"]["_serialized"] == chat
    assert data["id"]["fromMe"] is False
    assert data["to"]["_serialized"] == status["account"]
    assert data["offline"] is False
    assert data["account"] == status["account"]
    assert data["config_entry_id"] == status["config_entry_id"]


async def wait_for_sent(
    http: aiohttp.ClientSession, simulator_url: str, body: str, timeout: float = 20
) -> list[dict]:
    """The simulator's outbox entries with this text, once there is at least one."""
    deadline = time.monotonic() + timeout
    while True:
        sent = (await api_json(http, "GET", f"{simulator_url}_sim/sent"))["sent"]
        matching = [entry for entry in sent if entry["kind"] == "message" and entry["body"] == body]
        if matching or time.monotonic() > deadline:
            return matching
        await asyncio.sleep(0.25)


async def test_yaml_automation_replies_through_send_message(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.simulator is not None
    chat = await first_direct_chat(http, stack)
    text = f"ping {uuid.uuid4().hex[:8]}"
    await api_json(
        http, "POST", f"{stack.simulator.url}_sim/incoming", body={"chat": chat, "body": text}
    )
    replies = await wait_for_sent(http, stack.simulator.url, f"pong: {text}")
    assert len(replies) == 1, replies
    assert replies[0]["chat"] == chat
    assert replies[0]["type"] == "chat"
    # Exactly once: nothing else arrives a moment later.
    await asyncio.sleep(1.0)
    assert len(await wait_for_sent(http, stack.simulator.url, f"pong: {text}", 0)) == 1
    # The automation ran, as Home Assistant itself reports.
    state = await api_json(
        http, "GET", f"{stack.ha_url}/api/states/automation.e2e_reply_bot", stack.token
    )
    assert state["state"] == "on"
    assert state["attributes"]["last_triggered"] is not None


async def test_reply_bot_blueprint_answers(stack: Stack, http: aiohttp.ClientSession) -> None:
    assert stack.simulator is not None
    chat = await first_direct_chat(http, stack)
    text = f"Marco? {uuid.uuid4().hex[:8]}"
    await api_json(
        http, "POST", f"{stack.simulator.url}_sim/incoming", body={"chat": chat, "body": text}
    )
    replies = await wait_for_sent(http, stack.simulator.url, f"polo, {text}")
    assert [(entry["chat"], entry["type"]) for entry in replies] == [(chat, "chat")]
