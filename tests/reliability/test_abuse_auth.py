"""Who may call what: every REST route x {no token, non-administrator, administrator}.

401 without a token on every route; 403 for a non-administrator on every route that changes
something; the administrator's call succeeds against the real account on the simulator. Services
called by a non-administrator cannot read or write local files, nor fetch media from URLs outside
``allowlist_external_urls``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.whatsapp_web.const import API_BASE, DOMAIN, OPENAPI_PATH
from custom_components.whatsapp_web.operations import OPERATIONS, Operation, Route
from tests.integration.operations_support import route_url, valid_body

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
    if operation.name == "send_message":
        body["options"] = {"linkPreview": False}
    return body


async def call(client: Any, route: Route, url: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    response = await client.request(route.method, url, json=body)
    raw = await response.read()
    return response.status, raw.decode(errors="replace")


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
        if operation.mutating:
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
        # Only one's own messages can be deleted for everyone.
        path_values = (
            {**values, "message_id": own.id} if operation.name == "delete_message" else values
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
    assert not forbidden, f"mutating routes a non-administrator may call: {forbidden}"
    assert not reader_allowed, f"read routes refused to a non-administrator: {reader_allowed}"
    assert not admin_failed, f"routes that fail for an administrator: {admin_failed}"
    mutating = sum(1 for operation, _ in ALL_ROUTES if operation.mutating)
    record_figure(
        "auth matrix",
        "routes: 401 without token / 403 non-admin (mutating) / 2xx admin",
        f"{len(ALL_ROUTES)}/{len(ALL_ROUTES)} / {mutating}/{mutating} / {len(ALL_ROUTES)}/{len(ALL_ROUTES)}",
    )


async def test_a_bad_token_is_refused(api: Api, hass_client: Any) -> None:
    client = await hass_client("not-a-token")
    response = await client.get(f"{API_BASE}/status")
    assert response.status == 401


async def test_non_admin_services_cannot_touch_local_files(
    api: Api, hass: HomeAssistant, hass_read_only_user: Any, tmp_path: Path
) -> None:
    """A non-administrator's service call may not send a local file, save one, or fetch any URL."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    context = Context(user_id=hass_read_only_user.id)
    values = await real_values(api)
    chat = values["chat_id"]
    before = len(await api.sim.control.sent())
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": chat, "media_path": str(secret)},
            blocking=True,
            context=context,
        )
    assert raised.value.translation_key == "local_files_admin_only"
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": chat, "url": "http://127.0.0.1:9/x.png"},
            blocking=True,
            context=context,
        )
    assert raised.value.translation_key == "url_not_allowed"
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "download_media",
            {
                "chat_id": chat,
                "message_id": values["message_id"],
                "path": str(tmp_path / "out.png"),
            },
            blocking=True,
            return_response=True,
            context=context,
        )
    assert raised.value.translation_key == "local_files_admin_only"
    assert not (tmp_path / "out.png").exists()
    assert len(await api.sim.control.sent()) == before, "nothing reached WhatsApp"
    # The same calls as the system (an automation) work inside the allowlist.
    await hass.services.async_call(
        DOMAIN, "send_message", {"chat_id": chat, "media_path": str(secret)}, blocking=True
    )
    # The service returns once WhatsApp Web took the message; its server gets it a moment later.
    entries = await api.sim.control.wait_for(
        api.sim.control.sent,
        lambda entries: any(entry["kind"] == "message" for entry in entries[before:]),
    )
    [sent] = [entry for entry in entries[before:] if entry["kind"] == "message"]
    assert sent["media"]["size"] == len(PNG)
