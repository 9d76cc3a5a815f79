"""The REST mirror without a browser: authentication, admin rights, input errors, accounts, media fetches.

Accounts here exist but their client never starts, so every operation that needs WhatsApp answers 503;
what reaches WhatsApp is tested end to end in test_operations_e2e.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from homeassistant.setup import async_setup_component
import pytest

from custom_components.whatsapp_web import http
from custom_components.whatsapp_web.const import API_BASE, CONF_NON_ADMIN_READ, OPENAPI_PATH
from custom_components.whatsapp_web.operations import (
    OPERATIONS,
    OPERATIONS_BY_NAME,
    Access,
    Method,
    Operation,
    Route,
    messages,
)

from .operations_support import add_account, route_url, valid_body

if TYPE_CHECKING:
    from pathlib import Path

    from homeassistant.core import HomeAssistant

type ClientFactory = Callable[..., Awaitable[TestClient]]

ALL_ROUTES = [(operation, route) for operation in OPERATIONS for route in operation.routes]
ROUTE_IDS = [f"{route.method} {route.path}" for _, route in ALL_ROUTES]


@pytest.fixture
async def api(hass: HomeAssistant) -> None:
    """Home Assistant's HTTP server with the REST mirror."""
    assert await async_setup_component(hass, "http", {})
    http.async_register_views(hass)


@pytest.fixture
async def admin(api: None, hass_client: ClientFactory) -> TestClient:
    """An administrator's client."""
    return await hass_client()


@pytest.fixture
async def reader(
    api: None, hass_client: ClientFactory, hass_read_only_access_token: str
) -> TestClient:
    """A client of a user who is not an administrator."""
    return await hass_client(hass_read_only_access_token)


async def call(client: TestClient, operation: Operation, route: Route, **kwargs: Any) -> Any:
    """Call a route with valid path values and, unless given, a valid body."""
    body = kwargs.pop("json", valid_body(operation))
    url = kwargs.pop("url", route_url(route))
    return await client.request(route.method.value, url, json=body, **kwargs)


async def error_of(response: Any, status: int) -> dict[str, Any]:
    """Assert the status and the JSON error shape; return the error object."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json"
    body = json.loads(text)
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return dict(body["error"])


@pytest.mark.parametrize(("operation", "route"), ALL_ROUTES, ids=ROUTE_IDS)
async def test_every_route_needs_authentication(
    api: None, hass_client_no_auth: ClientFactory, operation: Operation, route: Route
) -> None:
    client = await hass_client_no_auth()
    response = await call(client, operation, route)
    assert response.status == 401


async def test_openapi_needs_authentication(api: None, hass_client_no_auth: ClientFactory) -> None:
    client = await hass_client_no_auth()
    assert (await client.get(OPENAPI_PATH)).status == 401


@pytest.mark.parametrize("readers_allowed", [False, True], ids=["reads closed", "reads open"])
@pytest.mark.parametrize(("operation", "route"), ALL_ROUTES, ids=ROUTE_IDS)
async def test_admin_rights_matrix(  # noqa: PLR0917 - pytest passes fixtures by name
    hass: HomeAssistant,
    reader: TestClient,
    admin: TestClient,
    operation: Operation,
    route: Route,
    readers_allowed: bool,
) -> None:
    """Users who are not administrators get 403 on every route but the status, reads aside when allowed."""
    add_account(hass, options={CONF_NON_ADMIN_READ: readers_allowed})
    response = await call(reader, operation, route)
    allowed = operation.access is Access.STATUS or (
        readers_allowed and operation.access is Access.READ
    )
    if allowed:
        assert response.status != 403
    else:
        error = await error_of(response, 403)
        assert error["code"] == "admin_required"
    admin_response = await call(admin, operation, route)
    assert admin_response.status != 403


@pytest.mark.parametrize(("operation", "route"), ALL_ROUTES, ids=ROUTE_IDS)
async def test_no_account_answers_503_with_retry_after(
    admin: TestClient, operation: Operation, route: Route
) -> None:
    response = await call(admin, operation, route)
    error = await error_of(response, 503)
    assert error["code"] == "no_accounts"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("operation", "route"), ALL_ROUTES, ids=ROUTE_IDS)
async def test_not_connected_answers_503_with_retry_after(
    hass: HomeAssistant, admin: TestClient, operation: Operation, route: Route
) -> None:
    """With a loaded account whose browser is not connected, valid calls answer 503 (status answers 200)."""
    add_account(hass)
    response = await call(admin, operation, route)
    if operation.name == "get_status":
        assert response.status == 200
        return
    error = await error_of(response, 503)
    assert error["code"] == "not_connected"
    assert int(response.headers["Retry-After"]) > 0


async def test_status_of_a_stopped_account(hass: HomeAssistant, admin: TestClient) -> None:
    entry = add_account(hass)
    response = await admin.get(f"{API_BASE}/status")
    assert response.status == 200
    body = await response.json()
    # The add-on's field, and the richer state of this client.
    assert body["status"] == "INITIALIZING"
    assert body["state"] == "stopped"
    assert body["account"] == "34600000001@c.us"
    assert body["config_entry_id"] == entry.entry_id
    assert body["outbox_pending"] == 0


BAD_INPUTS = [
    ("archive_chat", {"url": f"{API_BASE}/chats/not-a-number/archive"}, "chat_id"),
    ("archive_chat", {"url": f"{API_BASE}/chats/0600112233/archive"}, "chat_id"),
    ("get_messages", {"params": {"limit": "0"}}, "limit"),
    ("get_messages", {"params": {"limit": "many"}}, "limit"),
    ("get_messages", {"params": {"before": "nope"}}, "before"),
    (
        "send_message",
        {"json": {"msg": "hi", "options": {"sendMediaAsDocument": "maybe"}}},
        "options.sendMediaAsDocument",
    ),
    ("send_message", {"json": {"msg": "hi", "options": {"mentions": ["abc"]}}}, "options.mentions"),
    ("send_message", {"json": {"url": "ftp://example.com/a.jpg"}}, "url"),
    ("send_message", {"json": {"msg": "hi", "to": "a@b"}}, "to"),
    ("send_message", {"json": {}}, "msg"),
    ("send_message", {"json": {"options": {"caption": "only a caption"}}}, "msg"),
    (
        "send_message",
        {"json": {"msg": "hi", "location": {"latitude": 100, "longitude": 0}}},
        "location.latitude",
    ),
    ("send_message", {"json": {"media_base64": "***"}}, "media_base64"),
    (
        "send_message",
        {"json": {"url": "https://example.com/a.jpg", "media_base64": "aGk="}},
        "media_base64",
    ),
    ("react_message", {"json": {}}, "reaction"),
    ("create_group", {"json": {"participants": ["34600000003@c.us"]}}, "name"),
    ("create_group", {"json": {"name": "x", "participants": ["x"]}}, "participants"),
    ("add_participants", {"json": {"participants": ["120363012345678901@g.us"]}}, "participants"),
    ("get_group", {"url": f"{API_BASE}/chats/groups/34600000002@c.us"}, "group_id"),
    ("update_group", {"json": {}}, "name"),
    ("set_display_name", {"json": {"name": ""}}, "name"),
    ("set_display_name", {"json": {"name": "x" * 26}}, "name"),
    ("set_text_status", {"json": {}}, "status"),
    ("accept_invite", {"url": f"{API_BASE}/chats/groups/accept-invite/no"}, "invite_code"),
    ("delete_message", {"params": {"everyone": "perhaps"}}, "everyone"),
    ("get_message", {"url": f"{API_BASE}/chats/34600000002@c.us/messages/bad-id!"}, "message_id"),
    ("mute_chat", {"json": {"duration": -5}}, "duration"),
]


@pytest.mark.parametrize(
    ("name", "request_parts", "field"),
    BAD_INPUTS,
    ids=[f"{name}-{field}" for name, _, field in BAD_INPUTS],
)
async def test_bad_input_answers_400_naming_the_field(
    hass: HomeAssistant, admin: TestClient, name: str, request_parts: dict[str, Any], field: str
) -> None:
    add_account(hass)
    operation = OPERATIONS_BY_NAME[name]
    response = await call(admin, operation, operation.routes[0], **request_parts)
    error = await error_of(response, 400)
    assert error["field"].startswith(field), error


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"', "42"])
async def test_body_that_is_not_a_json_object_answers_400(
    hass: HomeAssistant, admin: TestClient, body: str
) -> None:
    add_account(hass)
    response = await admin.post(
        f"{API_BASE}/chats/34600000002@c.us/messages",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    error = await error_of(response, 400)
    assert error["code"] == "invalid_json"


async def test_body_over_the_server_limit_answers_413(
    hass: HomeAssistant, admin: TestClient
) -> None:
    """Home Assistant refuses bodies above 16 MiB; the mirror says so as JSON, not as a 500."""
    add_account(hass)
    huge = b'{"media_base64": "' + b"A" * (17 * 1024 * 1024) + b'"}'
    response = await admin.post(
        f"{API_BASE}/chats/34600000002@c.us/messages",
        data=huge,
        headers={"Content-Type": "application/json"},
    )
    error = await error_of(response, 413)
    assert error["code"] == "request_too_large"


async def test_addon_bodies_accepted_verbatim(hass: HomeAssistant, admin: TestClient) -> None:
    """The add-on's bodies pass validation (the account is not connected, hence 503, never 400)."""
    add_account(hass)
    bodies = [
        (
            "POST",
            "/chats/34600000002@c.us/messages",
            {"msg": "hi", "options": {"linkPreview": "false", "isViewOnce": True}},
        ),
        (
            "POST",
            "/chats/34600000002@c.us/messages",
            {"to": "34600000003", "msg": "to a bare number"},
        ),
        ("POST", "/chats/groups", {"name": "Family", "participants": ["34600000003@c.us"]}),
        ("PUT", "/chats/groups/120363012345678901@g.us", {"name": "New", "description": ""}),
        ("PUT", "/chats/34600000002@c.us/messages/3EB0C767D26A1D0F5A/react", {"reaction": "👍"}),
        ("PUT", "/me/text-status", {"status": "busy"}),
        # The README's form of the same body.
        ("PUT", "/me/text-status", {"text": "busy"}),
        ("PUT", "/me/display-name", {"name": "Home"}),
        (
            "DELETE",
            "/chats/groups/120363012345678901@g.us/participants",
            {"participants": ["34600000003@c.us"]},
        ),
    ]
    for method, path, body in bodies:
        response = await admin.request(method, f"{API_BASE}{path}", json=body)
        error = await error_of(response, 503)
        assert error["code"] == "not_connected", (method, path)


async def test_phone_numbers_accepted_as_ids(hass: HomeAssistant, admin: TestClient) -> None:
    add_account(hass)
    for chat in (
        "+34 600 00 00 02",
        "0034600000002",
        "34600000002@s.whatsapp.net",
        "123456789012345@lid",
    ):
        response = await admin.put(f"{API_BASE}/chats/{chat}/archive")
        error = await error_of(response, 503)
        assert error["code"] == "not_connected", chat


async def test_wrong_method_answers_405(hass: HomeAssistant, admin: TestClient) -> None:
    add_account(hass)
    assert (await admin.post(f"{API_BASE}/status")).status == 405
    assert (await admin.get(f"{API_BASE}/chats/34600000002@c.us/archive")).status == 405


async def test_delete_chats_groups_is_not_a_chat(hass: HomeAssistant, admin: TestClient) -> None:
    """The add-on's DELETE /chats/groups matched DELETE /chats/:id with id 'groups'; here it is a bad id."""
    add_account(hass)
    error = await error_of(await admin.delete(f"{API_BASE}/chats/groups"), 400)
    assert error["field"] == "chat_id"


async def test_account_selection(hass: HomeAssistant, admin: TestClient) -> None:
    first = add_account(hass, "34600000001")
    add_account(hass, "34600000009")
    url = f"{API_BASE}/status"
    error = await error_of(await admin.get(url), 400)
    assert error == {"code": "account_required", "message": error["message"], "field": "account"}
    for selector in (first.entry_id, "+34 600 00 00 01", "34600000001", "34600000001@c.us"):
        response = await admin.get(url, params={"account": selector})
        assert response.status == 200, selector
        assert (await response.json())["config_entry_id"] == first.entry_id
    error = await error_of(await admin.get(url, params={"account": "34699999999"}), 404)
    assert error["code"] == "account_not_found"
    error = await error_of(await admin.get(url, params={"account": "nonsense"}), 404)
    assert error["code"] == "account_not_found"


async def test_account_not_loaded(hass: HomeAssistant, admin: TestClient) -> None:
    entry = add_account(hass, loaded=False)
    response = await admin.get(f"{API_BASE}/status", params={"account": entry.entry_id})
    error = await error_of(response, 503)
    assert error["code"] == "entry_not_loaded"
    assert response.headers["Retry-After"]
    response = await admin.get(f"{API_BASE}/status", params={"account": "34600000001"})
    assert (await error_of(response, 503))["code"] == "entry_not_loaded"
    # No loaded account at all.
    assert (await error_of(await admin.get(f"{API_BASE}/status"), 503))["code"] == "no_accounts"


async def test_local_media_must_be_allowed(
    hass: HomeAssistant, admin: TestClient, tmp_path: Path
) -> None:
    add_account(hass)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "note.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("secret")
    hass.config.allowlist_external_dirs = {str(allowed)}
    url = f"{API_BASE}/chats/34600000002@c.us/messages"
    error = await error_of(
        await admin.post(url, json={"media_path": str(tmp_path / "secret.txt")}), 403
    )
    assert error == {"code": "path_not_allowed", "message": error["message"], "field": "media_path"}
    error = await error_of(
        await admin.post(url, json={"media_path": str(allowed / "missing.txt")}), 400
    )
    assert error["field"] == "path"
    # An allowed file is read; then the account's state decides.
    error = await error_of(
        await admin.post(url, json={"media_path": str(allowed / "note.txt")}), 503
    )
    assert error["code"] == "not_connected"


@pytest.fixture
async def media_server(socket_enabled: None) -> AsyncIterator[str]:
    """A media server on 127.0.0.1: /ok.jpg, /big.bin, /missing, /slow."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xd8\xff\xe0" + b"0" * 100, content_type="image/jpeg")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"0" * 5000, content_type="application/octet-stream")

    async def slow(request: web.Request) -> web.Response:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"0")
        await request.app["stop"].wait()
        return response

    app = web.Application()
    app["stop"] = asyncio.Event()
    app.router.add_get("/ok.jpg", ok)
    app.router.add_get("/big.bin", big)
    app.router.add_get("/slow", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        app["stop"].set()
        await server.close()


async def test_media_url_failures(
    hass: HomeAssistant, admin: TestClient, media_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fetch failures of media URLs: 502, 413 and 504, each as JSON; a good fetch then meets the state."""
    add_account(hass)
    monkeypatch.setattr(messages, "MEDIA_URL_MAX_BYTES", 1000)
    monkeypatch.setattr(messages, "MEDIA_URL_TIMEOUT", 0.5)
    url = f"{API_BASE}/chats/34600000002@c.us/messages"
    error = await error_of(await admin.post(url, json={"url": f"{media_server}/missing"}), 502)
    assert error["code"] == "media_fetch_failed"
    assert error["field"] == "url"
    error = await error_of(await admin.post(url, json={"url": f"{media_server}/big.bin"}), 413)
    assert error["code"] == "media_too_large"
    error = await error_of(await admin.post(url, json={"url": f"{media_server}/slow"}), 504)
    assert error["code"] == "media_fetch_timeout"
    error = await error_of(await admin.post(url, json={"url": f"{media_server}/ok.jpg"}), 503)
    assert error["code"] == "not_connected"


async def test_openapi_document(admin: TestClient, reader: TestClient) -> None:
    for client in (admin, reader):
        response = await client.get(OPENAPI_PATH)
        assert response.status == 200
        document = await response.json()
        assert document == json.loads(json.dumps(http.build_openapi()))
    paths = document["paths"]
    assert paths["/chats/groups"]["post"]["responses"]["201"]
    assert paths["/contacts/{contact_id}/block"]["post"]["deprecated"] is True
    assert paths["/status"]["get"]["x-admin-required"] is False
    assert set(paths["/chats/groups/{group_id}/participants"]) == {"post", "delete"}


# Inputs no caller should send; none may produce a 500 or a non-JSON error.
JUNK_BODIES: list[Any] = [
    {"msg": {"nested": True}, "options": [], "location": "here"},
    {"participants": "not a list of ids", "name": ["a"], "reaction": {"x": 1}},
    {"participants": [None, 3, {"id": 1}], "status": None, "description": 5},
    {"url": "http://", "media_base64": 12, "media_path": ["a"], "fail_fast": "sometimes"},
    {"options": {"mentions": "x", "quotedMessageId": 3, "stickerCategories": "a"}, "to": []},
    {"duration": "forever", "limit": 10**400},
]
JUNK_PATHS = ["%00", "x" * 300, "..%2F..%2Fetc", "%F0%9F%91%8D", "123@c.us_extra_", "@"]


@pytest.mark.parametrize(("operation", "route"), ALL_ROUTES, ids=ROUTE_IDS)
async def test_junk_never_gives_a_500(
    hass: HomeAssistant, admin: TestClient, operation: Operation, route: Route
) -> None:
    add_account(hass)
    allowed = {400, 403, 404, 503}
    for body in JUNK_BODIES:
        response = await call(admin, operation, route, json=body)
        assert response.status in allowed | {200}, (body, await response.text())
        if response.status != 200:
            await error_of(response, response.status)
    for junk in JUNK_PATHS:
        values = dict.fromkeys(route.path_fields, junk)
        if not values:
            break
        response = await call(admin, operation, route, url=route_url(route, **values))
        # A junk segment may also miss the route entirely (404 from the router, not JSON).
        assert response.status in allowed | {405}, (junk, await response.text())
    response = await call(
        admin, operation, route, params={"limit": "-1", "everyone": "[]", "before": "%"}
    )
    assert response.status in allowed | {200}


def test_every_method_is_a_known_one() -> None:
    assert {route.method for _, route in ALL_ROUTES} <= set(Method)
