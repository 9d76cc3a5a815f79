"""Chats: listing, deleting, archiving, pinning, reading, muting, typing states, and number checks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import SupportsResponse

from ..rate_limit import LOOKUPS
from ..values import user_id, whole_number
from .fields import ARRAY_OF_OBJECTS, CHAT, TEXT
from .model import Access, Field, Handler, Method, Operation, OperationContext, Route, Where

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..client import WhatsAppWebClient


def _chat_action(action: Callable[[WhatsAppWebClient, str], Awaitable[Any]]) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await action(ctx.client, data["chat_id"])

    return handler


def _chat_operation(
    name: str, title: str, description: str, segment: str, handler: Handler
) -> Operation:
    """A PUT /chats/{chat_id}/<segment> action answered with 204."""
    return Operation(
        name=name,
        tag="chats",
        title=title,
        description=description,
        fields=(CHAT,),
        routes=(Route(Method.PUT, f"/chats/{{chat_id}}/{segment}"),),
        handler=handler,
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    )


async def _get_chats(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    return [chat.as_json() for chat in await ctx.client.get_chats()]


GET_CHATS: Final = Operation(
    name="get_chats",
    tag="chats",
    title="Get chats",
    description="Returns every chat, pinned first, then the most recent.",
    fields=(),
    routes=(Route(Method.GET, "/chats"),),
    handler=_get_chats,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
    response_key="chats",
    response_schema=ARRAY_OF_OBJECTS,
)


DELETE_CHAT: Final = Operation(
    name="delete_chat",
    tag="chats",
    title="Delete chat",
    description="Deletes a chat from this account.",
    fields=(CHAT,),
    routes=(Route(Method.DELETE, "/chats/{chat_id}"),),
    handler=_chat_action(lambda client, chat: client.delete_chat(chat)),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


ARCHIVE_CHAT: Final = _chat_operation(
    "archive_chat",
    "Archive chat",
    "Moves a chat to the archive.",
    "archive",
    _chat_action(lambda client, chat: client.archive_chat(chat, True)),
)


UNARCHIVE_CHAT: Final = _chat_operation(
    "unarchive_chat",
    "Unarchive chat",
    "Takes a chat out of the archive.",
    "unarchive",
    _chat_action(lambda client, chat: client.archive_chat(chat, False)),
)


PIN_CHAT: Final = _chat_operation(
    "pin_chat",
    "Pin chat",
    "Pins a chat to the top (WhatsApp allows three).",
    "pin",
    _chat_action(lambda client, chat: client.pin_chat(chat, True)),
)


UNPIN_CHAT: Final = _chat_operation(
    "unpin_chat",
    "Unpin chat",
    "Unpins a chat.",
    "unpin",
    _chat_action(lambda client, chat: client.pin_chat(chat, False)),
)


MARK_CHAT_READ: Final = Operation(
    name="mark_chat_read",
    tag="chats",
    title="Mark chat as read",
    description="Marks every message of a chat as read (sends read receipts).",
    fields=(CHAT,),
    routes=(
        Route(Method.PUT, "/chats/{chat_id}/mark-as-read"),
        # The add-on's DOCS named it /read; that route never existed there.
        Route(Method.PUT, "/chats/{chat_id}/read", alias=True),
    ),
    handler=_chat_action(lambda client, chat: client.mark_chat_read(chat)),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


MARK_CHAT_UNREAD: Final = Operation(
    name="mark_chat_unread",
    tag="chats",
    title="Mark chat as unread",
    description="Marks a chat as unread.",
    fields=(CHAT,),
    routes=(
        Route(Method.PUT, "/chats/{chat_id}/mark-as-unread"),
        Route(Method.PUT, "/chats/{chat_id}/unread", alias=True),
    ),
    handler=_chat_action(lambda client, chat: client.mark_chat_unread(chat)),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


SEND_TYPING: Final = _chat_operation(
    "send_typing",
    "Show typing",
    "Shows 'typing...' in a chat for a while.",
    "send-typing",
    _chat_action(lambda client, chat: client.send_chat_state(chat, "composing")),
)


SEND_RECORDING: Final = _chat_operation(
    "send_recording",
    "Show recording",
    "Shows 'recording audio...' in a chat for a while.",
    "send-recording",
    _chat_action(lambda client, chat: client.send_chat_state(chat, "recording")),
)


CLEAR_CHAT_STATE: Final = _chat_operation(
    "clear_chat_state",
    "Clear typing state",
    "Stops showing typing or recording in a chat.",
    "clear-state",
    _chat_action(lambda client, chat: client.send_chat_state(chat, "paused")),
)


async def _mute_chat(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    duration = data.get("duration")
    until = time.time() + duration if duration else None
    return (await ctx.client.mute_chat(data["chat_id"], until)).as_json()


MUTE_CHAT: Final = Operation(
    name="mute_chat",
    tag="chats",
    title="Mute chat",
    description="Mutes a chat's notifications for a while or forever.",
    fields=(
        CHAT,
        Field(
            "duration",
            whole_number(minimum=1),
            "Duration",
            "Seconds to mute for; without it the chat is muted forever.",
            {"number": {"min": 1, "max": 31536000, "unit_of_measurement": "s", "mode": "box"}},
            example=28800,
        ),
    ),
    routes=(Route(Method.PUT, "/chats/{chat_id}/mute"),),
    handler=_mute_chat,
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _unmute_chat(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.unmute_chat(data["chat_id"])).as_json()


UNMUTE_CHAT: Final = _chat_operation(
    "unmute_chat",
    "Unmute chat",
    "Turns a chat's notifications back on.",
    "unmute",
    _unmute_chat,
)


CLEAR_CHAT_MESSAGES: Final = _chat_operation(
    "clear_chat_messages",
    "Clear chat messages",
    "Deletes every message of a chat, keeping the chat.",
    "clear-messages",
    _chat_action(lambda client, chat: client.clear_chat_messages(chat)),
)


async def _is_registered_user(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return {"isRegistered": await ctx.client.is_registered_user(data["user_id"])}


IS_REGISTERED_USER: Final = Operation(
    name="is_registered_user",
    tag="chats",
    title="Is registered user",
    description="Tells whether a phone number has WhatsApp.",
    fields=(
        Field(
            "user_id",
            user_id,
            "Phone number",
            "Phone number with country code, or a user id (123@c.us).",
            TEXT,
            required=True,
            where=Where.PATH,
            example="+34 600 11 22 33",
        ),
    ),
    routes=(Route(Method.GET, "/chats/{user_id}/is-registered-user"),),
    handler=_is_registered_user,
    access=Access.READ,
    rate_limit=LOOKUPS,
    supports_response=SupportsResponse.ONLY,
    response_schema={
        "type": "object",
        "properties": {"isRegistered": {"type": "boolean"}},
        "required": ["isRegistered"],
    },
)


OPERATIONS: Final[tuple[Operation, ...]] = (
    GET_CHATS,
    DELETE_CHAT,
    ARCHIVE_CHAT,
    UNARCHIVE_CHAT,
    PIN_CHAT,
    UNPIN_CHAT,
    MARK_CHAT_READ,
    MARK_CHAT_UNREAD,
    SEND_TYPING,
    SEND_RECORDING,
    CLEAR_CHAT_STATE,
    MUTE_CHAT,
    UNMUTE_CHAT,
    CLEAR_CHAT_MESSAGES,
    IS_REGISTERED_USER,
)
