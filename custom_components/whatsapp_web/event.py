"""An event entity that records the account's last incoming message or call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.event import EventEntity, EventExtraStoredData
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .account import WhatsAppAccount, WhatsAppConfigEntry, signal_event, signal_state
from .client import ClientState
from .const import EVENT_CALL, EVENT_MESSAGE_RECEIVED
from .entity import WhatsAppEntity
from .events import call_summary, message_summary

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

PARALLEL_UPDATES = 0

EVENT_TYPE_MESSAGE = "message_received"
EVENT_TYPE_CALL = "call"
# What a message says: shown only when the account lets users who are not administrators read.
PRIVATE_ATTRIBUTES = frozenset({"body"})


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the incoming-activity event entity of the account."""
    async_add_entities([WhatsAppIncomingEvent(entry.runtime_data)])


class WhatsAppIncomingEvent(WhatsAppEntity, EventEntity):
    """Incoming messages and calls; the attributes say who, where and, if the options allow, what.

    Every user sees an entity's state, so a message's text is shown only when the account's options let
    users who are not administrators read messages (``non_admin_read``), also after a restart.
    """

    _attr_translation_key = "incoming"
    # Message texts and names stay out of the recorder's history (the state shows the latest only).
    _unrecorded_attributes = frozenset({"body", "sender_name"})

    def __init__(self, account: WhatsAppAccount) -> None:
        """Bind the entity to the account."""
        super().__init__(account, "incoming")
        self._attr_event_types = [EVENT_TYPE_MESSAGE, EVENT_TYPE_CALL]

    @property
    def available(self) -> bool:
        """Messages and calls arrive only while the account is connected."""
        return self.account.client.state == ClientState.CONNECTED

    async def async_added_to_hass(self) -> None:
        """Follow the account's events and connection."""
        await super().async_added_to_hass()
        entry_id = self.account.entry.entry_id
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_event(entry_id), self._client_event)
        )
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_state(entry_id), self._state_changed)
        )

    async def async_get_last_event_data(self) -> EventExtraStoredData | None:
        """The stored last event, without a text stored while the options still showed texts."""
        stored = await super().async_get_last_event_data()
        if stored is not None and stored.last_event_attributes is not None:
            stored.last_event_attributes = self._shown(stored.last_event_attributes)
        return stored

    def _shown(self, attributes: dict[str, Any]) -> dict[str, Any]:
        if self.account.non_admin_read:
            return attributes
        return {key: value for key, value in attributes.items() if key not in PRIVATE_ATTRIBUTES}

    @callback
    def _client_event(self, event_type: str, payload: dict[str, Any]) -> None:
        if event_type == EVENT_MESSAGE_RECEIVED:
            self._trigger_event(EVENT_TYPE_MESSAGE, self._shown(message_summary(payload)))
        elif event_type == EVENT_CALL:
            self._trigger_event(EVENT_TYPE_CALL, call_summary(payload))
        else:
            return
        self.async_write_ha_state()

    @callback
    def _state_changed(self, _state: ClientState) -> None:
        self.async_write_ha_state()
