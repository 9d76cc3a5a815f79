"""Page operations (`call` ops): results, pushes and the outbox entry each one records."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
import hashlib
import re
import time
from typing import Any

import pytest

from simulator.account import make_key
from simulator.testing import Simulator

from .conftest import PageClient, link_page

type MakePage = Callable[[Simulator], PageClient]


@pytest.fixture
async def linked(sim: Simulator, make_page: MakePage) -> PageClient:
    page = make_page(sim)
    await link_page(sim, page)
    return page


def direct_chat(sim: Simulator) -> str:
    return next(c.id for c in sim.account.chat_order() if not c.is_group and not c.archive)


def admin_group(sim: Simulator) -> str:
    me = {sim.account.me.id, sim.account.me.lid}
    return next(
        g.id
        for g in sim.account.groups.values()
        if g.id in sim.account.chats and any(p.id in me and p.is_admin for p in g.participants)
    )


def member_group(sim: Simulator) -> str:
    me = {sim.account.me.id, sim.account.me.lid}
    return next(
        g.id
        for g in sim.account.groups.values()
        if g.id in sim.account.chats and any(p.id in me and not p.is_admin for p in g.participants)
    )


def own_msg(chat: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
    msg_id = "3EB0" + hashlib.sha1(text.encode()).hexdigest()[:16].upper()
    return {
        "id": make_key(True, chat, msg_id),
        "type": "chat",
        "body": text,
        "ack": 0,
        "t": 0,
        "mentionedJidList": [],
        **extra,
    }


async def last_entry(sim: Simulator) -> dict[str, Any]:
    return (await sim.control.sent())[-1]


async def test_send_text_records_message(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    quoted = sim.account.chat_keys(chat)[-1]
    msg = own_msg(
        chat,
        "hi there https://example.org",
        quotedMsgId=quoted,
        extra_attrs={"linkPreview": {"title": "x"}},
    )
    started = time.time()
    result = await linked.ok("send_message", chat=chat, msg=msg, link_preview=True)
    stored = result["msg"]
    assert stored["ack"] == 1
    assert stored["t"] >= int(started)
    assert stored["id"]["_serialized"] == msg["id"]["_serialized"]
    assert "extra_attrs" not in stored
    upsert = await linked.expect("chat_upsert")
    assert upsert["chat"]["id"] == chat
    assert upsert["chat"]["t"] == stored["t"]
    entry = await last_entry(sim)
    assert entry["kind"] == "message"
    assert entry["seq"] == 1
    assert entry["page"] == linked.page_id
    assert entry["at"] >= started
    assert entry["chat"] == chat
    assert entry["id"] == msg["id"]["_serialized"]
    assert entry["type"] == "chat"
    assert entry["body"] == "hi there https://example.org"
    assert entry["caption"] is None
    assert entry["mentions"] == []
    assert entry["quoted_id"] == quoted
    assert entry["link_preview"] is True
    assert entry["media"] is None
    assert entry["attrs"] == {"linkPreview": {"title": "x"}}
    truth = await sim.control.message(entry["id"])
    assert truth["ack"] == 1
    assert truth["body"] == "hi there https://example.org"


async def test_send_media_stores_bytes_and_sha256(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    data = bytes(range(256)) * 4
    msg = own_msg(
        chat, "media", type="image", body="", caption="look", mimetype="image/jpeg", isGif=False
    )
    result = await linked.ok(
        "send_message", chat=chat, msg=msg, media_b64=base64.b64encode(data).decode()
    )
    stored = result["msg"]
    assert stored["size"] == len(data)
    assert stored["filehash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    entry = await last_entry(sim)
    assert entry["type"] == "image"
    assert entry["caption"] == "look"
    assert entry["media"] == {
        "mimetype": "image/jpeg",
        "filename": None,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "is_gif": False,
        "sticker": None,
    }
    download = await linked.ok("media_download", directPath=stored["directPath"])
    assert base64.b64decode(download["data_b64"]) == data


async def test_send_sticker_records_metadata(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    msg = own_msg(chat, "sticker", type="sticker", body="", mimetype="image/webp")
    sticker = {"pack_name": "Pack", "publisher": "Me", "emojis": ["😀"]}
    await linked.ok(
        "send_message",
        chat=chat,
        msg=msg,
        media_b64=base64.b64encode(b"RIFFxxxxWEBP").decode(),
        sticker=sticker,
    )
    entry = await last_entry(sim)
    assert entry["media"]["sticker"] == sticker


async def test_send_errors(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    reply = await linked.call("send_message", chat=chat)
    assert reply["error"]["status"] == 400
    assert "msg" in reply["error"]["message"]
    reply = await linked.call("send_message", chat="999999999@c.us", msg=own_msg("999999999@c.us"))
    assert reply["error"]["status"] == 404
    reply = await linked.call("send_message", chat=chat, msg=own_msg(chat, type="image", body=""))
    assert reply["error"]["status"] == 400
    assert "media_b64" in reply["error"]["message"]
    reply = await linked.call("send_message", chat=chat, msg=own_msg(chat), media_b64="%%%")
    assert reply["error"]["status"] == 400
    announce = next(
        (g for g in sim.account.groups.values() if g.announce and g.id in sim.account.chats), None
    )
    if announce is not None and not any(
        p.is_admin for p in announce.participants if sim.account.is_me(p.id)
    ):
        reply = await linked.call("send_message", chat=announce.id, msg=own_msg(announce.id))
        assert reply["error"]["status"] == 403
    assert await sim.control.sent() == []


async def test_unknown_op_and_unlinked_page(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await page.connect()
    await page.expect("unpaired")
    reply = await page.call("presence", available=True)
    assert reply["ok"] is False
    assert reply["error"]["status"] == 403
    reply = await page.call("teleport")
    assert reply["error"]["status"] == 400
    assert "op" in reply["error"]["message"]


async def test_react_star_delete(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    target = sim.account.chat_keys(chat)[-1]
    await linked.ok("react", message_id=target, emoji="❤️")
    row = (await linked.expect("reaction"))["row"]
    assert row["id"]["fromMe"] is True
    assert row["reactionText"] == "❤️"
    entry = await last_entry(sim)
    assert (entry["kind"], entry["message_id"], entry["emoji"]) == ("reaction", target, "❤️")

    await linked.ok("star", message_ids=[target], starred=True)
    update = await linked.expect("msg_update", id=target, changes={"star": True})
    assert update["changes"] == {"star": True}
    entry = await last_entry(sim)
    assert (entry["kind"], entry["message_id"], entry["starred"]) == ("star", target, True)
    assert (await sim.control.message(target))["starred"] is True

    incoming = next(
        k for k in sim.account.chat_keys(chat) if not sim.account.messages[k].wire["id"]["fromMe"]
    )
    reply = await linked.call("delete", message_ids=[incoming], everyone=True)
    assert reply["error"]["status"] == 403
    await linked.ok("delete", message_ids=[incoming], everyone=False)
    await linked.expect("msg_remove", id=incoming)
    entry = await last_entry(sim)
    assert (entry["kind"], entry["message_id"], entry["everyone"]) == ("delete", incoming, False)

    sent = await linked.ok("send_message", chat=chat, msg=own_msg(chat, "oops"))
    key = sent["msg"]["id"]["_serialized"]
    await linked.ok("delete", message_ids=[key], everyone=True)
    await linked.expect("msg_update", id=key, changes={"type": "revoked", "body": ""})
    assert (await sim.control.message(key))["revoked"] is True
    reply = await linked.call("star", message_ids=["false_1234567@c.us_NOPE"], starred=True)
    assert reply["error"]["status"] == 404


@pytest.mark.parametrize(
    ("action", "extra", "check"),
    [
        ("archive", {}, lambda c: c["archive"] is True and c["pin"] == 0),
        ("pin", {}, lambda c: c["pin"] > 0),
        ("mute", {"expiration": -1}, lambda c: c["muteExpiration"] == -1),
        ("mute", {"expiration": 4102444800}, lambda c: c["muteExpiration"] == 4102444800),
        ("unmute", {}, lambda c: c["muteExpiration"] == 0),
        ("seen", {}, lambda c: c["unreadCount"] == 0),
        ("mark_unread", {}, lambda c: c["unreadCount"] != 0),
    ],
)
async def test_chat_actions(
    sim: Simulator, linked: PageClient, action: str, extra: dict[str, Any], check: Any
) -> None:
    chat = direct_chat(sim)
    await linked.ok("chat_action", chat=chat, action=action, **extra)
    upsert = await linked.expect("chat_upsert")
    assert upsert["chat"]["id"] == chat
    assert check(upsert["chat"])
    entry = await last_entry(sim)
    assert entry["kind"] == "chat"
    assert entry["chat"] == chat
    assert entry["action"] == action
    if action == "mute":
        assert entry["expiration"] == extra["expiration"]


async def test_chat_clear_and_delete(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    keys = list(sim.account.chat_keys(chat))
    await linked.ok("chat_action", chat=chat, action="clear")
    removed = {(await linked.expect("msg_remove"))["id"] for _ in keys}
    assert removed == set(keys)
    await linked.ok("chat_action", chat=chat, action="delete")
    await linked.expect("chat_remove", id=chat)
    assert chat not in {c["id"] for c in await sim.control.chats()}
    reply = await linked.call("chat_action", chat=chat, action="archive")
    assert reply["error"]["status"] == 404
    reply = await linked.call("chat_action", chat=direct_chat(sim), action="fly")
    assert reply["error"]["status"] == 400
    assert [e["action"] for e in await sim.control.sent()] == ["clear", "delete"]


async def test_chat_state_presence_profile(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    await linked.ok("chat_state", chat=chat, state="composing")
    await linked.ok("presence", available=True)
    await linked.ok("profile", field="pushname", value="New Name")
    assert (await linked.expect("me"))["changes"] == {"pushname": "New Name"}
    await linked.ok("profile", field="status", value="Busy")
    entries = await sim.control.sent()
    assert [
        (e["kind"], e.get("state"), e.get("available"), e.get("field"), e.get("value"))
        for e in entries
    ] == [
        ("chat_state", "composing", None, None, None),
        ("presence", None, True, None, None),
        ("profile", None, None, "pushname", "New Name"),
        ("profile", None, None, "status", "Busy"),
    ]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert (await sim.control.state())["me"]["pushname"] == "New Name"
    assert (await linked.ok("status_get", id=sim.account.me.id)) == {"status": "Busy"}
    reply = await linked.call("chat_state", chat=chat, state="dancing")
    assert reply["error"]["status"] == 400


async def test_contacts_ops(sim: Simulator, linked: PageClient) -> None:
    lid_contact = next(c for c in sim.account.contacts.values() if c.id.endswith("@lid"))
    assert await linked.ok("query_exists", id=lid_contact.phone_number) == {
        "exists": True,
        "id": lid_contact.phone_number,
        "lid": lid_contact.id,
    }
    assert await linked.ok("query_exists", id="15550000001@c.us") == {"exists": False}
    status = await linked.ok("status_get", id=lid_contact.id)
    assert status == {"status": lid_contact.about}
    target = next(
        c for c in sim.account.contacts.values() if not c.is_blocked and c.id.endswith("@c.us")
    )
    # The block list holds LIDs: a phone number is refused, the contact's LID blocks it.
    refused = await linked.call("contact_block", contact=target.id, blocked=True)
    assert refused["error"]["status"] == 400
    assert "LID" in refused["error"]["message"]
    await linked.ok("contact_block", contact=target.lid, blocked=True)
    upsert = await linked.expect("contact_upsert")
    assert upsert["contact"]["isBlocked"] is True
    assert target.lid in sim.account.blocklist()
    entry = await last_entry(sim)
    assert (entry["kind"], entry["action"], entry["contact"], entry["lid"]) == (
        "contact",
        "block",
        target.id,
        target.lid,
    )
    await linked.ok("contact_block", contact=target.lid, blocked=False)
    assert (await last_entry(sim))["action"] == "unblock"
    group = sim.account.groups[admin_group(sim)]
    member = next(p.id for p in group.participants if not sim.account.is_me(p.id))
    groups = await linked.ok("common_groups", contact=member)
    assert group.id in groups["groups"]


async def test_group_create_and_participants(sim: Simulator, linked: PageClient) -> None:
    known = [
        c.id
        for c in sim.account.contacts.values()
        if c.is_wa_contact and not c.group_add_privacy and c.id.endswith("@c.us")
    ][:2]
    private = next(c.id for c in sim.account.contacts.values() if c.group_add_privacy)
    unknown = "15550000002@c.us"
    result = await linked.ok(
        "group_create", title="Weekend", participants=[*known, private, unknown], options={}
    )
    gid = result["gid"]
    assert re.fullmatch(r"\d+@g\.us", gid)
    codes = {r["id"]: r["code"] for r in result["participants"]}
    assert codes == {known[0]: 200, known[1]: 200, private: 403, unknown: 404}
    assert await linked.expect("chat_upsert", where=lambda f: f["chat"]["id"] == gid)
    upsert = await linked.expect("group_upsert")
    assert upsert["group"]["subject"] == "Weekend"
    assert {p["id"] for p in upsert["group"]["participants"]} == {sim.account.me.id, *known}
    entry = await last_entry(sim)
    assert (entry["kind"], entry["action"], entry["group"], entry["value"]) == (
        "group",
        "create",
        gid,
        "Weekend",
    )
    assert entry["participants"] == [*known, private, unknown]

    extra = next(
        c.id
        for c in sim.account.contacts.values()
        if c.is_wa_contact
        and not c.group_add_privacy
        and c.id not in known
        and c.id.endswith("@c.us")
    )
    result = await linked.ok(
        "group_participants", group=gid, action="add", participants=[extra, known[0]]
    )
    assert result["results"] == [{"id": extra, "code": 200}, {"id": known[0], "code": 409}]
    result = await linked.ok(
        "group_participants", group=gid, action="promote", participants=[extra]
    )
    assert result["results"] == [{"id": extra, "code": 200}]
    result = await linked.ok(
        "group_participants", group=gid, action="remove", participants=[known[1], unknown]
    )
    assert result["results"] == [{"id": known[1], "code": 200}, {"id": unknown, "code": 404}]
    actions = [e["action"] for e in await sim.control.sent()]
    assert actions == ["create", "add", "promote", "remove"]
    meta = await linked.ok("group_metadata", group=gid)
    assert {p["id"] for p in meta["group"]["participants"]} == {sim.account.me.id, known[0], extra}


async def test_group_admin_rules(sim: Simulator, linked: PageClient) -> None:
    gid = member_group(sim)
    reply = await linked.call("group_property", group=gid, property="announcement", value=True)
    assert reply["error"]["status"] == 403
    reply = await linked.call("group_invite_code", group=gid)
    assert reply["error"]["status"] == 403
    reply = await linked.call(
        "group_participants", group=gid, action="add", participants=["15550000003@c.us"]
    )
    assert reply["error"]["status"] == 403
    reply = await linked.call("group_metadata", group="1203630000000000@g.us")
    assert reply["error"]["status"] == 404
    assert await sim.control.sent() == []


async def test_group_info_ops(sim: Simulator, linked: PageClient) -> None:
    gid = admin_group(sim)
    await linked.ok("group_subject", group=gid, value="Renamed")
    gp2 = await linked.expect("msg_add", where=lambda f: f["msg"].get("subtype") == "subject")
    assert gp2["msg"]["type"] == "gp2"
    assert gp2["msg"]["author"] in (sim.account.me.id, sim.account.me.lid)
    await linked.ok("group_description", group=gid, value="New description")
    await linked.expect("msg_add", where=lambda f: f["msg"].get("subtype") == "description")
    await linked.ok("group_property", group=gid, property="announcement", value=True)
    upsert = await linked.expect("group_upsert", where=lambda f: f["group"]["announce"])
    assert upsert["group"]["desc"] == "New description"
    await linked.ok("group_property", group=gid, property="member_add_mode", value=True)
    code = (await linked.ok("group_invite_code", group=gid))["code"]
    new_code = (await linked.ok("group_revoke_invite", group=gid))["code"]
    assert code != new_code
    assert len(new_code) == 22
    entries = await sim.control.sent()
    assert [(e["kind"], e["action"]) for e in entries] == [
        ("group", "subject"),
        ("group", "description"),
        ("group", "property"),
        ("group", "property"),
        ("group", "invite_code"),
        ("group", "revoke_invite"),
    ]
    assert entries[0]["value"] == "Renamed"
    assert entries[4]["value"] == code
    reply = await linked.call("group_join", code=code)
    assert reply["error"]["status"] == 404
    await linked.ok("group_leave", group=gid)
    assert (await last_entry(sim))["action"] == "leave"
    reply = await linked.call("group_subject", group=gid, value="again")
    assert reply["error"]["status"] == 403


async def test_group_join_by_invite(sim: Simulator, linked: PageClient) -> None:
    joinable = next(g for g in sim.account.groups.values() if g.id not in sim.account.chats)
    result = await linked.ok("group_join", code=f"https://chat.whatsapp.com/{joinable.invite_code}")
    assert result == {"gid": joinable.id}
    await linked.expect("chat_upsert", where=lambda f: f["chat"]["id"] == joinable.id)
    await linked.expect("group_upsert", where=lambda f: f["group"]["id"] == joinable.id)
    entry = await last_entry(sim)
    assert (entry["action"], entry["group"]) == ("join", joinable.id)
    assert joinable.id in {c["id"] for c in await sim.control.chats()}


async def test_link_preview_and_misc(sim: Simulator, linked: PageClient) -> None:
    data = (await linked.ok("link_preview", url="https://example.org/a"))["data"]
    assert data["canonicalUrl"] == "https://example.org/a"
    assert data["matchedText"] == "https://example.org/a"
    assert data["title"]
    reply = await linked.call("link_preview", url="ftp://x")
    assert reply["error"]["status"] == 400
    reply = await linked.call("load_earlier", chat=direct_chat(sim), count="many")
    assert reply["error"]["status"] == 400
    assert await sim.control.sent() == []


async def test_ops_reach_other_pages(sim: Simulator, make_page: MakePage) -> None:
    first = make_page(sim)
    await link_page(sim, first)
    second = make_page(sim)
    await link_page(sim, second)
    chat = direct_chat(sim)
    sent = await first.ok("send_message", chat=chat, msg=own_msg(chat, "to both"))
    added = await second.expect("msg_add")
    assert added["msg"]["id"] == sent["msg"]["id"]
    await first.no_frame("msg_add", wait=0.2)
    await first.ok("chat_action", chat=chat, action="archive")
    assert await second.expect("chat_upsert", where=lambda f: f["chat"]["archive"])


async def test_ack_waits_for_a_message_still_being_sent(sim: Simulator, linked: PageClient) -> None:
    chat = direct_chat(sim)
    msg = own_msg(chat, "in flight")
    key = msg["id"]["_serialized"]
    # The phone's ack is requested before the page's send_message reached the server.
    ack = asyncio.ensure_future(sim.control.ack(key, 2))
    await asyncio.sleep(0.2)
    assert not ack.done()
    await linked.ok("send_message", chat=chat, msg=msg)
    await asyncio.wait_for(ack, timeout=5)
    update = await linked.expect("msg_update", id=key)
    assert update["changes"] == {"ack": 2}
    assert (await sim.control.message(key))["ack"] == 2
