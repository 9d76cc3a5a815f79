"""The control API (`docs/internals.md` §1): every route, good and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from simulator.generations import DEFAULT_GENERATION
from simulator.testing import ControlError, Simulator

from .conftest import PageClient, link_page

if TYPE_CHECKING:
    import aiohttp

type MakePage = Callable[[Simulator], PageClient]

BAD_INPUT: list[tuple[str, str, Any, str]] = [
    ("POST", "_sim/link", {}, "qr"),
    ("POST", "_sim/link", {"qr": 5}, "qr"),
    ("POST", "_sim/link", {"code": ["x"]}, "code"),
    ("POST", "_sim/link", "not an object", "body"),
    ("POST", "_sim/incoming", {}, "chat"),
    ("POST", "_sim/incoming", {"chat": "not-an-id"}, "chat"),
    ("POST", "_sim/incoming", {"chat": "{direct}", "body": 7}, "body"),
    ("POST", "_sim/incoming", {"chat": "{direct}", "type": "hologram"}, "type"),
    ("POST", "_sim/incoming", {"chat": "{direct}", "mentions": "x"}, "mentions"),
    ("POST", "_sim/incoming", {"chat": "{direct}", "from_me": "yes"}, "from_me"),
    ("POST", "_sim/incoming", {"chat": "{group}", "body": "x"}, "author"),
    ("POST", "_sim/incoming", {"chat": "{direct}", "type": "image"}, "media"),
    (
        "POST",
        "_sim/incoming",
        {"chat": "{direct}", "media": {"mimetype": "image/png", "data_b64": "%%%"}},
        "media.data_b64",
    ),
    (
        "POST",
        "_sim/incoming",
        {"chat": "{direct}", "media": {"data_b64": "AA=="}},
        "media.mimetype",
    ),
    ("POST", "_sim/burst", {"count": 3}, "chats"),
    ("POST", "_sim/burst", {"chats": [], "count": 3}, "chats"),
    ("POST", "_sim/burst", {"chats": ["{group}"], "count": 3}, "chats"),
    ("POST", "_sim/burst", {"chats": ["{direct}"]}, "count"),
    ("POST", "_sim/burst", {"chats": ["{direct}"], "count": 0}, "count"),
    ("POST", "_sim/burst", {"chats": ["{direct}"], "count": 100_001}, "count"),
    ("POST", "_sim/traffic", {"rate": 10}, "count"),
    ("POST", "_sim/traffic", {"count": 0, "rate": 10}, "count"),
    ("POST", "_sim/traffic", {"count": 5}, "rate"),
    ("POST", "_sim/traffic", {"count": 5, "rate": 0}, "rate"),
    ("POST", "_sim/traffic", {"count": 5, "rate": "fast"}, "rate"),
    ("POST", "_sim/traffic", {"count": 5, "rate": 10, "kinds": {"hologram": 1}}, "kinds.hologram"),
    ("POST", "_sim/traffic", {"count": 5, "rate": 10, "kinds": {"text": -1}}, "kinds.text"),
    ("POST", "_sim/traffic", {"count": 5, "rate": 10, "kinds": {"text": 0}}, "kinds"),
    ("POST", "_sim/traffic", {"count": 5, "rate": 10, "groups": "all"}, "groups"),
    ("POST", "_sim/hog", {}, "mib"),
    ("POST", "_sim/hog", {"mib": -1}, "mib"),
    ("POST", "_sim/hog", {"mib": "lots"}, "mib"),
    ("POST", "_sim/stamps", {"enabled": "yes"}, "enabled"),
    ("POST", "_sim/ack", {"id": "{message}"}, "ack"),
    ("POST", "_sim/ack", {"id": "{message}", "ack": 9}, "ack"),
    ("POST", "_sim/ack", {"id": "{message}", "ack": True}, "ack"),
    ("POST", "_sim/ack", {"ack": 2}, "id"),
    ("POST", "_sim/react", {"id": "{message}"}, "emoji"),
    ("POST", "_sim/react", {"id": "{message}", "emoji": "x", "from": "bad"}, "from"),
    ("POST", "_sim/revoke", {"id": 3}, "id"),
    ("POST", "_sim/group", {"group": "{group}", "action": "explode"}, "action"),
    ("POST", "_sim/group", {"group": "123@c.us", "action": "subject", "value": "x"}, "group"),
    ("POST", "_sim/group", {"group": "{group}", "action": "subject"}, "value"),
    ("POST", "_sim/group", {"group": "{group}", "action": "add"}, "participants"),
    ("POST", "_sim/group", {"group": "{group}", "action": "announce", "value": "on"}, "value"),
    ("POST", "_sim/call", {}, "from"),
    ("POST", "_sim/call", {"from": "{direct}", "is_video": "no"}, "is_video"),
    ("POST", "_sim/connection", {"action": "explode"}, "action"),
    ("POST", "_sim/connection", {}, "action"),
    ("POST", "_sim/offline", {"messages": "3"}, "messages"),
    ("POST", "_sim/offline", {"messages": -1}, "messages"),
    ("POST", "_sim/offline", {"messages": 1, "chat": "zz"}, "chat"),
    ("POST", "_sim/fault", {"missing_module": 3}, "missing_module"),
    ("POST", "_sim/fault", {"missing_member": "NoDot"}, "missing_member"),
    ("POST", "_sim/fault", {"something": "else"}, "something"),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, real in ids.items():
            value = value.replace("{" + name + "}", real)
        return value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


def sample_ids(simulator: Simulator) -> dict[str, str]:
    account = simulator.account
    direct = next(c.id for c in account.chat_order() if not c.is_group)
    group = next(c.id for c in account.chat_order() if c.is_group)
    return {"direct": direct, "group": group, "message": account.chat_keys(direct)[-1]}


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_INPUT)
async def test_bad_input_is_400_naming_the_field(  # noqa: PLR0917
    sim: Simulator,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any,
    field: str,
) -> None:
    payload = fill(body, sample_ids(sim))
    async with session.request(method, sim.url + path, json=payload) as resp:
        assert resp.status == 400
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        data = await resp.json()
    assert data["error"]["field"] == field
    assert isinstance(data["error"]["message"], str)
    assert data["error"]["message"]


@pytest.mark.parametrize(
    "path", ["_sim/link", "_sim/incoming", "_sim/ack", "_sim/group", "_sim/connection"]
)
async def test_non_json_body_is_400(
    sim: Simulator, session: aiohttp.ClientSession, path: str
) -> None:
    async with session.post(sim.url + path, data=b"{not json") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["field"] == "body"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("_sim/ack", {"id": "false_1234567@c.us_3AFFFF", "ack": 2}, "id"),
        ("_sim/react", {"id": "false_1234567@c.us_3AFFFF", "emoji": "x"}, "id"),
        ("_sim/revoke", {"id": "false_1234567@c.us_3AFFFF"}, "id"),
        ("_sim/group", {"group": "1203630000000@g.us", "action": "subject", "value": "x"}, "group"),
        ("_sim/incoming", {"chat": "1203630000000@g.us", "author": "123456@c.us"}, "chat"),
        ("_sim/incoming", {"chat": "{direct}", "quoted_id": "false_1234567@c.us_X"}, "quoted_id"),
        ("_sim/offline", {"messages": 1, "chat": "1234567@c.us"}, "chat"),
        ("_sim/burst", {"chats": ["{direct}", "1234567@c.us"], "count": 2}, "chats"),
    ],
)
async def test_unknown_ids_are_404(
    sim: Simulator, session: aiohttp.ClientSession, path: str, body: Any, field: str
) -> None:
    async with session.post(sim.url + path, json=fill(body, sample_ids(sim))) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["field"] == field


async def test_unknown_message_route_is_404(sim: Simulator) -> None:
    with pytest.raises(ControlError) as err:
        await sim.control.message("false_1234567@c.us_3AFFFF")
    assert err.value.status == 404


async def test_cors_and_preflight(sim: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.options(
        sim.url + "_sim/incoming",
        headers={"Origin": "https://web.whatsapp.com", "Access-Control-Request-Method": "POST"},
    ) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    for path in ("_sim/state", "_sim/sent", "_sim/chats"):
        async with session.get(sim.url + path) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_state_route(sim: Simulator) -> None:
    state = await sim.control.state()
    assert state == {
        "state": None,
        "linked": False,
        "me": sim.account.me.wire(),
        "qr": None,
        "pairing_code": None,
        "version": "2.3000.1017054665",
        "pages": 0,
        "connection": "online",
        "devices": 0,
        "surface": DEFAULT_GENERATION,
    }
    assert state["me"]["id"].endswith("@c.us")
    assert state["me"]["lid"].endswith("@lid")
    assert state["me"]["platform"] == "android"


async def test_chats_route_is_the_server_truth(sim: Simulator) -> None:
    chats = await sim.control.chats()
    assert [c["id"] for c in chats] == [c.id for c in sim.account.chat_order()]
    assert chats[0]["pinned"]
    assert chats[1]["pinned"]
    assert not any(c["pinned"] for c in chats[2:])
    assert any(c["archived"] for c in chats)
    assert any(c["muted_until"] == -1 for c in chats)
    assert any(c["muted_until"] > 0 for c in chats)
    assert any(c["unread_count"] > 0 for c in chats)
    assert any(c["is_group"] for c in chats)
    assert all(c["messages"] == 6 for c in chats)


async def test_incoming_creates_new_direct_chat_and_contact(
    sim: Simulator, make_page: MakePage
) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    stranger = "15550009999@c.us"
    key = await sim.control.incoming(stranger, "hello there")
    contact = await page.expect("contact_upsert")
    assert contact["contact"]["id"] == stranger
    chat = await page.expect("chat_upsert")
    assert chat["chat"]["id"] == stranger
    assert chat["chat"]["unreadCount"] == 1
    msg = (await page.expect("msg_add"))["msg"]
    assert msg["from"] == stranger
    assert msg["to"] == sim.account.me.id
    assert key == f"false_{stranger}_{msg['id']['id']}"
    chats = {c["id"]: c for c in await sim.control.chats()}
    assert chats[stranger]["unread_count"] == 1


async def test_incoming_from_lid_and_from_me(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    lid_contact = next(c for c in sim.account.contacts.values() if c.id.endswith("@lid"))
    key = await sim.control.incoming(lid_contact.id, "from a lid")
    msg = (await page.expect("msg_add"))["msg"]
    assert msg["from"] == lid_contact.id
    assert msg["id"]["_serialized"] == key
    # The same contact addressed by phone number resolves to the same chat id given as `from`.
    key2 = await sim.control.incoming(
        lid_contact.id, "by phone", **{"from": lid_contact.phone_number}
    )
    assert (await sim.control.message(key2))["from"] == lid_contact.phone_number
    mine = await sim.control.incoming(lid_contact.id, "typed on the phone", from_me=True)
    truth = await sim.control.message(mine)
    assert truth["key"]["fromMe"] is True
    assert mine.startswith(f"true_{lid_contact.id}_")
    # In a chat with an @lid contact, my own messages come from my LID.
    assert truth["from"] == sim.account.me.lid
    chats = {c["id"]: c for c in await sim.control.chats()}
    assert chats[lid_contact.id]["unread_count"] == 0


async def test_ack_react_revoke_push_updates(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    ids = sample_ids(sim)
    own = await sim.control.incoming(ids["direct"], "sent from the phone", from_me=True)
    await page.expect("msg_add")
    await sim.control.ack(own, 3)
    update = await page.expect("msg_update")
    assert update == {"t": "msg_update", "id": own, "changes": {"ack": 3}}
    assert (await sim.control.message(own))["ack"] == 3

    await sim.control.react(ids["message"], "👍")
    row = (await page.expect("reaction"))["row"]
    assert row["reactionText"] == "👍"
    assert row["reactionParentKey"]["_serialized"] == ids["message"]
    assert row["from"] == ids["direct"]
    assert row["orphan"] == 0
    assert row["read"] is False
    assert row["ack"] == 1
    assert isinstance(row["reactionTimestamp"], int)
    assert row["reactionTimestamp"] > 1_600_000_000_000
    truth = await sim.control.message(ids["message"])
    assert truth["reactions"] == {ids["direct"]: "👍"}
    await sim.control.react(ids["message"], "")
    assert (await page.expect("reaction"))["row"]["reactionText"] == ""
    assert (await sim.control.message(ids["message"]))["reactions"] == {}

    await sim.control.revoke(ids["message"])
    update = await page.expect(
        "msg_update", id=ids["message"], changes={"type": "revoked", "body": ""}
    )
    assert update["changes"] == {"type": "revoked", "body": ""}
    truth = await sim.control.message(ids["message"])
    assert truth["revoked"] is True
    assert truth["type"] == "revoked"


async def test_group_route_changes_group_and_notifies(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    group_id = sample_ids(sim)["group"]
    group = sim.account.groups[group_id]
    newcomer = "4915550001111@c.us"
    page.drain()
    gp2_id = await sim.control.group(group_id, "add", participants=[newcomer])
    upsert = await page.expect("group_upsert")
    assert newcomer in [p["id"] for p in upsert["group"]["participants"]]
    msg = (await page.expect("msg_add"))["msg"]
    assert msg["id"]["_serialized"] == gp2_id
    assert msg["type"] == "gp2"
    assert msg["subtype"] == "add"
    assert msg["recipients"] == [newcomer]
    assert msg["author"] == group.owner

    page.drain()
    await sim.control.group(group_id, "subject", value="New name", author=newcomer)
    upsert = await page.expect("group_upsert")
    assert upsert["group"]["subject"] == "New name"
    msg = (await page.expect("msg_add"))["msg"]
    assert (msg["subtype"], msg["author"]) == ("subject", newcomer)
    chats = {c["id"]: c for c in await sim.control.chats()}
    assert chats[group_id]["name"] == "New name"

    page.drain()
    await sim.control.group(group_id, "promote", participants=[newcomer])
    upsert = await page.expect("group_upsert")
    promoted = next(p for p in upsert["group"]["participants"] if p["id"] == newcomer)
    assert promoted["isAdmin"] is True

    page.drain()
    await sim.control.group(group_id, "announce", value=True)
    assert (await page.expect("group_upsert"))["group"]["announce"] is True
    page.drain()
    await sim.control.group(group_id, "description", value="About us")
    assert (await page.expect("group_upsert"))["group"]["desc"] == "About us"
    page.drain()
    await sim.control.group(group_id, "picture")
    picture = await page.expect("msg_add", where=lambda f: f["msg"]["subtype"] == "picture")
    assert picture["msg"]["author"] == group.owner
    before = len(group.participants)
    await sim.control.group(group_id, "leave", author=newcomer)
    upsert = await page.expect(
        "group_upsert", where=lambda f: len(f["group"]["participants"]) < before
    )
    assert newcomer not in [p["id"] for p in upsert["group"]["participants"]]
    with pytest.raises(ControlError) as err:
        await sim.control.group(group_id, "demote", participants=["4915550002222@c.us"])
    assert err.value.status == 404


async def test_call_route(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    caller = sample_ids(sim)["direct"]
    call_id = await sim.control.call(caller, is_video=True)
    call = (await page.expect("call_add"))["call"]
    assert call == {
        "id": call_id,
        "peerJid": caller,
        "offerTime": call["offerTime"],
        "isVideo": True,
        "isGroup": False,
        "outgoing": False,
        "canHandleLocally": True,
        "webClientShouldHandle": True,
        "participants": [],
    }


async def test_reset_restores_seed_and_unlinks(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    device = await link_page(sim, page)
    ids = sample_ids(sim)
    await sim.control.incoming(ids["direct"], "extra")
    await page.ok("presence", available=True)
    await sim.control.fault(missing_module="WAWebCmd")
    before = len(sim.account.chat_keys(ids["direct"]))
    await sim.control.reset()
    with pytest.raises(ConnectionError):
        await page.expect("never", timeout=2)
    state = await sim.control.state()
    assert state["linked"] is False
    assert state["connection"] == "online"
    assert await sim.control.sent() == []
    assert len(sim.account.chat_keys(ids["direct"])) == before - 1
    again = make_page(sim)
    await again.connect(device)
    first = await again.next()
    assert first["t"] == "unpaired"  # no faults frame: faults were cleared


async def test_sent_route_clear(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    await page.ok("presence", available=False)
    sent = await sim.control.sent()
    assert len(sent) == 1
    assert sent[0]["kind"] == "presence"
    assert sent[0]["seq"] == 1
    assert sent[0]["page"] == page.page_id
    await sim.control.clear_sent()
    assert await sim.control.sent() == []


async def test_phone_page_and_qr_image(
    sim: Simulator, make_page: MakePage, session: aiohttp.ClientSession
) -> None:
    async with session.get(sim.url + "_sim/phone/qr.svg") as resp:
        assert resp.status == 404
    page = make_page(sim)
    await page.connect()
    await page.expect("unpaired")
    async with session.get(sim.url + "_sim/phone") as resp:
        assert resp.status == 200
        html = await resp.text()
    assert "<svg" in html
    assert "/_sim/link" in html
    assert "/_sim/incoming" in html
    assert "/_sim/sent" in html
    assert "src=" not in html.split("<script>")[0].replace('src="data:', "")
    async with session.get(sim.url + "_sim/phone/qr.svg") as resp:
        assert resp.status == 200
        assert resp.content_type == "image/svg+xml"
        assert "<svg" in await resp.text()


async def test_mms_route_serves_media(sim: Simulator, session: aiohttp.ClientSession) -> None:
    path, blob = next(iter(sim.account.media.items()))
    async with session.get(sim.url + "_sim/mms" + path) as resp:
        assert resp.status == 200
        assert await resp.read() == blob.data
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    async with session.get(sim.url + "_sim/mms/v/unknown") as resp:
        assert resp.status == 404


async def test_offline_route_without_page_then_delivery(
    sim: Simulator, make_page: MakePage
) -> None:
    page = make_page(sim)
    device = await link_page(sim, page)
    group = sample_ids(sim)["group"]
    await sim.control.offline(2, chat=group)
    # Queued even while the page is connected: it arrives on the next connection.
    await page.no_frame("msg_add", wait=0.3)
    await page.close()
    again = make_page(sim)
    await again.connect(device, resume=True)
    assert (await again.expect("offline"))["pending"] == 2
    msgs = [(await again.expect("msg_add"))["msg"] for _ in range(2)]
    assert all(m["id"]["remote"] == group and m["author"] for m in msgs)


async def test_group_route_refuses_non_members(sim: Simulator) -> None:
    group_id = sample_ids(sim)["group"]
    for action, fields, field in (
        ("remove", {"participants": ["4915550009999@c.us"]}, "participants"),
        ("leave", {"author": "4915550009999@c.us"}, "author"),
        ("demote", {"participants": ["4915550009999@c.us"]}, "participants"),
    ):
        with pytest.raises(ControlError) as err:
            await sim.control.group(group_id, action, **fields)
        assert err.value.status == 404
        assert err.value.body["error"]["field"] == field


async def test_burst_pushes_every_message_in_order(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    chats = [c.id for c in sim.account.chat_order() if not c.is_group][:2]

    ids = await sim.control.burst(chats, 5)

    assert len(set(ids)) == 5
    pushed = [(await page.expect("msg_add"))["msg"] for _ in ids]
    assert [msg["id"]["_serialized"] for msg in pushed] == ids
    assert [msg["body"] for msg in pushed] == [f"burst {n}" for n in range(5)]
    assert [msg["from"] for msg in pushed] == [chats[n % 2] for n in range(5)]
    for n, message_id in enumerate(ids):
        truth = await sim.control.message(message_id)
        assert truth["chat"] == chats[n % 2]
        assert truth["body"] == f"burst {n}"


async def test_traffic_delivers_mixed_kinds_at_a_steady_rate(
    sim: Simulator, make_page: MakePage
) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    direct = [c.id for c in sim.account.chat_order() if not c.is_group]
    groups = [c.id for c in sim.account.chat_order() if c.is_group]
    kinds = {"text": 4, "media": 2, "reaction": 2, "ack": 1, "group": 1}
    sizes = {g: len(sim.account.groups[g].participants) for g in groups}

    started = await sim.control.traffic(40, 200, kinds=kinds, chats=3, groups=2, seed=5)

    assert started["running"] is True
    assert started["count"] == 40
    with pytest.raises(ControlError) as err:
        await sim.control.traffic(5, 10)
    assert err.value.status == 409
    status = started
    for _ in range(500):
        status = await sim.control.traffic_status()
        if not status["running"]:
            break
        await asyncio.sleep(0.05)
    assert status["error"] is None
    assert status["delivered"] == 40
    assert sum(status["by_kind"].values()) == 40
    # 40 events at 200/s take at least (40 - 1) / 200 s: the rate is kept, not a burst.
    assert status["seconds"] >= 39 / 200
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(await page.next(timeout=1.0))
    added = [f["msg"] for f in frames if f["t"] == "msg_add"]
    chats_used = {m["id"]["remote"] for m in added}
    assert chats_used <= set(direct[:3]) | set(groups[:2])
    assert any(m["type"] == "image" for m in added) == (status["by_kind"]["media"] > 0)
    assert any(m["type"] == "gp2" for m in added) == (status["by_kind"]["group"] > 0)
    reactions = [f for f in frames if f["t"] == "reaction"]
    assert len(reactions) == status["by_kind"]["reaction"]
    text_and_media = [m for m in added if m["type"] in ("chat", "image")]
    assert len(text_and_media) == status["by_kind"]["text"] + status["by_kind"]["media"]
    # Members added by group events are removed again: sizes stay within one of the start.
    for group_id, size in sizes.items():
        assert len(sim.account.groups[group_id].participants) - size in (0, 1)


async def test_stamps_report_when_the_page_added_a_message(
    sim: Simulator, make_page: MakePage
) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    direct = sample_ids(sim)["direct"]
    # Off by default: live messages carry no request for a stamp.
    unstamped = await sim.control.incoming(direct, "before")
    assert "stamp" not in await page.expect("msg_add")
    await sim.control.stamping(True)
    key = await sim.control.incoming(direct, "timed")
    frame = await page.expect("msg_add")
    assert frame["stamp"] is True
    await page.send({"t": "msg_stamp", "id": key, "at": 1_700_000_000_123.5, "wall": 1.7e12})
    assert await sim.control.message_stamp(key) == pytest.approx(1_700_000_000.1235)
    # A second page's later stamp does not replace the first.
    await page.send({"t": "msg_stamp", "id": key, "at": 1_800_000_000_000})
    assert await sim.control.message_stamp(key) == pytest.approx(1_700_000_000.1235)
    with pytest.raises(ControlError) as error:
        await sim.control.request("GET", f"_sim/stamps/{unstamped}", expect=(200,))
    assert error.value.status == 404
    assert error.value.body["error"]["field"] == "id"
    await sim.control.stamping(False)
    await sim.control.incoming(direct, "after")
    assert "stamp" not in await page.expect("msg_add")
