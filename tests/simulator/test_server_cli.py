"""`python -m simulator` as a process, `--state-dir` persistence, the seeded data set."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import io
import json
from pathlib import Path
import signal
import sys
import time
from typing import Any

import aiohttp
from PIL import Image
import pytest

from simulator import seed
from simulator.account import Account
from simulator.testing import Simulator, SimulatorControl

from .conftest import PageClient, SimFactory, link_page

type MakePage = Callable[[Simulator], PageClient]
ROOT = Path(__file__).resolve().parents[2]


async def start_cli(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    data = json.loads(line)
    assert list(data) == ["url"]
    return process, data["url"]


async def stop_cli(process: asyncio.subprocess.Process, signum: int = signal.SIGTERM) -> int:
    process.send_signal(signum)
    try:
        return await asyncio.wait_for(process.wait(), timeout=5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_cli_prints_url_and_stops_cleanly(socket_enabled: None, signum: int) -> None:
    process, url = await start_cli(
        "--chats", "4", "--version", "2.3000.999", "--qr-interval", "0.5"
    )
    try:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/")
        assert int(url.rsplit(":", 1)[1].rstrip("/")) > 0
        async with SimulatorControl(url) as control:
            state = await control.state()
            assert state["version"] == "2.3000.999"
            assert len(await control.chats()) == 4
    finally:
        started = time.monotonic()
        code = await stop_cli(process, signum)
    assert code == 0
    assert time.monotonic() - started < 5
    assert process.stdout is not None
    assert process.stderr is not None
    assert await process.stdout.read() == b""
    assert b"Traceback" not in await process.stderr.read()


async def test_cli_rejects_bad_options(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--qr-interval",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert b"--qr-interval" in stderr


async def test_cli_survives_bad_input_without_traceback(socket_enabled: None) -> None:
    process, url = await start_cli("--chats", "2")
    try:
        async with aiohttp.ClientSession() as session:
            for path, body in (
                ("_sim/link", b"[1,2"),
                ("_sim/incoming", b'{"chat": 5}'),
                ("_sim/connection", b'{"action": null}'),
            ):
                async with session.post(url + path, data=body) as resp:
                    assert resp.status == 400
            async with session.ws_connect(url + "_sim/ws") as ws:
                await ws.send_str("not json")
                await ws.send_str('{"t": "hello"}')
                message = await ws.receive(timeout=5)
                assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            async with session.get(url + "_sim/state") as resp:
                assert resp.status == 200
    finally:
        code = await stop_cli(process)
    assert code == 0
    assert process.stderr is not None
    assert b"Traceback" not in await process.stderr.read()


async def test_state_dir_keeps_account_and_device_across_runs(
    socket_enabled: None, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    process, url = await start_cli("--chats", "5", "--state-dir", str(state_dir))
    try:
        async with aiohttp.ClientSession() as session:
            page = PageClient(session, url.replace("http", "ws") + "_sim/ws")
            async with SimulatorControl(url, session) as control:
                chat = (await control.chats())[0]["id"]
                await page.connect()
                unpaired = await page.expect("unpaired")
                await control.link(qr=page.qr(unpaired["ref"]))
                device = (await page.expect("linked"))["device"]
                await page.expect("offline_done")
                key = await control.incoming(chat, "remember me")
                await page.close()
    finally:
        assert await stop_cli(process) == 0
    assert (state_dir / "account.json").exists()
    assert not list(state_dir.glob(".*.tmp"))

    process, url = await start_cli("--chats", "5", "--state-dir", str(state_dir))
    try:
        async with aiohttp.ClientSession() as session:
            page = PageClient(session, url.replace("http", "ws") + "_sim/ws")
            async with SimulatorControl(url, session) as control:
                assert (await control.state())["linked"] is True
                assert (await control.message(key))["body"] == "remember me"
                await page.connect(device)
                assert (await page.next())["state"] == "CONNECTED"
                sync = await page.expect("sync")
                assert key in {m["id"]["_serialized"] for m in sync["messages"]}
                await page.expect("offline_done")
                await page.close()
    finally:
        assert await stop_cli(process) == 0


async def test_state_dir_in_process_keeps_media(
    make_sim: SimFactory, make_page: MakePage, tmp_path: Path
) -> None:
    first = await make_sim(chats=4, messages=8, state_dir=tmp_path)
    page = make_page(first)
    device = await link_page(first, page)
    media = dict(first.account.media)
    await page.close()
    await first.stop()
    loaded = Account.load(tmp_path)
    assert loaded is not None
    assert set(loaded.devices) == {device["id"]}
    assert {p: b.data for p, b in loaded.media.items()} == {p: b.data for p, b in media.items()}
    second = await make_sim(chats=4, messages=8, state_dir=tmp_path)
    again = make_page(second)
    await again.connect(device)
    await again.expect("sync")


def test_seed_is_deterministic() -> None:
    first = seed.build_account(
        chats=30, messages=12, contacts=25, groups=5, seed=7, now=1_800_000_000
    )
    second = seed.build_account(
        chats=30, messages=12, contacts=25, groups=5, seed=7, now=1_800_000_000
    )
    assert first.to_json() == second.to_json()
    other = seed.build_account(
        chats=30, messages=12, contacts=25, groups=5, seed=8, now=1_800_000_000
    )
    assert other.me.id != first.me.id
    # Ids, names and bodies do not depend on the clock.
    later = seed.build_account(chats=30, messages=12, contacts=25, groups=5, seed=7)
    assert list(later.messages) == list(first.messages)
    assert [c.name for c in later.chats.values()] == [c.name for c in first.chats.values()]
    assert [m.wire.get("body") for m in later.messages.values()] == [
        m.wire.get("body") for m in first.messages.values()
    ]


def test_long_chat_holds_its_own_message_count() -> None:
    account = seed.build_account(chats=6, messages=4, groups=2, long_chat=300, now=1_800_000_000)
    counts = {chat_id: len(keys) for chat_id, keys in account.chat_messages.items()}
    first_direct = next(c for c in account.chat_order() if not c.is_group)
    assert counts.pop(first_direct.id) == 300
    assert set(counts.values()) == {4}
    times = [account.messages[k].wire["t"] for k in account.chat_messages[first_direct.id]]
    assert times == sorted(times)


def test_seed_covers_the_data_set() -> None:
    account = seed.build_account(now=1_800_000_000)
    chats = account.chat_order()
    assert len(chats) == 12
    assert sum(c.is_group for c in chats) == 3
    assert [bool(c.pin) for c in chats[:3]] == [True, True, False]
    assert any(c.archive for c in chats)
    assert any(c.mute_expiration == -1 for c in chats)
    assert any(c.mute_expiration > 1_800_000_000 for c in chats)
    assert any(c.unread_count > 0 for c in chats)
    contacts = list(account.contacts.values())
    assert any(c.id.endswith("@lid") and c.phone_number for c in contacts)
    assert any(c.is_business for c in contacts)
    assert sum(c.is_blocked for c in contacts) == 1
    assert all(c.name or c.pushname for c in contacts)
    assert account.me.id.endswith("@c.us")
    assert account.me.lid.endswith("@lid")
    assert account.me.platform == "android"
    me = {account.me.id, account.me.lid}
    groups = [account.groups[c.id] for c in chats if c.is_group]
    admin = [any(p.id in me and p.is_admin for p in g.participants) for g in groups]
    assert True in admin
    assert False in admin
    assert all(g.owner and g.creation and g.desc for g in groups)
    types = {m.wire["type"] for m in account.messages.values()}
    assert types >= {
        "chat",
        "image",
        "video",
        "audio",
        "ptt",
        "document",
        "sticker",
        "location",
        "vcard",
        "gp2",
    }
    texts = [m.wire for m in account.messages.values() if m.wire["type"] == "chat"]
    assert any("https://" in w["body"] for w in texts)
    assert any(w["mentionedJidList"] for w in texts)
    assert any(w.get("quotedMsgId") in account.messages for w in texts)
    for message in account.messages.values():
        key = message.wire["id"]
        assert message.key == "_".join(
            [str(key["fromMe"]).lower(), key["remote"], key["id"]]
            + ([key["participant"]] if key.get("participant") else [])
        )
        if key["fromMe"]:
            assert key["id"].startswith("3EB0")
            assert len(key["id"]) == 20
        else:
            assert key["id"].startswith("3A")
            assert len(key["id"]) == 20
        if message.wire.get("directPath"):
            blob = account.media[message.wire["directPath"]]
            assert blob.filehash == message.wire["filehash"]
            assert len(blob.data) == message.wire["size"]


@pytest.mark.parametrize(("maker", "size"), [(seed.make_png, (16, 16)), (seed.make_webp, (64, 64))])
def test_generated_images_decode(maker: Any, size: tuple[int, int]) -> None:
    image = Image.open(io.BytesIO(maker()))
    image.load()
    assert image.size == size


def test_generated_containers_are_well_formed() -> None:
    import wave  # noqa: PLC0415

    with wave.open(io.BytesIO(seed.make_wav())) as audio:
        assert audio.getframerate() == 8000
        assert audio.getnframes() == 2000
    ogg = seed.make_ogg_opus()
    assert ogg.startswith(b"OggS")
    assert b"OpusHead" in ogg
    assert b"OpusTags" in ogg
    assert ogg.count(b"OggS") == 3
    pdf = seed.make_pdf()
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:].startswith(b"xref")
    mp4 = seed.make_mp4()
    assert mp4[4:8] == b"ftyp"


def test_five_thousand_chats_build_and_snapshot_fast() -> None:
    # CPU time of this process: other work on a busy machine does not count against it.
    started = time.process_time()
    account = seed.build_account(chats=5000, messages=20, seed=3)
    snapshot = json.dumps(account.snapshot())
    elapsed = time.process_time() - started
    assert len(account.chats) == 5000
    assert snapshot.count('"unreadCount"') == 5000
    assert elapsed < 4.0, elapsed
