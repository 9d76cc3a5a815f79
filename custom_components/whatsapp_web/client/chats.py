"""Chats: list, archive, pin, mute, read state, typing."""

from __future__ import annotations

import time

from . import ids
from .errors import InvalidArgument
from .models import Chat, MuteState, as_json_object
from .page_calls import PageCalls


class ChatCalls(PageCalls):
    """Chats of the linked account."""

    async def get_chats(self) -> list[Chat]:
        """Every chat, in WhatsApp's order (pinned first, then the most recent)."""
        result = await self._page_call("getChats", {})
        return [Chat.from_page(item) for item in result]

    async def get_chat(self, chat_id: str) -> Chat:
        """One chat."""
        result = await self._page_call("getChat", {"chatId": ids.normalize_chat_id(chat_id)})
        return Chat.from_page(result)

    async def delete_chat(self, chat_id: str) -> None:
        """Delete a chat from this account."""
        await self._page_call("deleteChat", {"chatId": ids.normalize_chat_id(chat_id)})

    async def archive_chat(self, chat_id: str, archive: bool = True) -> None:
        """Archive (or unarchive) a chat."""
        await self._page_call(
            "archiveChat", {"chatId": ids.normalize_chat_id(chat_id), "archive": archive}
        )

    async def pin_chat(self, chat_id: str, pin: bool = True) -> bool:
        """Pin (or unpin) a chat; returns the new pin state. WhatsApp allows three pinned chats."""
        result = await self._page_call(
            "pinChat", {"chatId": ids.normalize_chat_id(chat_id), "pin": pin}
        )
        return bool(result)

    async def mark_chat_read(self, chat_id: str) -> None:
        """Mark every message of a chat as read (sends read receipts)."""
        await self._page_call("markChatRead", {"chatId": ids.normalize_chat_id(chat_id)})

    async def mark_chat_unread(self, chat_id: str) -> None:
        """Mark a chat as unread."""
        await self._page_call("markChatUnread", {"chatId": ids.normalize_chat_id(chat_id)})

    async def send_chat_state(self, chat_id: str, state: str) -> None:
        """Show ``composing`` (typing), ``recording`` or ``paused`` (clear) in a chat."""
        if state not in ("composing", "recording", "paused"):
            raise InvalidArgument("state", "expected composing, recording or paused")
        await self._page_call(
            "chatState", {"chatId": ids.normalize_chat_id(chat_id), "state": state}
        )

    async def mute_chat(self, chat_id: str, until: float | None = None) -> MuteState:
        """Mute a chat until a unix time, or forever when ``until`` is None."""
        if until is not None and until <= time.time():
            raise InvalidArgument("until", "the end of the mute must be in the future")
        result = as_json_object(
            await self._page_call(
                "muteChat", {"chatId": ids.normalize_chat_id(chat_id), "until": until}
            )
        )
        return MuteState(bool(result["isMuted"]), int(result["muteExpiration"]))

    async def unmute_chat(self, chat_id: str) -> MuteState:
        """Unmute a chat."""
        result = as_json_object(
            await self._page_call("unmuteChat", {"chatId": ids.normalize_chat_id(chat_id)})
        )
        return MuteState(bool(result["isMuted"]), int(result["muteExpiration"]))

    async def clear_chat_messages(self, chat_id: str) -> None:
        """Delete every message of a chat, keeping the chat."""
        await self._page_call("clearChatMessages", {"chatId": ids.normalize_chat_id(chat_id)})

    async def is_registered_user(self, user_id: str) -> bool:
        """Whether a phone number or id has WhatsApp."""
        result = as_json_object(
            await self._page_call("isRegisteredUser", {"id": ids.normalize_user_id(user_id)})
        )
        return bool(result["registered"])
