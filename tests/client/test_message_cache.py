"""Old messages leave the page's memory and come back when an operation needs them.

WhatsApp Web keeps every loaded message until the page reloads; the client unloads old ones
(client/message_cache.py). These tests run the real bridge in a real Chromium on the simulator with
small limits: what was unloaded is gone from the page's count, the chat list and the history read
the same as before, no event claims a deletion, and the receipts of our unread message still arrive.
Unloading happens in the page, whatever the driver: one driver is enough here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from custom_components.whatsapp_web.client import MessageCacheLimits, WhatsAppWebClient
from custom_components.whatsapp_web.client.errors import NotConnected
from custom_components.whatsapp_web.client.message_cache import MessageCache, UnloadResult
from custom_components.whatsapp_web.client.models import (
    MessageAcknowledged,
    MessageReceived,
    MessageRevokedForMe,
)
from simulator.testing import Simulator
from tests.support.clients import DRIVERS, Recorder, browser_for, linked_with_recorder

pytestmark = pytest.mark.usefixtures("socket_enabled")

LIMITS = MessageCacheLimits(
    every_messages=0,
    keep_newest=4,
    own_unread_hours=24,
    own_unread_max=1,
    min_unload=1,
    max_unload=5,
)
CHATS = 3
GROUPS = 1


@pytest.fixture
async def small_cache(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[WhatsAppWebClient, Simulator, Recorder]]:
    root = Path(tmp_path_factory.mktemp("cache"))
    async with (
        Simulator(chats=CHATS, messages=2, contacts=4, groups=GROUPS, seed=5) as simulator,
        browser_for(DRIVERS[0], root) as (factory, _remote),
        linked_with_recorder(simulator, factory, message_cache=LIMITS) as (client, recorder),
    ):
        yield client, simulator, recorder


async def direct_chats(simulator: Simulator) -> list[dict[str, Any]]:
    return [chat for chat in await simulator.control.chats() if not chat["is_group"]]


async def previews(client: WhatsAppWebClient) -> dict[str, str | None]:
    """Each chat's last message id, as the chat list shows it."""
    return {
        chat.id: chat.last_message.id if chat.last_message else None
        for chat in await client.get_chats()
    }


async def test_old_messages_leave_memory_and_come_back_on_demand(small_cache: Any) -> None:
    client, simulator, recorder = small_cache
    talk, quiet = (await direct_chats(simulator))[:2]
    unread = await client.send_message(quiet["id"], "not read yet")
    ids = [await simulator.control.incoming(talk["id"], f"message {n}") for n in range(24)]
    await recorder.wait_for(MessageReceived, lambda event: event.message.id == ids[-1])
    history = [message.id for message in await client.get_messages(talk["id"], limit=30)]
    shown = await previews(client)

    result = await client.unload_messages()

    # Kept: the 4 newest, our unread message, and each chat's newest and newest real message.
    assert result.unloaded >= 20
    assert result.loaded <= LIMITS.keep_newest + 1 + 2 * (CHATS + GROUPS)
    assert client.message_cache.unloaded_total == result.unloaded
    assert recorder.of(MessageRevokedForMe) == []
    assert await previews(client) == shown

    # A page back from a message that is not loaded any more, then the whole history again.
    page = await client.get_messages(talk["id"], limit=3, before=ids[10])
    assert [message.id for message in page] == [ids[9], ids[8], ids[7]]
    assert [message.id for message in await client.get_messages(talk["id"], limit=30)] == history

    await client.unload_messages()
    oldest = await client.get_message(ids[0])
    assert oldest.body == "message 0"

    # Our own unread message stayed: its read receipt still becomes an event.
    await simulator.control.ack(unread.id, 3)
    await recorder.wait_for(
        MessageAcknowledged, lambda event: event.message.id == unread.id and event.ack == 3
    )
    assert recorder.of(MessageRevokedForMe) == []


async def test_enough_messages_start_a_round_by_themselves(small_cache: Any) -> None:
    client, simulator, recorder = small_cache
    client.message_cache.limits = dataclasses.replace(LIMITS, every_messages=10)
    talk = (await direct_chats(simulator))[0]
    ids = [await simulator.control.incoming(talk["id"], f"busy {n}") for n in range(25)]
    await recorder.wait_for(MessageReceived, lambda event: event.message.id == ids[-1])
    async with asyncio.timeout(15):
        while client.message_cache.unloaded_total == 0:
            await asyncio.sleep(0.1)
    # Every message was handed over once, unloaded or not; none was reported deleted.
    received = [event.message.id for event in recorder.of(MessageReceived)]
    assert [message_id for message_id in received if message_id in ids] == ids
    assert recorder.of(MessageRevokedForMe) == []


async def test_a_quiet_account_is_left_alone(small_cache: Any) -> None:
    client, _simulator, _recorder = small_cache
    client.message_cache.limits = dataclasses.replace(LIMITS, min_unload=10_000)
    shown = await previews(client)
    result = await client.unload_messages()
    assert result.unloaded == 0
    assert result.loaded > 0
    assert await previews(client) == shown


def test_a_round_is_due_every_so_many_messages() -> None:
    cache = MessageCache(MessageCacheLimits(every_messages=3))
    due = [cache.note_message() for _ in range(7)]
    assert due == [False, False, True, False, False, True, False]
    cache.limits = MessageCacheLimits(every_messages=0)
    assert not any(cache.note_message() for _ in range(10))


async def test_a_round_calls_again_while_more_are_due_and_survives_a_refusal() -> None:
    cache = MessageCache(LIMITS)
    calls: list[dict[str, Any]] = []

    async def bridge(operation: str, arguments: dict[str, Any]) -> Any:
        assert operation == "unloadMessages"
        calls.append(arguments)
        return {"unloaded": 5, "loaded": 10, "more": len(calls) < 3}

    async def refusing(operation: str, arguments: dict[str, Any]) -> Any:
        raise NotConnected("reconnecting")

    assert await cache.unload(refusing) == UnloadResult(0, 0)
    assert await cache.unload(bridge) == UnloadResult(15, 10)
    assert len(calls) == 3
    assert calls[0]["keepNewest"] == LIMITS.keep_newest
    assert calls[0]["maxUnload"] == LIMITS.max_unload
    assert cache.unloaded_total == 15
