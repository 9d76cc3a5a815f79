"""The REST mirror through a real Home Assistant with a long-lived token: one call of every route family."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any
import uuid

import pytest

from tests.e2e.harness import Stack, api_json

if TYPE_CHECKING:
    import aiohttp


class Rest:
    """Calls under ``/api/whatsapp_web`` with the stack's token; returns (status, headers, body)."""

    def __init__(self, http: aiohttp.ClientSession, stack: Stack) -> None:
        self.http = http
        self.base = f"{stack.ha_url}/api/whatsapp_web"
        self.token = stack.token

    async def __call__(
        self, method: str, path: str, body: Any = None, *, token: str | None = "default"
    ) -> tuple[int, dict[str, str], Any]:
        headers = {}
        if token == "default":
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        async with self.http.request(method, f"{self.base}{path}", **kwargs) as response:
            raw = await response.read()
            data: Any = None
            if raw and response.content_type == "application/json":
                data = await response.json()
            elif raw:
                data = raw
            return response.status, dict(response.headers), data


@pytest.fixture
def rest(stack: Stack, http: aiohttp.ClientSession) -> Rest:
    return Rest(http, stack)


async def simulator_truth(http: aiohttp.ClientSession, stack: Stack) -> dict[str, Any]:
    assert stack.simulator is not None
    return await api_json(http, "GET", f"{stack.simulator.url}_sim/chats")


async def sent_since(
    http: aiohttp.ClientSession, stack: Stack, seq: int, kind: str, timeout: float = 10
) -> list[dict[str, Any]]:
    """Outbox entries of ``kind`` after ``seq``, once there is at least one."""
    assert stack.simulator is not None
    deadline = time.monotonic() + timeout
    while True:
        sent = (await api_json(http, "GET", f"{stack.simulator.url}_sim/sent"))["sent"]
        found = [entry for entry in sent if entry["seq"] > seq and entry["kind"] == kind]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def last_seq(http: aiohttp.ClientSession, stack: Stack) -> int:
    assert stack.simulator is not None
    sent = (await api_json(http, "GET", f"{stack.simulator.url}_sim/sent"))["sent"]
    return max((entry["seq"] for entry in sent), default=0)


async def test_state_and_openapi(rest: Rest) -> None:
    status, _, body = await rest("GET", "/status")
    assert status == 200
    assert body["status"] == "CONNECTED"
    assert body["state"] == "connected"
    assert body["account"].endswith("@c.us")

    status, _, document = await rest("GET", "/openapi.json")
    assert status == 200
    assert document["openapi"].startswith("3.")
    assert document["servers"][0]["url"].endswith("/api/whatsapp_web")
    assert set(document["paths"]["/chats/{chat_id}/messages"]) == {"get", "post"}


async def test_authentication_and_error_bodies(rest: Rest) -> None:
    status, _, _ = await rest("GET", "/status", token=None)
    assert status == 401
    status, _, _ = await rest("GET", "/status", token="not-a-token")
    assert status == 401

    status, _, body = await rest("GET", "/chats/not-a-chat!/messages")
    assert status == 400, body
    assert body["error"]["code"] in ("invalid_id", "invalid_argument")
    assert body["error"]["field"] == "chat_id"

    status, _, body = await rest("POST", "/chats/34600111222@c.us/messages", {"msg": {"a": 1}})
    assert status == 400, body
    assert body["error"]["field"] == "msg"

    status, _, body = await rest("GET", "/chats/34600111222@c.us/messages/3AFFFFFFFFFFFFFFFFFF")
    assert status == 404, body
    assert body["error"]["code"].endswith("not_found")


async def test_chats_family(rest: Rest, stack: Stack, http: aiohttp.ClientSession) -> None:
    truth = await simulator_truth(http, stack)
    status, _, chats = await rest("GET", "/chats")
    assert status == 200
    assert {chat["id"]["_serialized"] for chat in chats} == {chat["id"] for chat in truth["chats"]}
    direct = next(chat for chat in chats if not chat["isGroup"])
    chat_id = direct["id"]["_serialized"]
    assert isinstance(direct["unreadCount"], int)

    seq = await last_seq(http, stack)
    status, _, body = await rest("PUT", f"/chats/{chat_id}/archive")
    assert (status, body) == (204, None)
    actions = await sent_since(http, stack, seq, "chat")
    assert [(entry["chat"], entry["action"]) for entry in actions] == [(chat_id, "archive")]
    status, _, _ = await rest("PUT", f"/chats/{chat_id}/unarchive")
    assert status == 204
    # The add-on's README form of a route is served too.
    status, _, _ = await rest("PUT", f"/chats/{chat_id}/read")
    assert status == 204

    status, _, body = await rest("GET", f"/chats/{chat_id.split('@')[0]}@c.us/is-registered-user")
    assert status == 200
    assert body


async def test_messages_family(rest: Rest, stack: Stack, http: aiohttp.ClientSession) -> None:
    truth = await simulator_truth(http, stack)
    chat_id = next(chat["id"] for chat in truth["chats"] if not chat["is_group"])

    status, _, messages = await rest("GET", f"/chats/{chat_id}/messages?limit=2")
    assert status == 200
    assert 1 <= len(messages) <= 2

    text = f"REST e2e {uuid.uuid4().hex[:8]}"
    seq = await last_seq(http, stack)
    status, _, sent = await rest("POST", f"/chats/{chat_id}/messages", {"msg": text})
    assert status == 200
    message_id = sent["id"]["_serialized"]
    assert sent["body"] == text
    outbox = await sent_since(http, stack, seq, "message")
    assert [(entry["chat"], entry["body"], entry["id"]) for entry in outbox] == [
        (chat_id, text, message_id)
    ]

    status, _, message = await rest("GET", f"/chats/{chat_id}/messages/{message_id}")
    assert status == 200
    assert message["id"]["_serialized"] == message_id

    status, _, _ = await rest("PUT", f"/chats/{chat_id}/messages/{message_id}/star")
    assert status == 204
    stars = await sent_since(http, stack, seq, "star")
    assert [(entry["message_id"], entry["starred"]) for entry in stars] == [(message_id, True)]

    status, _, body = await rest(
        "GET", f"/chats/{chat_id}/messages/false_{chat_id}_3AFFFFFFFFFFFFFFFFFF"
    )
    assert status == 404
    assert body["error"]["code"].endswith("not_found")


async def test_groups_family(rest: Rest, stack: Stack, http: aiohttp.ClientSession) -> None:
    truth = await simulator_truth(http, stack)
    group_id = next(chat["id"] for chat in truth["chats"] if chat["is_group"])
    status, _, group = await rest("GET", f"/chats/groups/{group_id}")
    assert status == 200
    assert group["id"]["_serialized"] == group_id

    status, _, body = await rest("GET", f"/chats/groups/{group_id}/invite-code")
    assert status == 200
    assert body

    member = next(chat["id"] for chat in truth["chats"] if not chat["is_group"])
    seq = await last_seq(http, stack)
    status, _, created = await rest(
        "POST", "/chats/groups", {"name": "e2e group", "participants": [member]}
    )
    assert status == 201
    assert created
    groups = await sent_since(http, stack, seq, "group")
    assert [entry["action"] for entry in groups] == ["create"]


async def test_contacts_family(rest: Rest) -> None:
    status, _, contacts = await rest("GET", "/contacts")
    assert status == 200
    assert contacts
    contact_id = next(
        contact["id"]["_serialized"] for contact in contacts if contact["id"]["server"] == "c.us"
    )
    status, _, contact = await rest("GET", f"/contacts/{contact_id}")
    assert status == 200
    assert contact["id"]["_serialized"] == contact_id


async def test_me_family(rest: Rest, stack: Stack, http: aiohttp.ClientSession) -> None:
    seq = await last_seq(http, stack)
    status, _, body = await rest("PUT", "/me/text-status", {"status": "Testing end to end"})
    assert (status, body) == (204, None)
    profile = await sent_since(http, stack, seq, "profile")
    assert [(entry["field"], entry["value"]) for entry in profile] == [
        ("status", "Testing end to end")
    ]
