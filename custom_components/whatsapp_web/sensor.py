"""The connection state of a linked account, as an enum sensor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .account import WhatsAppAccount, WhatsAppConfigEntry, signal_memory, signal_state
from .client import ClientState
from .entity import WhatsAppEntity

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

# Read-only: the state comes from the client's pushes.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the connection sensor of the account."""
    async_add_entities([WhatsAppConnectionSensor(entry.runtime_data)])


class WhatsAppConnectionSensor(WhatsAppEntity, SensorEntity):
    """Where the account's client is: starting, connected, reconnecting, logged out, ..."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "connection_state"

    def __init__(self, account: WhatsAppAccount) -> None:
        """Bind the sensor to the account."""
        super().__init__(account, "connection_state")
        self._attr_options = [state.value for state in ClientState]

    @property
    def native_value(self) -> str:
        """The client's state now."""
        return self.account.client.state.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The browser's memory as the memory guard last read it, and its reloads."""
        return self.account.memory_guard.attributes()

    async def async_added_to_hass(self) -> None:
        """Follow the client's state changes."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_state(self.account.entry.entry_id), self._state_changed
            )
        )
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_memory(self.account.entry.entry_id), self.async_write_ha_state
            )
        )

    @callback
    def _state_changed(self, _state: ClientState) -> None:
        self.async_write_ha_state()
