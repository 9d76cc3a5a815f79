"""The connection sensor and the account's device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.sensor import ATTR_OPTIONS, SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, STATE_UNAVAILABLE, EntityCategory
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import DOMAIN

from .linking import add_linked_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


async def test_connection_sensor_follows_the_client(
    hass: HomeAssistant,
    simulator: Simulator,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = await add_linked_entry(hass, simulator)
    entity_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{entry.unique_id}_connection_state"
    )
    assert entity_id is not None
    registered = entity_registry.async_get(entity_id)
    assert registered.entity_category is EntityCategory.DIAGNOSTIC
    assert registered.translation_key == "connection_state"
    assert registered.has_entity_name

    state = hass.states.get(entity_id)
    assert state.state == "connected"
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert state.attributes[ATTR_OPTIONS] == [state.value for state in ClientState]
    assert state.attributes["friendly_name"] == f"{entry.title} Connection"

    # One device for the account, a service, named after it.
    device = device_registry.async_get(registered.device_id)
    assert device.identifiers == {(DOMAIN, entry.unique_id)}
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.name == entry.title
    assert device.manufacturer == "WhatsApp"
    assert dr.async_entries_for_config_entry(device_registry, entry.entry_id) == [device]

    await simulator.control.connection("logout")
    await entry.runtime_data.client.wait_for_state(ClientState.LOGGED_OUT, timeout=30)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "logged_out"

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
