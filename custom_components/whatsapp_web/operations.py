"""The operations table: every WhatsApp operation declared once, with its three faces.

Each ``Operation`` names the Home Assistant service, its fields (from which the voluptuous schema, the
``services.yaml`` selectors, the translations and the OpenAPI request schemas are all derived), the REST
routes under ``/api/whatsapp_web`` (the add-on's paths with ``/api`` replaced; where the add-on's README and
its real routes disagree, both forms), the REST answer (204 for changes, 201 for a created group, 200 with
JSON otherwise), who may call it (``Access``: both faces apply the same rule through ``ensure_allowed``),
which rate limit counts it, whether the service returns data, and the handler that calls the client.
``services.py`` and ``http.py`` only read this table and run operations through ``run_operation``.

Field names follow the add-on's JSON where it had one (``msg``, ``url``, ``options.caption``,
``options.sendMediaAsDocument``, ``participants``, ``name``, ``status``, ``reaction``); path parameters are
named after what they hold (``chat_id``, ``message_id``, ...), which is also their service field name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import PurePosixPath
import re
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from .client import ids
from .client.client import Location, SendOptions
from .client.errors import (
    BrowserError,
    InvalidArgument,
    InvalidId,
    LoggedOut,
    MediaError,
    MediaFetchFailed,
    MediaFetchTimeout,
    MediaTooLarge,
    MessageNotFound,
    NotConnected,
    NotFound,
    OperationFailed,
    PairingError,
    Timeout,
    WhatsAppWebChanged,
    WhatsAppWebError,
)
from .client.media import (
    StickerMetadata,
    UrlPolicy,
    media_from_bytes,
    media_from_file,
    media_from_url,
)
from .client.models import ClientState, MediaFile, Message, wid_json
from .const import (
    API_BASE,
    DOMAIN,
    MEDIA_URL_MAX_BYTES,
    MEDIA_URL_TIMEOUT,
    RETRY_AFTER_NOT_CONNECTED,
    RETRY_AFTER_NOT_LOADED,
    SEND_WAIT_CONNECTED,
    SEND_WAIT_RECONNECTING,
)
from .rate_limit import LOOKUPS, SENDS, RateLimiter, RateLimitExceeded
from .values import (
    STRING_LIST_SCHEMA,
    STRING_SCHEMA,
    TEXT_ITEMS,
    Member,
    bounded_text,
    decimal_number,
    declared,
    json_schema_of,
    object_value,
    whole_number,
)

if TYPE_CHECKING:
    from .account import WhatsAppAccount
    from .client import WhatsAppWebClient
    from .outbox import SendOutcome

_PATH_PARAMETER: Final = re.compile(r"{(\w+)}")


# ---------------------------------------------------------------------------------------------
# Errors: one description per failure, read by both faces (translated exceptions, JSON answers).


class OperationError(Exception):
    """A failure found by the integration itself (not by the client): wrong account, file not allowed, ..."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        *,
        field: str | None = None,
        placeholders: Mapping[str, str] | None = None,
        caller_mistake: bool = True,
        retry_after: int | None = None,
    ) -> None:
        """``code`` is the translation key under ``exceptions`` and the REST error code."""
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.field = field
        self.placeholders = dict(placeholders or {})
        self.caller_mistake = caller_mistake
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How one failure is reported: translation key and placeholders, HTTP status, JSON message."""

    code: str
    status: int
    message: str
    placeholders: dict[str, str]
    field: str | None = None
    caller_mistake: bool = True
    retry_after: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The REST error body: ``{"error": {"code", "message", "field"?}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


# Every translation key an ErrorInfo can carry, with its placeholders (strings.json must agree).
ERROR_PLACEHOLDERS: Final[dict[str, tuple[str, ...]]] = {
    "invalid_argument": ("field", "reason"),
    "invalid_id": ("field", "value", "reason"),
    "invalid_json": (),
    "not_connected": ("state",),
    "logged_out": (),
    "not_found": ("id",),
    "chat_not_found": ("id",),
    "message_not_found": ("id",),
    "contact_not_found": ("id",),
    "group_not_found": ("id",),
    "media_not_found": ("id",),
    "media_error": ("error",),
    "media_too_large": ("limit",),
    "media_fetch_failed": ("reason",),
    "media_fetch_timeout": ("reason",),
    "timeout": ("operation", "seconds"),
    "whatsapp_web_changed": ("missing",),
    "operation_failed": ("operation", "reason"),
    "browser_error": ("error",),
    "pairing_error": ("error",),
    "whatsapp_web_error": ("error",),
    "unexpected_error": ("error",),
    "entry_not_found": ("config_entry_id",),
    "entry_not_loaded": ("config_entry_id",),
    "no_accounts": (),
    "account_required": ("field",),
    "account_not_found": ("account",),
    "admin_required": (),
    "path_not_allowed": ("path",),
    "local_files_admin_only": ("field",),
    "url_not_allowed": ("url",),
    "file_exists": ("path",),
    "file_write_failed": ("path", "error"),
    "request_too_large": ("limit",),
    "active_content_refused": ("mimetype", "path"),
    "outbox_write_failed": ("error",),
    "send_rate_limited": ("limit", "retry_after"),
    "lookup_rate_limited": ("limit", "retry_after"),
    "camera_not_found": ("entity_id",),
    "camera_unavailable": ("entity_id", "reason"),
    "media_not_allowed": ("field", "media"),
    "media_source_not_found": ("field", "media", "reason"),
    "media_source_not_supported": ("media",),
    "tts_failed": ("field", "reason"),
    "ffmpeg_missing": ("field",),
    "audio_conversion_failed": ("field", "reason"),
}


def describe_error(error: BaseException) -> ErrorInfo:
    """Map any failure of an operation to its report; unknown failures are the page's fault (502)."""
    match error:
        case RateLimitExceeded():
            return ErrorInfo(
                f"{error.kind}_rate_limited",
                429,
                str(error),
                {"limit": str(error.limit), "retry_after": str(error.retry_after)},
                None,
                False,
                error.retry_after,
            )
        case OperationError():
            return ErrorInfo(
                error.code,
                error.status,
                error.message,
                error.placeholders,
                error.field,
                error.caller_mistake,
                error.retry_after,
            )
        case vol.Invalid():
            path = ".".join(str(part) for part in error.path) or "body"
            reason = str(error.msg)
            return ErrorInfo(
                "invalid_argument",
                400,
                f"{path}: {reason}",
                {"field": path, "reason": reason},
                path,
            )
        case InvalidId():
            return ErrorInfo(
                "invalid_id",
                400,
                str(error),
                {"field": error.field, "value": str(error.value), "reason": error.reason},
                error.field,
            )
        case InvalidArgument():
            return ErrorInfo(
                "invalid_argument",
                400,
                str(error),
                {"field": error.field, "reason": error.reason},
                error.field,
            )
        case LoggedOut():
            return ErrorInfo(
                "logged_out", 503, str(error), {}, None, False, RETRY_AFTER_NOT_CONNECTED * 20
            )
        case NotConnected():
            return ErrorInfo(
                "not_connected",
                503,
                str(error),
                {"state": error.state},
                None,
                False,
                RETRY_AFTER_NOT_CONNECTED,
            )
        case NotFound():
            return ErrorInfo(error.code, 404, str(error), {"id": error.identifier})
        case MediaTooLarge():
            return ErrorInfo("media_too_large", 413, str(error), {"limit": str(error.limit)})
        case MediaFetchTimeout():
            return ErrorInfo(
                "media_fetch_timeout", 504, str(error), {"reason": error.reason}, "url", False
            )
        case MediaFetchFailed():
            return ErrorInfo(
                "media_fetch_failed", 502, str(error), {"reason": error.reason}, "url", False
            )
        case MediaError():
            return ErrorInfo("media_error", 400, str(error), {"error": str(error)})
        case Timeout():
            return ErrorInfo(
                "timeout",
                504,
                str(error),
                {"operation": error.operation, "seconds": f"{error.seconds:g}"},
                None,
                False,
            )
        case WhatsAppWebChanged():
            return ErrorInfo(
                "whatsapp_web_changed", 502, str(error), {"missing": error.missing}, None, False
            )
        case OperationFailed():
            return ErrorInfo(
                "operation_failed",
                409,
                str(error),
                {"operation": error.operation, "reason": error.reason},
                None,
                False,
            )
        case BrowserError():
            return ErrorInfo(
                "browser_error",
                503,
                str(error),
                {"error": str(error)},
                None,
                False,
                RETRY_AFTER_NOT_CONNECTED,
            )
        case PairingError():
            return ErrorInfo("pairing_error", 409, str(error), {"error": str(error)}, None, False)
        case WhatsAppWebError():
            return ErrorInfo(
                "whatsapp_web_error", 502, str(error), {"error": str(error)}, None, False
            )
    name = type(error).__name__
    return ErrorInfo(
        "unexpected_error",
        502,
        f"unexpected answer from WhatsApp Web ({name})",
        {"error": name},
        None,
        False,
    )


# ---------------------------------------------------------------------------------------------
# The table's parts.


class Method(StrEnum):
    """HTTP methods the table uses."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"


class Where(StrEnum):
    """Where a REST caller puts a field."""

    PATH = "path"
    QUERY = "query"
    BODY = "body"


class Face(StrEnum):
    """Which face offers a field."""

    BOTH = "both"
    SERVICE = "service"
    REST = "rest"


class Access(StrEnum):
    """Who may run an operation, through a service or the REST mirror alike.

    Calls without a user (automations, scripts started by Home Assistant itself) and administrators may
    run everything. A WhatsApp history is more private than the bus events Home Assistant already hides
    from other users, so they get only the connection state unless the account's options let them read.
    """

    # Any signed-in user: the connection state.
    STATUS = "status"
    # Reads: administrators, and other users when the account's "non_admin_read" option is on.
    READ = "read"
    # Reads that hand out power (an invite link lets anyone join the group): administrators only.
    ADMIN_READ = "admin_read"
    # Changes something on WhatsApp: administrators only.
    WRITE = "write"


class ResultKind(StrEnum):
    """What a handler returns, which decides how each face answers."""

    JSON = "json"  # JSON data, or None
    SEND = "send"  # a sent Message or a Queued outbox item
    FILE = "file"  # a DownloadedMedia


@dataclass(frozen=True, slots=True)
class Route:
    """One REST route of an operation; ``alias`` marks a form only the add-on's documentation used."""

    method: Method
    path: str
    alias: bool = False

    @property
    def url(self) -> str:
        """The full path on Home Assistant's server (aiohttp syntax)."""
        return f"{API_BASE}{self.path}"

    @property
    def path_fields(self) -> tuple[str, ...]:
        """The fields taken from the path."""
        return tuple(_PATH_PARAMETER.findall(self.path))


_UNSET: Final = object()


@dataclass(frozen=True, slots=True)
class Field:
    """One input of an operation: its validator, where REST callers put it, its text and its selector."""

    key: str
    validator: Any
    name: str
    description: str
    selector: dict[str, Any]
    required: bool = False
    default: Any = _UNSET
    where: Where = Where.BODY
    face: Face = Face.BOTH
    example: Any = None

    @property
    def has_default(self) -> bool:
        """Whether the field has a default value."""
        return self.default is not _UNSET

    def marker(self) -> vol.Marker:
        """The voluptuous key."""
        if self.required:
            return vol.Required(self.key)
        if self.default is _UNSET:
            return vol.Optional(self.key)
        return vol.Optional(self.key, default=self.default)

    @property
    def json_schema(self) -> dict[str, Any]:
        """The field's JSON schema for OpenAPI, from its declared value, default and description."""
        schema = json_schema_of(self.validator)
        if self.has_default:
            schema["default"] = self.default
        schema["description"] = self.description
        return schema


@dataclass(frozen=True, slots=True)
class OperationContext:
    """Who runs an operation, on which account."""

    hass: HomeAssistant
    account: WhatsAppAccount
    # The system (automations, scripts: calls without a user) or an administrator: may read and write
    # local files and fetch media from any URL.
    trusted: bool
    # The Home Assistant user behind the call (None for automations and scripts): their entity
    # permissions decide which cameras they may send.
    user_id: str | None = None

    @property
    def client(self) -> WhatsAppWebClient:
        """The account's WhatsApp Web client."""
        return self.account.client


type Handler = Callable[[OperationContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class DownloadedMedia:
    """A message's file, with what REST needs to name it."""

    media: MediaFile
    chat_id: str
    message_key: str

    @property
    def filename(self) -> str:
        """WhatsApp's own file name, else the add-on's ``<chat>_<message>.<subtype>``."""
        # Only the last part: a name WhatsApp reports must not reach other folders when saved.
        own = (
            PurePosixPath(self.media.filename.replace("\\", "/")).name
            if self.media.filename
            else ""
        )
        if own and own not in (".", ".."):
            return own
        subtype = self.media.mimetype.split("/", 1)[-1].split(";", 1)[0].strip() or "bin"
        return f"{self.chat_id}_{self.message_key}.{subtype}"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One WhatsApp operation and its three faces."""

    name: str
    tag: str
    title: str
    description: str
    fields: tuple[Field, ...]
    routes: tuple[Route, ...]
    handler: Handler
    access: Access
    supports_response: SupportsResponse
    status: int = 200
    result: ResultKind = ResultKind.JSON
    # A list result is wrapped under this key in the service response (which must be a dict).
    response_key: str | None = None
    # The OpenAPI schema of the success body (status 200/201).
    response_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    # Body keys the add-on's README used for a field (``text`` for ``status``): renamed before validation.
    body_aliases: Mapping[str, str] = field(default_factory=dict)
    # The account's rate limit that counts each call (rate_limit.SENDS or LOOKUPS), if any.
    rate_limit: str | None = None

    @property
    def mutating(self) -> bool:
        """Whether the operation changes something on WhatsApp."""
        return self.access is Access.WRITE

    @property
    def admin_only(self) -> bool:
        """Whether only administrators (and calls without a user) may run it, whatever the options say."""
        return self.access in (Access.ADMIN_READ, Access.WRITE)

    @property
    def service(self) -> str:
        """The service name (the operation's name)."""
        return self.name

    def fields_for(self, face: Face) -> tuple[Field, ...]:
        """The fields one face offers."""
        return tuple(item for item in self.fields if item.face in (Face.BOTH, face))

    def schema(self, face: Face) -> vol.Schema:
        """The voluptuous schema of one face (without the account selector)."""
        return vol.Schema({item.marker(): item.validator for item in self.fields_for(face)})

    def rest_fields(self, where: Where) -> tuple[Field, ...]:
        """REST fields found in one place of the request."""
        return tuple(item for item in self.fields_for(Face.REST) if item.where == where)


# ---------------------------------------------------------------------------------------------
# Validators: ids are normalised here so that a bad one is reported with the field's name.


@declared(STRING_SCHEMA)
def chat_id(value: str) -> str:
    """A chat id or phone number, normalised."""
    return _id(ids.normalize_chat_id, value)


@declared(STRING_SCHEMA)
def user_id(value: str) -> str:
    """A person's id or phone number, normalised."""
    return _id(ids.normalize_user_id, value)


@declared(STRING_SCHEMA)
def group_id(value: str) -> str:
    """A group id, normalised."""
    return _id(ids.normalize_group_id, value)


@declared(STRING_SCHEMA)
def invite_code(value: str) -> str:
    """A group invite code or link; the code."""
    return _id(ids.normalize_invite_code, value)


@declared(STRING_SCHEMA)
def message_id(value: str) -> str:
    """A serialized message id (``true_<chat>_<id>``) or the short id the add-on's routes use."""
    text = cv.string(value).strip()
    if ids.is_message_key_id(text):
        return text
    return _id(lambda item: ids.parse_message_id(item).serialized, text)


@declared(STRING_SCHEMA)
def serialized_message_id(value: str) -> str:
    """A serialized message id only (quotes need the chat)."""
    return _id(lambda item: ids.parse_message_id(item).serialized, value)


@declared(STRING_LIST_SCHEMA)
def user_ids(value: list[str]) -> list[str]:
    """One or more people; a single string counts as a list of one."""
    return [user_id(item) for item in cv.ensure_list(value)]


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


def _id(normalize: Callable[[str], str], value: Any) -> str:
    try:
        return normalize(cv.string(value))
    except InvalidId as error:
        raise vol.Invalid(error.reason) from error


# Selectors of services.yaml, by kind.
TEXT: Final[dict[str, Any]] = {"text": None}
MULTILINE: Final[dict[str, Any]] = {"text": {"multiline": True}}
TEXT_LIST: Final[dict[str, Any]] = {"text": {"multiple": True}}
BOOLEAN: Final[dict[str, Any]] = {"boolean": None}
OBJECT: Final[dict[str, Any]] = {"object": None}


def _chat_field(
    description: str = "Chat id (123@c.us, 123@g.us, 123@lid) or phone number with country code.",
) -> Field:
    return Field(
        "chat_id",
        chat_id,
        "Chat",
        description,
        TEXT,
        required=True,
        where=Where.PATH,
        example="+34 600 11 22 33",
    )


CHAT: Final = _chat_field()
MESSAGE: Final = Field(
    "message_id",
    message_id,
    "Message",
    "Message id: the serialized id (true_34600112233@c.us_3EB0...) or its last part.",
    TEXT,
    required=True,
    where=Where.PATH,
    example="3EB0C767D26A1D0F5A",
)
GROUP: Final = Field(
    "group_id",
    group_id,
    "Group",
    "Group id (ending in @g.us).",
    TEXT,
    required=True,
    where=Where.PATH,
    example="120363012345678901@g.us",
)
CONTACT: Final = Field(
    "contact_id",
    user_id,
    "Contact",
    "Contact id (123@c.us, 123@lid) or phone number with country code.",
    TEXT,
    required=True,
    where=Where.PATH,
    example="+34 600 11 22 33",
)
PARTICIPANTS: Final = Field(
    "participants",
    user_ids,
    "Participants",
    "People: ids (123@c.us, 123@lid) or phone numbers with country code.",
    TEXT_LIST,
    required=True,
    example=["34600112233@c.us"],
)

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


# ---------------------------------------------------------------------------------------------
# Handlers. Each gets validated data (ids already normalised) and returns JSON-ready data, None, a
# send outcome or a DownloadedMedia, as its operation's ResultKind says.


async def _get_status(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    status = ctx.client.status()
    # The add-on answered whatsapp-web.js's getState(): null (shown as INITIALIZING) before the account
    # was authenticated, else WhatsApp Web's own Socket state.
    whatsapp_state = status.whatsapp_state if status.state != ClientState.NEEDS_PAIRING else None
    return {
        "status": whatsapp_state or "INITIALIZING",
        **status.as_json(),
        "account": ctx.account.account_id,
        "config_entry_id": ctx.account.entry.entry_id,
        "outbox_pending": ctx.account.outbox.pending,
    }


async def _get_chats(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    return [chat.as_json() for chat in await ctx.client.get_chats()]


def _chat_action(action: Callable[[WhatsAppWebClient, str], Awaitable[Any]]) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await action(ctx.client, data["chat_id"])

    return handler


async def _mute_chat(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    duration = data.get("duration")
    until = time.time() + duration if duration else None
    return (await ctx.client.mute_chat(data["chat_id"], until)).as_json()


async def _unmute_chat(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.unmute_chat(data["chat_id"])).as_json()


async def _is_registered_user(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return {"isRegistered": await ctx.client.is_registered_user(data["user_id"])}


async def _get_messages(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    messages = await ctx.client.get_messages(
        data["chat_id"], limit=data["limit"], before=data.get("before"), from_me=data.get("from_me")
    )
    return [message.as_json() for message in messages]


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


async def _get_message(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    # The add-on answered the raw message (whatsapp-web.js's rawData), not the parsed Message object.
    return (await _find_message(ctx, data)).data


async def _delete_message(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.delete_message(await _message_key(ctx, data), everyone=data["everyone"])


def _star(star: bool) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.star_message(await _message_key(ctx, data), star)

    return handler


async def _react(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.react_message(await _message_key(ctx, data), data["reaction"])


async def _unreact(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.react_message(await _message_key(ctx, data), "")


async def _download_media(ctx: OperationContext, data: dict[str, Any]) -> DownloadedMedia:
    key = await _message_key(ctx, data)
    media = await ctx.client.download_media(key)
    return DownloadedMedia(
        media=media, chat_id=data["chat_id"], message_key=ids.parse_message_id(key).id
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
        from .ha_media import as_voice_note  # noqa: PLC0415 - ha_media builds on this module

        field_name = sources[0] if sources[0] == "tts_message" else "options"
        media = await as_voice_note(ctx.hass, media, field_name, ctx.client.max_media_bytes)
    return media


async def _media_from_source(ctx: OperationContext, data: dict[str, Any], source: str) -> MediaFile:
    """The media from one source."""
    from . import ha_media  # noqa: PLC0415 - ha_media builds on this module

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


def _send_options(options: dict[str, Any]) -> SendOptions:
    """The add-on's twelve options as the client's SendOptions."""
    sticker = None
    if any(key in options for key in ("stickerName", "stickerAuthor", "stickerCategories")):
        sticker = StickerMetadata(
            pack_name=options.get("stickerName"),
            publisher=options.get("stickerAuthor"),
            emojis=tuple(options.get("stickerCategories", ())),
        )
    return SendOptions(
        mentions=tuple(options.get("mentions", ())),
        quoted_message_id=options.get("quotedMessageId"),
        link_preview=options.get("linkPreview", True),
        send_seen=options.get("sendSeen", True),
        as_document=options.get("sendMediaAsDocument", False),
        as_voice=options.get("sendAudioAsVoice", False),
        as_gif=options.get("sendVideoAsGif", False),
        as_sticker=options.get("sendMediaAsSticker", False),
        sticker=sticker,
    )


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
        if state == ClientState.LOGGED_OUT:
            raise LoggedOut
        raise NotConnected(state.value)
    connected = state == ClientState.CONNECTED
    wait = (
        SEND_WAIT_CONNECTED + (media.size / 1_000_000 if media else 0)
        if connected
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


async def _create_group(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.create_group(data["name"], data["participants"])).as_json()


async def _get_group(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.get_group(data["group_id"])).as_json()


async def _update_group(ctx: OperationContext, data: dict[str, Any]) -> None:
    if "name" not in data and "description" not in data:
        raise InvalidArgument("name", "give name, description or both")
    if "name" in data:
        await ctx.client.set_group_subject(data["group_id"], data["name"])
    if "description" in data:
        await ctx.client.set_group_description(data["group_id"], data["description"])


async def _leave_group(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.leave_group(data["group_id"])


def _invite(code: str) -> dict[str, Any]:
    return {"code": code, "url": f"{ids.INVITE_LINK_PREFIX}{code}"}


async def _get_invite_code(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return _invite(await ctx.client.get_invite_code(data["group_id"]))


async def _revoke_invite_code(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return _invite(await ctx.client.revoke_invite_code(data["group_id"]))


async def _accept_invite(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return {"groupId": await ctx.client.accept_invite(data["invite_code"])}


async def _add_participants(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "participants": await ctx.client.add_participants(data["group_id"], data["participants"])
    }


def _change_participants(action: str) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.change_participants(data["group_id"], data["participants"], action)

    return handler


async def _get_contacts(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    return [contact.as_json() for contact in await ctx.client.get_contacts()]


async def _get_contact(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.get_contact(data["contact_id"])).as_json()


def _block(block: bool) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.block_contact(data["contact_id"], block)

    return handler


async def _get_common_groups(
    ctx: OperationContext, data: dict[str, Any]
) -> list[dict[str, Any] | None]:
    # The add-on answered the group ids themselves as id objects ({server, user, _serialized}).
    return [wid_json(item) for item in await ctx.client.get_common_groups(data["contact_id"])]


def _presence(available: bool) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.set_presence(available=available)

    return handler


async def _set_display_name(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.set_display_name(data["name"])


async def _set_text_status(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.set_text_status(data["status"])


# ---------------------------------------------------------------------------------------------
# The table.

_ARRAY_OF_OBJECTS: Final[dict[str, Any]] = {"type": "array", "items": {"type": "object"}}
_MESSAGE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "The message as whatsapp-web.js serializes it.",
    "properties": {
        "id": {"type": "object"},
        "body": {"type": "string"},
        "type": {"type": "string"},
    },
}
_INVITE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "url": {"type": "string"}},
    "required": ["code", "url"],
}


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


def _participants_operation(
    name: str,
    title: str,
    description: str,
    routes: tuple[Route, ...],
    handler: Handler,
    *,
    returns: bool = False,
) -> Operation:
    return Operation(
        name=name,
        tag="groups",
        title=title,
        description=description,
        fields=(GROUP, PARTICIPANTS),
        routes=routes,
        handler=handler,
        access=Access.WRITE,
        supports_response=SupportsResponse.OPTIONAL if returns else SupportsResponse.NONE,
        status=204,
    )


OPERATIONS: Final[tuple[Operation, ...]] = (
    # --- state
    Operation(
        name="get_status",
        tag="state",
        title="Get status",
        description="Returns the connection state of the WhatsApp account.",
        fields=(),
        routes=(Route(Method.GET, "/status"),),
        handler=_get_status,
        access=Access.STATUS,
        supports_response=SupportsResponse.ONLY,
        response_schema={
            "type": "object",
            "properties": {
                "status": {
                    "type": "string",
                    "description": "WhatsApp Web's state, as the add-on reported it.",
                },
                "state": {"type": "string"},
                "account": {"type": "string"},
            },
            "required": ["status", "state"],
        },
    ),
    # --- chats
    Operation(
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
        response_schema=_ARRAY_OF_OBJECTS,
    ),
    Operation(
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
    ),
    _chat_operation(
        "archive_chat",
        "Archive chat",
        "Moves a chat to the archive.",
        "archive",
        _chat_action(lambda client, chat: client.archive_chat(chat, True)),
    ),
    _chat_operation(
        "unarchive_chat",
        "Unarchive chat",
        "Takes a chat out of the archive.",
        "unarchive",
        _chat_action(lambda client, chat: client.archive_chat(chat, False)),
    ),
    _chat_operation(
        "pin_chat",
        "Pin chat",
        "Pins a chat to the top (WhatsApp allows three).",
        "pin",
        _chat_action(lambda client, chat: client.pin_chat(chat, True)),
    ),
    _chat_operation(
        "unpin_chat",
        "Unpin chat",
        "Unpins a chat.",
        "unpin",
        _chat_action(lambda client, chat: client.pin_chat(chat, False)),
    ),
    Operation(
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
    ),
    Operation(
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
    ),
    _chat_operation(
        "send_typing",
        "Show typing",
        "Shows 'typing...' in a chat for a while.",
        "send-typing",
        _chat_action(lambda client, chat: client.send_chat_state(chat, "composing")),
    ),
    _chat_operation(
        "send_recording",
        "Show recording",
        "Shows 'recording audio...' in a chat for a while.",
        "send-recording",
        _chat_action(lambda client, chat: client.send_chat_state(chat, "recording")),
    ),
    _chat_operation(
        "clear_chat_state",
        "Clear typing state",
        "Stops showing typing or recording in a chat.",
        "clear-state",
        _chat_action(lambda client, chat: client.send_chat_state(chat, "paused")),
    ),
    Operation(
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
    ),
    _chat_operation(
        "unmute_chat",
        "Unmute chat",
        "Turns a chat's notifications back on.",
        "unmute",
        _unmute_chat,
    ),
    _chat_operation(
        "clear_chat_messages",
        "Clear chat messages",
        "Deletes every message of a chat, keeping the chat.",
        "clear-messages",
        _chat_action(lambda client, chat: client.clear_chat_messages(chat)),
    ),
    Operation(
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
    ),
    # --- messages
    Operation(
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
        response_schema=_ARRAY_OF_OBJECTS,
    ),
    Operation(
        name="send_message",
        tag="messages",
        title="Send message",
        description=(
            "Sends text, media (from a URL, a local file, base64, a camera's snapshot or a media source), "
            "a spoken text as a voice note, or a location. While the account is reconnecting the message "
            "waits in the outbox, unless fail_fast is set."
        ),
        fields=(
            _chat_field("Chat id or phone number with country code to send to."),
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
    ),
    Operation(
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
    ),
    Operation(
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
    ),
    _message_operation("star_message", "Star message", "Stars a message.", "star", _star(True)),
    _message_operation(
        "unstar_message",
        "Unstar message",
        "Removes the star from a message.",
        "unstar",
        _star(False),
    ),
    _message_operation(
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
    ),
    _message_operation(
        "unreact_message",
        "Remove reaction",
        "Removes this account's reaction.",
        "unreact",
        _unreact,
    ),
    Operation(
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
            Field(
                "path",
                cv.string,
                "Path",
                "File or folder to save to (under allowlist_external_dirs); in a folder the file is named "
                "<message id>.<extension of its type>. Not under www, which anyone can read. Without it "
                "the file is returned as base64.",
                TEXT,
                face=Face.SERVICE,
                example="/media/whatsapp/",
            ),
            Field(
                "overwrite",
                cv.boolean,
                "Overwrite",
                "Replace a file that already exists at the path.",
                BOOLEAN,
                default=False,
                face=Face.SERVICE,
            ),
        ),
        routes=(Route(Method.GET, "/chats/{chat_id}/messages/{message_id}/download-media"),),
        handler=_download_media,
        access=Access.READ,
        supports_response=SupportsResponse.OPTIONAL,
        result=ResultKind.FILE,
        response_schema={"type": "string", "format": "binary"},
    ),
    # --- groups
    Operation(
        name="create_group",
        tag="groups",
        title="Create group",
        description="Creates a group with these people.",
        fields=(
            Field(
                "name",
                bounded_text(min_length=1, max_length=100),
                "Name",
                "The group's name.",
                TEXT,
                required=True,
                example="Family",
            ),
            PARTICIPANTS,
        ),
        routes=(Route(Method.POST, "/chats/groups"),),
        handler=_create_group,
        access=Access.WRITE,
        supports_response=SupportsResponse.OPTIONAL,
        status=201,
        response_schema={
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "gid": {"type": "object"},
                "participants": {"type": "object"},
            },
            "required": ["title", "gid", "participants"],
        },
    ),
    Operation(
        name="get_group",
        tag="groups",
        title="Get group",
        description="Returns a group with its participants and description.",
        fields=(GROUP,),
        routes=(Route(Method.GET, "/chats/groups/{group_id}"),),
        handler=_get_group,
        access=Access.READ,
        supports_response=SupportsResponse.ONLY,
    ),
    Operation(
        name="update_group",
        tag="groups",
        title="Update group",
        description="Renames a group and/or changes its description.",
        fields=(
            GROUP,
            Field(
                "name",
                bounded_text(min_length=1, max_length=100),
                "Name",
                "The new name.",
                TEXT,
                example="Family",
            ),
            Field("description", cv.string, "Description", "The new description.", MULTILINE),
        ),
        routes=(Route(Method.PUT, "/chats/groups/{group_id}"),),
        handler=_update_group,
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="leave_group",
        tag="groups",
        title="Leave group",
        description="Leaves a group.",
        fields=(GROUP,),
        routes=(Route(Method.DELETE, "/chats/groups/{group_id}"),),
        handler=_leave_group,
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="get_invite_code",
        tag="groups",
        title="Get invite code",
        description="Returns the group's invite code and link (admins only).",
        fields=(GROUP,),
        routes=(Route(Method.GET, "/chats/groups/{group_id}/invite-code"),),
        handler=_get_invite_code,
        access=Access.ADMIN_READ,
        supports_response=SupportsResponse.ONLY,
        response_schema=_INVITE_SCHEMA,
    ),
    Operation(
        name="revoke_invite_code",
        tag="groups",
        title="Revoke invite code",
        description="Makes the group's invite link useless and creates a new one.",
        fields=(GROUP,),
        routes=(Route(Method.DELETE, "/chats/groups/{group_id}/invite-code"),),
        handler=_revoke_invite_code,
        access=Access.WRITE,
        supports_response=SupportsResponse.OPTIONAL,
        status=204,
    ),
    Operation(
        name="accept_invite",
        tag="groups",
        title="Accept invite",
        description="Joins a group by its invite code or link.",
        fields=(
            Field(
                "invite_code",
                invite_code,
                "Invite code",
                "The invite code or the https://chat.whatsapp.com/ link.",
                TEXT,
                required=True,
                where=Where.PATH,
                example="AbCdEfGhIjK1234567890",
            ),
        ),
        routes=(Route(Method.POST, "/chats/groups/accept-invite/{invite_code}"),),
        handler=_accept_invite,
        access=Access.WRITE,
        supports_response=SupportsResponse.OPTIONAL,
        response_schema={
            "type": "object",
            "properties": {"groupId": {"type": "string"}},
            "required": ["groupId"],
        },
    ),
    _participants_operation(
        "add_participants",
        "Add participants",
        "Adds people to a group.",
        (Route(Method.POST, "/chats/groups/{group_id}/participants"),),
        _add_participants,
        returns=True,
    ),
    _participants_operation(
        "remove_participants",
        "Remove participants",
        "Removes people from a group.",
        (Route(Method.DELETE, "/chats/groups/{group_id}/participants"),),
        _change_participants("remove"),
    ),
    _participants_operation(
        "promote_participants",
        "Promote participants",
        "Makes people admins of a group.",
        (
            Route(Method.PUT, "/chats/groups/{group_id}/participants/promote"),
            # The add-on's README and DOCS; its server only had the form above.
            Route(Method.PUT, "/chats/groups/{group_id}/promote", alias=True),
        ),
        _change_participants("promote"),
    ),
    _participants_operation(
        "demote_participants",
        "Demote participants",
        "Takes admin rights from people in a group.",
        (
            Route(Method.PUT, "/chats/groups/{group_id}/participants/demote"),
            Route(Method.PUT, "/chats/groups/{group_id}/demote", alias=True),
        ),
        _change_participants("demote"),
    ),
    # --- contacts
    Operation(
        name="get_contacts",
        tag="contacts",
        title="Get contacts",
        description="Returns every contact WhatsApp knows.",
        fields=(),
        routes=(Route(Method.GET, "/contacts"),),
        handler=_get_contacts,
        access=Access.READ,
        supports_response=SupportsResponse.ONLY,
        response_key="contacts",
        response_schema=_ARRAY_OF_OBJECTS,
    ),
    Operation(
        name="get_contact",
        tag="contacts",
        title="Get contact",
        description="Returns one contact.",
        fields=(CONTACT,),
        routes=(Route(Method.GET, "/contacts/{contact_id}"),),
        handler=_get_contact,
        access=Access.READ,
        supports_response=SupportsResponse.ONLY,
    ),
    Operation(
        name="block_contact",
        tag="contacts",
        title="Block contact",
        description="Blocks a contact.",
        fields=(CONTACT,),
        routes=(
            Route(Method.PUT, "/contacts/{contact_id}/block"),
            # The add-on's README said POST; its server only answered PUT.
            Route(Method.POST, "/contacts/{contact_id}/block", alias=True),
        ),
        handler=_block(True),
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="unblock_contact",
        tag="contacts",
        title="Unblock contact",
        description="Unblocks a contact.",
        fields=(CONTACT,),
        routes=(
            Route(Method.PUT, "/contacts/{contact_id}/unblock"),
            Route(Method.POST, "/contacts/{contact_id}/unblock", alias=True),
        ),
        handler=_block(False),
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="get_common_groups",
        tag="contacts",
        title="Get common groups",
        description="Returns the groups this account shares with a contact.",
        fields=(CONTACT,),
        routes=(Route(Method.GET, "/contacts/{contact_id}/common-groups"),),
        handler=_get_common_groups,
        access=Access.READ,
        supports_response=SupportsResponse.ONLY,
        response_key="groups",
        response_schema=_ARRAY_OF_OBJECTS,
    ),
    # --- me
    Operation(
        name="set_available",
        tag="me",
        title="Set available",
        description="Shows this account as online.",
        fields=(),
        routes=(Route(Method.PUT, "/me/available"),),
        handler=_presence(True),
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="set_unavailable",
        tag="me",
        title="Set unavailable",
        description="Stops showing this account as online.",
        fields=(),
        routes=(Route(Method.PUT, "/me/unavailable"),),
        handler=_presence(False),
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="set_display_name",
        tag="me",
        title="Set display name",
        description="Changes the name others see for this account.",
        fields=(
            Field(
                "name",
                bounded_text(min_length=1, max_length=25),
                "Name",
                "The new name (1 to 25 characters).",
                TEXT,
                required=True,
                example="Home",
            ),
        ),
        routes=(Route(Method.PUT, "/me/display-name"),),
        handler=_set_display_name,
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
    ),
    Operation(
        name="set_text_status",
        tag="me",
        title="Set about text",
        description="Changes this account's about text.",
        fields=(
            Field(
                "status",
                bounded_text(max_length=139),
                "About",
                "The new about text (at most 139 characters).",
                TEXT,
                required=True,
                example="At home",
            ),
        ),
        routes=(Route(Method.PUT, "/me/text-status"),),
        handler=_set_text_status,
        access=Access.WRITE,
        supports_response=SupportsResponse.NONE,
        status=204,
        # The add-on's README documented {"text": ...}; its server read {"status": ...}.
        body_aliases={"text": "status"},
    ),
)

OPERATIONS_BY_NAME: Final[dict[str, Operation]] = {
    operation.name: operation for operation in OPERATIONS
}


# ---------------------------------------------------------------------------------------------
# Which account an operation runs on.


def loaded_accounts(hass: HomeAssistant) -> list[WhatsAppAccount]:
    """The accounts whose config entries are loaded, in the order they were added."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _not_loaded(entry_id: str, field_name: str) -> OperationError:
    return OperationError(
        "entry_not_loaded",
        503,
        f"the WhatsApp Web account {entry_id} is not loaded",
        field=field_name,
        placeholders={"config_entry_id": entry_id},
        retry_after=RETRY_AFTER_NOT_LOADED,
    )


def _only_account(hass: HomeAssistant, field_name: str) -> WhatsAppAccount:
    """The one loaded account, when no account was named."""
    accounts = loaded_accounts(hass)
    if len(accounts) == 1:
        return accounts[0]
    if accounts:
        raise OperationError(
            "account_required",
            400,
            f"several WhatsApp accounts are loaded: choose one with {field_name}",
            field=field_name,
            placeholders={"field": field_name},
        )
    raise OperationError(
        "no_accounts",
        503,
        "no WhatsApp Web account is loaded",
        retry_after=RETRY_AFTER_NOT_LOADED,
    )


def account_for_entry_id(
    hass: HomeAssistant, entry_id: str | None, field_name: str
) -> WhatsAppAccount:
    """The account of a config entry id (services), or the only one when none is given."""
    if not entry_id:
        return _only_account(hass, field_name)
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise OperationError(
            "entry_not_found",
            404,
            f"no WhatsApp Web account has the config entry id {entry_id}",
            field=field_name,
            placeholders={"config_entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise _not_loaded(entry_id, field_name)
    account: WhatsAppAccount = entry.runtime_data
    return account


def account_for_query(hass: HomeAssistant, value: str | None, field_name: str) -> WhatsAppAccount:
    """The account REST's ``?account=`` names: a config entry id or the account's own number or id."""
    if not value:
        return _only_account(hass, field_name)
    entry = hass.config_entries.async_get_entry(value)
    if entry is not None and entry.domain == DOMAIN:
        return account_for_entry_id(hass, value, field_name)
    try:
        own_id = ids.normalize_user_id(value)
    except InvalidId:
        own_id = None
    if own_id is not None and (
        owner := hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, own_id)
    ):
        return account_for_entry_id(hass, owner.entry_id, field_name)
    raise OperationError(
        "account_not_found",
        404,
        f"no loaded WhatsApp Web account matches {value}",
        field=field_name,
        placeholders={"account": value},
    )


# ---------------------------------------------------------------------------------------------
# Who may run an operation, and running it under the account's rate limit: one rule for both faces.


def ensure_allowed(
    operation: Operation, *, is_admin: bool, account: WhatsAppAccount | None = None
) -> None:
    """Raise ``admin_required`` (403) unless a signed-in user may run the operation.

    Call it with ``account=None`` before the account is known (administrator-only operations are refused
    at once), then with the account (reads depend on its option). Calls without a user never get here.
    """
    if is_admin or operation.access is Access.STATUS:
        return
    if operation.access is Access.READ and (account is None or account.non_admin_read):
        return
    needs = "changes WhatsApp and needs" if operation.mutating else "needs"
    raise OperationError(
        "admin_required", 403, f"{operation.name} {needs} an administrator", caller_mistake=True
    )


def _gives_place_back(error: BaseException) -> bool:
    """Whether a failed call never reached WhatsApp: the caller's mistake or an account not connected."""
    return isinstance(error, NotConnected) or describe_error(error).caller_mistake


async def run_counted[T](limiter: RateLimiter, call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()`` as one place of ``limiter`` (``RateLimitExceeded`` when there is none)."""
    place = limiter.take()
    try:
        return await call()
    except BaseException as error:
        if _gives_place_back(error):
            place.give_back()
        raise


async def run_operation(operation: Operation, ctx: OperationContext, data: dict[str, Any]) -> Any:
    """Run the operation's handler, counted by the account's rate limit when the operation has one."""
    if operation.rate_limit is None:
        return await operation.handler(ctx, data)
    return await run_counted(
        ctx.account.rate_limiters[operation.rate_limit], lambda: operation.handler(ctx, data)
    )
