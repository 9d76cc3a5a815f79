"""Diagnostics of a linked account, with every secret and identifier redacted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data

from .const import (
    CONF_IGNORED_CHATS,
    CONF_NOTIFY_RECIPIENTS,
    CONF_PROFILE,
    CONF_REMOTE_TOKEN,
    CONF_REMOTE_URL,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .account import WhatsAppConfigEntry

# Phone numbers, names, ids, the remote browser's address and token, the profile's name.
TO_REDACT = {
    CONF_IGNORED_CHATS,
    CONF_NOTIFY_RECIPIENTS,
    CONF_PROFILE,
    CONF_REMOTE_TOKEN,
    CONF_REMOTE_URL,
    "account",
    "id",
    "lid",
    "me",
    "pushname",
    "title",
    "unique_id",
    "wid",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: WhatsAppConfigEntry
) -> dict[str, Any]:
    """What support needs to know about an account, and nothing that identifies it."""
    account = entry.runtime_data
    client = account.client
    status = client.status().as_json()
    data: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "client": {
            **status,
            "events_enabled": sorted(account.enabled_events),
        },
        "outbox": {
            "pending": account.outbox.pending,
            "items": account.outbox.snapshot(),
        },
        "missing_capabilities": dict(account.missing_capabilities),
        "memory": account.memory_guard.attributes(),
    }
    redacted: dict[str, Any] = async_redact_data(data, TO_REDACT)
    return redacted
