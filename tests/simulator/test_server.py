"""The simulator's server: the page protocol over a real WebSocket, played by a scripted page."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
import hashlib
import re
import time
from typing import Any

import aiohttp
import pytest

from simulator.generations import DEFAULT_GENERATION, NEWEST_FLAGS
from simulator.server import render_page
from simulator.testing import ControlError, Simulator

from .conftest import PageClient, SimFactory, link_page

type MakePage = Callable[[Simulator], PageClient]


async def test_unlinked_page_rotates_ref_then_goes_idle(
    make_sim: SimFactory, make_page: MakePage
) -> None:
    simulator = await make_sim(chats=3, messages=2, qr_interval=0.2, qr_max=3)
    page = make_page(simulator)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await page.connect()
    unpaired = await page.expect("unpaired")
    refs = [unpaired["ref"]]
    state = await simulator.control.state()
    assert state["qr"] == page.qr(refs[0])
    assert state["state"] == "UNPAIRED"
    assert state["linked"] is False
    assert state["pages"] == 1
    fields = state["qr"].split(",")
    assert len(fields) == 5
    assert fields[0].startswith("2@")
    assert all(len(base64.b64decode(k)) == 32 for k in fields[1:4])
    assert fields[4] == "1"
    refs.extend([(await page.expect("ref", timeout=2))["ref"] for _ in range(3)])
    idle = await page.expect("state", timeout=2)
    elapsed = loop.time() - start
    assert idle["state"] == "UNPAIRED_IDLE"
    assert len(set(refs)) == 4
    assert all(ref.startswith("2@") for ref in refs)
    # 3 rotations plus the idle step, 0.2 s apart.
    assert 0.7 <= elapsed < 3.0
    await page.no_frame("ref", wait=0.5)
    state = await simulator.control.state()
    assert state["state"] == "UNPAIRED_IDLE"
    # The page keeps its last ref, but that QR no longer links.
    assert state["qr"] == page.qr(refs[-1])
    with pytest.raises(ControlError) as err:
        await simulator.control.link(qr=page.qr(refs[-1]))
    assert err.value.status == 400
    assert err.value.body["error"]["field"] == "qr"


async def test_link_by_qr_connects_and_syncs(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await page.connect()
    unpaired = await page.expect("unpaired")
    qr = await sim.control.wait_qr()
    assert qr == page.qr(unpaired["ref"])
    assert await sim.control.link(qr=qr) == {"linked": True}
    linked = await page.expect("linked")
    assert set(linked["device"]) == {"id", "secret"}
    states = [(await page.expect("state"))["state"] for _ in range(3)]
    assert states == ["PAIRING", "OPENING", "CONNECTED"]
    sync = await page.expect("sync")
    assert sync["me"] == sim.account.me.wire()
    assert {c["id"] for c in sync["chats"]} == set(sim.account.chats)
    assert len(sync["messages"]) <= 3 * len(sync["chats"])
    offline = await page.expect("offline")
    assert offline["pending"] == 0
    await page.expect("offline_done")
    state = await sim.control.wait_linked()
    assert state["qr"] is None
    # The order is part of the protocol: linked, states, sync, offline, offline_done.
    kinds = [f["t"] for f in page.frames]
    assert kinds == [
        "unpaired",
        "linked",
        "state",
        "state",
        "state",
        "sync",
        "offline",
        "offline_done",
    ]


async def test_wrong_link_attempts_are_refused(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await page.connect()
    unpaired = await page.expect("unpaired")
    good = page.qr(unpaired["ref"])
    for bad in (good + "x", good.replace("2@", "2@x", 1), "2@abc,a,b,c,1"):
        with pytest.raises(ControlError) as err:
            await sim.control.link(qr=bad)
        assert err.value.status == 400
        assert err.value.body["error"]["field"] == "qr"
    with pytest.raises(ControlError) as err:
        await sim.control.link(code="ABCDEFGH")
    assert err.value.body["error"]["field"] == "code"
    assert (await sim.control.state())["linked"] is False
    await page.no_frame("linked", wait=0.2)


async def test_link_by_pairing_code(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await page.connect()
    await page.expect("unpaired")
    bad = await page.call("request_pairing_code", phone="12ab")
    assert not bad["ok"]
    assert bad["error"]["status"] == 400
    assert "phone" in bad["error"]["message"]
    result = await page.ok("request_pairing_code", phone="4915112345678")
    code = result["code"]
    assert re.fullmatch(r"[ABCDEFGHJKLMNPQRSTVWXYZ0-9]{8}", code)
    assert (await sim.control.state())["pairing_code"] == code
    other = make_page(sim)
    await other.connect()
    await other.expect("unpaired")
    await sim.control.link(code=code)
    await page.expect("linked")
    await page.expect("offline_done")
    await other.no_frame("linked", wait=0.2)
    # A used code does not link again.
    with pytest.raises(ControlError) as err:
        await sim.control.link(code=code)
    assert err.value.body["error"]["field"] == "code"


async def test_known_device_reconnects_connected_with_sync(
    sim: Simulator, make_page: MakePage
) -> None:
    first = make_page(sim)
    device = await link_page(sim, first)
    await first.close()
    second = make_page(sim)
    await second.connect(device)
    assert (await second.next())["t"] == "state"
    assert second.frames[0]["state"] == "CONNECTED"
    sync = await second.expect("sync")
    assert len(sync["chats"]) == len(sim.account.chats)
    await second.expect("offline_done")
    assert all(f["t"] not in ("unpaired", "linked") for f in second.frames)
    # A wrong secret is an unknown device: QR again.
    third = make_page(sim)
    await third.connect({"id": device["id"], "secret": "0" * 64})
    await third.expect("unpaired")


async def test_offline_queue_delivered_once(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    device = await link_page(sim, page)
    await page.close()
    await sim.control.wait_for(sim.control.state, lambda s: s["pages"] == 0)
    chat = next(c for c in sim.account.chat_order() if not c.is_group)
    sent_id = await sim.control.incoming(chat.id, "while you were away")
    await sim.control.offline(3)
    again = make_page(sim)
    await again.connect(device)
    sync = await again.expect("sync")
    assert sent_id not in {m["id"]["_serialized"] for m in sync["messages"]}
    offline = await again.expect("offline")
    assert offline["pending"] == 4
    adds = [await again.expect("msg_add") for _ in range(4)]
    assert adds[0]["msg"]["id"]["_serialized"] == sent_id
    assert adds[0]["msg"]["body"] == "while you were away"
    assert all(a["msg"]["isNewMsg"] is True for a in adds)
    await again.expect("offline_done")
    await again.close()
    # Delivered once: the next connection has nothing pending, the snapshot has the message.
    third = make_page(sim)
    await third.connect(device)
    sync = await third.expect("sync")
    assert (await third.expect("offline"))["pending"] == 0
    assert sent_id in {m["id"]["_serialized"] for m in sync["messages"]} or any(
        k == sent_id for k in sim.account.chat_keys(chat.id)
    )


async def test_resume_gets_only_offline_delivery(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    device = await link_page(sim, page)
    await page.close()
    await sim.control.wait_for(sim.control.state, lambda s: s["pages"] == 0)
    await sim.control.offline(2)
    again = make_page(sim)
    await again.connect(device, resume=True)
    assert (await again.expect("offline"))["pending"] == 2
    await again.expect("offline_done")
    assert "sync" not in [f["t"] for f in again.frames]


async def test_live_incoming_message(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    group_id = next(g for g in sim.account.groups if g in sim.account.chats)
    author = next(
        p.id for p in sim.account.groups[group_id].participants if not sim.account.is_me(p.id)
    )
    key = await sim.control.incoming(group_id, "hi group", author=author, mentions=[author])
    upsert = await page.expect("chat_upsert")
    assert upsert["chat"]["id"] == group_id
    added = await page.expect("msg_add")
    msg = added["msg"]
    assert msg["id"]["_serialized"] == key
    assert key == f"false_{group_id}_{msg['id']['id']}_{author}"
    # Key ids as Android phones make them today: longer than 25 characters.
    assert re.fullmatch(r"[0-9A-F]{32}", msg["id"]["id"])
    assert msg["author"] == author
    assert msg["mentionedJidList"] == [author]
    assert msg["isNewMsg"] is True
    truth = await sim.control.message(key)
    assert truth["chat"] == group_id
    assert truth["body"] == "hi group"


async def test_incoming_media_bytes_downloadable(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    chat = next(c.id for c in sim.account.chat_order() if not c.is_group)
    key = await sim.control.incoming(
        chat,
        "a caption",
        media={"mimetype": "image/png", "data_b64": base64.b64encode(data).decode()},
    )
    msg = (await page.expect("msg_add"))["msg"]
    assert msg["id"]["_serialized"] == key
    assert msg["type"] == "image"
    assert msg["caption"] == "a caption"
    assert msg["size"] == len(data)
    assert msg["filehash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    download = await page.ok("media_download", directPath=msg["directPath"])
    assert base64.b64decode(download["data_b64"]) == data
    assert download["mimetype"] == "image/png"
    missing = await page.call("media_download", directPath="/v/nope")
    assert missing["error"]["status"] == 404


async def test_seeded_media_are_valid_files(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    signatures = {
        "image": b"\x89PNG",
        "sticker": b"RIFF",
        "audio": b"RIFF",
        "ptt": b"OggS",
        "document": b"%PDF",
        "video": b"\x00\x00\x00",
    }
    seen = set()
    for message in sim.account.messages.values():
        kind = message.wire["type"]
        if kind in signatures and kind not in seen:
            seen.add(kind)
            result = await page.ok("media_download", directPath=message.wire["directPath"])
            data = base64.b64decode(result["data_b64"])
            assert data.startswith(signatures[kind]), kind
            assert len(data) == message.wire["size"]
            digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
            assert digest == message.wire["filehash"]
    assert seen == set(signatures)


async def test_drop_and_restore(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    device = await link_page(sim, page)
    await sim.control.connection("drop")
    with pytest.raises(ConnectionError):
        await page.expect("never", timeout=2)
    state = await sim.control.state()
    assert state["connection"] == "dropped"
    assert state["pages"] == 0
    refused = make_page(sim)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await refused.connect(device)
    assert err.value.status == 503
    chat = next(c.id for c in sim.account.chat_order() if not c.is_group)
    key = await sim.control.incoming(chat, "during the outage")
    await sim.control.connection("restore")
    back = make_page(sim)
    await back.connect(device, resume=True)
    assert (await back.expect("offline"))["pending"] == 1
    assert (await back.expect("msg_add"))["msg"]["id"]["_serialized"] == key
    await back.expect("offline_done")
    assert (await sim.control.state())["connection"] == "online"


async def test_conflict_then_takeover(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    await sim.control.connection("conflict")
    assert (await page.expect("state"))["state"] == "CONFLICT"
    assert (await sim.control.state())["state"] == "CONFLICT"
    await page.ok("takeover")
    assert (await page.expect("state"))["state"] == "CONNECTED"
    await sim.control.connection("conflict")
    assert (await page.expect("state"))["state"] == "CONFLICT"
    await sim.control.connection("restore")
    assert (await page.expect("state"))["state"] == "CONNECTED"


async def test_deprecate_pushes_state(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    await sim.control.connection("deprecate")
    assert (await page.expect("state"))["state"] == "DEPRECATED_VERSION"
    assert (await sim.control.state())["connection"] == "deprecated"


async def test_logout_from_phone(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    device = await link_page(sim, page)
    await sim.control.connection("logout")
    await page.expect("logout")
    assert (await sim.control.state())["linked"] is False
    again = make_page(sim)
    await again.connect(device)
    await again.expect("unpaired")


async def test_logout_from_page(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await link_page(sim, page)
    assert await page.ok("logout") == {}
    await page.expect("logout")
    assert sim.account.devices == {}


async def test_faults_pushed_now_and_after_hello(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await page.connect()
    await page.expect("unpaired")

    async def fault_applied_by_page(**fault: str) -> dict[str, Any]:
        """Set a fault; the route answers only once the page said it applied it."""
        request = asyncio.create_task(sim.control.fault(**fault))
        frame = await page.expect("faults")
        await asyncio.sleep(0.1)
        assert not request.done(), "the route waits for the page"
        await page.send({"t": "faults_applied", "seq": frame["seq"]})
        async with asyncio.timeout(1):
            await request
        return frame

    frame = await fault_applied_by_page(missing_module="WAWebCollections")
    assert frame == {"t": "faults", "seq": 1, "modules": ["WAWebCollections"], "members": []}
    frame = await fault_applied_by_page(missing_member="WAWebCmd.Cmd.openChatAt")
    assert frame["members"] == ["WAWebCmd.Cmd.openChatAt"]
    newcomer = make_page(sim)
    await newcomer.connect()
    first = await newcomer.next()
    assert first["t"] == "faults"
    assert first["modules"] == ["WAWebCollections"]
    await newcomer.close()
    assert (await fault_applied_by_page()) == {
        "t": "faults",
        "seq": 3,
        "modules": [],
        "members": [],
    }


async def test_bad_hello_closes_socket(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    assert page.ws is None
    page.ws = await page.session.ws_connect(sim.ws_url)
    await page.send({"t": "hello", "device": None, "keys": {"noise": 1}})
    with pytest.raises(ConnectionError):
        await page.next(timeout=2)
    # The server keeps working.
    assert (await sim.control.state())["pages"] == 0


async def test_snapshot_pages_through_load_earlier(sim: Simulator, make_page: MakePage) -> None:
    page = make_page(sim)
    await page.connect()
    unpaired = await page.expect("unpaired")
    await sim.control.link(qr=page.qr(unpaired["ref"]))
    sync = await page.expect("sync")
    chat = sync["chats"][0]["id"]
    in_sync = [m for m in sync["messages"] if m["id"]["remote"] == chat]
    assert len(in_sync) == 3
    keys = sim.account.chat_keys(chat)
    assert [m["id"]["_serialized"] for m in in_sync] == keys[-3:]
    older = await page.ok("load_earlier", chat=chat, before=keys[-3], count=2)
    assert [m["id"]["_serialized"] for m in older["msgs"]] == keys[-5:-3]
    rest = await page.ok("load_earlier", chat=chat, before=keys[-5], count=100)
    assert [m["id"]["_serialized"] for m in rest["msgs"]] == keys[:-5]
    got = await page.ok("get_messages", ids=[keys[0], "false_1@c.us_NOPE"])
    assert [m["id"]["_serialized"] for m in got["msgs"]] == [keys[0]]


async def test_page_html(sim: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.get(sim.url) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        text = await resp.text()
    match = re.search(
        r'<script type="application/json" id="wa-sim-config">(.*?)</script>\s*<script>', text, re.S
    )
    assert match is not None
    port = sim.url.rsplit(":", 1)[1].rstrip("/")
    config = __import__("json").loads(match.group(1))
    assert config == {
        "ws": f"ws://127.0.0.1:{port}/_sim/ws",
        "version": "2.3000.1017054665",
        "platform": "1",
        "faults": {"modules": [], "members": []},
        "recordCalls": False,
        # Today's WhatsApp Web unless another generation is asked for (simulator/generations.py).
        "surface": {**NEWEST_FLAGS, "name": DEFAULT_GENERATION},
    }
    # Faults set before a page loads are in its config: in force from the page's first line.
    await sim.control.fault(missing_module="WAWebChatStateBridge")
    async with session.get(sim.url) as response:
        later = await response.text()
    match = re.search(r'<script type="application/json" id="wa-sim-config">(.*?)</script>', later)
    assert match is not None
    assert __import__("json").loads(match.group(1))["faults"] == {
        "modules": ["WAWebChatStateBridge"],
        "members": [],
    }
    html = render_page("ws://x/</script><b>", "2.3000.1")
    assert "</script><b>" not in html
    assert '"ws://x/<\\/script><b>"' in html


async def test_five_thousand_chats_link_and_sync_over_the_socket(
    make_sim: SimFactory, make_page: MakePage
) -> None:
    simulator = await make_sim(chats=5000, messages=10, contacts=50, groups=20)
    page = make_page(simulator)
    await page.connect()
    unpaired = await page.expect("unpaired")
    # Server and scripted page share this process: its CPU time is what the sync costs,
    # whatever else keeps a busy machine occupied.
    started = time.process_time()
    await simulator.control.link(qr=page.qr(unpaired["ref"]))
    sync = await page.expect("sync", timeout=10)
    await page.expect("offline_done")
    elapsed = time.process_time() - started
    assert len(sync["chats"]) == 5000
    assert sum(c["isGroup"] for c in sync["chats"]) == 20
    assert len(sync["messages"]) == 3 * 5000
    # Link to the end of the sync (seeding is timed by test_five_thousand_chats_build_...).
    assert elapsed < 5.0, elapsed
