"""The pages: `GET /` serves one, `GET /_sim/ws` is its WebSocket (`simulator/PROTOCOL.md`).

`PageHub` keeps the open pages of the account: their `hello`, the QR codes they show and the
linking, the connection with its snapshot and offline delivery, the `call`s (run by the page
operations in `simulator/page_ops/`), and every push to them (`send`, `broadcast`, `deliver`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import secrets
import time

from aiohttp import WSMsgType, web

from . import DEFAULT_VERSION
from .account import Device, JSONDict, StoredMessage
from .args import Args, InputError, forbidden
from .generations import DEFAULT_GENERATION, generation
from .part import ServerPart

_LOGGER = logging.getLogger(__name__)

PAGE_JS = Path(__file__).with_name("page.js")
MAX_WS_MESSAGE = 256 * 1024 * 1024
PLACEHOLDER_SCRIPT = (
    "(function(){'use strict';"
    "document.title='WhatsApp simulator';"
    "document.body&&(document.body.textContent='simulator/page.js is missing');})();"
)


@dataclass(eq=False)
class PageSession:
    """One open page (one WebSocket after its `hello`)."""

    ws: web.WebSocketResponse
    page_id: str
    keys: dict[str, str]
    device_id: str | None = None
    state: str | None = None
    ref: str | None = None
    rotations: int = 0
    rotation_task: asyncio.Task[None] | None = None
    #: True once the page has its snapshot: new messages are then pushed live.
    live: bool = False
    closed: bool = False
    #: The newest `faults` frame the page said it applied (`faults_applied`).
    faults_applied: int = 0
    faults_changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: `calls_collect` frames sent and not answered yet, by `seq`.
    calls_wanted: dict[int, asyncio.Future[list[str]]] = field(default_factory=dict)

    def qr(self) -> str | None:
        """The full QR string of the page's current `ref` (`ref,noise,identity,adv,platform`).

        After the rotations run out (`UNPAIRED_IDLE`) the page keeps its last `Conn.ref`, so the
        string is still reported, but it no longer links (`scannable_qr`).
        """
        if self.state not in ("UNPAIRED", "UNPAIRED_IDLE") or not self.ref:
            return None
        return ",".join(
            (self.ref, self.keys["noise"], self.keys["identity"], self.keys["adv"], "1")
        )

    def scannable_qr(self) -> str | None:
        """The QR string while the page shows a live QR code (not idle)."""
        return self.qr() if self.state == "UNPAIRED" else None

    def stop_rotation(self) -> None:
        """Cancel the QR rotation timer."""
        if self.rotation_task is not None and not self.rotation_task.done():
            self.rotation_task.cancel()
        self.rotation_task = None


def new_ref() -> str:
    """A QR `ref`: `2@` and random base64."""
    return "2@" + base64.b64encode(secrets.token_bytes(48)).decode()


def render_page(
    ws_url: str,
    version: str = DEFAULT_VERSION,
    faults: JSONDict | None = None,
    *,
    record_calls: bool = False,
    surface: str = DEFAULT_GENERATION,
) -> str:
    """The page's HTML: the config JSON, then `simulator/page.js` inline (read now).

    ``faults`` (``{"modules": [...], "members": [...]}``) are in force from the first line of the
    page's script: a WhatsApp Web update that removed something is already there at load time.
    ``record_calls`` makes the page record the module calls clients make (`calls_collect`).
    ``surface`` names the generation of WhatsApp Web the page imitates (`simulator/generations.py`).
    """
    config = json.dumps(
        {
            "ws": ws_url,
            "version": version,
            "platform": "1",
            "faults": faults or {},
            "recordCalls": record_calls,
            "surface": generation(surface).flags,
        }
    )
    config = config.replace("</", "<\\/")
    try:
        script = PAGE_JS.read_text(encoding="utf-8")
    except FileNotFoundError:
        script = PLACEHOLDER_SCRIPT
    # "</script" inside the script would end the element early; "<\/" means the same in JS text.
    script = script.replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>WhatsApp</title></head><body>\n"
        f'<script type="application/json" id="wa-sim-config">{config}</script>\n'
        f"<script>{script}</script>\n</body></html>\n"
    )


type OpHandler = Callable[[PageSession, Args], Awaitable[JSONDict]]


class PageHub(ServerPart):
    """The account's open pages: their WebSocket, linking, connecting and every push to them."""

    def routes(self) -> list[web.RouteDef]:
        """The page and its WebSocket."""
        return [web.get("/", self.handle_index), web.get("/_sim/ws", self.handle_ws)]

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page."""
        return web.Response(
            text=render_page(
                self.ws_url(request),
                self.server.options.version,
                {
                    "modules": list(self.server.fault_modules),
                    "members": list(self.server.fault_members),
                },
                record_calls=self.server.options.record_calls,
                surface=self.server.options.surface,
            ),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    def ws_url(self, request: web.Request) -> str:
        """The WebSocket URL for a page served by this request's host."""
        return f"ws://{request.host}/_sim/ws"

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        """The page's WebSocket: `hello`, then `call`s; pushes go out through `send`."""
        if self.server.connection == "dropped" or self.server.closing:
            return web.json_response(
                {"error": {"field": "", "message": "connection dropped"}}, status=503
            )
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, compress=False)
        await ws.prepare(request)
        self.server.sockets.add(ws)
        page: PageSession | None = None
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(frame.data)
                except ValueError:
                    _LOGGER.debug("Ignoring a frame that is not JSON")
                    continue
                if not isinstance(data, dict):
                    continue
                if page is None:
                    page = await self.on_hello(ws, data)
                    if page is None:
                        break
                elif data.get("t") == "call":
                    await self.on_call(page, data)
                elif data.get("t") == "faults_applied" and isinstance(data.get("seq"), int):
                    page.faults_applied = data["seq"]
                    page.faults_changed.set()
                elif data.get("t") == "calls" and isinstance(data.get("seq"), int):
                    self.on_recorded_calls(page, data)
                elif data.get("t") == "msg_stamp":
                    await self.server.stamps.on_stamp(data)
        finally:
            self.server.sockets.discard(ws)
            if page is not None:
                page.closed = True
                page.faults_changed.set()
                for wanted in page.calls_wanted.values():
                    if not wanted.done():
                        wanted.set_result([])
                page.stop_rotation()
                if page in self.server.pages:
                    self.server.pages.remove(page)
                self.forget_pairing_codes(page)
        if not ws.closed:
            await ws.close()
        return ws

    def parse_hello(self, data: JSONDict) -> tuple[str, dict[str, str], bool, Device | None]:
        """`(page_id, keys, resume, known device or None)`, or InputError for a bad hello."""
        if data.get("t") != "hello":
            raise InputError("t", "the first frame must be hello")
        args = Args(data)
        keys_args = args.obj("keys")
        keys = {name: keys_args.text(name) for name in ("noise", "identity", "adv")}
        page_id = args.optional_text("page_id") or secrets.token_hex(8)
        resume = args.boolean("resume")
        device_args = args.optional_obj("device")
        device: Device | None = None
        if device_args is not None:
            known = self.account.devices.get(device_args.text("id"))
            if known is not None and secrets.compare_digest(
                known.secret.encode(), device_args.text("secret").encode()
            ):
                device = known
        return page_id, keys, resume, device

    async def on_hello(self, ws: web.WebSocketResponse, data: JSONDict) -> PageSession | None:
        """Validate `hello`; start the QR flow or connect a known device."""
        try:
            page_id, keys, resume, device = self.parse_hello(data)
        except InputError as err:
            _LOGGER.debug("Refusing a hello: %s %s", err.field, err.message)
            await ws.close(code=4400, message=f"bad hello: {err.field}".encode()[:120])
            return None
        page = PageSession(ws=ws, page_id=page_id, keys=keys)
        self.server.pages.append(page)
        if self.server.fault_modules or self.server.fault_members:
            await self.send(page, self.faults_frame())
        if device is None:
            await self.start_unpaired(page)
        else:
            page.device_id = device.id
            if self.server.connection == "conflict":
                # A page that (re)connects takes the session over.
                self.server.connection = "online"
            await self.connect(page, resume=resume)
            if self.server.connection == "deprecated":
                page.state = "DEPRECATED_VERSION"
                await self.send(page, {"t": "state", "state": page.state})
        return page

    async def start_unpaired(self, page: PageSession) -> None:
        """Show a QR: `unpaired`, then a new `ref` every `qr_interval`, then idle."""
        page.device_id = None
        page.live = False
        page.state = "UNPAIRED"
        page.ref = new_ref()
        page.rotations = 0
        await self.send(page, {"t": "unpaired", "ref": page.ref})
        page.stop_rotation()
        page.rotation_task = asyncio.get_running_loop().create_task(
            self._rotate(page), name=f"wa-sim-qr-{page.page_id}"
        )

    async def _rotate(self, page: PageSession) -> None:
        while not page.closed:
            await asyncio.sleep(self.server.options.qr_interval)
            if page.closed or page.state != "UNPAIRED":
                return
            if page.rotations >= self.server.options.qr_max:
                page.state = "UNPAIRED_IDLE"
                await self.send(page, {"t": "state", "state": page.state})
                return
            page.rotations += 1
            page.ref = new_ref()
            await self.send(page, {"t": "ref", "ref": page.ref})

    async def connect(self, page: PageSession, *, resume: bool) -> None:
        """CONNECTED, the snapshot (unless resuming), then the offline delivery."""
        device_id = page.device_id
        assert device_id is not None
        delivered = list(self.account.pending.get(device_id, []))
        snapshot = None if resume else self.account.snapshot(exclude=set(delivered))
        page.state = "CONNECTED"
        await self.send(page, {"t": "state", "state": "CONNECTED"})
        if snapshot is not None:
            await self.send(page, snapshot)
        await self.send(page, {"t": "offline", "pending": len(delivered)})
        await self.send_queued(page, delivered)
        # Messages that arrived during the awaits above were queued (the page is not live yet):
        # deliver them too, then go live with no await in between, so none can slip through.
        while True:
            seen = set(delivered)
            extra = [k for k in self.account.pending.get(device_id, []) if k not in seen]
            if not extra:
                break
            delivered.extend(extra)
            await self.send_queued(page, extra)
        if page.closed:
            return  # the queue stays: the next connection delivers it
        seen = set(delivered)
        self.account.pending[device_id] = [
            k for k in self.account.pending.get(device_id, []) if k not in seen
        ]
        page.live = True
        await self.send(page, {"t": "offline_done"})
        self.server.changed()

    async def send_queued(self, page: PageSession, keys: list[str]) -> None:
        """The offline part of a connection: `chat_upsert` per chat, then each `msg_add`."""
        messages = [self.account.messages[k] for k in keys if k in self.account.messages]
        for chat_id in dict.fromkeys(m.chat for m in messages):
            chat = self.account.chats.get(chat_id)
            if chat is not None:
                await self.send(page, {"t": "chat_upsert", "chat": chat.wire()})
        for message in messages:
            await self.send(page, {"t": "msg_add", "msg": {**message.wire, "isNewMsg": True}})

    async def link(self, page: PageSession) -> None:
        """The phone scanned this page's QR (or entered its code): a new linked device."""
        page.stop_rotation()
        self.forget_pairing_codes(page)
        device = Device(
            id=secrets.token_hex(8), secret=secrets.token_hex(32), linked_at=time.time()
        )
        self.account.devices[device.id] = device
        self.account.pending[device.id] = []
        page.device_id = device.id
        page.ref = None
        await self.send(page, {"t": "linked", "device": device.wire()})
        for state in ("PAIRING", "OPENING"):
            page.state = state
            await self.send(page, {"t": "state", "state": state})
        await self.connect(page, resume=False)

    async def on_call(self, page: PageSession, data: JSONDict) -> None:
        """Run one operation and answer with `reply`."""
        call_id = data.get("id")
        op = data.get("op")
        handler = self.server.ops.get(op) if isinstance(op, str) else None
        try:
            result = await self.run_op(page, op, handler, data.get("args", {}))
            reply: JSONDict = {"t": "reply", "id": call_id, "ok": True, "result": result}
        except InputError as err:
            reply = {
                "t": "reply",
                "id": call_id,
                "ok": False,
                "error": {"status": err.status, "message": f"{err.field}: {err.message}"},
            }
        except Exception:  # a bug in one op must not kill the page's socket
            _LOGGER.exception("Simulator op %s failed", op)
            reply = {
                "t": "reply",
                "id": call_id,
                "ok": False,
                "error": {"status": 500, "message": "internal error"},
            }
        await self.send(page, reply)

    async def run_op(
        self, page: PageSession, op: object, handler: OpHandler | None, args: object
    ) -> JSONDict:
        """Check that the op exists and may run on this page, then run it."""
        if handler is None:
            raise InputError("op", f"unknown op {str(op)[:40]!r}")
        if op not in ("request_pairing_code", "link_preview") and page.device_id is None:
            raise forbidden("op", "the page is not linked")
        return await handler(page, Args(args, "args."))

    def faults_frame(self) -> JSONDict:
        """The current `faults` push; the page answers `faults_applied` with its `seq`."""
        return {
            "t": "faults",
            "seq": self.server.faults_seq,
            "modules": list(self.server.fault_modules),
            "members": list(self.server.fault_members),
        }

    def on_recorded_calls(self, page: PageSession, data: JSONDict) -> None:
        """A page's answer to `calls_collect`: the signatures it recorded since the last one."""
        wanted = page.calls_wanted.pop(data["seq"], None)
        calls = data.get("calls")
        if wanted is None or wanted.done():
            return
        if isinstance(calls, list) and all(isinstance(call, str) for call in calls):
            wanted.set_result(calls)
        else:
            wanted.set_result([])

    async def send(self, page: PageSession, frame: JSONDict) -> None:
        """Send one frame; a page that went away is ignored."""
        if page.closed or page.ws.closed:
            return
        try:
            await page.ws.send_str(json.dumps(frame, separators=(",", ":")))
        except (ConnectionError, RuntimeError):
            page.closed = True

    def live_pages(self) -> list[PageSession]:
        """Pages of linked devices that have their snapshot."""
        return [p for p in self.server.pages if p.live and p.device_id and not p.closed]

    def newest_page(self) -> PageSession | None:
        """The most recently opened page that is still open."""
        open_pages = [p for p in self.server.pages if not p.closed]
        return open_pages[-1] if open_pages else None

    def current_qr(self) -> str | None:
        """The QR string of the newest page."""
        page = self.newest_page()
        return page.qr() if page else None

    async def broadcast(self, frame: JSONDict, *, skip: PageSession | None = None) -> None:
        """Send a frame to every live page."""
        for page in self.live_pages():
            if page is not skip:
                await self.send(page, frame)

    async def deliver(self, message: StoredMessage, pushes: list[JSONDict]) -> None:
        """A new message from the network: live to connected devices, queued for the others."""
        chat = self.account.chats.get(message.chat)
        frames = list(pushes)
        if chat is not None:
            frames.append({"t": "chat_upsert", "chat": chat.wire()})
        frames.append(
            self.server.stamps.mark({"t": "msg_add", "msg": {**message.wire, "isNewMsg": True}})
        )
        online = self.server.connection != "dropped"
        for device_id in self.account.devices:
            targets = [p for p in self.live_pages() if p.device_id == device_id] if online else []
            if not targets:
                self.account.pending.setdefault(device_id, []).append(message.key)
                continue
            for page in targets:
                for frame in frames:
                    await self.send(page, frame)
        self.server.changed()

    async def unlink_devices(self, device_ids: list[str]) -> None:
        """The phone removed these devices: their pages get `logout`."""
        for device_id in device_ids:
            self.account.devices.pop(device_id, None)
            self.account.pending.pop(device_id, None)
        for page in [p for p in self.server.pages if p.device_id in device_ids]:
            page.device_id = None
            page.live = False
            page.state = None
            await self.send(page, {"t": "logout"})
        self.server.changed()

    async def close_sockets(self, code: int, message: bytes) -> None:
        """Close every page socket; a socket that is already gone is skipped."""
        for ws in list(self.server.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=code, message=message)

    def forget_pairing_codes(self, page: PageSession) -> None:
        """Forget the pairing codes this page asked for (it linked, asked again or went away)."""
        for code, holder in list(self.server.pairing_codes.items()):
            if holder is page:
                del self.server.pairing_codes[code]
