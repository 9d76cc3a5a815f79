"""Every operation end to end: REST and services -> client -> real Chromium -> simulator.

The effects are read back from the simulator's truth (``/_sim/sent``, ``/_sim/chats``,
``/_sim/messages/{id}``), never from the integration itself.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import API_BASE, DOMAIN
from simulator.testing import Simulator

from .linking import add_linked_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def setup_api(hass: HomeAssistant, sim: Simulator, hass_client: Any) -> TestClient:
    """HTTP, a linked entry and an administrator's REST client."""
    assert await async_setup_component(hass, "http", {})
    await add_linked_entry(hass, sim)
    client: TestClient = await hass_client()
    return client


async def sent_after(sim: Simulator, seq: int) -> list[dict[str, Any]]:
    """The simulator's outbox entries after sequence number ``seq``."""
    return [entry for entry in await sim.control.sent() if entry["seq"] > seq]


async def last_seq(sim: Simulator) -> int:
    """The newest outbox sequence number (0 when empty)."""
    entries = await sim.control.sent()
    return entries[-1]["seq"] if entries else 0


async def pick_chats(sim: Simulator) -> tuple[str, str]:
    """A private chat and a group where this account is an admin (from the simulator's truth)."""
    chats = await sim.control.chats()
    private = next(chat["id"] for chat in chats if not chat["is_group"])
    group = next(chat["id"] for chat in chats if chat["is_group"])
    return private, group


async def test_chat_and_message_routes(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
) -> None:
    client = await setup_api(hass, simulator, hass_client)
    private, _group = await pick_chats(simulator)

    response = await client.get(f"{API_BASE}/status")
    assert response.status == 200
    status = await response.json()
    assert status["status"] == "CONNECTED"
    assert status["state"] == "connected"

    response = await client.get(f"{API_BASE}/chats")
    assert response.status == 200
    chats = await response.json()
    assert private in {chat["id"]["_serialized"] for chat in chats}
    assert {"id", "name", "isGroup", "unreadCount", "archived", "pinned"} <= set(chats[0])

    # Text, with the add-on's body.
    seq = await last_seq(simulator)
    response = await client.post(
        f"{API_BASE}/chats/{private}/messages",
        json={"msg": "hello from REST", "options": {"linkPreview": False}},
    )
    assert response.status == 200, await response.text()
    raw = await response.json()
    assert raw["body"] == "hello from REST"
    assert raw["id"]["fromMe"] is True
    [entry] = [item for item in await sent_after(simulator, seq) if item["kind"] == "message"]
    assert entry["chat"] == private
    assert entry["body"] == "hello from REST"
    assert entry["id"] == raw["id"]["_serialized"]

    # Media as base64, sent as a document with a caption.
    seq = await last_seq(simulator)
    response = await client.post(
        f"{API_BASE}/chats/{private}/messages",
        json={
            "media_base64": base64.b64encode(PNG).decode(),
            "media_filename": "dot.png",
            "options": {"caption": "a dot", "sendMediaAsDocument": True},
        },
    )
    assert response.status == 200, await response.text()
    [entry] = [item for item in await sent_after(simulator, seq) if item["kind"] == "message"]
    assert entry["type"] == "document"
    assert entry["caption"] == "a dot"
    assert entry["media"]["sha256"] == hashlib.sha256(PNG).hexdigest()

    # A location (sent at once, not through the outbox). The answer comes when WhatsApp Web added
    # the message; it reaches the phone's outbox soon after, in no fixed order with the chat
    # actions (marking the chat seen) that a send may bring.
    seq = await last_seq(simulator)
    response = await client.post(
        f"{API_BASE}/chats/{private}/messages",
        json={"location": {"latitude": 40.4168, "longitude": -3.7038, "name": "Sol"}},
    )
    assert response.status == 200, await response.text()
    location_id = (await response.json())["id"]["_serialized"]
    sent = await simulator.control.wait_for(
        lambda: sent_after(simulator, seq),
        lambda entries: any(entry["kind"] == "message" for entry in entries),
        10,
    )
    [entry] = [item for item in sent if item["kind"] == "message"]
    assert entry["type"] == "location"
    assert entry["id"] == location_id

    # Chat actions answer 204 and reach WhatsApp.
    actions = [
        ("archive", "archive"),
        ("unarchive", "unarchive"),
        ("pin", "pin"),
        ("unpin", "unpin"),
        ("mark-as-read", "seen"),
        ("mark-as-unread", "mark_unread"),
        ("read", "seen"),
        ("unread", "mark_unread"),
        ("mute", "mute"),
        ("unmute", "unmute"),
    ]
    for segment, action in actions:
        seq = await last_seq(simulator)
        response = await client.put(f"{API_BASE}/chats/{private}/{segment}")
        assert response.status == 204, (segment, await response.text())
        assert any(
            item["kind"] == "chat" and item["action"] == action
            for item in await sent_after(simulator, seq)
        ), segment
    for segment, state in (
        ("send-typing", "composing"),
        ("send-recording", "recording"),
        ("clear-state", "paused"),
    ):
        seq = await last_seq(simulator)
        response = await client.put(f"{API_BASE}/chats/{private}/{segment}")
        assert response.status == 204, segment
        assert any(
            item["kind"] == "chat_state" and item["state"] == state
            for item in await sent_after(simulator, seq)
        ), segment

    response = await client.get(f"{API_BASE}/chats/{private}/messages", params={"limit": "2"})
    assert response.status == 200
    messages = await response.json()
    assert len(messages) == 2
    assert {"_data", "id", "hasMedia", "body", "fromMe", "timestamp"} <= set(messages[0])
    # Newest first.
    assert messages[0]["timestamp"] >= messages[1]["timestamp"]

    # An incoming message, named by its short id as the add-on's routes did.
    incoming = await simulator.control.incoming(private, "react to me")
    short = incoming.rsplit("_", 1)[-1]
    base = f"{API_BASE}/chats/{private}/messages/{short}"
    await _eventually(lambda: client.get(base), 200)
    response = await client.get(base)
    raw = await response.json()
    assert raw["body"] == "react to me"
    assert raw["id"]["_serialized"] == incoming
    for segment, body in (
        ("star", None),
        ("react", {"reaction": "👍"}),
        ("unreact", None),
        ("unstar", None),
    ):
        response = await client.put(f"{base}/{segment}", json=body)
        assert response.status == 204, (segment, await response.text())
    truth = await simulator.control.message(incoming)
    assert truth["starred"] is False
    kinds = [
        (item["kind"], item.get("emoji"), item.get("starred"))
        for item in await simulator.control.sent()
    ]
    assert ("reaction", "👍", None) in kinds
    assert ("reaction", "", None) in kinds
    assert ("star", None, True) in kinds
    assert ("star", None, False) in kinds

    # Unknown message: 404 JSON.
    response = await client.get(f"{API_BASE}/chats/{private}/messages/3EB0FFFFFFFFFFFFFFFF")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "message_not_found"

    # Media download: the file with its type and a file name.
    media_id = await simulator.control.incoming(
        private,
        type="image",
        media={
            "mimetype": "image/png",
            "filename": "dot.png",
            "data_b64": base64.b64encode(PNG).decode(),
        },
    )
    url = f"{API_BASE}/chats/{private}/messages/{media_id.rsplit('_', 1)[-1]}/download-media"
    await _eventually(lambda: client.get(url), 200)
    response = await client.get(url)
    assert await response.read() == PNG
    assert response.headers["Content-Type"].startswith("image/png")
    assert "filename=" in response.headers["Content-Disposition"]

    # Delete own message for everyone (serialized id in the path works too).
    own = raw_id = (
        await (
            await client.post(f"{API_BASE}/chats/{private}/messages", json={"msg": "oops"})
        ).json()
    )["id"]["_serialized"]
    response = await client.delete(f"{API_BASE}/chats/{private}/messages/{own}")
    assert response.status == 204
    assert any(
        item["kind"] == "delete" and item["message_id"] == raw_id and item["everyone"]
        for item in await simulator.control.sent()
    )

    # Clear messages and delete the chat.
    response = await client.put(f"{API_BASE}/chats/{private}/clear-messages")
    assert response.status == 204
    response = await client.delete(f"{API_BASE}/chats/{private}")
    assert response.status == 204
    actions_done = {
        item.get("action") for item in await simulator.control.sent() if item["kind"] == "chat"
    }
    assert {"clear", "delete"} <= actions_done


async def _eventually(request: Any, status: int, attempts: int = 50) -> None:
    """Retry a request until it answers ``status`` (a message reaches the page a moment after it is sent)."""
    import asyncio  # noqa: PLC0415

    for _ in range(attempts):
        response = await request()
        if response.status == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never answered {status}: {response.status} {await response.text()}")


async def test_group_contact_and_me_routes(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
) -> None:
    client = await setup_api(hass, simulator, hass_client)
    private, _ = await pick_chats(simulator)
    contacts = await (await client.get(f"{API_BASE}/contacts")).json()
    people = [
        item["id"]["_serialized"]
        for item in contacts
        if not item.get("isMe") and not item.get("isGroup")
    ]
    assert people

    response = await client.post(
        f"{API_BASE}/chats/groups", json={"name": "Created here", "participants": people[:1]}
    )
    assert response.status == 201, await response.text()
    created = await response.json()
    gid = created["gid"]["_serialized"]
    assert created["title"] == "Created here"

    response = await client.get(f"{API_BASE}/chats/groups/{gid}")
    assert response.status == 200
    group = await response.json()
    assert group["isGroup"] is True
    assert group["groupMetadata"]["subject"] == "Created here"

    response = await client.put(
        f"{API_BASE}/chats/groups/{gid}", json={"name": "Renamed", "description": "About"}
    )
    assert response.status == 204
    for method, path, body in (
        ("POST", "participants", {"participants": people[1:2] or people[:1]}),
        ("PUT", "participants/promote", {"participants": people[:1]}),
        ("PUT", "demote", {"participants": people[:1]}),
        ("PUT", "promote", {"participants": people[:1]}),
        ("PUT", "participants/demote", {"participants": people[:1]}),
        ("DELETE", "participants", {"participants": people[:1]}),
    ):
        response = await client.request(method, f"{API_BASE}/chats/groups/{gid}/{path}", json=body)
        assert response.status == 204, (method, path, await response.text())
    group_actions = [
        item["action"] for item in await simulator.control.sent() if item["kind"] == "group"
    ]
    assert {"create", "subject", "description", "add", "promote", "demote", "remove"} <= set(
        group_actions
    )

    response = await client.get(f"{API_BASE}/chats/groups/{gid}/invite-code")
    invite = await response.json()
    assert invite["url"] == f"https://chat.whatsapp.com/{invite['code']}"
    assert (await client.delete(f"{API_BASE}/chats/groups/{gid}/invite-code")).status == 204
    invite = await (await client.get(f"{API_BASE}/chats/groups/{gid}/invite-code")).json()
    assert (await client.delete(f"{API_BASE}/chats/groups/{gid}")).status == 204
    response = await client.post(f"{API_BASE}/chats/groups/accept-invite/{invite['code']}")
    assert response.status == 200, await response.text()
    assert (await response.json()) == {"groupId": gid}
    group_actions = [
        item["action"] for item in await simulator.control.sent() if item["kind"] == "group"
    ]
    assert {"invite_code", "revoke_invite", "leave", "join"} <= set(group_actions)

    # Contacts.
    person = people[0]
    response = await client.get(f"{API_BASE}/contacts/{person}")
    assert (await response.json())["id"]["_serialized"] == person
    for method, segment in (("PUT", "block"), ("PUT", "unblock"), ("POST", "block")):
        response = await client.request(method, f"{API_BASE}/contacts/{person}/{segment}")
        assert response.status == 204
    assert [
        item["action"] for item in await simulator.control.sent() if item["kind"] == "contact"
    ] == [
        "block",
        "unblock",
        "block",
    ]
    response = await client.get(f"{API_BASE}/contacts/{person}/common-groups")
    common = await response.json()
    assert all(set(item) == {"server", "user", "_serialized"} for item in common)
    response = await client.get(f"{API_BASE}/chats/{private}/is-registered-user")
    assert await response.json() == {"isRegistered": True}

    # Me.
    for path, body in (
        ("available", None),
        ("unavailable", None),
        ("display-name", {"name": "Kitchen"}),
        ("text-status", {"status": "Cooking"}),
        ("text-status", {"text": "Baking"}),
    ):
        response = await client.put(f"{API_BASE}/me/{path}", json=body)
        assert response.status == 204, (path, await response.text())
    sent = await simulator.control.sent()
    assert [item["available"] for item in sent if item["kind"] == "presence"][-2:] == [True, False]
    profile = [(item["field"], item["value"]) for item in sent if item["kind"] == "profile"]
    assert profile[-3:] == [("pushname", "Kitchen"), ("status", "Cooking"), ("status", "Baking")]


async def test_services_end_to_end(
    hass: HomeAssistant,
    simulator: Simulator,
    tmp_path: Path,
) -> None:
    entry = await add_linked_entry(hass, simulator)
    private, group = await pick_chats(simulator)
    hass.config.allowlist_external_dirs = {str(tmp_path)}

    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"chat_id": private, "msg": "hello from a service"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["queued"] is False
    entry_sent = await simulator.control.wait_sent(
        lambda item: item.get("body") == "hello from a service"
    )
    assert entry_sent["id"] == response["id"]

    picture = tmp_path / "dot.png"
    picture.write_bytes(PNG)
    await hass.services.async_call(
        DOMAIN,
        "send_message",
        {
            "chat_id": private,
            "media_path": str(picture),
            "msg": "caption from msg",
            "config_entry_id": entry.entry_id,
        },
        blocking=True,
    )
    image = await simulator.control.wait_sent(
        lambda item: item.get("caption") == "caption from msg"
    )
    assert image["type"] == "image"
    assert image["media"]["sha256"] == hashlib.sha256(PNG).hexdigest()

    chats = await hass.services.async_call(
        DOMAIN, "get_chats", {}, blocking=True, return_response=True
    )
    assert chats is not None
    assert private in {chat["id"]["_serialized"] for chat in chats["chats"]}
    messages = await hass.services.async_call(
        DOMAIN,
        "get_messages",
        {"chat_id": private, "limit": 1},
        blocking=True,
        return_response=True,
    )
    assert messages is not None
    assert len(messages["messages"]) == 1

    media_id = await simulator.control.incoming(
        private,
        type="image",
        media={
            "mimetype": "image/png",
            "filename": "in.png",
            "data_b64": base64.b64encode(PNG).decode(),
        },
    )
    await simulator.control.wait_for(
        lambda: entry.runtime_data.client.find_message(private, media_id.rsplit("_", 1)[-1]),
        lambda found: found is not None,
    )
    as_base64 = await hass.services.async_call(
        DOMAIN,
        "download_media",
        {"chat_id": private, "message_id": media_id},
        blocking=True,
        return_response=True,
    )
    assert as_base64 is not None
    assert base64.b64decode(as_base64["data_base64"]) == PNG
    assert as_base64["mimetype"] == "image/png"
    saved = await hass.services.async_call(
        DOMAIN,
        "download_media",
        {"chat_id": private, "message_id": media_id, "path": str(tmp_path)},
        blocking=True,
        return_response=True,
    )
    assert saved is not None
    assert await hass.async_add_executor_job(Path(saved["path"]).read_bytes) == PNG
    # The same path again is refused unless overwrite is set.
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "download_media",
            {"chat_id": private, "message_id": media_id, "path": saved["path"]},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_key == "file_exists"
    await hass.services.async_call(
        DOMAIN,
        "download_media",
        {"chat_id": private, "message_id": media_id, "path": saved["path"], "overwrite": True},
        blocking=True,
    )

    # Actions reach WhatsApp through services too.
    seq = await last_seq(simulator)
    for service, data in (
        ("archive_chat", {"chat_id": private}),
        ("send_typing", {"chat_id": private}),
        ("star_message", {"chat_id": private, "message_id": media_id}),
        ("react_message", {"chat_id": private, "message_id": media_id, "reaction": "❤️"}),
        ("mute_chat", {"chat_id": private, "duration": 3600}),
        ("set_available", {}),
    ):
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    kinds = [
        (item["kind"], item.get("action") or item.get("state") or item.get("emoji"))
        for item in await sent_after(simulator, seq)
    ]
    assert ("chat", "archive") in kinds
    assert ("chat_state", "composing") in kinds
    assert ("reaction", "❤️") in kinds
    assert ("chat", "mute") in kinds
    assert any(kind == "star" for kind, _ in kinds)
    assert any(kind == "presence" for kind, _ in kinds)
    invite = await hass.services.async_call(
        DOMAIN, "get_invite_code", {"group_id": group}, blocking=True, return_response=True
    )
    assert invite is not None
    assert invite["url"].endswith(invite["code"])

    # Errors from WhatsApp's side are translated into English text.
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "get_message",
            {"chat_id": private, "message_id": "3EB0FFFFFFFFFFFFFFFF"},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_key == "message_not_found"
    # Home Assistant drops the final full stop of translated exception messages.
    assert str(caught.value) == "Message 3EB0FFFFFFFFFFFFFFFF was not found"


async def test_outbox_while_reconnecting(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
) -> None:
    client = await setup_api(hass, simulator, hass_client)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    account = entry.runtime_data
    private, _ = await pick_chats(simulator)
    await simulator.control.connection("drop")
    await account.client.wait_for_state(ClientState.RECONNECTING, timeout=30)

    response = await client.post(
        f"{API_BASE}/chats/{private}/messages", json={"msg": "queued", "fail_fast": True}
    )
    assert response.status == 503
    assert response.headers["Retry-After"]
    bodies = ["queued 1", "queued 2", "queued 3"]
    for body in bodies:
        response = await client.post(f"{API_BASE}/chats/{private}/messages", json={"msg": body})
        assert response.status == 202, await response.text()
        assert (await response.json())["queued"] is True
    # The service answers the same way.
    queued = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"chat_id": private, "msg": "queued 4"},
        blocking=True,
        return_response=True,
    )
    assert queued is not None
    assert queued["queued"] is True
    bodies.append("queued 4")
    assert account.outbox.pending == 4

    await simulator.control.connection("restore")
    await account.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    await simulator.control.wait_sent(lambda item: item.get("body") == "queued 4", timeout=30)
    # In order and exactly once; the refused fail_fast send never left.
    sent = [
        item["body"]
        for item in await simulator.control.sent()
        if str(item.get("body")).startswith("queued")
    ]
    assert sent == bodies

    async def pending() -> int:
        return int(account.outbox.pending)

    # The outbox forgets an item just after WhatsApp took it.
    await simulator.control.wait_for(pending, lambda count: count == 0)


@pytest.mark.parametrize("account_selector", ["entry", "number"])
async def test_rest_account_parameter(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
    account_selector: str,
) -> None:
    client = await setup_api(hass, simulator, hass_client)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    value = (
        entry.entry_id if account_selector == "entry" else "+" + str(entry.unique_id).split("@")[0]
    )
    response = await client.get(f"{API_BASE}/status", params={"account": value})
    assert response.status == 200
    assert (await response.json())["status"] == "CONNECTED"


async def test_media_from_url(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
) -> None:
    """The add-on's ``url`` body: the file is fetched by Home Assistant and sent with its caption."""

    async def picture(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/pictures/dot.png", picture)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        client = await setup_api(hass, simulator, hass_client)
        private, _ = await pick_chats(simulator)
        response = await client.post(
            f"{API_BASE}/chats/{private}/messages",
            json={
                "url": str(server.make_url("/pictures/dot.png")),
                "options": {"caption": "from a URL"},
            },
        )
        assert response.status == 200, await response.text()
        sent = await simulator.control.wait_sent(lambda item: item.get("caption") == "from a URL")
        assert sent["type"] == "image"
        assert sent["media"]["mimetype"] == "image/png"
        assert sent["media"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    finally:
        await server.close()


async def test_two_accounts(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
) -> None:
    """With two accounts, calls must name one; each call reaches its own account only."""
    client = await setup_api(hass, simulator, hass_client)
    first = hass.config_entries.async_entries(DOMAIN)[0]
    # Another seed: another phone number.
    async with Simulator(chats=3, messages=2, contacts=3, groups=1, seed=2) as other:
        second = await add_linked_entry(hass, other, profile="second")
        try:
            assert second.unique_id != first.unique_id
            response = await client.get(f"{API_BASE}/status")
            assert response.status == 400
            assert (await response.json())["error"]["field"] == "account"
            with pytest.raises(ServiceValidationError):
                await hass.services.async_call(
                    DOMAIN, "get_status", {}, blocking=True, return_response=True
                )

            private_two, _ = await pick_chats(other)
            number_two = "+" + str(second.unique_id).split("@")[0]
            response = await client.post(
                f"{API_BASE}/chats/{private_two}/messages",
                params={"account": number_two},
                json={"msg": "to two"},
            )
            assert response.status == 200, await response.text()
            await other.control.wait_sent(lambda item: item.get("body") == "to two")

            private_one, _ = await pick_chats(simulator)
            await hass.services.async_call(
                DOMAIN,
                "send_message",
                {"config_entry_id": first.entry_id, "chat_id": private_one, "msg": "to one"},
                blocking=True,
            )
            await simulator.control.wait_sent(lambda item: item.get("body") == "to one")
            assert not [item for item in await other.control.sent() if item.get("body") == "to one"]
            assert not [
                item for item in await simulator.control.sent() if item.get("body") == "to two"
            ]
        finally:
            # Closed before its simulator stops; the fixture closes the first account.
            await hass.config_entries.async_unload(second.entry_id)
