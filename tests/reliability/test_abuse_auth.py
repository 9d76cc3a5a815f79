"""Who may call what, by every face: the REST mirror, services over REST and over the WebSocket API.

Every REST route x {no token, non-administrator, administrator}: 401 without a token; 403 for a
non-administrator everywhere but the status (reads too, unless the account's option lets other users
read); the administrator's call succeeds against the real account on the simulator. Every service x
{administrator, non-administrator, no user}, through ``POST /api/services/whatsapp_web/<op>`` and the
WebSocket ``call_service``: the same rule, ``Unauthorized`` when refused, and nothing reaches WhatsApp.
The event entity shows message texts only with the read option. Sends and number checks are counted by
the account's rate limits (429 with ``Retry-After``, translated service errors, free again after the
window). The operations come from the table, never from a hand-written list.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.whatsapp_web import http, services
from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import (
    API_BASE,
    CONF_LOOKUP_LIMIT,
    CONF_NON_ADMIN_READ,
    CONF_SEND_LIMIT,
    DOMAIN,
    OPENAPI_PATH,
    RATE_LIMIT_WINDOW_SECONDS,
)
from custom_components.whatsapp_web.operations import (
    OPERATIONS,
    OPERATIONS_BY_NAME,
    Access,
    Face,
    Operation,
    Route,
    Where,
)
from tests.integration.linking import wait_until
from tests.integration.operations_support import add_account, route_url, valid_body

from .support import record_figure

if TYPE_CHECKING:
    from pathlib import Path

    from .ha_support import Api

ALL_ROUTES = [(operation, route) for operation in OPERATIONS for route in operation.routes]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

# Operations whose success removes what other routes need; the administrator runs them last, in order.
RUN_LAST = (
    "accept_invite",
    "revoke_invite_code",
    "remove_participants",
    "delete_message",
    "clear_chat_messages",
    "leave_group",
    "delete_chat",
)
# Mutating operations others depend on (promote needs a participant); they run first.
RUN_FIRST = ("add_participants",)


async def real_values(api: Api) -> dict[str, str]:
    """Path values that exist on the simulated account."""
    sim = api.sim
    chats = await sim.control.chats()
    private = [chat["id"] for chat in chats if not chat["is_group"]]
    group = next(chat["id"] for chat in chats if chat["is_group"])
    media_id = await sim.control.incoming(
        private[0],
        None,
        media={
            "mimetype": "image/png",
            "filename": "dot.png",
            "data_b64": base64.b64encode(PNG).decode(),
        },
    )
    await api.entry.runtime_data.client.get_message(media_id)
    invite = await api.entry.runtime_data.client.get_invite_code(group)
    await sim.control.picture(private[1], PNG, "image/png")
    return {
        "chat_id": private[0],
        "user_id": private[1],
        "contact_id": private[1],
        "group_id": group,
        "message_id": media_id,
        "invite_code": invite,
    }


def body_for(operation: Operation, values: dict[str, str]) -> dict[str, Any] | None:
    body = valid_body(operation)
    if body is None:
        return None
    if "participants" in body:
        body["participants"] = [values["user_id"]]
    if "contacts" in body:
        body["contacts"] = [values["user_id"]]
    if operation.name == "forward_message":
        body["to_chat_id"] = values["user_id"]
    if operation.name == "send_message":
        body["options"] = {"linkPreview": False}
    return body


async def call(client: Any, route: Route, url: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    response = await client.request(route.method, url, json=body)
    raw = await response.read()
    return response.status, raw.decode(errors="replace")


def reader_may(operation: Operation, *, reads_open: bool) -> bool:
    """The rule under test, from the table: what a user who is not an administrator may call."""
    return operation.access is Access.STATUS or (reads_open and operation.access is Access.READ)


def service_data(operation: Operation, values: dict[str, str]) -> dict[str, Any]:
    """Valid service data naming things that exist on the simulated account."""
    fields = operation.fields_for(Face.SERVICE)
    data: dict[str, Any] = {
        item.key: values[item.key] for item in fields if item.where is Where.PATH
    }
    keys = {item.key for item in fields}
    data.update({k: v for k, v in (body_for(operation, values) or {}).items() if k in keys})
    data.update(
        {item.key: item.example for item in fields if item.where is Where.QUERY and item.required}
    )
    return data


def wants_response(operation: Operation) -> bool:
    return operation.supports_response is not SupportsResponse.NONE


async def service_over_rest(
    client: Any, operation: Operation, data: dict[str, Any]
) -> tuple[int, str]:
    """``POST /api/services/whatsapp_web/<op>`` as a token's owner; the status and the text."""
    url = f"/api/services/{DOMAIN}/{operation.service}"
    if wants_response(operation):
        url += "?return_response"
    response = await client.post(url, json=data)
    return response.status, (await response.read()).decode(errors="replace")


async def service_over_websocket(
    ws: Any, operation: Operation, data: dict[str, Any]
) -> dict[str, Any]:
    """A WebSocket ``call_service``; the result message."""
    await ws.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": operation.service,
            "service_data": data,
            "return_response": wants_response(operation),
        }
    )
    result: dict[str, Any] = await ws.receive_json()
    return result


def ws_refused(result: dict[str, Any]) -> bool:
    """A ``call_service`` result refused by ``Unauthorized``.

    Home Assistant 2025.4 answers it as a ``home_assistant_error`` named "Unauthorized", later
    versions with the ``unauthorized`` code.
    """
    if result["success"]:
        return False
    error = result["error"]
    return bool(error["code"] == "unauthorized" or error["message"] == "Unauthorized")


async def service_as(
    hass: HomeAssistant, operation: Operation, data: dict[str, Any], context: Context | None = None
) -> Any:
    """A service call in Home Assistant itself: no user (an automation), unless a context is given."""
    return await hass.services.async_call(
        DOMAIN,
        operation.service,
        data,
        blocking=True,
        return_response=wants_response(operation),
        context=context,
    )


async def test_every_route_by_every_kind_of_caller(api: Api) -> None:
    values = await real_values(api)
    unauthorised: list[str] = []
    forbidden: list[str] = []
    reader_allowed: list[str] = []
    admin_failed: list[str] = []
    # First the callers who may change nothing, over every route; then the administrator.
    for operation, route in ALL_ROUTES:
        url = route_url(route, **values)
        body = body_for(operation, values)
        label = f"{route.method} {route.path}"
        status, _ = await call(api.anonymous, route, url, body)
        if status != 401:
            unauthorised.append(f"{label}: {status}")
        status, text = await call(api.reader, route, url, body)
        if not reader_may(operation, reads_open=False):
            if status != 403 or "admin_required" not in text:
                forbidden.append(f"{label}: {status} {text[:100]}")
        elif status >= 400:
            reader_allowed.append(f"{label}: {status} {text[:100]}")

    def admin_order(item: tuple[Operation, Route]) -> int:
        operation = item[0]
        if operation.name in RUN_LAST:
            return 3 + RUN_LAST.index(operation.name)
        if operation.name in RUN_FIRST:
            return 1
        return 2 * int(operation.mutating)

    own = await api.entry.runtime_data.client.send_message(values["chat_id"], "mine, to delete")
    for operation, route in sorted(ALL_ROUTES, key=admin_order):
        # Only one's own messages can be deleted for everyone, or edited.
        path_values = (
            {**values, "message_id": own.id}
            if operation.name in ("delete_message", "edit_message")
            else values
        )
        status, text = await call(
            api.admin, route, route_url(route, **path_values), body_for(operation, values)
        )
        if not 200 <= status < 300:
            admin_failed.append(f"{route.method} {route.path}: {status} {text[:160]}")
    # The OpenAPI document is behind authentication too.
    assert (await api.anonymous.get(OPENAPI_PATH)).status == 401
    assert (await api.reader.get(OPENAPI_PATH)).status == 200
    assert not unauthorised, f"routes that answer without a token: {unauthorised}"
    assert not forbidden, f"routes a non-administrator may call: {forbidden}"
    assert not reader_allowed, f"routes refused to a non-administrator: {reader_allowed}"
    assert not admin_failed, f"routes that fail for an administrator: {admin_failed}"
    refused = sum(1 for op, _ in ALL_ROUTES if not reader_may(op, reads_open=False))
    record_figure(
        "auth matrix",
        "routes: 401 without token / 403 non-admin / 2xx admin",
        f"{len(ALL_ROUTES)}/{len(ALL_ROUTES)} / {refused}/{refused} / {len(ALL_ROUTES)}/{len(ALL_ROUTES)}",
    )


async def test_a_bad_token_is_refused(api: Api, hass_client: Any) -> None:
    client = await hass_client("not-a-token")
    response = await client.get(f"{API_BASE}/status")
    assert response.status == 401


async def open_reads(api: Api, **options: Any) -> None:
    """Turn on the read option (and any other) and wait for the reloaded account to connect again."""
    hass = api.hass
    hass.config_entries.async_update_entry(
        api.entry, options={**api.entry.options, CONF_NON_ADMIN_READ: True, **options}
    )
    await hass.async_block_till_done()
    await api.entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=120)


async def incoming_shown(api: Api, entity_registry: er.EntityRegistry, text: str) -> dict[str, Any]:
    """Have a contact write ``text``; the event entity's attributes once it shows that message."""
    hass = api.hass
    chats = await api.sim.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    entity_id = entity_registry.async_get_entity_id(
        "event", DOMAIN, f"{api.entry.unique_id}_incoming"
    )
    assert entity_id is not None
    message_id = await api.sim.control.incoming(person, text)

    def shown() -> bool:
        state = hass.states.get(entity_id)
        return state is not None and state.attributes.get("message_id") == message_id

    await wait_until(shown, 60)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes[ATTR_EVENT_TYPE] == "message_received"
    return dict(state.attributes)


async def test_services_refuse_users_who_are_not_admins(  # noqa: PLR0917 - pytest passes fixtures by name
    api: Api,
    hass: HomeAssistant,
    hass_ws_client: Any,
    hass_read_only_access_token: str,
    hass_read_only_user: Any,
    entity_registry: er.EntityRegistry,
    leak_guard: Any,
) -> None:
    """By default a non-administrator may only get the status, by every service face; texts stay hidden."""
    ws = await hass_ws_client(hass, hass_read_only_access_token)
    values = await real_values(api)
    before = await api.sim.control.sent()
    over_rest: list[str] = []
    over_websocket: list[str] = []
    in_hass: list[str] = []
    for operation in OPERATIONS:
        data = service_data(operation, values)
        allowed = reader_may(operation, reads_open=False)
        status, text = await service_over_rest(api.reader, operation, data)
        if (status == 200) is not allowed or (not allowed and status != 401):
            over_rest.append(f"{operation.name}: {status} {text[:100]}")
        result = await service_over_websocket(ws, operation, data)
        refused = ws_refused(result)
        if result["success"] is not allowed or (not allowed and not refused):
            over_websocket.append(f"{operation.name}: {result}")
        try:
            await service_as(hass, operation, data, Context(user_id=hass_read_only_user.id))
        except Unauthorized:
            if allowed:
                in_hass.append(f"{operation.name}: refused")
        except HomeAssistantError as error:
            in_hass.append(f"{operation.name}: {error!r}")
        else:
            if not allowed:
                in_hass.append(f"{operation.name}: ran")
    assert not over_rest, f"POST /api/services as a non-administrator: {over_rest}"
    assert not over_websocket, f"WebSocket call_service as a non-administrator: {over_websocket}"
    assert not in_hass, f"service calls with a non-administrator's context: {in_hass}"
    assert await api.sim.control.sent() == before, "a refused call reached WhatsApp"
    # The event entity: who wrote, not what.
    leak_guard.add("message body", "the alarm code is 4711")
    attributes = await incoming_shown(api, entity_registry, "the alarm code is 4711")
    assert "body" not in attributes
    assert attributes["sender"]
    refused = sum(1 for operation in OPERATIONS if not reader_may(operation, reads_open=False))
    record_figure(
        "auth matrix",
        "services refused to a non-admin (REST / WebSocket / context)",
        f"{refused}/{len(OPERATIONS)} each, get_status allowed",
    )


async def test_services_for_admins_and_automations(
    api: Api, hass: HomeAssistant, hass_ws_client: Any
) -> None:
    """Administrators (WebSocket) run every service; calls without a user (automations) are never refused."""
    ws = await hass_ws_client(hass)
    values = await real_values(api)
    client = api.entry.runtime_data.client
    reads_failed: list[str] = []
    for operation in OPERATIONS:
        if not operation.mutating:
            try:
                await service_as(hass, operation, service_data(operation, values))
            except HomeAssistantError as error:
                reads_failed.append(f"{operation.name}: {error!r}")

    def admin_order(operation: Operation) -> int:
        if operation.name in RUN_LAST:
            return 3 + RUN_LAST.index(operation.name)
        if operation.name in RUN_FIRST:
            return 1
        return 2 * int(operation.mutating)

    own = await client.send_message(values["chat_id"], "mine, to delete")
    admin_failed: list[str] = []
    for operation in sorted(OPERATIONS, key=admin_order):
        data = service_data(operation, values)
        if operation.name in ("delete_message", "edit_message"):
            data["message_id"] = own.id
        result = await service_over_websocket(ws, operation, data)
        if not result["success"]:
            admin_failed.append(f"{operation.name}: {result['error']}")
    # The changes again without a user: what they change may be gone now, but they are never refused.
    refused: list[str] = []
    for operation in OPERATIONS:
        if operation.mutating:
            try:
                await service_as(hass, operation, service_data(operation, values))
            except Unauthorized:
                refused.append(operation.name)
            except HomeAssistantError:
                pass
    assert not reads_failed, f"reads that fail without a user: {reads_failed}"
    assert not admin_failed, f"services that fail for an administrator: {admin_failed}"
    assert not refused, f"changes refused to a call without a user: {refused}"


async def test_the_read_option_opens_reads_only(  # noqa: PLR0917 - pytest passes fixtures by name
    api: Api,
    hass: HomeAssistant,
    hass_ws_client: Any,
    hass_read_only_access_token: str,
    hass_read_only_user: Any,
    entity_registry: er.EntityRegistry,
    leak_guard: Any,
    tmp_path: Path,
) -> None:
    """With the option a non-administrator reads by every face; changes and local files stay refused."""
    values = await real_values(api)
    await open_reads(api)
    ws = await hass_ws_client(hass, hass_read_only_access_token)
    before = await api.sim.control.sent()
    wrong: list[str] = []
    for operation, route in ALL_ROUTES:
        status, text = await call(
            api.reader, route, route_url(route, **values), body_for(operation, values)
        )
        if (200 <= status < 300) is not reader_may(operation, reads_open=True):
            wrong.append(f"REST {route.method} {route.path}: {status} {text[:100]}")
    for operation in OPERATIONS:
        data = service_data(operation, values)
        allowed = reader_may(operation, reads_open=True)
        status, text = await service_over_rest(api.reader, operation, data)
        if status != (200 if allowed else 401):
            wrong.append(f"POST /api/services {operation.name}: {status} {text[:100]}")
        result = await service_over_websocket(ws, operation, data)
        if result["success"] is not allowed or (not allowed and not ws_refused(result)):
            wrong.append(f"WebSocket {operation.name}: {result}")
    assert not wrong, "\n".join(wrong)
    assert await api.sim.control.sent() == before, "a refused call reached WhatsApp"
    # Reading a file is not writing one: saving media stays for administrators and automations.
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "download_media",
            {
                "chat_id": values["chat_id"],
                "message_id": values["message_id"],
                "path": str(tmp_path),
            },
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    assert raised.value.translation_key == "local_files_admin_only"
    assert not await hass.async_add_executor_job(lambda: list(tmp_path.iterdir()))
    # The event entity shows texts now.
    leak_guard.add("message body", "dinner is ready downstairs")
    attributes = await incoming_shown(api, entity_registry, "dinner is ready downstairs")
    assert attributes["body"] == "dinner is ready downstairs"


async def test_number_checks_are_rate_limited(
    api: Api, hass: HomeAssistant, hass_read_only_access_token: str
) -> None:
    """The account's number-check limit is shared by every caller: REST 429 + Retry-After, service error."""
    await open_reads(api, **{CONF_LOOKUP_LIMIT: 2})
    chats = await api.sim.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    url = f"{API_BASE}/chats/{person}/is-registered-user"
    response = await api.reader.get(url)
    assert response.status == 200, await response.text()
    # An automation uses the same budget.
    await hass.services.async_call(
        DOMAIN, "is_registered_user", {"user_id": person}, blocking=True, return_response=True
    )
    response = await api.admin.get(url)
    assert response.status == 429, await response.text()
    assert (await response.json())["error"] == {
        "code": "lookup_rate_limited",
        "message": "this account's limit of 2 number checks an hour is used up; try again in "
        f"{response.headers['Retry-After']} s",
    }
    retry_after = int(response.headers["Retry-After"])
    assert RATE_LIMIT_WINDOW_SECONDS - 600 < retry_after <= RATE_LIMIT_WINDOW_SECONDS
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN, "is_registered_user", {"user_id": person}, blocking=True, return_response=True
        )
    assert raised.value.translation_key == "lookup_rate_limited"
    assert raised.value.translation_placeholders["limit"] == "2"
    # A call refused by the limit takes no place: the budget is still 2 used.
    assert api.entry.runtime_data.rate_limiters["lookup"].used == 2


async def test_sends_are_rate_limited_and_free_again_after_the_window(
    hass: HomeAssistant, hass_client: Any
) -> None:
    """Queued sends count when accepted; the limit answers 429 / a translated error; the window frees it.

    No browser: the account is reconnecting, so every accepted send waits in the outbox.
    """
    assert await async_setup_component(hass, "http", {})
    http.async_register_views(hass)
    services.async_setup_services(hass)
    account = add_account(hass, options={CONF_SEND_LIMIT: 2}).runtime_data
    account.client._state = ClientState.RECONNECTING
    admin = await hass_client()
    url = f"{API_BASE}/chats/34600000002@c.us/messages"
    body = {"msg": "the washing machine is done", "options": {"linkPreview": False}}
    send = OPERATIONS_BY_NAME["send_message"]
    try:
        # A send that is not accepted (fail_fast while reconnecting) gives its place back.
        with pytest.raises(HomeAssistantError) as raised:
            await service_as(hass, send, {"chat_id": "34600000002", "msg": "x", "fail_fast": True})
        assert raised.value.translation_key == "not_connected"
        response = await admin.post(url, json=body)
        assert response.status == 202, await response.text()
        queued = await service_as(hass, send, {"chat_id": "34600000002", "msg": "from automation"})
        assert queued["queued"] is True
        response = await admin.post(url, json=body)
        assert response.status == 429, await response.text()
        assert (await response.json())["error"]["code"] == "send_rate_limited"
        retry_after = int(response.headers["Retry-After"])
        assert RATE_LIMIT_WINDOW_SECONDS - 600 < retry_after <= RATE_LIMIT_WINDOW_SECONDS
        with pytest.raises(HomeAssistantError) as raised:
            await service_as(hass, send, {"chat_id": "34600000002", "msg": "one too many"})
        assert raised.value.translation_key == "send_rate_limited"
        assert raised.value.translation_placeholders == {
            "limit": "2",
            "retry_after": raised.value.translation_placeholders["retry_after"],
        }
        assert account.outbox.pending == 2, "a refused send was accepted"
        # One window later both places are free again.
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=RATE_LIMIT_WINDOW_SECONDS + 1)
        )
        await hass.async_block_till_done()
        response = await admin.post(url, json=body)
        assert response.status == 202, await response.text()
        assert account.outbox.pending == 3
    finally:
        for limiter in account.rate_limiters.values():
            limiter.close()
