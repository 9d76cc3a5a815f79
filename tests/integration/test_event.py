"""The event entity: the last incoming message or call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.event import ATTR_EVENT_TYPE, ATTR_EVENT_TYPES
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
import pytest

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import CONF_NON_ADMIN_READ, DOMAIN

from .linking import add_linked_entry, wait_until

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import entity_registry as er

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


async def _wait_state(hass: HomeAssistant, entity_id: str, predicate, timeout: float = 20):
    await wait_until(lambda: predicate(hass.states.get(entity_id)), timeout)
    return hass.states.get(entity_id)


async def test_incoming_messages_and_calls(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    # Texts are shown only where the options let every user read (tests/reliability covers both ways).
    entry = await add_linked_entry(hass, simulator, options={CONF_NON_ADMIN_READ: True})
    entity_id = entity_registry.async_get_entity_id("event", DOMAIN, f"{entry.unique_id}_incoming")
    state = hass.states.get(entity_id)
    assert state.state == STATE_UNKNOWN
    assert state.attributes[ATTR_EVENT_TYPES] == ["message_received", "call"]

    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    group = next(chat["id"] for chat in chats if chat["is_group"])
    message_id = await simulator.control.incoming(group, "dinner at 8?", author=person)
    state = await _wait_state(hass, entity_id, lambda state: state.state != STATE_UNKNOWN)
    assert state.attributes[ATTR_EVENT_TYPE] == "message_received"
    assert state.attributes["chat_id"] == group
    assert state.attributes["sender"] == person
    assert state.attributes["message_id"] == message_id
    assert state.attributes["body"] == "dinner at 8?"
    assert state.attributes["message_type"] == "chat"
    assert state.attributes["offline"] is False

    await simulator.control.call(person)
    state = await _wait_state(
        hass, entity_id, lambda state: state.attributes.get(ATTR_EVENT_TYPE) == "call"
    )
    assert state.attributes["caller"] == person
    assert state.attributes["is_video"] is False

    # Nothing arrives while the account is not connected: the entity says so.
    await simulator.control.connection("conflict")
    await entry.runtime_data.client.wait_for_state(ClientState.RECONNECTING, timeout=30)
    await _wait_state(hass, entity_id, lambda state: state.state == STATE_UNAVAILABLE)
