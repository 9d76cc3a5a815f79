"""Shared helpers of the operations tests: accounts without a browser, and a concrete URL per route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from homeassistant.config_entries import ConfigEntryState
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp_web.account import WhatsAppAccount
from custom_components.whatsapp_web.const import (
    BROWSER_REMOTE,
    CONF_BROWSER,
    CONF_PROFILE,
    CONF_REMOTE_URL,
    DOMAIN,
)
from custom_components.whatsapp_web.operations import OPERATIONS, Operation, Route, Where

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

# Values that pass validation for each path field.
PATH_VALUES = {
    "chat_id": "34600000002@c.us",
    "user_id": "34600000002@c.us",
    "contact_id": "34600000002@c.us",
    "group_id": "120363012345678901@g.us",
    "message_id": "3EB0C767D26A1D0F5A",
    "invite_code": "AbCdEfGhIjK1234567890",
}


def add_account(
    hass: HomeAssistant,
    number: str = "34600000001",
    *,
    loaded: bool = True,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A config entry whose account exists but never starts its browser: its client stays stopped."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"+{number}",
        unique_id=f"{number}@c.us",
        # A remote browser that is never contacted: nothing here starts the client.
        data={
            CONF_BROWSER: BROWSER_REMOTE,
            CONF_REMOTE_URL: "http://127.0.0.1:9",
            CONF_PROFILE: number,
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    entry.runtime_data = WhatsAppAccount(hass, entry)
    entry.mock_state(hass, ConfigEntryState.LOADED if loaded else ConfigEntryState.NOT_LOADED)
    return entry


def route_url(route: Route, **overrides: str) -> str:
    """The route's URL with valid values in its path."""
    values = {**PATH_VALUES, **overrides}
    url = route.url.format(**{key: values[key] for key in route.path_fields})
    # Required query fields (search_messages' query) get their examples.
    operation = next(item for item in OPERATIONS if route in item.routes)
    query = {item.key: item.example for item in operation.rest_fields(Where.QUERY) if item.required}
    return f"{url}?{urlencode(query)}" if query else url


def valid_body(operation: Operation) -> dict[str, Any] | None:
    """A body that passes validation: the examples of the required body fields."""
    fields = operation.rest_fields(Where.BODY)
    if not fields:
        return None
    body = {item.key: item.example for item in fields if item.required}
    if operation.name == "send_message":
        body["msg"] = "hello"
    if operation.name == "update_group":
        body["name"] = "Family"
    return body
