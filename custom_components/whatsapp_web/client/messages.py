"""Messages: read, find, send (text, media, locations, stickers), react, star, delete.

Media crosses to the page in chunks of base64 under a token the page holds until it is released.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import asdict, dataclass
import re
import secrets
from typing import TYPE_CHECKING, Any, Final

from . import ids
from .errors import InvalidArgument, MediaTooLarge, OperationFailed, WhatsAppWebError
from .media import StickerMetadata, read_sticker_metadata, with_sticker_metadata
from .models import MediaFile, Message, as_json_object, transfer_allowance
from .page_calls import PageCalls

if TYPE_CHECKING:
    from collections.abc import Iterable

_MEDIA_CHUNK: Final = 1024 * 1024
_KEY_ID: Final = re.compile(r"[0-9A-F]{16,32}")
# What WhatsApp accepts: polls of 2 to 12 options, a question of up to 255 characters and options
# of up to 100; the client sends at most 50 contact cards at once and searches up to 100 messages.
POLL_OPTIONS_MIN: Final = 2
POLL_OPTIONS_MAX: Final = 12
POLL_QUESTION_MAX: Final = 255
POLL_OPTION_MAX: Final = 100
CONTACT_CARDS_MAX: Final = 50
SEARCH_LIMIT_MAX: Final = 100


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How to send a message."""

    mentions: tuple[str, ...] = ()
    quoted_message_id: str | None = None
    link_preview: bool = True
    send_seen: bool = True
    as_document: bool = False
    as_voice: bool = False
    as_gif: bool = False
    as_sticker: bool = False
    sticker: StickerMetadata | None = None
    wait_until_sent: bool = False
    # 16 to 32 upper-case hex digits; None lets WhatsApp Web choose. See new_message_key_id().
    message_key_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The options as JSON, which ``from_json`` reads back."""
        data = asdict(self)
        data["mentions"] = list(self.mentions)
        if self.sticker is not None:
            data["sticker"] = {
                "pack_name": self.sticker.pack_name,
                "publisher": self.sticker.publisher,
                "emojis": list(self.sticker.emojis),
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SendOptions:
        """Options from ``as_json``'s form, absent keys at their defaults.

        Raises TypeError, ValueError or AttributeError when ``data`` has another shape.
        """
        options = dict(data)
        sticker = options.pop("sticker", None)
        options["mentions"] = tuple(options.get("mentions", ()))
        return cls(
            **options,
            sticker=StickerMetadata(
                pack_name=sticker.get("pack_name"),
                publisher=sticker.get("publisher"),
                emojis=tuple(sticker.get("emojis", ())),
            )
            if sticker
            else None,
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A place to send."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


def new_message_key_id() -> str:
    """A message id in WhatsApp Web's own form (``3EB0`` and 16 hex digits), chosen before sending."""
    return "3EB0" + secrets.token_hex(8).upper()


class MessageCalls(PageCalls):
    """Messages of the linked account, and the media they carry."""

    async def get_messages(
        self,
        chat_id: str,
        *,
        limit: int = 50,
        before: str | None = None,
        from_me: bool | None = None,
    ) -> list[Message]:
        """Up to ``limit`` messages, newest first; ``before`` pages back from a message id."""
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit", "expected a number from 1 to 1000")
        args: dict[str, Any] = {"chatId": ids.normalize_chat_id(chat_id), "limit": limit}
        if before is not None:
            args["before"] = ids.parse_message_id(before).serialized
        if from_me is not None:
            args["fromMe"] = from_me
        result = await self._page_call("getMessages", args, timeout=self._timing.call_timeout * 2)
        return [Message.from_page(item) for item in result]

    async def find_message(
        self, chat_id: str, key_id: str, *, from_me: bool | None = None
    ) -> Message | None:
        """A message of a chat by its short id (``3EB0...``), as the add-on's routes name messages."""
        if not isinstance(key_id, str) or not ids.is_message_key_id(key_id):
            raise InvalidArgument("message_id", "expected a message id")
        args: dict[str, Any] = {"chatId": ids.normalize_chat_id(chat_id), "keyId": key_id}
        if from_me is not None:
            args["fromMe"] = from_me
        result = await self._page_call("findMessageByKeyId", args)
        return Message.from_page(result) if isinstance(result, dict) else None

    async def get_message(self, message_id: str) -> Message:
        """One message."""
        result = await self._page_call(
            "getMessage", {"messageId": ids.parse_message_id(message_id).serialized}
        )
        return Message.from_page(result)

    async def send_message(
        self,
        chat_id: str,
        text: str | None = None,
        *,
        media: MediaFile | None = None,
        location: Location | None = None,
        options: SendOptions | None = None,
    ) -> Message:
        """Send text, media (with ``text`` as caption) or a location; returns the sent message."""
        options = options or SendOptions()
        chat = ids.normalize_chat_id(chat_id)
        if chat == "status@broadcast" or ids.chat_kind(chat) == "newsletter":
            raise InvalidArgument(
                "chat_id",
                f"{chat}: sending status updates or to channels is not supported",
            )
        if text is not None and not isinstance(text, str):
            raise InvalidArgument("message", "the text must be a string")
        if not text and media is None and location is None:
            raise InvalidArgument("message", "a message needs text, media or a location")
        kinds = sum((options.as_document, options.as_voice, options.as_gif, options.as_sticker))
        if kinds > 1:
            raise InvalidArgument(
                "options", "choose at most one of document, voice note, GIF and sticker"
            )
        if kinds and media is None:
            raise InvalidArgument("options", "document, voice note, GIF and sticker need media")
        page_options: dict[str, Any] = {
            "mentions": [ids.normalize_user_id(item) for item in options.mentions],
            "linkPreview": options.link_preview,
            "sendSeen": options.send_seen,
            "asDocument": options.as_document,
            "isPtt": options.as_voice,
            "asGif": options.as_gif,
            "asSticker": options.as_sticker,
            "waitUntilSent": options.wait_until_sent,
        }
        if options.message_key_id is not None:
            if not _KEY_ID.fullmatch(options.message_key_id):
                raise InvalidArgument("message_key_id", "expected 16 to 32 upper-case hex digits")
            page_options["messageId"] = options.message_key_id
        if options.quoted_message_id:
            page_options["quotedMessageId"] = ids.parse_message_id(
                options.quoted_message_id
            ).serialized
        args: dict[str, Any] = {"chatId": chat, "text": text or "", "options": page_options}
        if location is not None:
            args["location"] = {
                "latitude": location.latitude,
                "longitude": location.longitude,
                "name": location.name,
                "address": location.address,
                "url": location.url,
            }
        token: str | None = None
        try:
            if media is not None:
                if media.size > self.max_media_bytes:
                    raise MediaTooLarge(self.max_media_bytes)
                upload = media
                if options.as_sticker:
                    upload = await self._prepare_sticker(media, options.sticker)
                token = await self._upload(upload)
                args["media"] = {
                    "token": token,
                    "mimetype": upload.mimetype,
                    "filename": upload.filename,
                }
            timeout = self._timing.call_timeout + transfer_allowance(media)
            result = await self._page_call("sendMessage", args, timeout=timeout)
            token = None
        finally:
            if token is not None:
                await self._release_media(token)
        if not isinstance(result, dict):
            raise OperationFailed("send_message", "WhatsApp Web did not return the sent message")
        return Message.from_page(result)

    async def _release_media(self, token: str) -> None:
        """Free the page's buffer for ``token``; a page that is gone has nothing left to free."""
        with contextlib.suppress(WhatsAppWebError):
            await self._page_call("mediaRelease", {"token": token}, require_connected=False)

    async def _upload(self, media: MediaFile) -> str:
        begin = as_json_object(
            await self._page_call(
                "mediaBegin",
                {"size": media.size, "mimetype": media.mimetype, "filename": media.filename},
            )
        )
        token = str(begin["token"])
        for offset in range(0, media.size, _MEDIA_CHUNK):
            chunk = base64.b64encode(media.data[offset : offset + _MEDIA_CHUNK]).decode()
            await self._page_call("mediaWrite", {"token": token, "offset": offset, "data": chunk})
        return token

    async def _download(self, token: str, size: int) -> bytes:
        parts: list[bytes] = []
        try:
            for offset in range(0, size, _MEDIA_CHUNK):
                chunk = as_json_object(
                    await self._page_call(
                        "mediaRead", {"token": token, "offset": offset, "length": _MEDIA_CHUNK}
                    )
                )
                parts.append(base64.b64decode(chunk["data"]))
        finally:
            await self._release_media(token)
        return b"".join(parts)

    async def _prepare_sticker(
        self, media: MediaFile, metadata: StickerMetadata | None
    ) -> MediaFile:
        if media.mimetype == "image/webp":
            webp = media.data
        elif media.mimetype.startswith("image/"):
            token = await self._upload(media)
            converted = as_json_object(await self._page_call("toWebpSticker", {"token": token}))
            webp = await self._download(str(converted["token"]), int(converted["size"]))
        else:
            raise InvalidArgument(
                "media",
                "a sticker must be an image (animated stickers from video are not supported)",
            )
        if metadata is not None:
            webp = with_sticker_metadata(webp, metadata)
        elif read_sticker_metadata(webp) is None:
            webp = with_sticker_metadata(webp, StickerMetadata())
        return MediaFile(
            data=webp, mimetype="image/webp", filename=(media.filename or "sticker") + ".webp"
        )

    async def delete_message(self, message_id: str, *, everyone: bool = False) -> None:
        """Delete a message for everyone (if WhatsApp still allows it) or only here."""
        key = ids.parse_message_id(message_id).serialized
        await self._page_call("deleteMessage", {"messageId": key, "everyone": everyone})

    async def star_message(self, message_id: str, star: bool = True) -> None:
        """Star (or unstar) a message."""
        key = ids.parse_message_id(message_id).serialized
        await self._page_call("starMessage", {"messageId": key, "star": star})

    async def react_message(self, message_id: str, emoji: str) -> None:
        """React with an emoji; an empty string removes the reaction."""
        if not isinstance(emoji, str) or len(emoji) > 32:
            raise InvalidArgument("reaction", "expected one emoji")
        key = ids.parse_message_id(message_id).serialized
        await self._page_call("reactMessage", {"messageId": key, "emoji": emoji})

    async def download_media(self, message_id: str) -> MediaFile:
        """The file attached to a message."""
        key = ids.parse_message_id(message_id).serialized
        info = as_json_object(
            await self._page_call(
                "downloadMedia", {"messageId": key}, timeout=self._timing.call_timeout * 4
            )
        )
        size = int(info["size"])
        if size > self.max_media_bytes:
            await self._release_media(str(info["token"]))
            raise MediaTooLarge(self.max_media_bytes)
        data = await self._download(str(info["token"]), size)
        mimetype = str(info.get("mimetype") or "application/octet-stream")
        return MediaFile(data=data, mimetype=mimetype, filename=info.get("filename"))

    async def send_poll(
        self,
        chat_id: str,
        question: str,
        options: Iterable[str],
        *,
        allow_multiple_answers: bool = False,
    ) -> Message:
        """Send a poll of 2 to 12 distinct options; one answer each unless several are allowed."""
        question = _poll_text(question, "question", POLL_QUESTION_MAX)
        names = [_poll_text(option, "options", POLL_OPTION_MAX) for option in options]
        if not POLL_OPTIONS_MIN <= len(names) <= POLL_OPTIONS_MAX:
            raise InvalidArgument(
                "options", f"a poll has {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} options"
            )
        if len(set(names)) != len(names):
            raise InvalidArgument("options", "the options must differ")
        args = {
            "chatId": ids.normalize_chat_id(chat_id),
            "question": question,
            "options": names,
            "allowMultipleAnswers": bool(allow_multiple_answers),
        }
        return _sent_message("send_poll", await self._page_call("sendPoll", args))

    async def send_contact_cards(self, chat_id: str, contact_ids: Iterable[str]) -> Message:
        """Send contacts as vCards: one card, or one message of several."""
        contacts = [ids.normalize_user_id(item) for item in contact_ids]
        if not 1 <= len(contacts) <= CONTACT_CARDS_MAX:
            raise InvalidArgument("contacts", f"give 1 to {CONTACT_CARDS_MAX} contacts")
        args = {"chatId": ids.normalize_chat_id(chat_id), "contactIds": contacts}
        return _sent_message("send_contact_card", await self._page_call("sendContactCards", args))

    async def edit_message(self, message_id: str, text: str) -> Message:
        """Change the text (or a media message's caption) of an own message, as WhatsApp allows."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("msg", "the new text must not be empty")
        key = ids.parse_message_id(message_id).serialized
        result = await self._page_call("editMessage", {"messageId": key, "text": text})
        return _sent_message("edit_message", result)

    async def forward_message(self, message_id: str, chat_id: str) -> None:
        """Forward a message (with its media and caption) to another chat."""
        key = ids.parse_message_id(message_id).serialized
        await self._page_call(
            "forwardMessage", {"messageId": key, "chatId": ids.normalize_chat_id(chat_id)}
        )

    async def search_messages(
        self, query: str, *, chat_id: str | None = None, limit: int = 20
    ) -> list[Message]:
        """Messages whose text contains ``query``, in one chat or in all, as WhatsApp Web finds them."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidArgument("query", "the search text must not be empty")
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise InvalidArgument("limit", f"expected a number from 1 to {SEARCH_LIMIT_MAX}")
        args: dict[str, Any] = {"query": query, "limit": limit}
        if chat_id is not None:
            args["chatId"] = ids.normalize_chat_id(chat_id)
        result = await self._page_call("searchMessages", args)
        return [Message.from_page(item) for item in result]


def _poll_text(value: object, field_name: str, max_length: int) -> str:
    """A poll's question or option: text of 1 to ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(field_name, "must be text that is not empty")
    if len(value) > max_length:
        raise InvalidArgument(field_name, f"at most {max_length} characters")
    return value


def _sent_message(operation: str, result: object) -> Message:
    """The message a send or an edit answered."""
    if not isinstance(result, dict):
        raise OperationFailed(operation, "WhatsApp Web did not return the message")
    return Message.from_page(result)
