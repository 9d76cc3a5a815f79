"""Readable logbook lines for the ``whatsapp_*`` events (never a message's text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    DOMAIN,
    EVENT_AUTHENTICATED,
    EVENT_CALL,
    EVENT_DISCONNECTED,
    EVENT_GROUP_JOIN,
    EVENT_GROUP_LEAVE,
    EVENT_GROUP_UPDATE,
    EVENT_MESSAGE_ACK,
    EVENT_MESSAGE_EDIT,
    EVENT_MESSAGE_REACTION,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_REVOKE_EVERYONE,
    EVENT_MESSAGE_REVOKE_ME,
    EVENT_MESSAGE_SENT,
    EVENT_POLL_VOTE,
    EVENT_STATE,
)
from .events import call_summary, message_summary

if TYPE_CHECKING:
    from collections.abc import Callable

_ACK_WORDS = {-1: "failed", 0: "pending", 1: "sent", 2: "delivered", 3: "read", 4: "played"}


def _chat(value: Any) -> str:
    return str(value).split("@", 1)[0] if value else "an unknown chat"


def _message_received(data: dict[str, Any]) -> str:
    summary = message_summary(data)
    sender = summary["sender_name"] or _chat(summary["sender"])
    where = "" if summary["chat_id"] == summary["sender"] else f" in {_chat(summary['chat_id'])}"
    kind = summary["message_type"] or "message"
    return f"received a {kind} message from {sender}{where}"


def _message_sent(data: dict[str, Any]) -> str:
    summary = message_summary(data)
    return f"sent a {summary['message_type'] or 'message'} message to {_chat(summary['chat_id'])}"


def _ack(data: dict[str, Any]) -> str:
    summary = message_summary(data.get("message") or {})
    ack = data.get("ack")
    word = _ACK_WORDS.get(ack, f"ack {ack}") if isinstance(ack, int) else f"ack {ack}"
    return f"message to {_chat(summary['chat_id'])} {word}"


def _revoked_everyone(data: dict[str, Any]) -> str:
    summary = message_summary(data.get("message") or {})
    return f"a message in {_chat(summary['chat_id'])} was deleted for everyone"


def _revoked_me(data: dict[str, Any]) -> str:
    summary = message_summary(data.get("message") or {})
    return f"a message in {_chat(summary['chat_id'])} was deleted for this account"


def _group(verb: str) -> Callable[[dict[str, Any]], str]:
    def describe(data: dict[str, Any]) -> str:
        notification = data.get("notification") or {}
        return f"group {_chat(notification.get('chatId'))} {verb} ({notification.get('type', 'update')})"

    return describe


def _call(data: dict[str, Any]) -> str:
    summary = call_summary(data)
    kind = "video call" if summary["is_video"] else "call"
    return f"incoming {kind} from {_chat(summary['caller'])}"


def _reaction(data: dict[str, Any]) -> str:
    who = _chat(data.get("senderId"))
    if data.get("reaction"):
        return f"{who} reacted {data['reaction']} to a message"
    return f"{who} removed a reaction"


def _poll_vote(data: dict[str, Any]) -> str:
    who = _chat(data.get("voter"))
    chosen = len(data.get("selectedOptions") or [])
    if not chosen:
        return f"{who} withdrew a poll vote"
    return f"{who} voted on a poll ({chosen} option{'s' if chosen > 1 else ''})"


def _edit(data: dict[str, Any]) -> str:
    summary = message_summary(data.get("message") or {})
    return f"a message in {_chat(summary['chat_id'])} was edited"


_DESCRIBERS: dict[str, Callable[[dict[str, Any]], str]] = {
    EVENT_AUTHENTICATED: lambda _data: "linked and connected",
    EVENT_DISCONNECTED: lambda data: f"disconnected ({data.get('reason') or 'unknown reason'})",
    EVENT_STATE: lambda data: f"WhatsApp Web state changed to {data.get('state')}",
    EVENT_MESSAGE_RECEIVED: _message_received,
    EVENT_MESSAGE_SENT: _message_sent,
    EVENT_MESSAGE_ACK: _ack,
    EVENT_MESSAGE_REVOKE_EVERYONE: _revoked_everyone,
    EVENT_MESSAGE_REVOKE_ME: _revoked_me,
    EVENT_GROUP_JOIN: _group("gained members"),
    EVENT_GROUP_LEAVE: _group("lost members"),
    EVENT_GROUP_UPDATE: _group("was updated"),
    EVENT_CALL: _call,
    EVENT_MESSAGE_REACTION: _reaction,
    EVENT_POLL_VOTE: _poll_vote,
    EVENT_MESSAGE_EDIT: _edit,
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the ``whatsapp_*`` events: the add-on's 13, poll votes and edits."""
    for event_type, describer in _DESCRIBERS.items():

        @callback
        def describe(
            event: Event, describer: Callable[[dict[str, Any]], str] = describer
        ) -> dict[str, str]:
            entry_id = event.data.get("config_entry_id")
            entry = (
                hass.config_entries.async_get_entry(entry_id) if isinstance(entry_id, str) else None
            )
            return {
                LOGBOOK_ENTRY_NAME: entry.title if entry else "WhatsApp",
                LOGBOOK_ENTRY_MESSAGE: describer(dict(event.data)),
            }

        async_describe_event(DOMAIN, event_type, describe)
