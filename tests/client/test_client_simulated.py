"""The client against the real simulator in a real Chromium, through both drivers.

Every test checks what the simulated phone saw (`/_sim/sent`, `/_sim/chats`) or what the client
returned and emitted; nothing here mocks the browser or the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import hashlib
import json
from pathlib import Path
import re
import shutil
from typing import Any

import pytest

from custom_components.whatsapp_web.client import ClientState, SendOptions, WhatsAppWebClient
from custom_components.whatsapp_web.client.drivers.base import BrowserDriver
from custom_components.whatsapp_web.client.errors import (
    ChatNotFound,
    InvalidArgument,
    InvalidId,
    MessageNotFound,
    WhatsAppWebChanged,
)
from custom_components.whatsapp_web.client.models import (
    Authenticated,
    CapabilityMissing,
    GroupChanged,
    IncomingCall,
    MediaFile,
    MessageAcknowledged,
    MessageReaction,
    MessageReceived,
    MessageRevokedForEveryone,
    MessageSent,
)
from simulator.account import lid_for_number
from simulator.testing import Simulator
from tests.support.clients import (
    DRIVERS,
    LAUNCHING,
    MemoryCursorStore,
    Recorder,
    browser_for,
    link,
    linked_with_recorder,
    new_client,
    short_tmp,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)


@pytest.fixture
def tmp_root() -> AsyncIterator[Path]:
    root = short_tmp()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=DRIVERS)
async def linked(
    request: pytest.FixtureRequest, tmp_root: Path
) -> AsyncIterator[tuple[WhatsAppWebClient, Simulator, Recorder]]:
    async with (
        Simulator(chats=8, messages=6, contacts=10, groups=2, seed=7) as simulator,
        browser_for(request.param, tmp_root) as (factory, _remote),
        linked_with_recorder(simulator, factory) as (client, recorder),
    ):
        yield client, simulator, recorder


async def sent_of(simulator: Simulator, kind: str) -> list[dict[str, Any]]:
    return [entry for entry in await simulator.control.sent() if entry["kind"] == kind]


async def sent_messages(simulator: Simulator, count: int) -> list[dict[str, Any]]:
    """The page's sent messages, once at least ``count`` reached the phone.

    A send returns when WhatsApp Web added the message, not when its server has it: wait for that.
    """
    await simulator.control.wait_for(
        simulator.control.sent,
        lambda sent: sum(entry["kind"] == "message" for entry in sent) >= count,
        10,
    )
    return await sent_of(simulator, "message")


async def first_chat(simulator: Simulator, *, group: bool = False) -> dict[str, Any]:
    chats = await simulator.control.chats()
    return next(chat for chat in chats if chat["is_group"] == group)


async def test_linking_reports_me_and_authenticated(linked: Any) -> None:
    client, simulator, recorder = linked
    state = await simulator.control.state()
    assert client.state is ClientState.CONNECTED
    assert client.me is not None
    assert client.me.id == state["me"]["id"]
    event = await recorder.wait_for(Authenticated)
    assert event.me.id == state["me"]["id"]
    assert state["linked"] is True


async def test_chats_match_the_phone(linked: Any) -> None:
    client, simulator, _ = linked
    truth = {chat["id"]: chat for chat in await simulator.control.chats()}
    chats = await client.get_chats()
    assert {chat.id for chat in chats} == set(truth)
    for chat in chats:
        expected = truth[chat.id]
        data = chat.as_json()
        assert data["id"]["_serialized"] == chat.id
        assert data["isGroup"] is expected["is_group"]
        assert data["unreadCount"] == expected["unread_count"]
        assert data["archived"] is expected["archived"]
        assert data["pinned"] is expected["pinned"]
    pinned = [chat.as_json()["pinned"] for chat in chats]
    assert pinned == sorted(pinned, reverse=True), "pinned chats come first"


async def test_send_text_with_mentions_reaches_the_phone(linked: Any) -> None:
    client, simulator, recorder = linked
    chat = await first_chat(simulator)
    body = "Hello `there` </script> ${x} \u202e \U0001f600 'quotes\" \\ end"
    sent = await client.send_message(
        chat["id"], body, options=SendOptions(mentions=(chat["id"],), link_preview=False)
    )
    assert sent.from_me
    messages = await sent_messages(simulator, 1)
    assert len(messages) == 1
    entry = messages[0]
    assert entry["chat"] == chat["id"]
    assert entry["body"] == body
    assert entry["type"] == "chat"
    assert entry["id"] == sent.id
    assert entry["mentions"] == [chat["id"]]
    event = await recorder.wait_for(MessageSent, lambda event: event.message.id == sent.id)
    assert event.message.body == body


async def test_send_image_with_caption_and_download_it_back(linked: Any) -> None:
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    media = MediaFile(PNG_1X1, "image/png", "dot.png")
    sent = await client.send_message(chat["id"], "a dot", media=media)
    entry = (await sent_messages(simulator, 1))[0]
    assert entry["type"] == "image"
    assert entry["caption"] == "a dot"
    assert entry["media"]["sha256"] == hashlib.sha256(PNG_1X1).hexdigest()
    assert entry["media"]["mimetype"] == "image/png"
    downloaded = await client.download_media(sent.id)
    assert downloaded.data == PNG_1X1
    assert downloaded.mimetype == "image/png"


async def test_send_document_voice_and_location(linked: Any) -> None:
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    await client.send_message(
        chat["id"],
        None,
        media=MediaFile(b"%PDF-1.4 tiny", "application/pdf", "a.pdf"),
        options=SendOptions(as_document=True),
    )
    from custom_components.whatsapp_web.client import Location  # noqa: PLC0415

    await client.send_message(
        chat["id"], None, location=Location(41.39, 2.17, name="Here", address="Street 1")
    )
    entries = await sent_messages(simulator, 2)
    assert [entry["type"] for entry in entries] == ["document", "location"]
    assert entries[0]["media"]["filename"] == "a.pdf"
    stored = await simulator.control.message(entries[1]["id"])
    assert (stored["lat"], stored["lng"]) == (pytest.approx(41.39), pytest.approx(2.17))
    assert stored["loc"] == "Here\nStreet 1"


async def test_incoming_messages_fire_once_with_sender(linked: Any) -> None:
    _client, simulator, recorder = linked
    chat = await first_chat(simulator)
    answer = await simulator.control.incoming(chat["id"], "ping from the phone")
    event = await recorder.wait_for(MessageReceived, lambda event: event.message.id == answer)
    assert event.message.body == "ping from the phone"
    assert event.offline is False
    group = await first_chat(simulator, group=True)
    lid_sender = await simulator.control.incoming(
        group["id"], "from a lid", author="99887766554433@lid"
    )
    event = await recorder.wait_for(MessageReceived, lambda event: event.message.id == lid_sender)
    assert event.message.data["author"] in (
        "99887766554433@lid",
        {"server": "lid", "user": "99887766554433", "_serialized": "99887766554433@lid"},
    )
    await asyncio.sleep(0.5)
    assert len([item for item in recorder.of(MessageReceived) if item.message.id == answer]) == 1


async def test_a_received_message_tells_the_sender_s_other_id(linked: Any) -> None:
    _client, simulator, recorder = linked
    chats = await simulator.control.chats()
    by_phone = next(chat["id"] for chat in chats if chat["id"].endswith("@c.us"))
    by_lid = lid_for_number(by_phone)
    group = await first_chat(simulator, group=True)
    sent = [
        await simulator.control.incoming(by_phone, "under the phone number"),
        await simulator.control.incoming(by_lid, "under the lid"),
        # Someone whose pair the page does not know.
        await simulator.control.incoming(group["id"], "stranger", author="99887766554433@lid"),
    ]
    events = [
        await recorder.wait_for(
            MessageReceived, lambda event, sent_id=sent_id: event.message.id == sent_id
        )
        for sent_id in sent
    ]
    assert [event.sender_alternate_id for event in events] == [by_lid, by_phone, None]


async def test_ack_reaction_revoke_and_call_events(linked: Any) -> None:
    client, simulator, recorder = linked
    chat = await first_chat(simulator)
    sent = await client.send_message(chat["id"], "will be read")
    await simulator.control.ack(sent.id, 3)
    ack = await recorder.wait_for(
        MessageAcknowledged, lambda event: event.message.id == sent.id and event.ack == 3
    )
    assert ack.ack == 3
    incoming = await simulator.control.incoming(chat["id"], "react to me")
    await recorder.wait_for(MessageReceived, lambda event: event.message.id == incoming)
    await simulator.control.react(incoming, "\U0001f44d", chat["id"])
    reaction = await recorder.wait_for(MessageReaction)
    assert reaction.reaction.emoji == "\U0001f44d"
    await simulator.control.revoke(incoming)
    revoked = await recorder.wait_for(MessageRevokedForEveryone)
    assert revoked.message.id == incoming
    assert revoked.revoked is not None
    assert revoked.revoked.body == "react to me"
    await simulator.control.call(chat["id"], is_video=True)
    call = await recorder.wait_for(IncomingCall)
    assert call.call.is_video is True


async def test_chat_operations_reach_the_phone(linked: Any) -> None:
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    await client.archive_chat(chat["id"])
    await client.archive_chat(chat["id"], archive=False)
    await client.mark_chat_unread(chat["id"])
    await client.mark_chat_read(chat["id"])
    await client.send_chat_state(chat["id"], "composing")
    await client.send_chat_state(chat["id"], "recording")
    await client.send_chat_state(chat["id"], "paused")
    muted = await client.mute_chat(chat["id"], until=4102444800)
    assert muted.as_json()["isMuted"] is True
    unmuted = await client.unmute_chat(chat["id"])
    assert unmuted.as_json()["isMuted"] is False
    actions = [entry["action"] for entry in await sent_of(simulator, "chat")]
    assert actions[:4] == ["archive", "unarchive", "mark_unread", "seen"]
    assert "mute" in actions
    assert "unmute" in actions
    states = [entry["state"] for entry in await sent_of(simulator, "chat_state")]
    assert states == ["composing", "recording", "paused"]
    truth = {item["id"]: item for item in await simulator.control.chats()}
    assert truth[chat["id"]]["archived"] is False
    assert await client.is_registered_user(chat["id"]) is True


async def test_messages_paginate_newest_first(linked: Any) -> None:
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    total = chat["messages"]
    first = await client.get_messages(chat["id"], limit=3)
    assert len(first) == min(3, total)
    stamps = [message.timestamp for message in first]
    assert stamps == sorted(stamps, reverse=True)
    rest = await client.get_messages(chat["id"], limit=100, before=first[-1].id)
    assert {message.id for message in rest}.isdisjoint({message.id for message in first})
    fetched = await client.get_message(first[0].id)
    assert fetched.id == first[0].id


async def test_message_actions_reach_the_phone(linked: Any) -> None:
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    sent = await client.send_message(chat["id"], "act on me")
    await client.star_message(sent.id)
    await client.star_message(sent.id, star=False)
    await client.react_message(sent.id, "\u2764\ufe0f")
    await client.react_message(sent.id, "")
    await client.delete_message(sent.id, everyone=True)
    stars = await sent_of(simulator, "star")
    assert [(entry["message_id"], entry["starred"]) for entry in stars] == [
        (sent.id, True),
        (sent.id, False),
    ]
    reactions = await sent_of(simulator, "reaction")
    assert [entry["emoji"] for entry in reactions] == ["\u2764\ufe0f", ""]
    deletes = await sent_of(simulator, "delete")
    assert deletes[-1]["message_id"] == sent.id
    assert deletes[-1]["everyone"] is True


async def test_groups_and_contacts(linked: Any) -> None:
    client, simulator, recorder = linked
    contacts = await client.get_contacts()
    users = [
        contact
        for contact in contacts
        if contact.as_json()["isUser"] and not contact.as_json()["isMe"]
    ]
    assert users
    created = await client.create_group("Sim team", [users[0].id])
    group_id = created.gid
    assert group_id.endswith("@g.us")
    await client.set_group_subject(group_id, "Renamed")
    await client.set_group_description(group_id, "About us")
    code = await client.get_invite_code(group_id)
    new_code = await client.revoke_invite_code(group_id)
    assert code
    assert new_code
    assert code != new_code
    added = await client.add_participants(group_id, [users[1].id])
    assert added[users[1].id]["code"] == 200
    await client.change_participants(group_id, [users[1].id], "promote")
    await client.change_participants(group_id, [users[1].id], "demote")
    await client.change_participants(group_id, [users[1].id], "remove")
    info = await client.get_group(group_id)
    assert info.as_json()["groupMetadata"]["subject"] == "Renamed"
    await client.leave_group(group_id)
    actions = [entry["action"] for entry in await sent_of(simulator, "group")]
    assert actions[:2] == ["create", "subject"]
    for action in (
        "description",
        "invite_code",
        "revoke_invite",
        "add",
        "promote",
        "demote",
        "remove",
        "leave",
    ):
        assert action in actions
    contact = await client.get_contact(users[0].id)
    assert contact.id == users[0].id
    await client.block_contact(users[0].id)
    await client.block_contact(users[0].id, block=False)
    blocks = [entry["action"] for entry in await sent_of(simulator, "contact")]
    assert blocks == ["block", "unblock"]
    await client.set_presence(available=True)
    await client.set_display_name("Sim Me")
    await client.set_text_status("busy")
    profile = [(entry["field"], entry["value"]) for entry in await sent_of(simulator, "profile")]
    assert profile == [("pushname", "Sim Me"), ("status", "busy")]
    assert [entry["available"] for entry in await sent_of(simulator, "presence")] == [True]
    incoming = await simulator.control.group(
        group_id, "subject", author=users[0].id, value="By phone"
    )
    event = await recorder.wait_for(
        GroupChanged, lambda event: event.notification.message.id == incoming
    )
    assert event.kind == "update"


async def test_bad_ids_and_unknown_things_are_clear_errors(linked: Any) -> None:
    client, simulator, _ = linked
    with pytest.raises(InvalidId):
        await client.send_message("not a number", "x")
    with pytest.raises(ChatNotFound):
        await client.archive_chat("120363000000000000@g.us")
    with pytest.raises(MessageNotFound):
        await client.get_message("false_34600000000@c.us_3A0000000000000000AA")
    assert await sent_of(simulator, "message") == []


async def test_missing_module_breaks_only_its_operation(linked: Any) -> None:
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    await simulator.control.fault(missing_module="WAWebChatStateBridge")
    with pytest.raises(WhatsAppWebChanged) as raised:
        await client.send_chat_state(chat["id"], "composing")
    assert "WAWebChatStateBridge" in str(raised.value)
    await client.send_message(chat["id"], "still works")
    await sent_messages(simulator, 1)
    await simulator.control.fault(missing_member="WAWebCmd.Cmd.archiveChat")
    with pytest.raises(WhatsAppWebChanged):
        await client.archive_chat(chat["id"])
    await simulator.control.fault()
    await client.archive_chat(chat["id"])
    assert [entry["body"] for entry in await sent_of(simulator, "message")] == ["still works"]


@pytest.mark.parametrize("kind", DRIVERS)
async def test_restart_resumes_without_qr_and_delivers_offline_once(
    kind: str, tmp_root: Path
) -> None:
    cursor = MemoryCursorStore()
    async with (
        Simulator(chats=4, messages=3, groups=1, seed=3) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):
        client = new_client(simulator, factory, cursor)
        recorder = Recorder(client)
        try:
            await link(client, simulator)
            chat = await first_chat(simulator)
            live = await simulator.control.incoming(chat["id"], "before restart")
            await recorder.wait_for(MessageReceived, lambda event: event.message.id == live)
        finally:
            await client.stop()
        await simulator.control.offline(messages=3)
        again = new_client(simulator, factory, cursor)
        second = Recorder(again)
        qrs: list[str | None] = []
        again.add_qr_listener(qrs.append)
        try:
            await again.start()
            await again.wait_for_state(ClientState.CONNECTED, timeout=30)
            async with asyncio.timeout(15):
                while len([event for event in second.of(MessageReceived) if event.offline]) < 3:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            received = second.of(MessageReceived)
            assert not [qr for qr in qrs if qr], "no QR on a resumed session"
            assert len([event for event in received if event.offline]) == 3
            assert live not in [event.message.id for event in received], (
                "no repeats across restarts"
            )
        finally:
            await again.stop()


@pytest.mark.parametrize("kind", DRIVERS)
async def test_drop_and_restore_reconnects(kind: str, tmp_root: Path) -> None:
    async with (
        Simulator(chats=3, messages=2, groups=1, seed=5) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):
        client = new_client(simulator, factory)
        recorder = Recorder(client)
        try:
            await link(client, simulator)
            await simulator.control.connection("drop")
            await client.wait_for_state(ClientState.RECONNECTING, timeout=15)
            chat = await first_chat(simulator)
            queued = await simulator.control.incoming(chat["id"], "while dropped")
            await simulator.control.connection("restore")
            await client.wait_for_state(ClientState.CONNECTED, timeout=20)
            event = await recorder.wait_for(
                MessageReceived, lambda event: event.message.id == queued, timeout=20
            )
            assert event.offline is True
            await client.send_message(chat["id"], "after restore")
            await sent_messages(simulator, 1)
            assert [entry["body"] for entry in await sent_of(simulator, "message")] == [
                "after restore"
            ]
        finally:
            await client.stop()


@pytest.mark.parametrize("kind", DRIVERS)
async def test_logout_from_the_phone_ends_logged_out(kind: str, tmp_root: Path) -> None:
    async with (
        Simulator(chats=2, messages=1, seed=1) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):
        client = new_client(simulator, factory)
        try:
            await link(client, simulator)
            await simulator.control.connection("logout")
            await client.wait_for_state(ClientState.LOGGED_OUT, timeout=20)
            state = await simulator.control.state()
            assert state["linked"] is False
        finally:
            await client.stop()


# Playwright too: the only client-level test of it besides the driver contract.
@pytest.mark.parametrize("kind", LAUNCHING)
async def test_killed_browser_is_restarted_and_resumes(tmp_root: Path, kind: str) -> None:
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415

    async with (
        Simulator(chats=2, messages=1, groups=0, seed=2) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):
        client = new_client(simulator, factory)
        try:
            await link(client, simulator)
            pids = client.browser_pids
            assert pids
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await client.wait_for_state(ClientState.RECONNECTING, timeout=20)
            await client.wait_for_state(ClientState.CONNECTED, timeout=40)
            assert set(client.browser_pids).isdisjoint(pids)
            chat = await first_chat(simulator)
            await client.send_message(chat["id"], "after the crash")
            await sent_messages(simulator, 1)
            assert [entry["body"] for entry in await sent_of(simulator, "message")] == [
                "after the crash"
            ]
        finally:
            await client.stop()


async def test_pairing_code_flow(tmp_root: Path) -> None:
    async with (
        Simulator(chats=2, messages=1, seed=4) as simulator,
        browser_for("local", tmp_root) as (factory, _remote),
    ):
        client = new_client(simulator, factory)
        try:
            await client.start()
            await client.wait_for_state(ClientState.NEEDS_PAIRING, timeout=30)
            code = await client.request_pairing_code("+34 600 11 22 33")
            assert len(code) == 8
            assert (await simulator.control.state())["pairing_code"] == code
            await simulator.control.link(code=code)
            await client.wait_for_state(ClientState.CONNECTED, timeout=30)
        finally:
            await client.stop()


async def test_qr_stream_follows_rotation_and_reload_after_idle(tmp_root: Path) -> None:
    async with (
        Simulator(chats=2, messages=1, qr_interval=0.4, qr_max=2) as simulator,
        browser_for("local", tmp_root) as (factory, _remote),
    ):
        client = new_client(simulator, factory)
        try:
            await client.start()
            seen: list[str] = []
            async with asyncio.timeout(20):
                async for qr in client.qr_codes():
                    assert qr == (await simulator.control.state())["qr"]
                    seen.append(qr)
                    if len(seen) == 3:
                        break
            assert len(set(seen)) == 3
            async with asyncio.timeout(10):
                while client.whatsapp_state != "UNPAIRED_IDLE":
                    await asyncio.sleep(0.05)
            assert client.state is ClientState.NEEDS_PAIRING
            await client.reload()
            async with asyncio.timeout(15):
                while client.qr is None or client.qr in seen or client.whatsapp_state != "UNPAIRED":
                    await asyncio.sleep(0.05)
            await simulator.control.link(qr=client.qr)
            await client.wait_for_state(ClientState.CONNECTED, timeout=20)
        finally:
            await client.stop()


# ----- today's WhatsApp Web (docs/whatsapp-web-surface.md) -------------------------------------


async def test_messages_beyond_the_loaded_history(linked: Any) -> None:
    """Older messages load with loadEarlierMsgs({chat, msgCollection}); the page holds 3."""
    client, simulator, _ = linked
    chat = await first_chat(simulator)
    assert chat["messages"] > 3
    messages = await client.get_messages(chat["id"], limit=100)
    assert len(messages) == chat["messages"]


async def test_accept_invite_joins_the_group(linked: Any) -> None:
    """joinGroupViaInvite is called on WAWebGroupInviteJob; the phone sees the join."""
    client, simulator, _ = linked
    group = next(g for g in simulator.account.groups.values() if g.subject == "Open Invite Group")
    assert await client.accept_invite(group.invite_code) == group.id
    joins = [entry for entry in await sent_of(simulator, "group") if entry["action"] == "join"]
    assert [entry["group"] for entry in joins] == [group.id]


async def test_block_a_phone_number_contact_without_a_chat(linked: Any) -> None:
    """The block list holds LIDs: the contact is blocked by its LID and reads as blocked."""
    client, simulator, _ = linked
    account = simulator.account
    contact = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and c.id not in account.chats
    )
    await client.block_contact(contact.id)
    assert (await client.get_contact(contact.id)).is_blocked is True
    await client.block_contact(contact.id, block=False)
    assert (await client.get_contact(contact.id)).is_blocked is False
    entries = await sent_of(simulator, "contact")
    assert [(e["action"], e["contact"], e["lid"]) for e in entries] == [
        ("block", contact.id, contact.lid),
        ("unblock", contact.id, contact.lid),
    ]


async def test_lid_group_participants_by_phone_number(linked: Any) -> None:
    """A created group is LID-addressed; participants read and change by phone number."""
    client, simulator, _ = linked
    account = simulator.account
    person = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and not c.group_add_privacy
    )
    created = await client.create_group("LID team", [person.id])
    assert created.participants[person.id]["statusCode"] == 200
    assert account.groups[created.gid].is_lid_addressing_mode is True
    group = await client.get_group(created.gid)
    assert {p.id for p in group.participants} == {account.me.id, person.id}
    records = group.data["groupMetadata"]["participants"]
    assert {record.get("lid") for record in records} == {account.me.lid, person.lid}
    await client.change_participants(created.gid, [person.id], "promote")
    await client.change_participants(created.gid, [person.id], "remove")
    changes = [
        (entry["action"], entry["participants"])
        for entry in await sent_of(simulator, "group")
        if entry["action"] in ("promote", "remove")
    ]
    assert changes == [("promote", [person.lid]), ("remove", [person.lid])]


async def test_lid_contacts_are_listed_by_phone_number(linked: Any) -> None:
    """As whatsapp-web.js does: a contact known by LID is reported under its phone number."""
    client, simulator, _ = linked
    lid_contact = next(c for c in simulator.account.contacts.values() if c.id.endswith("@lid"))
    listed = {contact.id: contact for contact in await client.get_contacts()}
    assert lid_contact.id not in listed
    assert listed[str(lid_contact.phone_number)].data["lid"] == lid_contact.id


async def test_status_and_channel_sends_are_refused(linked: Any) -> None:
    """Status updates and channels are not supported: a clear error naming the chat id."""
    client, simulator, _ = linked
    for target in ("status@broadcast", "120363111111111111@newsletter"):
        with pytest.raises(InvalidArgument) as raised:
            await client.send_message(target, "hello")
        assert raised.value.field == "chat_id"
        assert target in str(raised.value)
    assert await sent_of(simulator, "message") == []


async def test_chat_operations_find_a_chat_not_in_memory(linked: Any) -> None:
    """A user without a chat: the chat is found with findOrCreateLatestChat, as whatsapp-web.js does."""
    client, simulator, _ = linked
    account = simulator.account
    contact = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us") and c.is_wa_contact and c.id not in account.chats
    )
    await client.send_chat_state(contact.id, "composing")
    assert [(e["chat"], e["state"]) for e in await sent_of(simulator, "chat_state")] == [
        (contact.id, "composing")
    ]


@pytest.mark.parametrize("kind", DRIVERS)
async def test_listener_missing_before_login_is_attached_after_sync(
    kind: str, tmp_root: Path
) -> None:
    """A module missing while the page loads but there once it synced: its listener attaches."""
    async with (
        Simulator(chats=4, messages=3, contacts=6, groups=1, seed=7) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):
        await simulator.control.fault(missing_module="WAWebAddonReactionTableMode")
        client = new_client(simulator, factory)
        recorder = Recorder(client)
        try:
            await client.start()
            async with contextlib.aclosing(client.qr_codes()) as qr_codes, asyncio.timeout(30):
                qr = await anext(qr_codes)
            await simulator.control.fault()
            await simulator.control.link(qr=qr)
            await client.wait_for_state(ClientState.CONNECTED, timeout=30)
            chat = await first_chat(simulator)
            incoming = await simulator.control.incoming(chat["id"], "react to me")
            await recorder.wait_for(MessageReceived, lambda event: event.message.id == incoming)
            await simulator.control.react(incoming, "\U0001f44d", chat["id"])
            reaction = await recorder.wait_for(MessageReaction)
            assert reaction.reaction.emoji == "\U0001f44d"
            assert recorder.of(CapabilityMissing) == []
        finally:
            await client.stop()


async def test_capability_table_names_the_shapes_in_use(linked: Any) -> None:
    """Probed at page load: each operation's newest known shape; a missing one is reported."""
    client, simulator, recorder = linked
    assert client.status().capabilities == {
        "findChat": "findOrCreateLatestChat",
        "loadEarlierMessages": "options-object",
        "acceptInvite": "WAWebGroupInviteJob",
        "blockContact": "lid-contact",
        "incomingCalls": "call-map",
        "qrAdvSecretKey": "WAWebUserPrefsMultiDevice",
        "locationHooks": "protobuf-type-hooks",
        "lidToPhone": "WAWebLidMigrationUtils.toPn",
    }
    await simulator.control.fault(missing_member="WAWebGroupInviteJob.joinGroupViaInvite")
    table = await client.probe_capabilities()
    assert table["acceptInvite"] is None
    assert client.status().capabilities["acceptInvite"] is None
    group = next(g for g in simulator.account.groups.values() if g.subject == "Open Invite Group")
    with pytest.raises(WhatsAppWebChanged) as raised:
        await client.accept_invite(group.invite_code)
    assert "WAWebGroupInviteJob.joinGroupViaInvite" in str(raised.value)
    missing = await recorder.wait_for(CapabilityMissing)
    assert "WAWebGroupInviteJob.joinGroupViaInvite" in missing.missing
    chat = await first_chat(simulator)
    await client.send_message(chat["id"], "the rest keeps working")
    await sent_messages(simulator, 1)
    await simulator.control.fault()
    assert (await client.probe_capabilities())["acceptInvite"] == "WAWebGroupInviteJob"


@pytest.mark.parametrize("kind", DRIVERS)
async def test_page_scripts_cannot_send_events_through_the_binding(
    kind: str, tmp_root: Path
) -> None:
    """A script of the page (or of an iframe in it) that calls the binding reaches nothing."""
    binding_names: list[str] = []
    drivers: list[BrowserDriver] = []
    async with (
        Simulator(chats=3, messages=1, contacts=3, groups=0, seed=7) as simulator,
        browser_for(kind, tmp_root) as (factory, _remote),
    ):

        def recording_factory() -> BrowserDriver:
            driver = factory()
            open_page = driver.open_page

            async def recording_open_page(**kwargs: Any) -> None:
                binding_names.append(kwargs["binding_name"])
                await open_page(**kwargs)

            driver.open_page = recording_open_page  # type: ignore[method-assign]
            drivers.append(driver)
            return driver

        client = new_client(simulator, recording_factory)
        recorder = Recorder(client)
        try:
            await link(client, simulator)
            chat = await first_chat(simulator)
            real = await simulator.control.incoming(chat["id"], "a real message")
            received = await recorder.wait_for(
                MessageReceived, lambda event: event.message.id == real
            )
            # The same message under another id and body: what a script would forge.
            forged = json.loads(json.dumps(received.message.data))
            key = forged["id"]["id"]
            forged["id"]["id"] = "F0F0F0F0F0F0F0F0"
            forged["id"]["_serialized"] = forged["id"]["_serialized"].replace(
                key, "F0F0F0F0F0F0F0F0"
            )
            forged["body"] = "forged"
            batch = json.dumps({"seq": 1, "events": [{"type": "message", "message": forged}]})
            # Even a script that knows this page's binding name, or the old fixed one.
            names = [binding_names[-1], "__whatsappWebBridgeEmit"]
            found = await drivers[-1].evaluate(
                """(names, batch) => new Promise((resolve) => {
                    const found = names.map((name) => {
                        if (typeof globalThis[name] !== 'function') return typeof globalThis[name];
                        globalThis[name](batch);
                        return 'called';
                    });
                    const frame = document.createElement('iframe');
                    frame.onload = () => resolve(found);
                    frame.srcdoc = '<script>for (const name of ' + JSON.stringify(names) + ') {'
                        + ' try { window[name](' + JSON.stringify(batch) + '); } catch (e) {}'
                        + ' try { parent[name](' + JSON.stringify(batch) + '); } catch (e) {} }'
                        + '</' + 'script>';
                    document.body.appendChild(frame);
                })""",
                names,
                batch,
                timeout=10,
            )
            assert found == ["undefined", "undefined"]
            # A later real message arrives after anything those calls could have sent.
            later = await simulator.control.incoming(chat["id"], "a later message")
            await recorder.wait_for(MessageReceived, lambda event: event.message.id == later)
            bodies = [event.message.body for event in recorder.of(MessageReceived)]
            assert "forged" not in bodies
            assert {"a real message", "a later message"} <= set(bodies)
            # The name is random for each page.
            assert re.fullmatch(r"__[0-9a-f]{32}", names[0])
            assert len(set(binding_names)) == len(binding_names)
        finally:
            await client.stop()
