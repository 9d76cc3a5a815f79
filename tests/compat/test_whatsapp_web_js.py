"""Acceptance: the unmodified whatsapp-web.js npm package works against the simulator.

Each test starts the simulator (`python -m simulator`), puts its page into whatsapp-web.js's
`local` web version cache (so the page runs under https://web.whatsapp.com/, offline) and drives
a real whatsapp-web.js `Client` on Debian Chromium through `runner.js`. What the client reports is
compared with the simulator's server-side truth (`/_sim/state`, `/_sim/chats`, `/_sim/sent`).
Issue 3, section 3 lists what has to work.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import TYPE_CHECKING, Any

from simulator.seed import make_png

from .conftest import (
    QR_MAX_ROTATIONS,
    SEED,
    CompatHarness,
    WwebjsRunner,
    processes_mentioning,
    seeded_account,
)

if TYPE_CHECKING:
    from pathlib import Path

#: The characters of a pairing code (simulator/PROTOCOL.md, `request_pairing_code`).
PAIRING_CODE_ALPHABET = frozenset("ABCDEFGHJKLMNPQRSTVWXYZ0123456789")


def serialized(value: Any) -> str:
    """The `_serialized` string of a wwebjs id (object or string)."""
    if isinstance(value, dict):
        return str(value["_serialized"])
    return str(value)


async def link_by_qr(compat: CompatHarness, runner: WwebjsRunner) -> dict[str, Any]:
    """Wait for the client's QR, show that a wrong one is refused, link with it; the ready event."""
    qr_event = await runner.wait_event("qr")
    qr = qr_event["args"][0]
    fields = qr.split(",")
    assert len(fields) == 5, f"QR must have five fields (ref, three keys, platform): {qr!r}"
    assert fields[0].startswith("2@"), qr
    for key in fields[1:4]:
        assert len(base64.b64decode(key)) == 32, f"QR key is not 32 bytes of base64: {qr!r}"
    assert fields[4], f"QR platform field is empty: {qr!r}"

    state = await compat.simulator.get("/_sim/state")
    assert state["qr"] == qr, "the client's qr event differs from the QR the page shows"

    wrong = "2@" + ("x" if qr[2] != "x" else "y") + qr[3:]
    status, _ = await compat.simulator.post("/_sim/link", {"qr": wrong})
    assert status == 400, "a QR the client never showed must not link"

    await compat.simulator.post("/_sim/link", {"qr": qr}, expect=200)
    await runner.wait_event("authenticated")
    return await runner.wait_event("ready")


async def close_cleanly(runner: WwebjsRunner, *, by_end_of_input: bool = False) -> None:
    """`destroy` (or the end of stdin) ends runner.js by itself, leaving no Chromium behind."""
    if by_end_of_input:
        await runner.end_input()
    else:
        reply = await runner.command_reply("destroy", within=20)
        assert reply["ok"], reply
    code = await runner.wait_exit(20)
    assert code == 0, f"runner.js did not exit cleanly: {code}\n{runner.describe()}"
    assert runner.events_named("exit"), runner.describe()
    # The browser's helper processes (zygote, renderers) end a moment after the browser.
    for _ in range(50):
        if not (leftovers := processes_mentioning(runner.profile_marker)):
            break
        await asyncio.sleep(0.1)
    assert not leftovers, f"processes still running after the runner exited: {leftovers}"


async def linked_runner(compat: CompatHarness, tmp_path: Path, name: str) -> WwebjsRunner:
    """A runner on a fresh LocalAuth directory, linked by QR and ready."""
    runner = await compat.start_runner(name, tmp_path / f"auth-{name}")
    await link_by_qr(compat, runner)
    return runner


async def message_with_body(runner: WwebjsRunner, body: str) -> dict[str, Any]:
    """The first `message` event's Message whose body is `body`."""
    event = await runner.wait_event("message", lambda e: e["args"][0]["body"] == body)
    return dict(event["args"][0])


def outbox_entries(sent: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The `/_sim/sent` entries of one kind."""
    return [entry for entry in sent["sent"] if entry["kind"] == kind]


async def test_qr_login_and_client_info(compat: CompatHarness, tmp_path: Path) -> None:
    """`qr` carries the QR the page shows; linking it gives authenticated, ready and client.info."""
    me = (await compat.simulator.get("/_sim/state"))["me"]
    runner = await compat.start_runner("qr", tmp_path / "auth-qr")
    ready = await link_by_qr(compat, runner)
    assert serialized(ready["info"]["wid"]) == me["id"]
    assert ready["info"]["pushname"] == me["pushname"]
    assert await runner.command("getState") == "CONNECTED"
    state = await compat.simulator.get("/_sim/state")
    assert state["linked"] is True
    assert state["state"] == "CONNECTED"
    await close_cleanly(runner)


async def test_qr_rotation(compat_rotating_qr: CompatHarness, tmp_path: Path) -> None:
    """Each QR rotation reaches the client as a new `qr`; only the newest one links."""
    compat = compat_rotating_qr
    runner = await compat.start_runner("rotation", tmp_path / "auth-rotation")
    first = (await runner.wait_event("qr"))["args"][0]
    second = (await runner.wait_event("qr", lambda e: e["args"][0] != first, within=10))["args"][0]
    # Only the ref changes; the keys and the platform stay.
    assert first.split(",")[0] != second.split(",")[0]
    assert first.split(",")[1:] == second.split(",")[1:]
    status, _ = await compat.simulator.post("/_sim/link", {"qr": first})
    assert status == 400, "a QR the client no longer shows must not link"

    # After --qr-max rotations the page goes idle and stops rotating.
    for _ in range(100):
        state = await compat.simulator.get("/_sim/state")
        if state["state"] == "UNPAIRED_IDLE":
            break
        await asyncio.sleep(0.1)
    assert state["state"] == "UNPAIRED_IDLE", state
    await asyncio.sleep(1.5)
    shown = runner.events_named("qr")
    assert len(shown) == QR_MAX_ROTATIONS + 1, [e["args"][0][:12] for e in shown]
    assert len({e["args"][0] for e in shown}) == len(shown)
    await close_cleanly(runner)


async def test_session_reuse_and_phone_logout(compat: CompatHarness, tmp_path: Path) -> None:
    """A second run on the same LocalAuth data is ready with no QR; a phone-side logout disconnects."""
    me = (await compat.simulator.get("/_sim/state"))["me"]
    auth_dir = tmp_path / "auth-reuse"
    first = await compat.start_runner("first-run", auth_dir)
    await link_by_qr(compat, first)
    await close_cleanly(first)

    second = await compat.start_runner("second-run", auth_dir)
    ready = await second.wait_event("ready")
    assert not second.events_named("qr"), "a stored session must not ask for a QR again"
    assert second.events_named("authenticated")
    assert serialized(ready["info"]["wid"]) == me["id"]

    await compat.simulator.post("/_sim/connection", {"action": "logout"}, expect=204)
    disconnected = await second.wait_event("disconnected")
    assert disconnected["args"] == ["LOGOUT"], disconnected


async def test_pairing_code_flow(compat: CompatHarness, tmp_path: Path) -> None:
    """pairWithPhoneNumber emits `code`; linking with that code through the phone completes it."""
    me = (await compat.simulator.get("/_sim/state"))["me"]
    phone = me["id"].split("@")[0]
    runner = await compat.start_runner(
        "pairing", tmp_path / "auth-pairing", mode="pairing", phone=phone
    )

    code = (await runner.wait_event("code"))["args"][0]
    assert isinstance(code, str)
    assert len(code) == 8, code
    assert all(char in PAIRING_CODE_ALPHABET for char in code), code
    state = await compat.simulator.get("/_sim/state")
    assert state["pairing_code"] == code

    wrong = "AAAAAAAA" if code != "AAAAAAAA" else "BBBBBBBB"
    status, _ = await compat.simulator.post("/_sim/link", {"code": wrong})
    assert status == 400

    await compat.simulator.post("/_sim/link", {"code": code}, expect=200)
    await runner.wait_event("authenticated")
    ready = await runner.wait_event("ready")
    assert serialized(ready["info"]["wid"]) == me["id"]
    assert not runner.events_named("qr"), "the pairing-code flow must not emit qr"
    await close_cleanly(runner, by_end_of_input=True)


async def test_get_chats_matches_the_server(compat: CompatHarness, tmp_path: Path) -> None:
    """getChats returns every seeded chat with name, unreadCount, archived and pinned."""
    runner = await linked_runner(compat, tmp_path, "chats")
    truth = {chat["id"]: chat for chat in (await compat.simulator.get("/_sim/chats"))["chats"]}
    assert len(truth) == SEED["chats"], truth

    chats = await runner.command("getChats")
    by_id = {serialized(chat["id"]): chat for chat in chats}
    assert set(by_id) == set(truth), (
        f"getChats ids differ: missing {set(truth) - set(by_id)}, extra {set(by_id) - set(truth)}"
    )
    for chat_id, expected in truth.items():
        chat = by_id[chat_id]
        assert chat["name"] == expected["name"], chat_id
        assert chat["unreadCount"] == expected["unread_count"], chat_id
        assert chat["archived"] is expected["archived"], chat_id
        assert chat["pinned"] is bool(expected["pinned"]), chat_id
        assert chat["isGroup"] is expected["is_group"], chat_id
    # The seed has each state, so the comparison above is not vacuous.
    assert any(chat["archived"] for chat in chats)
    assert any(chat["pinned"] for chat in chats)
    assert any(chat["unreadCount"] > 0 for chat in chats)
    assert any(chat_id.endswith("@lid") for chat_id in by_id)
    await close_cleanly(runner)


async def test_contacts(compat: CompatHarness, tmp_path: Path) -> None:
    """getContacts lists every seeded contact; getContactById returns one with its details."""
    runner = await linked_runner(compat, tmp_path, "contacts")
    account = seeded_account()
    contacts = {serialized(c["id"]): c for c in await runner.command("getContacts")}
    for seeded in account.contacts.values():
        # whatsapp-web.js lists a contact known by LID under its phone number.
        listed_as = seeded.phone_number if seeded.id.endswith("@lid") else seeded.id
        assert listed_as in contacts, f"getContacts lacks {seeded.id} ({seeded.name})"
        contact = contacts[listed_as]
        assert contact["name"] == seeded.name, listed_as
        assert contact["isBusiness"] is seeded.is_business, listed_as
        assert contact["isBlocked"] is seeded.is_blocked, listed_as
    assert any(c.is_blocked for c in account.contacts.values())
    assert any(c.id.endswith("@lid") for c in account.contacts.values())

    known = next(c for c in account.contacts.values() if c.id.endswith("@c.us") and c.is_wa_contact)
    contact = await runner.command("getContactById", contact=known.id)
    assert serialized(contact["id"]) == known.id
    assert contact["number"] == known.id.split("@")[0]
    assert contact["name"] == known.name
    assert contact["pushname"] == known.pushname
    assert contact["isUser"] is True
    assert contact["isGroup"] is False
    assert contact["isMe"] is False
    await close_cleanly(runner)


async def test_chat_actions(compat: CompatHarness, tmp_path: Path) -> None:
    """archiveChat, pinChat and markChatUnread reach the server."""
    runner = await linked_runner(compat, tmp_path, "chat-actions")
    truth = (await compat.simulator.get("/_sim/chats"))["chats"]
    direct = [c for c in truth if not c["is_group"]]
    to_archive = next(c for c in direct if not c["archived"] and not c["pinned"])
    to_pin = next(
        c for c in direct if not c["pinned"] and not c["archived"] and c["id"] != to_archive["id"]
    )
    to_mark = next(
        c
        for c in direct
        if c["unread_count"] == 0 and c["id"] not in {to_archive["id"], to_pin["id"]}
    )
    await compat.simulator.delete("/_sim/sent")

    assert await runner.command("archiveChat", chat=to_archive["id"]) is True
    assert await runner.command("pinChat", chat=to_pin["id"]) is True
    await runner.command("markChatUnread", chat=to_mark["id"])

    actions = [
        (e["chat"], e["action"])
        for e in outbox_entries(await compat.simulator.get("/_sim/sent"), "chat")
    ]
    assert (to_archive["id"], "archive") in actions, actions
    assert (to_pin["id"], "pin") in actions, actions
    assert (to_mark["id"], "mark_unread") in actions, actions
    after = {chat["id"]: chat for chat in (await compat.simulator.get("/_sim/chats"))["chats"]}
    assert after[to_archive["id"]]["archived"] is True
    assert after[to_pin["id"]]["pinned"]
    chats = {serialized(c["id"]): c for c in await runner.command("getChats")}
    assert chats[to_archive["id"]]["archived"] is True
    assert chats[to_pin["id"]]["pinned"] is True
    await close_cleanly(runner)


async def test_send_text_and_image(compat: CompatHarness, tmp_path: Path) -> None:
    """sendMessage of text and of an image MessageMedia with caption land in the outbox."""
    runner = await linked_runner(compat, tmp_path, "send")
    chat = next(
        c for c in (await compat.simulator.get("/_sim/chats"))["chats"] if c["id"].endswith("@c.us")
    )
    await compat.simulator.delete("/_sim/sent")

    text = "compat: hello from whatsapp-web.js"
    message = await runner.command("sendMessage", chat=chat["id"], text=text)
    text_id = serialized(message["id"])
    assert message["body"] == text
    assert message["fromMe"] is True
    assert message["to"] == chat["id"]
    await runner.wait_event("message_create", lambda e: serialized(e["args"][0]["id"]) == text_id)

    image = make_png(3, 2)
    caption = "compat: a picture"
    media_message = await runner.command(
        "sendMedia",
        chat=chat["id"],
        mimetype="image/png",
        data_b64=base64.b64encode(image).decode(),
        filename="compat.png",
        caption=caption,
        within=60,
    )
    assert media_message["type"] == "image"
    assert media_message["hasMedia"] is True
    image_id = serialized(media_message["id"])

    messages = {
        e["id"]: e for e in outbox_entries(await compat.simulator.get("/_sim/sent"), "message")
    }
    assert set(messages) == {text_id, image_id}, messages
    text_entry = messages[text_id]
    assert text_entry["chat"] == chat["id"]
    assert text_entry["type"] == "chat"
    assert text_entry["body"] == text
    image_entry = messages[image_id]
    assert image_entry["chat"] == chat["id"]
    assert image_entry["type"] == "image"
    assert image_entry["caption"] == caption
    assert image_entry["media"]["mimetype"] == "image/png"
    assert image_entry["media"]["size"] == len(image)
    assert image_entry["media"]["sha256"] == hashlib.sha256(image).hexdigest()
    await close_cleanly(runner)


async def test_incoming_messages_and_acks(compat: CompatHarness, tmp_path: Path) -> None:
    """/_sim/incoming fires `message` (also from an @lid sender); /_sim/ack fires `message_ack`."""
    runner = await linked_runner(compat, tmp_path, "incoming")
    chats = (await compat.simulator.get("/_sim/chats"))["chats"]
    phone_chat = next(c for c in chats if c["id"].endswith("@c.us"))
    lid_chat = next(c for c in chats if c["id"].endswith("@lid"))
    account = seeded_account()
    # A LID-addressed group: its members (and so message authors) are @lid ids.
    lid_group = next(
        g for g in account.groups.values() if g.is_lid_addressing_mode and g.id in account.chats
    )
    lid_author = next(p.id for p in lid_group.participants if not account.is_me(p.id))

    body = "compat: incoming text"
    _, answer = await compat.simulator.post(
        "/_sim/incoming", {"chat": phone_chat["id"], "body": body}, expect=200
    )
    received = await message_with_body(runner, body)
    assert serialized(received["id"]) == answer["id"]
    assert received["from"] == phone_chat["id"]
    assert received["fromMe"] is False
    assert received["type"] == "chat"

    lid_body = "compat: incoming from a LID"
    await compat.simulator.post(
        "/_sim/incoming", {"chat": lid_chat["id"], "body": lid_body}, expect=200
    )
    received = await message_with_body(runner, lid_body)
    assert received["from"] == lid_chat["id"]

    group_body = "compat: incoming in a LID-addressed group"
    await compat.simulator.post(
        "/_sim/incoming",
        {"chat": lid_group.id, "author": lid_author, "body": group_body},
        expect=200,
    )
    received = await message_with_body(runner, group_body)
    assert received["from"] == lid_group.id
    assert received["author"] == lid_author

    message = await runner.command("sendMessage", chat=phone_chat["id"], text="compat: ack me")
    own_id = serialized(message["id"])
    for ack in (2, 3):
        await compat.simulator.post("/_sim/ack", {"id": own_id, "ack": ack}, expect=204)
        event = await runner.wait_event(
            "message_ack",
            lambda e, ack=ack: serialized(e["args"][0]["id"]) == own_id and e["args"][1] == ack,
        )
        assert event["args"][0]["ack"] == ack
    await close_cleanly(runner)


async def test_react_star_and_delete(compat: CompatHarness, tmp_path: Path) -> None:
    """msg.react, msg.star and msg.delete(true) reach the server."""
    runner = await linked_runner(compat, tmp_path, "message-actions")
    chat = next(
        c for c in (await compat.simulator.get("/_sim/chats"))["chats"] if c["id"].endswith("@c.us")
    )
    body = "compat: react to me"
    _, answer = await compat.simulator.post(
        "/_sim/incoming", {"chat": chat["id"], "body": body}, expect=200
    )
    incoming_id = answer["id"]
    await runner.wait_event("message", lambda e: e["args"][0]["body"] == body)
    own_id = serialized(
        (await runner.command("sendMessage", chat=chat["id"], text="compat: delete me"))["id"]
    )
    await compat.simulator.delete("/_sim/sent")

    await runner.command("react", message_id=incoming_id, emoji="\N{THUMBS UP SIGN}")
    await runner.command("star", message_id=incoming_id)
    await runner.command("delete", message_id=own_id, everyone=True)

    sent = await compat.simulator.get("/_sim/sent")
    reactions = outbox_entries(sent, "reaction")
    assert [(e["message_id"], e["emoji"]) for e in reactions] == [
        (incoming_id, "\N{THUMBS UP SIGN}")
    ], sent
    stars = outbox_entries(sent, "star")
    assert [(e["message_id"], e["starred"]) for e in stars] == [(incoming_id, True)], sent
    deletions = outbox_entries(sent, "delete")
    assert [(e["message_id"], e["everyone"]) for e in deletions] == [(own_id, True)], sent

    assert (await compat.simulator.get(f"/_sim/messages/{incoming_id}"))["starred"] is True
    assert (await compat.simulator.get(f"/_sim/messages/{own_id}"))["revoked"] is True
    starred = await runner.command("getMessageById", message_id=incoming_id)
    assert starred["isStarred"] is True
    await close_cleanly(runner)


async def test_reaction_by_someone_else(compat: CompatHarness, tmp_path: Path) -> None:
    """/_sim/react on our message fires `message_reaction` (through the hooked reaction table)."""
    runner = await linked_runner(compat, tmp_path, "reaction")
    chat = next(
        c for c in (await compat.simulator.get("/_sim/chats"))["chats"] if c["id"].endswith("@c.us")
    )
    own_id = serialized(
        (await runner.command("sendMessage", chat=chat["id"], text="compat: like me"))["id"]
    )
    await compat.simulator.post(
        "/_sim/react", {"id": own_id, "emoji": "\N{HEAVY BLACK HEART}"}, expect=204
    )
    event = await runner.wait_event(
        "message_reaction", lambda e: e["args"][0]["reaction"] == "\N{HEAVY BLACK HEART}"
    )
    reaction = event["args"][0]
    assert serialized(reaction["msgId"]) == own_id
    assert reaction["reaction"] == "\N{HEAVY BLACK HEART}"
    assert reaction["senderId"] == chat["id"]
    await close_cleanly(runner)


async def test_edits_and_profile_pictures(compat: CompatHarness, tmp_path: Path) -> None:
    """message.edit reaches the server; /_sim/edit fires `message_edit`; getProfilePicUrl finds the
    picture set with /_sim/picture (and nothing before)."""
    runner = await linked_runner(compat, tmp_path, "edits")
    chat = next(
        c for c in (await compat.simulator.get("/_sim/chats"))["chats"] if c["id"].endswith("@c.us")
    )
    own_id = serialized(
        (await runner.command("sendMessage", chat=chat["id"], text="compat: at 5"))["id"]
    )
    await runner.command("messageCall", message_id=own_id, method="edit", args=["compat: at 6"])
    edits = outbox_entries(await compat.simulator.get("/_sim/sent"), "edit")
    assert [(e["message_id"], e["body"]) for e in edits] == [(own_id, "compat: at 6")]
    assert (await compat.simulator.get(f"/_sim/messages/{own_id}"))["body"] == "compat: at 6"

    _status, incoming = await compat.simulator.post(
        "/_sim/incoming", {"chat": chat["id"], "body": "compat: late"}, expect=200
    )
    await runner.wait_event("message", lambda e: e["args"][0]["body"] == "compat: late")
    await compat.simulator.post(
        "/_sim/edit", {"id": incoming["id"], "body": "compat: very late"}, expect=204
    )
    event = await runner.wait_event(
        "message_edit", lambda e: serialized(e["args"][0]["id"]) == incoming["id"]
    )
    assert event["args"][1:] == ["compat: very late", "compat: late"]

    assert await runner.command("call", method="getProfilePicUrl", args=[chat["id"]]) is None
    await compat.simulator.post(
        "/_sim/picture",
        {"id": chat["id"], "data_b64": base64.b64encode(b"\xff\xd8jpeg").decode()},
        expect=204,
    )
    url = await runner.command("call", method="getProfilePicUrl", args=[chat["id"]])
    assert isinstance(url, str)
    assert "/_sim/pps/" in url
    await close_cleanly(runner)


async def test_create_group_and_add_participants(compat: CompatHarness, tmp_path: Path) -> None:
    """createGroup and addParticipants reach the server."""
    runner = await linked_runner(compat, tmp_path, "groups")
    # People anyone may add to a group (on WhatsApp, not blocked, no privacy restriction).
    people = [
        c.id
        for c in seeded_account().contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and not c.group_add_privacy
    ]
    assert len(people) >= 3
    await compat.simulator.delete("/_sim/sent")

    created = await runner.command("createGroup", title="Compat group", participants=people[:2])
    assert isinstance(created, dict), f"createGroup failed inside the page: {created!r}"
    group_id = serialized(created["gid"])
    assert group_id.endswith("@g.us")
    assert created["title"] == "Compat group"
    for person in people[:2]:
        assert created["participants"][person]["statusCode"] == 200, created
    creates = [
        e
        for e in outbox_entries(await compat.simulator.get("/_sim/sent"), "group")
        if e["action"] == "create"
    ]
    assert len(creates) == 1, creates
    assert creates[0]["group"] == group_id
    assert set(creates[0]["participants"]) == set(people[:2])

    await compat.simulator.delete("/_sim/sent")
    result = await runner.command("addParticipants", group=group_id, participants=[people[2]])
    assert result[people[2]]["code"] == 200, result
    adds = [
        e
        for e in outbox_entries(await compat.simulator.get("/_sim/sent"), "group")
        if e["action"] == "add"
    ]
    assert len(adds) == 1, adds
    assert adds[0]["group"] == group_id
    assert adds[0]["participants"] == [people[2]]
    group = await runner.command("getChatById", chat=group_id)
    participant_ids = {serialized(p["id"]) for p in group["groupMetadata"]["participants"]}
    assert set(people[:3]) <= participant_ids, participant_ids
    await close_cleanly(runner)


# ----- today's WhatsApp Web (docs/whatsapp-web-surface.md): whatsapp-web.js 1.34.7 copes -----


async def test_fetch_messages_beyond_the_loaded_history(
    compat: CompatHarness, tmp_path: Path
) -> None:
    """fetchMessages pages back with loadEarlierMsgs({chat}): every message of the chat arrives."""
    runner = await linked_runner(compat, tmp_path, "fetch")
    truth = (await compat.simulator.get("/_sim/chats"))["chats"]
    chat = next(c for c in truth if not c["is_group"] and c["messages"] >= SEED["messages"])
    messages = await runner.command("fetchMessages", chat=chat["id"], limit=chat["messages"])
    assert len(messages) == chat["messages"], "the page holds 3; the rest must be loaded"
    await close_cleanly(runner)


async def test_block_a_phone_number_contact_without_a_chat(
    compat: CompatHarness, tmp_path: Path
) -> None:
    """block() resolves the contact's LID first (the block list holds LIDs); isBlocked follows."""
    runner = await linked_runner(compat, tmp_path, "block")
    account = seeded_account()
    contact = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and c.id not in account.chats
    )
    await compat.simulator.delete("/_sim/sent")
    assert await runner.command("contactCall", contact=contact.id, method="block") is True
    blocked = await runner.command("getContactById", contact=contact.id)
    assert blocked["isBlocked"] is True
    assert await runner.command("contactCall", contact=contact.id, method="unblock") is True
    entries = outbox_entries(await compat.simulator.get("/_sim/sent"), "contact")
    assert [(e["action"], e["contact"], e["lid"]) for e in entries] == [
        ("block", contact.id, contact.lid),
        ("unblock", contact.id, contact.lid),
    ]
    await close_cleanly(runner)


async def test_accept_invite_through_the_invite_job(compat: CompatHarness, tmp_path: Path) -> None:
    """acceptInvite calls WAWebGroupInviteJob.joinGroupViaInvite and joins the group."""
    runner = await linked_runner(compat, tmp_path, "invite")
    group = next(g for g in seeded_account().groups.values() if g.subject == "Open Invite Group")
    joined = await runner.command("call", method="acceptInvite", args=[group.invite_code])
    assert serialized(joined) == group.id
    entries = outbox_entries(await compat.simulator.get("/_sim/sent"), "group")
    assert [(e["action"], e["group"]) for e in entries] == [("join", group.id)]
    await close_cleanly(runner)


async def test_document_keeps_its_file_name(compat: CompatHarness, tmp_path: Path) -> None:
    """A document sent by whatsapp-web.js reaches WhatsApp with the name it gave the File."""
    runner = await linked_runner(compat, tmp_path, "document")
    truth = (await compat.simulator.get("/_sim/chats"))["chats"]
    chat = next(c for c in truth if not c["is_group"])
    await compat.simulator.delete("/_sim/sent")
    data = b"%PDF-1.4 compat document"
    await runner.command(
        "sendMedia",
        chat=chat["id"],
        mimetype="application/pdf",
        data_b64=base64.b64encode(data).decode(),
        filename="report-2026.pdf",
        options={"sendMediaAsDocument": True},
    )
    [entry] = outbox_entries(await compat.simulator.get("/_sim/sent"), "message")
    assert entry["type"] == "document"
    assert entry["media"]["filename"] == "report-2026.pdf"
    assert entry["media"]["sha256"] == hashlib.sha256(data).hexdigest()
    await close_cleanly(runner)


async def test_location_is_delivered(compat: CompatHarness, tmp_path: Path) -> None:
    """whatsapp-web.js's protobuf type hooks make a location a deliverable `text` stanza."""
    runner = await linked_runner(compat, tmp_path, "location")
    truth = (await compat.simulator.get("/_sim/chats"))["chats"]
    chat = next(c for c in truth if not c["is_group"])
    await compat.simulator.delete("/_sim/sent")
    await runner.command(
        "sendLocation", chat=chat["id"], latitude=41.39, longitude=2.17, name="Here", address="St 1"
    )
    for _ in range(50):
        entries = outbox_entries(await compat.simulator.get("/_sim/sent"), "message")
        if entries:
            break
        await asyncio.sleep(0.1)
    assert [entry["type"] for entry in entries] == ["location"]
    await close_cleanly(runner)


async def test_incoming_call_through_the_call_map(compat: CompatHarness, tmp_path: Path) -> None:
    """A call written into WAWebCallCollection's Map (no `add` event) still fires `call`."""
    runner = await linked_runner(compat, tmp_path, "call")
    caller = next(c for c in seeded_account().contacts.values() if c.id.endswith("@c.us"))
    _, answer = await compat.simulator.post(
        "/_sim/call", {"from": caller.id, "is_video": True}, expect=200
    )
    event = await runner.wait_event("call", lambda e: e["args"][0]["id"] == answer["id"])
    assert event["args"][0]["isVideo"] is True
    assert serialized(event["args"][0]["from"]) == caller.id
    await close_cleanly(runner)


async def test_promote_by_phone_number_in_a_lid_group(
    compat: CompatHarness, tmp_path: Path
) -> None:
    """createGroup makes a LID-addressed group; promoting by phone number resolves the LID."""
    runner = await linked_runner(compat, tmp_path, "lid-group")
    account = seeded_account()
    person = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and not c.group_add_privacy
    )
    created = await runner.command("createGroup", title="LID group", participants=[person.id])
    group_id = serialized(created["gid"])
    await compat.simulator.delete("/_sim/sent")
    result = await runner.command(
        "chatCall", chat=group_id, method="promoteParticipants", args=[[person.id]]
    )
    assert result == {"status": 200}
    [entry] = outbox_entries(await compat.simulator.get("/_sim/sent"), "group")
    assert (entry["action"], entry["participants"]) == ("promote", [person.lid])
    await close_cleanly(runner)
