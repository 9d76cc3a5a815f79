"""Notify entities: one per recipient in the options, sending through the outbox."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from unittest.mock import patch

from homeassistant.components.notify import ATTR_MESSAGE, ATTR_TITLE, SERVICE_SEND_MESSAGE
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError, Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import CONF_NOTIFY_RECIPIENTS, CONF_OUTBOX_TTL, DOMAIN

from .linking import add_linked_entry, wait_until

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import entity_registry as er

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


async def test_send_message_reaches_the_chat(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    group = next(chat["id"] for chat in chats if chat["is_group"])
    entry = await add_linked_entry(
        hass, simulator, options={CONF_NOTIFY_RECIPIENTS: [person, group]}
    )
    person_entity = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{entry.unique_id}_notify_{person}"
    )
    group_entity = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{entry.unique_id}_notify_{group}"
    )
    assert person_entity
    assert group_entity
    number = person.split("@")[0]
    assert hass.states.get(person_entity).attributes["friendly_name"] == (
        f"{entry.title} Message {number}"
    )

    await hass.services.async_call(
        "notify",
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: person_entity, ATTR_MESSAGE: "The door is open", ATTR_TITLE: "Home"},
        blocking=True,
    )
    sent = await simulator.control.wait_sent(lambda item: item["kind"] == "message")
    assert sent["chat"] == person
    assert sent["body"] == "*Home*\nThe door is open"

    await hass.services.async_call(
        "notify",
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: group_entity, ATTR_MESSAGE: "Dinner is ready"},
        blocking=True,
    )
    sent = await simulator.control.wait_sent(
        lambda item: item["kind"] == "message" and item["chat"] == group
    )
    assert sent["body"] == "Dinner is ready"


async def test_message_sent_while_reconnecting_leaves_once_when_back(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    entry = await add_linked_entry(hass, simulator, options={CONF_NOTIFY_RECIPIENTS: [person]})
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{entry.unique_id}_notify_{person}"
    )
    await simulator.control.connection("drop")
    await entry.runtime_data.client.wait_for_state(ClientState.RECONNECTING, timeout=30)
    with patch("custom_components.whatsapp_web.notify.SEND_WAIT_SECONDS", 0.2):
        await hass.services.async_call(
            "notify",
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: entity_id, ATTR_MESSAGE: "queued"},
            blocking=True,
        )
    assert entry.runtime_data.outbox.pending == 1
    assert hass.states.get(entity_id).state != "unavailable"
    assert not [item for item in await simulator.control.sent() if item["kind"] == "message"]

    await simulator.control.connection("restore")
    await simulator.control.wait_sent(lambda item: item["kind"] == "message", timeout=30)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=30)
    messages = [item for item in await simulator.control.sent() if item["kind"] == "message"]
    assert [item["body"] for item in messages] == ["queued"]


async def test_a_queued_message_expires_with_an_event(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    # 0.02 minutes: a queued send lives 1.2 s.
    entry = await add_linked_entry(
        hass, simulator, options={CONF_NOTIFY_RECIPIENTS: [person], CONF_OUTBOX_TTL: 0.02}
    )
    expired = async_capture_events(hass, "whatsapp_outbox_expired")
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{entry.unique_id}_notify_{person}"
    )
    await simulator.control.connection("drop")
    await entry.runtime_data.client.wait_for_state(ClientState.RECONNECTING, timeout=30)
    with patch("custom_components.whatsapp_web.notify.SEND_WAIT_SECONDS", 0.2):
        await hass.services.async_call(
            "notify",
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: entity_id, ATTR_MESSAGE: "too late"},
            blocking=True,
        )
    await asyncio.sleep(1.5)
    await simulator.control.connection("restore")
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=30)
    await wait_until(lambda: len(expired) == 1)
    assert expired[0].data["chat_id"] == person
    assert expired[0].data["config_entry_id"] == entry.entry_id
    assert expired[0].data["account"] == entry.unique_id
    assert entry.runtime_data.outbox.pending == 0
    assert not [item for item in await simulator.control.sent() if item["kind"] == "message"]


async def test_a_send_whatsapp_refuses_is_a_translated_error(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    # A group this account is not in.
    unknown_group = "120363000000000001@g.us"
    entry = await add_linked_entry(
        hass, simulator, options={CONF_NOTIFY_RECIPIENTS: [unknown_group]}
    )
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{entry.unique_id}_notify_{unknown_group}"
    )
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            "notify",
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: entity_id, ATTR_MESSAGE: "hello?"},
            blocking=True,
        )
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key in {"chat_not_found", "group_not_found", "not_found"}
    assert entry.runtime_data.outbox.pending == 0


async def test_only_administrators_and_automations_may_notify(
    hass: HomeAssistant,
    simulator: Simulator,
    entity_registry: er.EntityRegistry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    entry = await add_linked_entry(hass, simulator, options={CONF_NOTIFY_RECIPIENTS: [person]})
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{entry.unique_id}_notify_{person}"
    )
    # A household member: may control every entity, is no administrator.
    non_admin = MockUser(name="family member").add_to_hass(hass)
    non_admin.mock_policy({"entities": {"all": True}})

    async def notify(text: str, context: Context | None) -> None:
        await hass.services.async_call(
            "notify",
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: entity_id, ATTR_MESSAGE: text},
            blocking=True,
            context=context,
        )

    for user in (non_admin, hass_read_only_user):
        assert not user.is_admin
        with pytest.raises(Unauthorized):
            await notify(f"from {user.name}", Context(user_id=user.id))
    await notify("from the admin", Context(user_id=hass_admin_user.id))
    await notify("from an automation", None)
    await simulator.control.wait_sent(
        lambda item: item["kind"] == "message" and item["body"] == "from an automation"
    )
    bodies = [item["body"] for item in await simulator.control.sent() if item["kind"] == "message"]
    assert sorted(bodies) == ["from an automation", "from the admin"]
