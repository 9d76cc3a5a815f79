"""The outbox keeps its promises: accepted means on disk, restarts send nothing twice, damage is reported.

- A write that fails (disk full, read-only) refuses the send: REST 507, a translated service error,
  nothing said to be queued; what was accepted before stays on disk.
- After a restart every stored item is looked up before it is sent, even when the write of its attempt
  counter was lost; a lookup that finds no chat means "not sent yet"; a message sent under the
  person's LID chat is found from the phone-number id.
- A damaged outbox file is kept aside, the readable items are kept, and a repair issue says how many
  sends were lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
import errno
import json
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any
import uuid

from aiohttp.test_utils import TestClient
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.whatsapp_web import http, outbox, services
from custom_components.whatsapp_web.account import WhatsAppAccount
from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.client.client import SendOptions, new_message_key_id
from custom_components.whatsapp_web.const import API_BASE, DOMAIN
from custom_components.whatsapp_web.notify import WhatsAppNotifyEntity
from custom_components.whatsapp_web.outbox import OutboxItem, outbox_file
from simulator.testing import Simulator

from .linking import add_linked_entry, close_everything, wait_until
from .operations_support import add_account

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

pytestmark = pytest.mark.timeout(240)


def stored_item(chat_id: str, text: str, key_id: str, attempts: int) -> dict[str, Any]:
    """An item as the outbox stores it."""
    return asdict(
        OutboxItem(
            id=uuid.uuid4().hex,
            created=time.time(),
            chat_id=chat_id,
            text=text,
            key_id=key_id,
            options=outbox.options_to_store(SendOptions(link_preview=False, send_seen=False)),
            attempts=attempts,
        )
    )


def outbox_document(entry_id: str, items: list[Any]) -> dict[str, Any]:
    return {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.outbox.{entry_id}",
        "data": {"items": items},
    }


async def write_outbox(hass: HomeAssistant, entry_id: str, content: bytes) -> Path:
    path = outbox_file(hass, entry_id)

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    await hass.async_add_executor_job(write)
    return path


async def read_outbox(hass: HomeAssistant, entry_id: str) -> list[dict[str, Any]]:
    text = await hass.async_add_executor_job(outbox_file(hass, entry_id).read_text)
    items: list[dict[str, Any]] = json.loads(text)["data"]["items"]
    return items


# ---------------------------------------------------------------------------------------------
# A disk that refuses the write


@pytest.fixture
async def admin(
    hass: HomeAssistant, hass_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    assert await async_setup_component(hass, "http", {})
    http.async_register_views(hass)
    services.async_setup_services(hass)
    return await hass_client()


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS])
async def test_a_send_the_disk_refuses_is_not_accepted(
    hass: HomeAssistant, admin: TestClient, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    entry = add_account(hass)
    account = entry.runtime_data
    # No browser here: the client is put in the state it has while its browser restarts.
    account.client._state = ClientState.RECONNECTING
    url = f"{API_BASE}/chats/34600000002@c.us/messages"
    first = await admin.post(url, json={"msg": "accepted while the disk had room"})
    assert first.status == 202, await first.text()

    def refuse(fd: int, data: bytes) -> None:
        raise OSError(error, "simulated")

    monkeypatch.setattr(outbox, "_write_bytes", refuse)
    for body in (
        {"msg": "refused"},
        {"media_base64": "iVBORw0KGgo=", "options": {"caption": "refused with media"}},
    ):
        response = await admin.post(url, json=body)
        assert response.status == 507, await response.text()
        answer = await response.json()
        assert "queued" not in answer
        assert answer["error"]["code"] == "outbox_write_failed"
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": "34600000002", "msg": "refused too"},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_key == "outbox_write_failed"
    with pytest.raises(HomeAssistantError) as caught:
        await WhatsAppNotifyEntity(account, "34600000002@c.us").async_send_message("refused")
    assert caught.value.translation_key == "outbox_write_failed"
    assert account.outbox.pending == 1
    monkeypatch.undo()

    # What was accepted is on disk, and only that; no media of a refused send is left behind.
    assert [item["text"] for item in await read_outbox(hass, entry.entry_id)] == [
        "accepted while the disk had room"
    ]
    media = outbox_file(hass, entry.entry_id).parent / f"{DOMAIN}_outbox" / entry.entry_id

    def leftover_media() -> list[str]:
        return sorted(path.name for path in media.iterdir()) if media.exists() else []

    assert await hass.async_add_executor_job(leftover_media) == []
    restarted = WhatsAppAccount(hass, entry)
    await restarted.async_load()
    assert [item["id"] for item in restarted.outbox.snapshot()] == [
        item["id"] for item in account.outbox.snapshot()
    ]


# ---------------------------------------------------------------------------------------------
# A damaged file


async def test_a_damaged_outbox_file_is_kept_aside_and_reported(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = add_account(hass, loaded=False)
    good = stored_item("34600000002@c.us", "still sent", new_message_key_id(), 0)
    from_a_newer_version = {
        **stored_item("34600000003@c.us", "also still sent", new_message_key_id(), 1),
        "priority": "high",
    }
    broken = [
        {"id": "only an id"},
        {**good, "id": uuid.uuid4().hex, "key_id": "not a key"},
        {**good, "id": uuid.uuid4().hex, "options": {"no_such_option": True}},
        "not an item",
    ]
    content = json.dumps(
        outbox_document(entry.entry_id, [good, *broken, from_a_newer_version])
    ).encode()
    path = await write_outbox(hass, entry.entry_id, content)

    account = WhatsAppAccount(hass, entry)
    await account.async_load()

    assert [item["id"] for item in account.outbox.snapshot()] == [
        good["id"],
        from_a_newer_version["id"],
    ]
    issue = issue_registry.async_get_issue(DOMAIN, f"outbox_damaged_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "outbox_damaged"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["lost"] == "4"
    assert issue.translation_placeholders["kept"] == "2"
    kept_as = issue.translation_placeholders["file"]
    assert kept_as != str(path)
    # The damaged file is kept as it was; the outbox file now holds what could be read.
    assert await hass.async_add_executor_job(open_bytes, kept_as) == content
    assert [item["text"] for item in await read_outbox(hass, entry.entry_id)] == [
        "still sent",
        "also still sent",
    ]


async def test_an_outbox_file_that_is_not_json_does_not_stop_the_account(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = add_account(hass, loaded=False)
    items = [stored_item("34600000002@c.us", f"lost {n}", new_message_key_id(), 0) for n in (1, 2)]
    content = json.dumps(outbox_document(entry.entry_id, items)).encode()[:-40]
    await write_outbox(hass, entry.entry_id, content)

    account = WhatsAppAccount(hass, entry)
    await account.async_load()

    assert account.outbox.pending == 0
    issue = issue_registry.async_get_issue(DOMAIN, f"outbox_damaged_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["lost"] == "2"
    assert (
        await hass.async_add_executor_job(open_bytes, issue.translation_placeholders["file"])
        == content
    )


def open_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


# ---------------------------------------------------------------------------------------------
# After a restart, on the simulator


@pytest.fixture
async def roomy_simulator(
    hass: HomeAssistant, socket_enabled: None, config_dir: Path
) -> AsyncIterator[Simulator]:
    """A simulator with people who have no chat yet, one of them known by LID only."""
    async with Simulator(chats=4, messages=2, contacts=10, groups=1) as sim:
        try:
            yield sim
        finally:
            await close_everything(hass)


def messages_with(sent: list[dict[str, Any]], body: str) -> list[dict[str, Any]]:
    return [entry for entry in sent if entry["kind"] == "message" and entry["body"] == body]


async def test_after_a_restart_nothing_is_sent_twice_and_nothing_is_dropped(
    hass: HomeAssistant, roomy_simulator: Simulator
) -> None:
    sim = roomy_simulator
    entry = await add_linked_entry(hass, sim)
    client = entry.runtime_data.client
    chats = {chat["id"] for chat in await sim.control.chats()}
    assert sim.server is not None
    people = [c for c in sim.server.account.contacts.values() if c.is_wa_contact]
    with_chat = next(c.id for c in people if c.id in chats and c.id.endswith("@c.us"))
    without_chat = next(c.id for c in people if c.id not in chats and c.id.endswith("@c.us"))
    by_lid = next(c for c in people if c.id.endswith("@lid") and c.phone_number)
    assert by_lid.phone_number is not None
    assert by_lid.phone_number not in chats

    # Sent by the outbox just before Home Assistant stopped, before the attempt counter and the
    # removal reached the disk: on disk the items still say "never tried".
    already = new_message_key_id()
    await client.send_message(
        with_chat,
        "sent before the stop",
        options=SendOptions(message_key_id=already, send_seen=False),
    )
    # The same, to a person whose chat WhatsApp keeps under the LID; the item names the number.
    already_lid = new_message_key_id()
    await client.send_message(
        by_lid.id,
        "sent under the LID",
        options=SendOptions(message_key_id=already_lid, send_seen=False),
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await write_outbox(
        hass,
        entry.entry_id,
        json.dumps(
            outbox_document(
                entry.entry_id,
                [
                    stored_item(with_chat, "sent before the stop", already, 0),
                    stored_item(by_lid.phone_number, "sent under the LID", already_lid, 0),
                    # Tried before the stop, never reached WhatsApp; no chat with that person yet.
                    stored_item(without_chat, "never sent", new_message_key_id(), 2),
                ],
            )
        ).encode(),
    )
    failed = async_capture_events(hass, "whatsapp_outbox_failed")

    assert await hass.config_entries.async_setup(entry.entry_id)
    # Every send the restarted account asks of WhatsApp Web (the simulator refuses a second message
    # with an id it has, which would hide a repeated send in a chat it already holds).
    restarted = entry.runtime_data.client
    asked: list[str | None] = []
    send_message = restarted.send_message

    async def counted_send(chat_id: str, text: str | None = None, **kwargs: Any) -> Any:
        asked.append(text)
        return await send_message(chat_id, text, **kwargs)

    restarted.send_message = counted_send  # type: ignore[method-assign]
    await restarted.wait_for_state(ClientState.CONNECTED, timeout=60)
    await wait_until(lambda: entry.runtime_data.outbox.pending == 0, timeout=60)

    assert asked == ["never sent"]
    sent = await sim.control.sent()
    assert len(messages_with(sent, "sent before the stop")) == 1, "sent again after the restart"
    assert len(messages_with(sent, "sent under the LID")) == 1, "sent again under the number"
    never = messages_with(sent, "never sent")
    assert [entry["chat"] for entry in never] == [without_chat]
    assert [event.data["chat_id"] for event in failed] == []
