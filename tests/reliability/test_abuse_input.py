"""Hostile input: script injection and odd strings, media that is too big, slow or not allowed.

Strings with quotes, backticks, ``</script>``, ``${}``, NUL, RTL marks, emoji and a 64 KiB body go
through every text field (service and REST) and come out byte-exact in ``/_sim/sent``; none runs in
the page. Odd strings in ids are refused naming the field, before anything reaches WhatsApp.
Media: a stream one byte over the cap that then stalls is refused as soon as that byte arrives (413,
under a timeout no machine reaches), a declared 1 GiB is refused on the headers (413), headers followed
by nothing time out (504, under a short timeout), ``file:``/``ftp:``/``data:`` URLs are refused (400),
paths outside the allowlist are refused (403).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from homeassistant.exceptions import ServiceValidationError
import pytest
import voluptuous as vol

from custom_components.whatsapp_web.const import API_BASE, DOMAIN, MEDIA_URL_MAX_BYTES
from custom_components.whatsapp_web.operations import messages

from .ha_support import Api, BusRecorder, send_via_service
from .support import record_figure, wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant

    from .conftest import Secrets

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)
PWNED = "window.__pwned"
ODD_STRINGS = [
    "quotes ' \" `backticks` \\ back\\slash",
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "${window.__pwned=1} {{7*7}} #{7*7} %s %n",
    "'); window.__pwned=1; ('",
    '"); window.__pwned=1; ("',
    "`; window.__pwned=1; `",
    "javascript:window.__pwned=1",
    "NUL \x00 inside and at the end \x00",
    "RTL \u202e\u200f\u061c\u2066 marks",
    "emoji \U0001f600 \U0001f469\u200d\U0001f4bb \U0001f1ea\U0001f1f8 \u2764\ufe0f",
    "line\r\nbreaks\tand \u2028 separators \u2029",
    "plane 1 \U00010348 and combining e\u0301",
]
# 64 KiB of characters that mean something to HTML, JavaScript or templates.
BIG_BODY = ("\U0001f642<a href='x'>&amp;</a>`${x}`\"\\ \u202e" * 4000)[: 64 * 1024]
ODD_IDS = [
    "</script>",
    "${1}",
    "'; DROP TABLE chats; --",
    "123@c.us\x00456",
    "../../etc/passwd",
    "123@evil.example",
    "\u202e123@c.us",
    "123@g.us@c.us",
]


async def page_was_not_pwned(api: Api) -> bool:
    session = api.entry.runtime_data.client._session
    assert session is not None
    result = await session.driver.evaluate(f"() => typeof {PWNED} === 'undefined'", timeout=10)
    return bool(result)


async def test_odd_strings_round_trip_byte_exact_and_run_nowhere(
    api: Api, leak_guard: Secrets
) -> None:
    hass, sim = api.hass, api.sim
    chats = [chat["id"] for chat in await sim.control.chats() if not chat["is_group"]]
    group = next(chat["id"] for chat in await sim.control.chats() if chat["is_group"])
    bus = BusRecorder(hass, "whatsapp_message_sent")
    texts = [*ODD_STRINGS, BIG_BODY]
    for text in texts:
        leak_guard.add("message body", text)
    try:
        for text in texts:
            await send_via_service(hass, chats[0], text)
            response = await api.admin.post(
                f"{API_BASE}/chats/{quote(chats[1], safe='')}/messages",
                json={"msg": text, "options": {"linkPreview": False}},
            )
            assert response.status == 200, await response.text()
            answer = await response.json()
            assert answer["body"] == text
        # Captions of media, through REST with base64 media.
        for text in ODD_STRINGS[:4]:
            import base64  # noqa: PLC0415

            response = await api.admin.post(
                f"{API_BASE}/chats/{quote(chats[2], safe='')}/messages",
                json={"media_base64": base64.b64encode(PNG).decode(), "options": {"caption": text}},
            )
            assert response.status == 200, await response.text()
        # Profile and group texts.
        short = [text for text in ODD_STRINGS if len(text) <= 25]
        for text in short:
            await hass.services.async_call(
                DOMAIN, "set_display_name", {"name": text}, blocking=True
            )
        for text in ODD_STRINGS:
            await hass.services.async_call(
                DOMAIN, "set_text_status", {"status": text}, blocking=True
            )
        subjects = [text for text in ODD_STRINGS if len(text) <= 100]
        for text in subjects:
            response = await api.admin.put(
                f"{API_BASE}/chats/groups/{quote(group, safe='')}",
                json={"name": text, "description": text},
            )
            assert response.status == 204, await response.text()
        sent = await sim.control.sent()
        messages = [entry for entry in sent if entry["kind"] == "message"]
        assert [e["body"] for e in messages if e["chat"] == chats[0]] == texts
        assert [e["body"] for e in messages if e["chat"] == chats[1]] == texts
        assert [e["caption"] for e in messages if e["chat"] == chats[2]] == ODD_STRINGS[:4]
        profile = [(e["field"], e["value"]) for e in sent if e["kind"] == "profile"]
        assert [v for f, v in profile if f == "pushname"] == short
        assert [v for f, v in profile if f == "status"] == ODD_STRINGS
        group_values = [(e["action"], e["value"]) for e in sent if e["kind"] == "group"]
        assert [v for a, v in group_values if a == "subject"] == subjects
        assert [v for a, v in group_values if a == "description"] == subjects
        # The bus events carry the same bytes.
        await wait_until(lambda: len(bus.of("whatsapp_message_sent")) >= 2 * len(texts), timeout=20)
        fired = [
            event["body"] for event in bus.of("whatsapp_message_sent") if event["type"] == "chat"
        ]
        assert sorted(fired) == sorted(texts * 2)
        assert await page_was_not_pwned(api), "a string ran as script in the page"
    finally:
        bus.close()
    record_figure(
        "odd strings",
        "round-trips byte-exact (messages / captions / profile / group texts)",
        f"{2 * len(texts)} / 4 / {len(short) + len(ODD_STRINGS)} / {2 * len(subjects)}; largest {len(BIG_BODY)} characters = {len(BIG_BODY.encode())} UTF-8 bytes; page script ran: no",
    )


async def test_odd_ids_are_refused_naming_the_field(api: Api) -> None:
    hass, sim = api.hass, api.sim
    before = len(await sim.control.sent())
    for odd in ODD_IDS:
        with pytest.raises((ServiceValidationError, vol.Invalid)) as raised:
            await send_via_service(hass, odd, "never sent")
        if isinstance(raised.value, vol.Invalid):
            assert raised.value.path == ["chat_id"], raised.value
        response = await api.admin.post(
            f"{API_BASE}/chats/{quote(odd, safe='')}/messages", json={"msg": "never sent"}
        )
        raw = await response.read()
        if raw.strip() in (b"400: Bad Request", b"404: Not Found"):
            # Refused before the view: Home Assistant's security filter, or no route matches
            # (aiohttp's path segments exclude braces).
            continue
        assert response.status == 400, raw
        assert (await response.json())["error"]["field"] == "chat_id"
    assert len(await sim.control.sent()) == before
    assert await page_was_not_pwned(api)
    record_figure(
        "odd ids", "refused before WhatsApp", f"{len(ODD_IDS)}/{len(ODD_IDS)} (service and REST)"
    )


class MediaServer:
    """A local HTTP server with misbehaving media that never depends on how fast the machine is.

    ``/over-cap.mp4`` sends one byte more than the cap, without a length, then nothing more while the
    client stays; ``/declared.mp4`` declares 1 GiB and sends nothing; ``/silent.mp4`` sends its headers
    and then nothing. Each records what it wrote and whether the client went away.
    """

    CHUNK = 1024 * 1024
    HUGE = 1024 * 1024 * 1024

    def __init__(self) -> None:
        self.written: dict[str, int] = {}
        self.finished: dict[str, str] = {}
        self.over_cap = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._hanging: set[asyncio.Task[Any]] = set()

    async def _send_then_stall(
        self, request: web.Request, size: int, declared: int | None
    ) -> web.StreamResponse:
        name = request.path
        task = asyncio.current_task()
        assert task is not None
        self._hanging.add(task)
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        if declared is not None:
            response.content_length = declared
        await response.prepare(request)
        self.written[name] = 0
        try:
            while self.written[name] < size:
                chunk = b"\0" * min(self.CHUNK, size - self.written[name])
                await response.write(chunk)
                self.written[name] += len(chunk)
            # Nothing more, for as long as the client keeps the connection: only the client's cap
            # or its timeout can end this fetch.
            while request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            self.finished[name] = "client went away"
            raise
        self.finished[name] = "client went away"
        return response

    async def over_cap_stream(self, request: web.Request) -> web.StreamResponse:
        return await self._send_then_stall(request, self.over_cap + 1, None)

    async def declared(self, request: web.Request) -> web.StreamResponse:
        return await self._send_then_stall(request, 0, self.HUGE)

    async def silent(self, request: web.Request) -> web.StreamResponse:
        return await self._send_then_stall(request, 0, None)

    async def picture(self, request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/over-cap.mp4", self.over_cap_stream)
        app.router.add_get("/declared.mp4", self.declared)
        app.router.add_get("/silent.mp4", self.silent)
        app.router.add_get("/dot.png", self.picture)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        for task in self._hanging:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def media_server() -> AsyncIterator[MediaServer]:
    server = MediaServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def post_media(
    api: Api, chat: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = await api.admin.post(f"{API_BASE}/chats/{quote(chat, safe='')}/messages", json=body)
    data = await response.json()
    return response.status, data, time.monotonic() - started


async def test_media_abuse(
    api: Api,
    media_server: MediaServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    hass: HomeAssistant,
) -> None:
    chat = next(chat["id"] for chat in await api.sim.control.chats() if not chat["is_group"])
    before = len(await api.sim.control.sent())
    cap = min(api.entry.runtime_data.client.max_media_bytes, MEDIA_URL_MAX_BYTES)
    media_server.over_cap = cap
    figures: dict[str, str] = {}

    # The cap cases: a timeout far beyond what any machine needs, so only the cap can end them.
    monkeypatch.setattr(messages, "MEDIA_URL_TIMEOUT", 600.0)
    status, data, took = await post_media(api, chat, {"url": f"{media_server.url}/over-cap.mp4"})
    assert status == 413, data
    assert data["error"]["code"] == "media_too_large"
    await wait_until(lambda: "/over-cap.mp4" in media_server.finished, timeout=60)
    assert media_server.written["/over-cap.mp4"] == cap + 1
    figures["cap + 1 bytes without a length, then a stall"] = (
        f"413 once {cap + 1} bytes had arrived (cap {cap / 2**20:.0f} MiB), {took:.1f} s"
    )

    status, data, took = await post_media(api, chat, {"url": f"{media_server.url}/declared.mp4"})
    assert status == 413, data
    await wait_until(lambda: "/declared.mp4" in media_server.finished, timeout=60)
    assert media_server.written["/declared.mp4"] == 0
    figures["1 GiB declared, nothing sent"] = f"413 on the headers, {took:.2f} s"

    # The timeout case: headers, then nothing; a short timeout answers 504.
    monkeypatch.setattr(messages, "MEDIA_URL_TIMEOUT", 1.0)
    status, data, took = await post_media(api, chat, {"url": f"{media_server.url}/silent.mp4"})
    assert status == 504, data
    assert data["error"]["code"] == "media_fetch_timeout"
    figures["headers, then nothing"] = f"504 after {took:.1f} s (timeout 1 s)"

    for url in (
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "FILE:///etc/hosts",
        "//127.0.0.1/x",
        "gopher://127.0.0.1/",
    ):
        status, data, _ = await post_media(api, chat, {"url": url})
        assert status == 400, (url, data)
        assert data["error"]["field"] == "url"
    figures["file:/ftp:/data:/gopher:/scheme-less URLs"] = "400 naming url (6/6)"

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "dot.png").write_bytes(PNG)
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    hass.config.allowlist_external_dirs = {str(allowed)}
    for path in (
        str(outside),
        "/etc/passwd",
        f"{allowed}/../outside.png",
        f"{allowed}/missing/../../outside.png",
    ):
        status, data, _ = await post_media(api, chat, {"media_path": path})
        assert status == 403, (path, data)
        assert data["error"]["code"] == "path_not_allowed"
        assert data["error"]["field"] == "media_path"
    figures["paths outside the allowlist"] = "403 naming media_path (4/4, .. included)"
    assert len(await api.sim.control.sent()) == before, "nothing reached WhatsApp"

    status, data, _ = await post_media(api, chat, {"media_path": str(allowed / "dot.png")})
    assert status == 200, data
    status, data, _ = await post_media(api, chat, {"url": f"{media_server.url}/dot.png"})
    assert status == 200, data
    hashes = [
        e["media"]["sha256"]
        for e in (await api.sim.control.sent())[before:]
        if e["kind"] == "message"
    ]
    assert hashes == [hashlib.sha256(PNG).hexdigest()] * 2
    for case, value in figures.items():
        record_figure("media", case, value)
