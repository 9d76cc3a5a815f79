"""Messages: reading, sending (text, media from any source, locations), deleting, starring, reacting.

A send takes its media from one source: a URL, a local file, base64, a camera's snapshot, a media
source or a spoken text (``ha_media`` reads the last three). While the account is reconnecting a send
waits in the outbox.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from ..client import ids
from ..client.client import Location, SendOptions
from ..client.errors import InvalidArgument, MessageNotFound
from ..client.media import (
    UrlPolicy,
    media_from_bytes,
    media_from_file,
    media_from_url,
)
from ..client.models import ClientState, MediaFile, Message, transfer_allowance
from ..const import (
    MEDIA_URL_MAX_BYTES,
    MEDIA_URL_TIMEOUT,
    SEND_WAIT_CONNECTED,
    SEND_WAIT_RECONNECTING,
)
from ..rate_limit import SENDS
from ..values import (
    STRING_SCHEMA,
    TEXT_ITEMS,
    Member,
    Value,
    bounded_text,
    chat_id,
    decimal_number,
    declared,
    object_value,
    serialized_message_id,
    user_ids,
    whole_number,
)
from .errors import OperationError
from .fields import (
    ARRAY_OF_OBJECTS,
    BOOLEAN,
    CHAT,
    FILE_SCHEMA,
    MESSAGE,
    MULTILINE,
    OBJECT,
    TEXT,
    TEXT_LIST,
    chat_field,
    save_fields,
)
from .model import (
    Access,
    DownloadedMedia,
    Face,
    Field,
    Handler,
    Method,
    Operation,
    OperationContext,
    ResultKind,
    Route,
    Where,
)

if TYPE_CHECKING:
    from ..outbox import SendOutcome

_MESSAGE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "The message as whatsapp-web.js serializes it.",
    "properties": {
        "id": {"type": "object"},
        "body": {"type": "string"},
        "type": {"type": "string"},
    },
}


async def _find_message(ctx: OperationContext, data: dict[str, Any]) -> Message:
    """The message a route names: by serialized id, or by short id within the route's chat."""
    key = data["message_id"]
    if "_" in key:
        return await ctx.client.get_message(key)
    message = await ctx.client.find_message(data["chat_id"], key)
    if message is None:
        raise MessageNotFound(key)
    return message


async def _message_key(ctx: OperationContext, data: dict[str, Any]) -> str:
    """The serialized id of the message a route names (no page call when it is already serialized)."""
    key = data["message_id"]
    if "_" in key:
        return str(key)
    return (await _find_message(ctx, data)).id


def _star(star: bool) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.star_message(await _message_key(ctx, data), star)

    return handler


def _message_operation(
    name: str, title: str, description: str, segment: str, handler: Handler, *extra: Field
) -> Operation:
    """A PUT /chats/{chat_id}/messages/{message_id}/<segment> action answered with 204."""
    return Operation(
        name=name,
        tag="messages",
        title=title,
        description=description,
        fields=(CHAT, MESSAGE, *extra),
        routes=(Route(Method.PUT, f"/chats/{{chat_id}}/messages/{{message_id}}/{segment}"),),
        handler=handler,
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    )


async def _get_messages(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    messages = await ctx.client.get_messages(
        data["chat_id"], limit=data["limit"], before=data.get("before"), from_me=data.get("from_me")
    )
    return [message.as_json() for message in messages]


GET_MESSAGES: Final = Operation(
    name="get_messages",
    tag="messages",
    title="Get messages",
    description="Returns the newest messages of a chat, newest first; page back with before.",
    fields=(
        CHAT,
        Field(
            "limit",
            whole_number(minimum=1, maximum=1000),
            "Limit",
            "How many messages (1 to 1000).",
            {"number": {"min": 1, "max": 1000, "mode": "box"}},
            default=100,
            where=Where.QUERY,
            example=20,
        ),
        Field(
            "before",
            serialized_message_id,
            "Before",
            "Serialized id of a message: return only older ones.",
            TEXT,
            where=Where.QUERY,
        ),
        Field(
            "from_me",
            cv.boolean,
            "From me",
            "Only messages sent by this account (true) or by others (false).",
            BOOLEAN,
            where=Where.QUERY,
        ),
    ),
    routes=(Route(Method.GET, "/chats/{chat_id}/messages"),),
    handler=_get_messages,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
    response_key="messages",
    response_schema=ARRAY_OF_OBJECTS,
)


# ---------------------------------------------------------------------------------------------
# Sending.


@declared(STRING_SCHEMA)
def media_url(value: str) -> str:
    """An absolute http(s) URL."""
    text = cv.string(value).strip()
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise vol.Invalid("only http:// and https:// URLs are allowed")
    return text


@declared(STRING_SCHEMA)
def camera_entity_id(value: str) -> str:
    """A camera's entity id."""
    return str(cv.entity_domain("camera")(value))


@declared(STRING_SCHEMA)
def media_content_id(value: str) -> str:
    """A ``media-source://`` id."""
    text = cv.string(value).strip()
    if not text.startswith("media-source://"):
        raise vol.Invalid("expected a media-source:// id")
    return text


SEND_OPTIONS: Final = object_value(
    Member("caption", cv.string, "Caption of the media."),
    Member("sendMediaAsDocument", cv.boolean, "Send the media as a document."),
    Member(
        "sendAudioAsVoice",
        cv.boolean,
        "Send audio as a voice note (converted to OGG/Opus with ffmpeg when it is not).",
    ),
    Member("sendVideoAsGif", cv.boolean, "Send a video as a GIF."),
    Member("sendMediaAsSticker", cv.boolean, "Send an image as a sticker."),
    Member("linkPreview", cv.boolean, "Attach a preview of the first link (default true)."),
    Member("sendSeen", cv.boolean, "Mark the chat as read before sending (default true)."),
    Member("quotedMessageId", serialized_message_id, "Serialized id of the message to quote."),
    Member("mentions", user_ids, "People to mention."),
    Member("stickerName", cv.string, "Sticker pack name."),
    Member("stickerAuthor", cv.string, "Sticker publisher."),
    Member("stickerCategories", TEXT_ITEMS, "Emojis of the sticker."),
    # The add-on copied twelve known keys and dropped the rest; callers may still send them.
    drop_unknown=True,
)

LOCATION: Final = object_value(
    Member(
        "latitude", decimal_number(minimum=-90, maximum=90), "Latitude in degrees.", required=True
    ),
    Member(
        "longitude",
        decimal_number(minimum=-180, maximum=180),
        "Longitude in degrees.",
        required=True,
    ),
    Member("name", cv.string, "Name of the place."),
    Member("address", cv.string, "Address of the place."),
    Member("url", cv.string, "Link about the place."),
)


# Where the media of a send may come from; a send takes one.
MEDIA_SOURCES: Final = (
    "url",
    "media_path",
    "media_base64",
    "camera_entity_id",
    "media_content_id",
    "tts_message",
)


async def _media_for_send(ctx: OperationContext, data: dict[str, Any]) -> MediaFile | None:
    """The media of a send from its one source, as a voice note when one is asked for."""
    sources = [key for key in MEDIA_SOURCES if data.get(key) is not None]
    for key in ("tts_engine", "tts_language"):
        if data.get(key) is not None and "tts_message" not in sources:
            raise InvalidArgument(key, "is used only with tts_message")
    if len(sources) > 1:
        raise InvalidArgument(
            sources[1],
            f"{sources[0]} and {sources[1]} were both given: give only one of "
            f"{', '.join(MEDIA_SOURCES)}",
        )
    media = await _media_from_source(ctx, data, sources[0]) if sources else None
    as_voice = sources == ["tts_message"] or data.get("options", {}).get("sendAudioAsVoice")
    if media is not None and as_voice and media.mimetype.startswith("audio/"):
        from ..ha_media import as_voice_note  # noqa: PLC0415 - ha_media builds on this module

        field_name = sources[0] if sources[0] == "tts_message" else "options"
        media = await as_voice_note(ctx.hass, media, field_name, ctx.client.max_media_bytes)
    return media


async def _media_from_source(ctx: OperationContext, data: dict[str, Any], source: str) -> MediaFile:
    """The media from one source."""
    from .. import ha_media  # noqa: PLC0415 - ha_media builds on this module

    limit = ctx.client.max_media_bytes
    if source == "camera_entity_id":
        return await ha_media.media_from_camera(ctx, data[source], source, limit)
    if source == "media_content_id":
        return await ha_media.media_from_media_source(ctx, data[source], source, limit)
    if source == "tts_message":
        return await ha_media.media_from_tts(
            ctx.hass,
            data[source],
            engine=data.get("tts_engine"),
            language=data.get("tts_language"),
            max_bytes=limit,
        )
    return await _media_from_file_or_url(ctx, data, source)


async def _media_from_file_or_url(
    ctx: OperationContext, data: dict[str, Any], source: str
) -> MediaFile:
    """The media from a URL, a local file or base64."""
    hass = ctx.hass
    limit = ctx.client.max_media_bytes
    mimetype = data.get("media_mimetype")
    filename = data.get("media_filename")
    if source == "url":
        url = data["url"]
        if not ctx.trusted and not hass.config.is_allowed_external_url(url):
            raise OperationError(
                "url_not_allowed",
                403,
                "users who are not administrators may only send media from allowlist_external_urls",
                field="url",
                placeholders={"url": url},
            )
        media = await media_from_url(
            async_get_clientsession(hass),
            url,
            max_bytes=min(limit, MEDIA_URL_MAX_BYTES),
            timeout=MEDIA_URL_TIMEOUT,
            policy=None if ctx.trusted else _allowlist_policy(hass),
        )
    elif source == "media_path":
        path = data["media_path"]
        await ensure_local_file_allowed(ctx, path, "media_path")
        media = await media_from_file(path, max_bytes=limit)
    else:
        try:
            raw = base64.b64decode(data["media_base64"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidArgument("media_base64", "not valid base64") from error
        return media_from_bytes(raw, mimetype=mimetype, filename=filename, max_bytes=limit)
    if mimetype or filename:
        media = MediaFile(
            data=media.data,
            mimetype=mimetype or media.mimetype,
            filename=filename or media.filename,
        )
    return media


def _allowlist_policy(hass: HomeAssistant) -> UrlPolicy:
    """``allowlist_external_urls`` as the rule for every URL (redirects too) of a user who is no admin."""
    return UrlPolicy(allowlist=tuple(sorted(hass.config.allowlist_external_urls)))


async def ensure_local_file_allowed(ctx: OperationContext, path: str, field_name: str) -> None:
    """Local files are for the system and administrators, and only under ``allowlist_external_dirs``."""
    if not ctx.trusted:
        raise OperationError(
            "local_files_admin_only",
            403,
            "only administrators may use local files",
            field=field_name,
            placeholders={"field": field_name},
        )
    if "\x00" in path:
        raise InvalidArgument(field_name, "the path contains a NUL character")
    if not await ctx.hass.async_add_executor_job(ctx.hass.config.is_allowed_path, path):
        raise OperationError(
            "path_not_allowed",
            403,
            f"{path} is not in allowlist_external_dirs",
            field=field_name,
            placeholders={"path": path},
        )


# The add-on's send options, by the names SendOptions.as_json gives them (caption is the text).
_OPTION_NAMES: Final = {
    "mentions": "mentions",
    "quotedMessageId": "quoted_message_id",
    "linkPreview": "link_preview",
    "sendSeen": "send_seen",
    "sendMediaAsDocument": "as_document",
    "sendAudioAsVoice": "as_voice",
    "sendVideoAsGif": "as_gif",
    "sendMediaAsSticker": "as_sticker",
}
_STICKER_OPTION_NAMES: Final = {
    "stickerName": "pack_name",
    "stickerAuthor": "publisher",
    "stickerCategories": "emojis",
}


def _send_options(options: dict[str, Any]) -> SendOptions:
    """The add-on's options as the client's SendOptions."""
    data = {name: options[key] for key, name in _OPTION_NAMES.items() if key in options}
    if sticker := {
        name: options[key] for key, name in _STICKER_OPTION_NAMES.items() if key in options
    }:
        data["sticker"] = sticker
    return SendOptions.from_json(data)


# States in which a send is accepted into the outbox: the account is, or will soon be, connected.
_QUEUEING_STATES: Final = frozenset(
    {ClientState.CONNECTED, ClientState.STARTING, ClientState.RECONNECTING}
)


async def _send_message(ctx: OperationContext, data: dict[str, Any]) -> SendOutcome:
    # The add-on sent to body "to" when present, else to the path id.
    target = data.get("to") or data["chat_id"]
    options = data.get("options", {})
    media = await _media_for_send(ctx, data)
    text: str | None = data.get("msg")
    if media is not None:
        # The add-on ignored msg when url was given; here msg is the caption unless options.caption is set.
        text = options.get("caption", text)
    location = data.get("location")
    if not text and media is None and location is None:
        raise InvalidArgument("msg", f"give msg, {', '.join(MEDIA_SOURCES)} or location")
    send_options = _send_options(options)
    if data.get("tts_message") is not None:
        send_options = replace(send_options, as_voice=True)
    client = ctx.client
    if location is not None:
        # Locations are not stored in the outbox: they need the account now.
        return await client.send_message(
            target, text, location=Location(**location), options=send_options
        )
    state = client.state
    if state not in _QUEUEING_STATES:
        raise state.not_connected()
    wait = (
        SEND_WAIT_CONNECTED + transfer_allowance(media)
        if state == ClientState.CONNECTED
        else SEND_WAIT_RECONNECTING
    )
    return await ctx.account.outbox.send(
        target,
        text or "",
        media=media,
        options=send_options,
        fail_fast=data["fail_fast"],
        wait_seconds=wait,
    )


SEND_MESSAGE: Final = Operation(
    name="send_message",
    tag="messages",
    title="Send message",
    description=(
        "Sends text, media (from a URL, a local file, base64, a camera's snapshot or a media source), "
        "a spoken text as a voice note, or a location. While the account is reconnecting the message "
        "waits in the outbox, unless fail_fast is set."
    ),
    fields=(
        chat_field("Chat id or phone number with country code to send to."),
        Field(
            "to",
            chat_id,
            "To",
            "Recipient that overrides the path's chat id (the add-on's body field).",
            TEXT,
            face=Face.REST,
        ),
        Field(
            "msg",
            cv.string,
            "Message",
            "The text; the caption when media is sent.",
            MULTILINE,
            example="Hello",
        ),
        Field(
            "url",
            media_url,
            "Media URL",
            "http(s) URL of an image, video, audio or document to send.",
            TEXT,
            example="https://example.com/picture.jpg",
        ),
        Field(
            "media_path",
            cv.string,
            "Media file",
            "Local file to send; it must be under allowlist_external_dirs.",
            TEXT,
            example="/media/picture.jpg",
        ),
        Field(
            "media_base64",
            cv.string,
            "Media (base64)",
            "The file to send, base64-encoded.",
            MULTILINE,
        ),
        Field(
            "camera_entity_id",
            camera_entity_id,
            "Camera",
            "A camera whose snapshot is sent as an image.",
            {"entity": {"domain": "camera"}},
            example="camera.front_door",
        ),
        Field(
            "media_content_id",
            media_content_id,
            "Media source",
            "A media-source:// id (local media, a camera, a text-to-speech result) to send.",
            TEXT,
            example="media-source://media_source/local/doorbell.jpg",
        ),
        Field(
            "tts_message",
            cv.string,
            "Spoken text",
            "Text spoken by a text-to-speech engine and sent as a voice note.",
            MULTILINE,
            example="The alarm is on.",
        ),
        Field(
            "tts_engine",
            cv.string,
            "Text-to-speech engine",
            "The engine that speaks tts_message (a tts entity or engine id); the default one without it.",
            TEXT,
            example="tts.home_assistant_cloud",
        ),
        Field(
            "tts_language",
            cv.string,
            "Text-to-speech language",
            "Language of tts_message; the engine's default without it.",
            TEXT,
            example="en",
        ),
        Field(
            "media_mimetype",
            cv.string,
            "Media type",
            "MIME type of the media, when it cannot be recognised.",
            TEXT,
            example="image/jpeg",
        ),
        Field("media_filename", cv.string, "File name", "File name shown for the media.", TEXT),
        Field(
            "location",
            LOCATION,
            "Location",
            "A place to send: latitude, longitude, and optionally name, address and url.",
            OBJECT,
            example={"latitude": 40.4168, "longitude": -3.7038, "name": "Madrid"},
        ),
        Field(
            "options",
            SEND_OPTIONS,
            "Options",
            "The add-on's send options: caption, sendMediaAsDocument, sendAudioAsVoice (audio that is not "
            "OGG/Opus is converted with ffmpeg), sendVideoAsGif, sendMediaAsSticker, linkPreview, sendSeen, "
            "quotedMessageId, mentions, stickerName, stickerAuthor, stickerCategories.",
            OBJECT,
            example={"caption": "Look", "sendMediaAsDocument": False},
        ),
        Field(
            "fail_fast",
            cv.boolean,
            "Fail fast",
            "Fail at once when the account is not connected instead of waiting in the outbox.",
            BOOLEAN,
            default=False,
        ),
    ),
    routes=(Route(Method.POST, "/chats/{chat_id}/messages"),),
    handler=_send_message,
    access=Access.WRITE,
    rate_limit=SENDS,
    supports_response=SupportsResponse.OPTIONAL,
    result=ResultKind.SEND,
    response_schema=_MESSAGE_SCHEMA,
)


async def _get_message(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    # The add-on answered the raw message (whatsapp-web.js's rawData), not the parsed Message object.
    return (await _find_message(ctx, data)).data


GET_MESSAGE: Final = Operation(
    name="get_message",
    tag="messages",
    title="Get message",
    description="Returns one message.",
    fields=(CHAT, MESSAGE),
    routes=(Route(Method.GET, "/chats/{chat_id}/messages/{message_id}"),),
    handler=_get_message,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
    response_schema=_MESSAGE_SCHEMA,
)


async def _delete_message(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.delete_message(await _message_key(ctx, data), everyone=data["everyone"])


DELETE_MESSAGE: Final = Operation(
    name="delete_message",
    tag="messages",
    title="Delete message",
    description="Deletes a message for everyone (while WhatsApp still allows it) or only for this account.",
    fields=(
        CHAT,
        MESSAGE,
        Field(
            "everyone",
            cv.boolean,
            "For everyone",
            "Delete for everyone (true, the default) or only here (false).",
            BOOLEAN,
            default=True,
            where=Where.QUERY,
        ),
    ),
    routes=(Route(Method.DELETE, "/chats/{chat_id}/messages/{message_id}"),),
    handler=_delete_message,
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


STAR_MESSAGE: Final = _message_operation(
    "star_message", "Star message", "Stars a message.", "star", _star(True)
)


UNSTAR_MESSAGE: Final = _message_operation(
    "unstar_message",
    "Unstar message",
    "Removes the star from a message.",
    "unstar",
    _star(False),
)


async def _react(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.react_message(await _message_key(ctx, data), data["reaction"])


REACT_MESSAGE: Final = _message_operation(
    "react_message",
    "React to message",
    "Reacts to a message with an emoji.",
    "react",
    _react,
    Field(
        "reaction",
        bounded_text(min_length=1, max_length=32),
        "Reaction",
        "The emoji.",
        TEXT,
        required=True,
        example="👍",
    ),
)


async def _unreact(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.react_message(await _message_key(ctx, data), "")


UNREACT_MESSAGE: Final = _message_operation(
    "unreact_message",
    "Remove reaction",
    "Removes this account's reaction.",
    "unreact",
    _unreact,
)


async def _download_media(ctx: OperationContext, data: dict[str, Any]) -> DownloadedMedia:
    key = await _message_key(ctx, data)
    media = await ctx.client.download_media(key)
    return DownloadedMedia(
        media=media, chat_id=data["chat_id"], message_key=ids.parse_message_id(key).id
    )


DOWNLOAD_MEDIA: Final = Operation(
    name="download_media",
    tag="messages",
    title="Download media",
    description=(
        "Downloads the file of a message: saved under a path allowed by allowlist_external_dirs, "
        "or returned as base64."
    ),
    fields=(
        CHAT,
        MESSAGE,
        *save_fields("<message id>"),
    ),
    routes=(Route(Method.GET, "/chats/{chat_id}/messages/{message_id}/download-media"),),
    handler=_download_media,
    access=Access.READ,
    supports_response=SupportsResponse.OPTIONAL,
    result=ResultKind.FILE,
    response_schema=FILE_SCHEMA,
)


# ---------------------------------------------------------------------------------------------
# Polls, edits, forwards, contact cards and search.

POLL_OPTIONS: Final = Value(
    vol.All(
        cv.ensure_list,
        [vol.All(cv.string, vol.Length(min=1, max=100))],
        vol.Length(min=2, max=12),
        vol.Unique("the options must differ"),
    ),
    {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 100},
        "minItems": 2,
        "maxItems": 12,
        "uniqueItems": True,
    },
)

CONTACT_CARDS: Final = Value(
    vol.All(user_ids, vol.Length(min=1, max=50)),
    {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 50},
)


async def _send_poll(ctx: OperationContext, data: dict[str, Any]) -> Message:
    return await ctx.client.send_poll(
        data["chat_id"],
        data["question"],
        data["options"],
        allow_multiple_answers=data["allow_multiple_answers"],
    )


SEND_POLL: Final = Operation(
    name="send_poll",
    tag="messages",
    title="Send poll",
    description=(
        "Sends a poll of 2 to 12 options; each person picks one, or several when allowed. Votes "
        "arrive as whatsapp_poll_vote events."
    ),
    fields=(
        chat_field("Chat id or phone number with country code to send the poll to."),
        Field(
            "question",
            bounded_text(min_length=1, max_length=255),
            "Question",
            "What the poll asks.",
            TEXT,
            required=True,
            example="Pizza tonight?",
        ),
        Field(
            "options",
            POLL_OPTIONS,
            "Options",
            "The answers to choose from (2 to 12, each different).",
            TEXT_LIST,
            required=True,
            example=["Yes", "No"],
        ),
        Field(
            "allow_multiple_answers",
            cv.boolean,
            "Allow multiple answers",
            "Let each person pick several options.",
            BOOLEAN,
            default=False,
        ),
    ),
    routes=(Route(Method.POST, "/chats/{chat_id}/polls"),),
    handler=_send_poll,
    access=Access.WRITE,
    rate_limit=SENDS,
    supports_response=SupportsResponse.OPTIONAL,
    result=ResultKind.SEND,
    response_schema=_MESSAGE_SCHEMA,
)


async def _edit_message(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    edited = await ctx.client.edit_message(await _message_key(ctx, data), data["msg"])
    return edited.data


EDIT_MESSAGE: Final = Operation(
    name="edit_message",
    tag="messages",
    title="Edit message",
    description=(
        "Changes the text of a message this account sent (the caption of media), for as long as "
        "WhatsApp allows (15 minutes)."
    ),
    fields=(
        CHAT,
        MESSAGE,
        Field(
            "msg",
            bounded_text(min_length=1, max_length=65536),
            "New text",
            "The message's new text.",
            MULTILINE,
            required=True,
            example="See you at 6",
        ),
    ),
    routes=(Route(Method.PUT, "/chats/{chat_id}/messages/{message_id}"),),
    handler=_edit_message,
    access=Access.WRITE,
    rate_limit=SENDS,
    supports_response=SupportsResponse.OPTIONAL,
    response_schema=_MESSAGE_SCHEMA,
)


async def _forward_message(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.forward_message(await _message_key(ctx, data), data["to_chat_id"])


FORWARD_MESSAGE: Final = Operation(
    name="forward_message",
    tag="messages",
    title="Forward message",
    description="Forwards a message, with its media and caption, to another chat.",
    fields=(
        CHAT,
        MESSAGE,
        Field(
            "to_chat_id",
            chat_id,
            "To chat",
            "Chat id or phone number with country code to forward to.",
            TEXT,
            required=True,
            example="+34 600 44 55 66",
        ),
    ),
    routes=(Route(Method.POST, "/chats/{chat_id}/messages/{message_id}/forward"),),
    handler=_forward_message,
    access=Access.WRITE,
    rate_limit=SENDS,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _send_contact_card(ctx: OperationContext, data: dict[str, Any]) -> Message:
    return await ctx.client.send_contact_cards(data["chat_id"], data["contacts"])


SEND_CONTACT_CARD: Final = Operation(
    name="send_contact_card",
    tag="messages",
    title="Send contact card",
    description="Sends one or more contacts as vCards (several in one message).",
    fields=(
        chat_field("Chat id or phone number with country code to send the cards to."),
        Field(
            "contacts",
            CONTACT_CARDS,
            "Contacts",
            "The people to share (ids or phone numbers with country code, 1 to 50).",
            TEXT_LIST,
            required=True,
            example=["+34 600 44 55 66"],
        ),
    ),
    routes=(Route(Method.POST, "/chats/{chat_id}/contact-cards"),),
    handler=_send_contact_card,
    access=Access.WRITE,
    rate_limit=SENDS,
    supports_response=SupportsResponse.OPTIONAL,
    result=ResultKind.SEND,
    response_schema=_MESSAGE_SCHEMA,
)


async def _search_messages(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    found = await ctx.client.search_messages(
        data["query"], chat_id=data.get("chat_id"), limit=data["limit"]
    )
    return [message.as_json() for message in found]


SEARCH_MESSAGES: Final = Operation(
    name="search_messages",
    tag="messages",
    title="Search messages",
    description="Finds messages whose text contains the query, in one chat or in all.",
    fields=(
        Field(
            "query",
            bounded_text(min_length=1, max_length=500),
            "Query",
            "The text to look for.",
            TEXT,
            required=True,
            where=Where.QUERY,
            example="garage",
        ),
        Field(
            "chat_id",
            chat_id,
            "Chat",
            "Search only this chat (id or phone number with country code).",
            TEXT,
            where=Where.QUERY,
        ),
        Field(
            "limit",
            whole_number(minimum=1, maximum=100),
            "Limit",
            "How many messages at most (1 to 100).",
            {"number": {"min": 1, "max": 100, "mode": "box"}},
            default=20,
            where=Where.QUERY,
        ),
    ),
    routes=(Route(Method.GET, "/messages/search"),),
    handler=_search_messages,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
    response_key="messages",
    response_schema=ARRAY_OF_OBJECTS,
)


OPERATIONS: Final[tuple[Operation, ...]] = (
    GET_MESSAGES,
    SEND_MESSAGE,
    GET_MESSAGE,
    DELETE_MESSAGE,
    STAR_MESSAGE,
    UNSTAR_MESSAGE,
    REACT_MESSAGE,
    UNREACT_MESSAGE,
    DOWNLOAD_MEDIA,
    SEND_POLL,
    EDIT_MESSAGE,
    FORWARD_MESSAGE,
    SEND_CONTACT_CARD,
    SEARCH_MESSAGES,
)
