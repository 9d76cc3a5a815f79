"""The device trigger "message received", optionally for one chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components import automation
from homeassistant.components.device_automation import (
    DeviceAutomationType,
    async_get_device_automations,
)
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service
import voluptuous as vol

from custom_components.whatsapp_web import device_trigger
from custom_components.whatsapp_web.const import DOMAIN, EVENT_MESSAGE_RECEIVED
from custom_components.whatsapp_web.device_trigger import async_validate_trigger_config

from .linking import add_linked_entry, wait_until

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


async def test_trigger_is_offered_and_fires_for_the_chosen_chat(
    hass: HomeAssistant, simulator: Simulator, device_registry: dr.DeviceRegistry
) -> None:
    entry = await add_linked_entry(hass, simulator)
    (device,) = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    automations = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, [device.id]
    )
    ours = [item for item in automations[device.id] if item["domain"] == DOMAIN]
    assert ours == [
        {
            "platform": "device",
            "domain": DOMAIN,
            "device_id": device.id,
            "type": "message_received",
            "metadata": {},
        }
    ]

    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    other = next(chat["id"] for chat in chats if not chat["is_group"] and chat["id"] != person)
    calls = async_mock_service(hass, "test", "automation")
    trigger = {
        "platform": "device",
        "domain": DOMAIN,
        "device_id": device.id,
        "type": "message_received",
    }
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "alias": "any chat",
                    "trigger": trigger,
                    "action": {
                        "service": "test.automation",
                        "data": {"which": "any", "body": "{{ trigger.event.data.body }}"},
                    },
                },
                {
                    "alias": "one chat",
                    # A phone number is accepted and normalised.
                    "trigger": {**trigger, "chat_id": "+" + person.split("@")[0]},
                    "action": {
                        "service": "test.automation",
                        "data": {"which": "one", "body": "{{ trigger.event.data.body }}"},
                    },
                },
            ]
        },
    )
    await simulator.control.incoming(other, "from someone else")
    await simulator.control.incoming(person, "from the chosen chat")
    await wait_until(lambda: len(calls) >= 3)
    assert sorted((call.data["which"], call.data["body"]) for call in calls) == [
        ("any", "from someone else"),
        ("any", "from the chosen chat"),
        ("one", "from the chosen chat"),
    ]

    # An event of another account does not trigger this device's automations.
    hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, {"config_entry_id": "other", "body": "x", "id": {}})
    await hass.async_block_till_done()
    assert len(calls) == 3


async def test_trigger_capabilities_and_validation(
    hass: HomeAssistant, simulator: Simulator, device_registry: dr.DeviceRegistry
) -> None:
    entry = await add_linked_entry(hass, simulator)
    (device,) = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    capabilities = await device_trigger.async_get_trigger_capabilities(hass, {})
    assert [str(key) for key in capabilities["extra_fields"].schema] == [
        "chat_id",
        "person_entity_id",
    ]

    config = await async_validate_trigger_config(
        hass,
        {
            "platform": "device",
            "domain": DOMAIN,
            "device_id": device.id,
            "type": "message_received",
            "chat_id": "+34 600 11 22 33",
        },
    )
    assert config["chat_id"] == "34600112233@c.us"
    with pytest.raises(vol.Invalid):
        await async_validate_trigger_config(
            hass,
            {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": device.id,
                "type": "message_received",
                "chat_id": "nonsense",
            },
        )
    other = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other", "x")}
    )
    with pytest.raises(InvalidDeviceAutomationConfig):
        await async_validate_trigger_config(
            hass,
            {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": other.id,
                "type": "message_received",
            },
        )
    assert await device_trigger.async_get_triggers(hass, other.id) == []
