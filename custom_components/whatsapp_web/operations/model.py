"""What the operations table is made of: operations, their fields and routes, who may run them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
import re
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol

from ..const import API_BASE
from ..values import json_schema_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant, SupportsResponse

    from ..account import WhatsAppAccount
    from ..client import WhatsAppWebClient
    from ..client.models import MediaFile

_PATH_PARAMETER: Final = re.compile(r"{(\w+)}")
_JSON: Final = "application/json"


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
class Answer:
    """One successful REST answer of an operation: OpenAPI's response and the README's words for it."""

    status: int
    description: str
    readme: str
    # The body's media type and schema; None for an answer without a body.
    media_type: str | None = None
    schema: Mapping[str, Any] | None = None


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


# A handler gets validated data (ids already normalised) and returns JSON-ready data, None, a send
# outcome or a DownloadedMedia, as its operation's ResultKind says.
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

    @property
    def answers(self) -> tuple[Answer, ...]:
        """The successful REST answers: 204 for changes, 201 for a created group, 200 otherwise."""
        if self.result is ResultKind.FILE:
            return (
                Answer(
                    200,
                    "The file, with its content type and a Content-Disposition file name.",
                    "200, the file",
                    "*/*",
                    self.response_schema,
                ),
            )
        if self.result is ResultKind.SEND:
            return (
                Answer(
                    200, "The sent message.", "200, the sent message", _JSON, self.response_schema
                ),
                Answer(
                    202,
                    "The account is reconnecting: the message waits in the outbox.",
                    "202 `{queued, outbox_id}` while it waits in the outbox",
                    _JSON,
                    {"$ref": "#/components/schemas/Queued"},
                ),
            )
        if self.status == 204:
            return (Answer(204, "Done.", "204"),)
        description = "Created." if self.status == 201 else "The result."
        return (
            Answer(self.status, description, f"{self.status}, JSON", _JSON, self.response_schema),
        )

    def fields_for(self, face: Face) -> tuple[Field, ...]:
        """The fields one face offers."""
        return tuple(item for item in self.fields if item.face in (Face.BOTH, face))

    def schema(self, face: Face) -> vol.Schema:
        """The voluptuous schema of one face (without the account selector)."""
        return vol.Schema({item.marker(): item.validator for item in self.fields_for(face)})

    def rest_fields(self, where: Where) -> tuple[Field, ...]:
        """REST fields found in one place of the request."""
        return tuple(item for item in self.fields_for(Face.REST) if item.where == where)
