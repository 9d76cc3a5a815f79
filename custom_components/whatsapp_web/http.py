"""The REST mirror of the operations table under ``/api/whatsapp_web``, and its OpenAPI document.

One ``HomeAssistantView`` per path, with a method per operation routed there. Every route needs Home
Assistant authentication (a bearer token); who may call which route is the operations table's rule
(``operations.ensure_allowed``, 403 with a JSON body otherwise), the same the services follow. Request
bodies are the add-on's JSON; answers use its status codes and shapes. Errors are
``{"error": {"code", "message", "field"?}}`` with 400, 403, 404, 409, 413, 429 and 503 (both with
``Retry-After``), 502, 504 or 507: nothing a caller sends produces a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
import logging
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util.json import json_loads

from .client.errors import (
    ChatNotFound,
    ContactNotFound,
    GroupNotFound,
    MediaNotFound,
    MessageNotFound,
    NotFound,
)
from .const import API_BASE, DOMAIN, OPENAPI_PATH, QUERY_ACCOUNT
from .operations import (
    OPERATIONS,
    Access,
    DownloadedMedia,
    Face,
    Method,
    Operation,
    OperationContext,
    OperationError,
    ResultKind,
    Route,
    Where,
    account_for_query,
    describe_error,
    ensure_allowed,
    run_operation,
)
from .outbox import Queued

if TYPE_CHECKING:
    import voluptuous as vol

_LOGGER = logging.getLogger(__name__)

type RouteHandler = Callable[..., Awaitable[web.StreamResponse]]

# Every error status the REST mirror answers, with what it means (for the OpenAPI document).
ERROR_STATUSES: Final[dict[int, str]] = {
    400: "The request is invalid; error.field names the field.",
    401: "Home Assistant authentication is missing or invalid.",
    403: "An administrator is needed, or a local file or URL is not allowed.",
    404: "The account, chat, message, group or contact does not exist.",
    409: "WhatsApp refused the operation.",
    413: "The media is larger than the limit.",
    429: "The account's rate limit for sends or number checks is used up; see Retry-After.",
    502: "WhatsApp Web or a media server failed.",
    503: "The account is not loaded or not connected; see Retry-After.",
    504: "WhatsApp Web or a media server did not answer in time.",
    507: "The send could not be stored in the outbox (disk full or read-only); it was not accepted.",
}


# Which path parameter a "not found" is about, when the route has it.
_NOT_FOUND_FIELDS: Final[dict[type[NotFound], str]] = {
    ChatNotFound: "chat_id",
    GroupNotFound: "group_id",
    MessageNotFound: "message_id",
    MediaNotFound: "message_id",
    ContactNotFound: "contact_id",
}


def _field_for(error: BaseException, route_fields: Sequence[str]) -> str:
    """The request field a caller-facing error is about.

    That is the matching path parameter, else the route's first one (the resource the call names),
    else the body.
    """
    for kind, name in _NOT_FOUND_FIELDS.items():
        if isinstance(error, kind) and name in route_fields:
            return name
    return route_fields[0] if route_fields else "body"


def error_response(error: BaseException, route_fields: Sequence[str] = ()) -> web.Response:
    """The JSON answer for any failure; every 4xx names the field it is about."""
    info = describe_error(error)
    if info.field is None and 400 <= info.status < 500 and info.status not in (401, 403, 429):
        info = replace(info, field=_field_for(error, route_fields))
    if info.code == "unexpected_error":
        _LOGGER.error("Unexpected failure of a WhatsApp REST call", exc_info=error)
    headers = {"Retry-After": str(info.retry_after)} if info.retry_after else None
    return HomeAssistantView.json(info.as_json(), info.status, headers=headers)


def _content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII name and, for other names, the RFC 6266 UTF-8 form."""
    ascii_name = "".join(
        char if 32 <= ord(char) < 127 and char not in '"\\' else "_" for char in filename
    )
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def _success_response(operation: Operation, result: Any) -> web.Response:
    """The add-on's answer: 204 for changes, 201 for a created group, 200 with JSON (or the file)."""
    if operation.result is ResultKind.FILE:
        downloaded: DownloadedMedia = result
        return web.Response(
            body=downloaded.media.data,
            status=200,
            headers={
                "Content-Type": downloaded.media.mimetype,
                "Content-Disposition": _content_disposition(downloaded.filename),
            },
        )
    if operation.result is ResultKind.SEND:
        if isinstance(result, Queued):
            return HomeAssistantView.json(result.as_json(), 202)
        # The add-on answered the sent message's raw form.
        return HomeAssistantView.json(result.data, 200)
    if operation.status == 204:
        return web.Response(status=204)
    return HomeAssistantView.json(result, operation.status)


@dataclass(frozen=True, slots=True)
class _RequestShape:
    """What one operation reads from a request; built once, when its routes are registered."""

    body_keys: frozenset[str]
    query_keys: tuple[str, ...]
    schema: vol.Schema

    @classmethod
    def of(cls, operation: Operation) -> _RequestShape:
        return cls(
            body_keys=frozenset(item.key for item in operation.rest_fields(Where.BODY)),
            query_keys=tuple(item.key for item in operation.rest_fields(Where.QUERY)),
            schema=operation.schema(Face.REST),
        )


async def _request_data(
    request: web.Request, operation: Operation, shape: _RequestShape, match_info: dict[str, str]
) -> dict[str, Any]:
    """The operation's input from the path, the query string and the JSON body, validated."""
    data: dict[str, Any] = {}
    body_fields = shape.body_keys
    if body_fields and request.body_exists:
        try:
            text = await request.text()
        except web.HTTPRequestEntityTooLarge as error:
            limit = str(request.client_max_size)
            raise OperationError(
                "request_too_large",
                413,
                f"the request body is larger than {limit} bytes",
                placeholders={"limit": limit},
            ) from error
        except (UnicodeDecodeError, LookupError) as error:
            raise OperationError(
                "invalid_json",
                400,
                f"the request body is not text in {request.charset or 'UTF-8'}",
                field="body",
            ) from error
        if text.strip():
            try:
                body = json_loads(text)
            except ValueError as error:
                raise OperationError(
                    "invalid_json", 400, "the request body is not valid JSON", field="body"
                ) from error
            if not isinstance(body, dict):
                raise OperationError(
                    "invalid_json", 400, "the request body must be a JSON object", field="body"
                )
            for alias, key in operation.body_aliases.items():
                if alias in body and key not in body:
                    body[key] = body.pop(alias)
            # The add-on ignored keys it did not know; so does this mirror.
            data.update({key: value for key, value in body.items() if key in body_fields})
    for key in shape.query_keys:
        if key in request.query:
            data[key] = request.query[key]
    data.update(match_info)
    validated: dict[str, Any] = shape.schema(data)
    return validated


def _route_handler(operation: Operation) -> RouteHandler:
    """The aiohttp handler of one operation's routes."""
    shape = _RequestShape.of(operation)

    async def handle(request: web.Request, **match_info: str) -> web.StreamResponse:
        hass: HomeAssistant = request.app[KEY_HASS]
        user = request[KEY_HASS_USER]
        try:
            ensure_allowed(operation, is_admin=user.is_admin)
        except OperationError as error:
            return error_response(error)
        try:
            data = await _request_data(request, operation, shape, match_info)
            account = account_for_query(hass, request.query.get(QUERY_ACCOUNT), QUERY_ACCOUNT)
            ensure_allowed(operation, is_admin=user.is_admin, account=account)
            context = OperationContext(
                hass=hass, account=account, trusted=user.is_admin, user_id=user.id
            )
            result = await run_operation(operation, context, data)
            return _success_response(operation, result)
        except Exception as error:  # noqa: BLE001 - every failure gets a JSON answer, never a 500
            return error_response(error, tuple(match_info))

    return handle


class OperationView(HomeAssistantView):
    """Every operation routed to one path; methods are set per instance from the table."""

    requires_auth = True

    def __init__(self, url: str, handlers: dict[Method, RouteHandler]) -> None:
        """Serve ``url`` with one handler per method."""
        self.url = url
        self.name = f"api:{DOMAIN}:{url.removeprefix(API_BASE)}"
        for method, handler in handlers.items():
            # HomeAssistantView.register looks the methods up by name on the instance.
            setattr(self, method.lower(), handler)


class OpenApiView(HomeAssistantView):
    """``GET /api/whatsapp_web/openapi.json``: the document generated from the table."""

    url = OPENAPI_PATH
    name = f"api:{DOMAIN}:openapi"
    requires_auth = True

    async def get(self, request: web.Request) -> web.Response:
        """Answer the document."""
        return self.json(build_openapi())


def route_table() -> dict[str, dict[Method, tuple[Operation, Route]]]:
    """Each served path with the operation behind each of its methods."""
    table: dict[str, dict[Method, tuple[Operation, Route]]] = {}
    for operation in OPERATIONS:
        for route in operation.routes:
            methods = table.setdefault(route.url, {})
            if route.method in methods:
                raise ValueError(f"{route.method} {route.path} is declared twice")
            methods[route.method] = (operation, route)
    return table


@callback
def async_register_views(hass: HomeAssistant) -> None:
    """Register every REST route of the table and the OpenAPI view (once, from ``async_setup``)."""
    handlers = {operation.name: _route_handler(operation) for operation in OPERATIONS}
    for url, methods in route_table().items():
        hass.http.register_view(
            OperationView(
                url,
                {method: handlers[operation.name] for method, (operation, _) in methods.items()},
            )
        )
    hass.http.register_view(OpenApiView())


# ---------------------------------------------------------------------------------------------
# OpenAPI 3.1


def _field_schemas(operation: Operation) -> dict[str, dict[str, Any]]:
    """The JSON schema of each REST field, from the operation's own field declarations."""
    return {item.key: item.json_schema for item in operation.fields_for(Face.REST)}


def _parameters(
    operation: Operation, route: Route, schemas: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for key in route.path_fields:
        schema = dict(schemas[key])
        description = schema.pop("description", "")
        parameters.append(
            {
                "name": key,
                "in": "path",
                "required": True,
                "description": description,
                "schema": schema,
            }
        )
    for item in operation.rest_fields(Where.QUERY):
        schema = dict(schemas[item.key])
        description = schema.pop("description", "")
        parameters.append(
            {
                "name": item.key,
                "in": "query",
                "required": item.required,
                "description": description,
                "schema": schema,
            }
        )
    parameters.append(
        {
            "name": QUERY_ACCOUNT,
            "in": "query",
            "required": False,
            "description": "The account: its config entry id or its own phone number; needed only when several "
            "accounts are set up.",
            "schema": {"type": "string"},
        }
    )
    return parameters


def _request_body(operation: Operation) -> dict[str, Any] | None:
    body = operation.rest_fields(Where.BODY)
    if not body:
        return None
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {item.key: item.json_schema for item in body},
    }
    if required := [item.key for item in body if item.required]:
        schema["required"] = required
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _responses(operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for answer in operation.answers:
        response: dict[str, Any] = {"description": answer.description}
        if answer.media_type is not None:
            response["content"] = {answer.media_type: {"schema": answer.schema}}
        responses[str(answer.status)] = response
    for status in ERROR_STATUSES:
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    return responses


def build_openapi(version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the REST mirror, generated from the operations table."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "WhatsApp Web for Home Assistant",
            "version": version,
            "description": "The REST mirror of the whatsapp_web integration's services, compatible with the "
            "ha-whatsapp-web-rest-api add-on.",
        },
        "servers": [{"url": API_BASE}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": tag} for tag in dict.fromkeys(operation.tag for operation in OPERATIONS)],
        "paths": _paths(),
        "components": _components(),
    }


def _paths() -> dict[str, dict[str, Any]]:
    """Every route of the table, aliases marked deprecated."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        schemas = _field_schemas(operation)
        for index, route in enumerate(operation.routes):
            entry: dict[str, Any] = {
                "operationId": operation.name if index == 0 else f"{operation.name}_{index}",
                "summary": operation.title,
                "description": operation.description,
                "tags": [operation.tag],
                "parameters": _parameters(operation, route, schemas),
                "responses": _responses(operation),
                "x-admin-required": operation.access is not Access.STATUS,
                "x-service": f"{DOMAIN}.{operation.service}",
            }
            if route.alias:
                entry["deprecated"] = True
                entry["description"] += " (The form the add-on's documentation used.)"
            if (body := _request_body(operation)) is not None:
                entry["requestBody"] = body
            paths.setdefault(route.path, {})[route.method.lower()] = entry
    return paths


def _components() -> dict[str, Any]:
    """What every operation shares: the bearer token, the error body, the queued answer."""
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A Home Assistant access token (a long-lived token works).",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                        },
                        "required": ["code", "message"],
                    }
                },
                "required": ["error"],
            },
            "Queued": {
                "type": "object",
                "properties": {"queued": {"const": True}, "outbox_id": {"type": "string"}},
                "required": ["queued", "outbox_id"],
            },
        },
        "responses": {
            f"Error{status}": _error_response(status, description)
            for status, description in ERROR_STATUSES.items()
        },
    }


def _error_response(status: int, description: str) -> dict[str, Any]:
    """The shared answer for one error status; 429 and 503 say when to try again."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}
        }
    return response
