"""Logbook lines for the 13 whatsapp_* events: readable, and never a message's text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp_web.const import ALL_EVENTS, DOMAIN
from custom_components.whatsapp_web.logbook import async_describe_events

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

GROUP = "120363595018235650@g.us"
PERSON = "318507069464@c.us"


def _message(
    body: str, chat: str = PERSON, author: str | None = None, **extra: Any
) -> dict[str, Any]:
    data = {
        "id": {
            "fromMe": False,
            "remote": chat,
            "id": "3EB0AA",
            "_serialized": f"false_{chat}_3EB0AA",
        },
        "from": chat,
        "type": "chat",
        "body": body,
        "notifyName": "Ana",
        **extra,
    }
    if author:
        data["author"] = author
    return data


def _describers(hass: HomeAssistant) -> dict[str, Callable[[Event], dict[str, str]]]:
    found: dict[str, Callable[[Event], dict[str, str]]] = {}

    def describe_event(
        domain: str, event_type: str, describer: Callable[[Event], dict[str, str]]
    ) -> None:
        assert domain == DOMAIN
        found[event_type] = describer

    async_describe_events(hass, describe_event)
    return found


async def test_every_event_has_a_readable_line(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Sam (+44227)", unique_id="44227@c.us")
    entry.add_to_hass(hass)
    describers = _describers(hass)
    assert set(describers) == set(ALL_EVENTS)
    account = {"account": "44227@c.us", "config_entry_id": entry.entry_id}
    notification = {"notification": {"chatId": GROUP, "type": "add"}}
    samples: dict[str, tuple[dict[str, Any], str]] = {
        "whatsapp_authenticated": ({}, "linked and connected"),
        "whatsapp_disconnected": ({"reason": "CONFLICT"}, "disconnected (CONFLICT)"),
        "whatsapp_state": ({"state": "TIMEOUT"}, "WhatsApp Web state changed to TIMEOUT"),
        "whatsapp_message_received": (_message("secret text"), "received a chat message from Ana"),
        "whatsapp_message_sent": (
            _message("secret text", fromMe=True),
            "sent a chat message to 318507069464",
        ),
        "whatsapp_message_ack": (
            {"message": _message("secret text"), "ack": 3},
            "message to 318507069464 read",
        ),
        "whatsapp_message_revoke_for_everyone": (
            {"message": _message(""), "revokedMessage": None},
            "a message in 318507069464 was deleted for everyone",
        ),
        "whatsapp_message_revoke_for_me": (
            {"message": _message("secret text")},
            "a message in 318507069464 was deleted for this account",
        ),
        "whatsapp_group_join": (notification, "group 120363595018235650 gained members (add)"),
        "whatsapp_group_leave": (
            {"notification": {"chatId": GROUP, "type": "remove"}},
            "group 120363595018235650 lost members (remove)",
        ),
        "whatsapp_group_update": (
            {"notification": {"chatId": GROUP, "type": "subject"}},
            "group 120363595018235650 was updated (subject)",
        ),
        "whatsapp_call": (
            {"call": {"from": PERSON, "isVideo": True}},
            "incoming video call from 318507069464",
        ),
        "whatsapp_message_reaction": (
            {"senderId": PERSON, "reaction": "👍"},
            "318507069464 reacted 👍 to a message",
        ),
        "whatsapp_poll_vote": (
            {"voter": PERSON, "selectedOptions": [{"name": "secret text", "localId": 0}]},
            "318507069464 voted on a poll (1 option)",
        ),
        "whatsapp_message_edit": (
            {"message": _message("secret text"), "newBody": "secret text", "prevBody": "x"},
            "a message in 318507069464 was edited",
        ),
    }
    assert set(samples) == set(ALL_EVENTS)
    for event_type, (data, expected) in samples.items():
        line = describers[event_type](Event(event_type, {**data, **account}))
        assert line == {LOGBOOK_ENTRY_NAME: "Sam (+44227)", LOGBOOK_ENTRY_MESSAGE: expected}
        assert "secret text" not in line[LOGBOOK_ENTRY_MESSAGE]


async def test_group_messages_removed_reactions_and_unknown_accounts(hass: HomeAssistant) -> None:
    describers = _describers(hass)
    line = describers["whatsapp_message_received"](
        Event(
            "whatsapp_message_received",
            {**_message("hi", chat=GROUP, author=PERSON), "config_entry_id": "gone"},
        )
    )
    assert line == {
        LOGBOOK_ENTRY_NAME: "WhatsApp",
        LOGBOOK_ENTRY_MESSAGE: "received a chat message from Ana in 120363595018235650",
    }
    line = describers["whatsapp_message_reaction"](
        Event("whatsapp_message_reaction", {"senderId": PERSON, "reaction": ""})
    )
    assert line[LOGBOOK_ENTRY_MESSAGE] == "318507069464 removed a reaction"
    line = describers["whatsapp_call"](Event("whatsapp_call", {"call": {}}))
    assert line[LOGBOOK_ENTRY_MESSAGE] == "incoming call from an unknown chat"
