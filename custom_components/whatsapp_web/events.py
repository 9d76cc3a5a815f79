"""Client events as ``whatsapp_*`` events on Home Assistant's bus, with the add-on's payloads.

The payloads are what the ``ha-whatsapp-web-rest-api`` add-on posted (see docs/addon-api.md §9): the raw
message for message events (``from`` is an id object, ``t`` the time), ``{"message", "ack"}`` for acks,
``{"notification": ...}`` for group changes, the reaction at the top level, ``{"state": ...}``. Every
payload also carries ``account`` (the own id) and ``config_entry_id``; message events carry ``offline``
(true when the message arrived while Home Assistant or the browser was away). Where the add-on lost events
(``whatsapp_call`` was never sent; a revoke without the earlier copy was dropped) these are fired.
"""

from __future__ import annotations

from typing import Any

from .client.models import (
    Authenticated,
    ClientEvent,
    Disconnected,
    GroupChanged,
    IncomingCall,
    MessageAcknowledged,
    MessageEdited,
    MessageReaction,
    MessageReceived,
    MessageRevokedForEveryone,
    MessageRevokedForMe,
    MessageSent,
    PollVoted,
    StateChanged,
    serialized_id,
)
from .const import (
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

_GROUP_EVENTS = {
    "join": EVENT_GROUP_JOIN,
    "leave": EVENT_GROUP_LEAVE,
    # The add-on never forwarded promotions and demotions; they are group updates here.
    "admin_changed": EVENT_GROUP_UPDATE,
    "update": EVENT_GROUP_UPDATE,
}


def bus_event(event: ClientEvent) -> tuple[str, dict[str, Any]] | None:
    """The event type and payload (without the account fields) for a client event, or None."""
    match event:
        case Authenticated():
            return EVENT_AUTHENTICATED, {}
        case Disconnected(reason=reason):
            return EVENT_DISCONNECTED, {"reason": reason}
        case StateChanged(state=state):
            return EVENT_STATE, {"state": state}
        case MessageReceived(message=message, offline=offline):
            if message.is_status:
                # Status updates of contacts are not messages (the add-on dropped them too).
                return None
            return EVENT_MESSAGE_RECEIVED, {**message.data, "offline": offline}
        case MessageSent(message=message, offline=offline):
            return EVENT_MESSAGE_SENT, {**message.data, "offline": offline}
        case MessageAcknowledged(message=message, ack=ack):
            return EVENT_MESSAGE_ACK, {"message": message.data, "ack": ack}
        case MessageRevokedForEveryone(message=message, revoked=revoked):
            return EVENT_MESSAGE_REVOKE_EVERYONE, {
                "message": message.data,
                "revokedMessage": revoked.data if revoked else None,
            }
        case MessageRevokedForMe(message=message):
            return EVENT_MESSAGE_REVOKE_ME, {"message": message.data}
        case GroupChanged(kind=kind, notification=notification, offline=offline):
            return _GROUP_EVENTS[kind], {"notification": notification.as_json(), "offline": offline}
        case IncomingCall(call=call):
            return EVENT_CALL, {"call": call.as_json()}
        case MessageReaction(reaction=reaction):
            return EVENT_MESSAGE_REACTION, reaction.as_json()
        case PollVoted(vote=vote):
            return EVENT_POLL_VOTE, vote.as_json()
        case MessageEdited(message=message, new_body=new_body, previous_body=previous_body):
            return EVENT_MESSAGE_EDIT, {
                "message": message.data,
                "newBody": new_body,
                "prevBody": previous_body,
            }
    return None


def event_chat_id(event: ClientEvent) -> str | None:
    """The chat a client event is about (for the options' ignored chats), or None."""
    match event:
        case (
            MessageReceived(message=message)
            | MessageSent(message=message)
            | MessageAcknowledged(message=message)
            | MessageRevokedForEveryone(message=message)
            | MessageRevokedForMe(message=message)
            | MessageEdited(message=message)
        ):
            return message.chat_id
        case PollVoted(vote=vote):
            return vote.chat_id
        case GroupChanged(notification=notification):
            return notification.chat_id
    return None


def event_sender_id(event: ClientEvent) -> str | None:
    """Who did what a client event tells (for the options' people), or None."""
    match event:
        case (
            MessageReceived(message=message)
            | MessageRevokedForEveryone(message=message)
            | MessageEdited(message=message)
        ):
            return message.sender
        case PollVoted(vote=vote):
            return vote.voter
        case MessageReaction(reaction=reaction):
            return reaction.sender
        case IncomingCall(call=call):
            return call.caller
        case GroupChanged(notification=notification):
            return serialized_id(notification.message.data.get("author"))
    return None


def message_summary(payload: dict[str, Any]) -> dict[str, Any]:
    """The few routing fields of a message event's payload (the raw message), flat.

    Used by the event entity's attributes, the logbook and the device trigger, which must not depend on
    the nesting of whatsapp-web.js's message JSON.
    """
    raw_key = payload.get("id")
    key: dict[str, Any] = raw_key if isinstance(raw_key, dict) else {}
    chat_id = serialized_id(key.get("remote")) or serialized_id(payload.get("from"))
    sender = serialized_id(payload.get("author")) or serialized_id(payload.get("from"))
    return {
        "chat_id": chat_id,
        "sender": sender,
        "sender_name": payload.get("notifyName"),
        "message_id": serialized_id(key) if key else None,
        "message_type": payload.get("type"),
        "body": payload.get("body") or payload.get("caption") or "",
        "has_media": bool(payload.get("directPath") or payload.get("mimetype")),
        "offline": bool(payload.get("offline")),
        "person_entity_id": payload.get("person_entity_id"),
    }


def call_summary(payload: dict[str, Any]) -> dict[str, Any]:
    """The routing fields of a ``whatsapp_call`` payload, flat."""
    raw_call = payload.get("call")
    call: dict[str, Any] = raw_call if isinstance(raw_call, dict) else {}
    return {
        "caller": call.get("from"),
        "call_id": call.get("id"),
        "is_video": bool(call.get("isVideo")),
        "is_group": bool(call.get("isGroup")),
        "person_entity_id": payload.get("person_entity_id"),
    }
