"""The base of every WhatsApp Web entity: one device per linked account, names from translations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN

if TYPE_CHECKING:
    from .account import WhatsAppAccount


class WhatsAppEntity(Entity):
    """An entity of one linked WhatsApp account; updates are pushed, never polled."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, account: WhatsAppAccount, key: str) -> None:
        """Attach the entity to the account's device; ``key`` makes the unique id."""
        self.account = account
        self._attr_unique_id = f"{account.account_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, account.account_id)},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="WhatsApp",
            model="WhatsApp Web",
            name=account.entry.title,
        )
