"""The memory guard through Home Assistant, on the simulator with a real Chromium.

A page that holds memory (``POST /_sim/hog``) makes the guard reload WhatsApp Web with the session
kept: a logbook entry says so, the sensor shows the browser's memory, a message that arrives during
the reload fires once, and a send made during the reload reaches WhatsApp once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from homeassistant.const import EVENT_LOGBOOK_ENTRY
from homeassistant.helpers import entity_registry as er

from custom_components.whatsapp_web import memory_guard
from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import CONF_HEAP_LIMIT, CONF_MEMORY_LIMIT, DOMAIN
from tests.integration.linking import add_linked_entry

from .ha_support import BusRecorder, private_chats, send_via_service, tracebacks
from .support import wait_until

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    import pytest

    from simulator.testing import Simulator

    from .conftest import Secrets

HEAP_LIMIT_MIB = 96
HOG_MIB = 160


async def test_leaking_page_is_reloaded_at_a_quiet_moment_losing_nothing(
    hass: HomeAssistant,
    big_simulator: Simulator,
    leak_guard: Secrets,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(memory_guard, "CHECK_INTERVAL", 0.5)
    monkeypatch.setattr(memory_guard, "QUIET_SECONDS", 1.0)
    sim = big_simulator
    # The browser limit off: its idle PSS depends on the machine; the heap is the page's own.
    entry = await add_linked_entry(
        hass, sim, options={CONF_MEMORY_LIMIT: 0, CONF_HEAP_LIMIT: HEAP_LIMIT_MIB}
    )
    account = entry.runtime_data
    guard = account.memory_guard
    sensor_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{account.account_id}_connection_state"
    )
    assert sensor_id is not None
    incoming_chat, send_chat = await private_chats(sim, 2)
    bus = BusRecorder(hass, "whatsapp_message_received", EVENT_LOGBOOK_ENTRY)
    states: list[ClientState] = []
    remove_listener = account.client.add_state_listener(states.append)
    try:
        # Readings come and show on the sensor; under the limit nothing happens.
        await wait_until(lambda: guard.reading is not None, timeout=60)
        await wait_until(
            lambda: (
                (state := hass.states.get(sensor_id)) is not None
                and state.attributes.get("js_heap_mib") is not None
            ),
            timeout=30,
        )
        state = hass.states.get(sensor_id)
        assert state is not None
        assert state.attributes["js_heap_limit_mib"] == HEAP_LIMIT_MIB
        # A local browser: every Chromium process of it, read from /proc.
        assert state.attributes["browser_memory_mib"] > 0
        assert guard.reloads == 0

        assert await sim.control.hog(HOG_MIB) == 1
        await wait_until(lambda: ClientState.RECONNECTING in states, timeout=120)
        body = "sent while WhatsApp Web reloads"
        leak_guard.add("message body", body)
        incoming_body = "arrived while WhatsApp Web reloads"
        leak_guard.add("message body", incoming_body)
        incoming_id = await sim.control.incoming(incoming_chat, incoming_body)
        sending = asyncio.create_task(send_via_service(hass, send_chat, body))

        await account.client.wait_for_state(ClientState.CONNECTED, timeout=120)
        await sending
        await wait_until(lambda: account.outbox.pending == 0, timeout=60)
        await wait_until(
            lambda: (
                incoming_id in {e["id"]["_serialized"] for e in bus.of("whatsapp_message_received")}
            ),
            timeout=60,
        )
        # A fresh page holds none of the hog: the next reading is under the limit again.
        before = guard.reading
        await wait_until(lambda: guard.reading is not before, timeout=60)
        assert guard.reading is not None
        assert guard.reading.js_heap_used_mib < HEAP_LIMIT_MIB
        await asyncio.sleep(1)

        assert guard.reloads == 1
        entries = [e for e in bus.of(EVENT_LOGBOOK_ENTRY) if e.get("domain") == DOMAIN]
        assert len(entries) == 1
        assert entries[0]["entity_id"] == sensor_id
        assert entries[0]["name"] == entry.title
        assert "memory" in entries[0]["message"]
        assert f"above {HEAP_LIMIT_MIB} MiB" in entries[0]["message"]
        received = [e["id"]["_serialized"] for e in bus.of("whatsapp_message_received")]
        assert received.count(incoming_id) == 1
        sent = [e for e in await sim.control.sent() if e["kind"] == "message" and e["body"] == body]
        assert len(sent) == 1
        assert sent[0]["chat"] == send_chat
        state = hass.states.get(sensor_id)
        assert state is not None
        assert state.attributes["memory_reloads"] == 1
        assert not tracebacks(caplog.records)
    finally:
        remove_listener()
        bus.close()
