"""The simulator's server: WhatsApp's servers and the user's phone, as one aiohttp app.

- `GET /` serves the page (`render_page`), `GET /_sim/ws` is the page's WebSocket
  (`simulator/PROTOCOL.md`), `/_sim/*` is the control API (`docs/internals.md` §1).
- The server holds the truth (`simulator.account.Account`); pages get pushes for every change.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import html
import json
import logging
from pathlib import Path
import secrets
import time

from aiohttp import WSMsgType, web
import segno

from . import DEFAULT_VERSION
from .account import (
    ANY_ID_RE,
    Account,
    Chat,
    Contact,
    Device,
    Group,
    JSONDict,
    MediaBlob,
    Participant,
    StoredMessage,
    is_group_id,
    is_user_id,
    make_key,
    new_incoming_id,
    new_invite_code,
    new_own_id,
)
from .generations import DEFAULT_GENERATION, generation
from .message_kinds import MessageKinds, kind_fields
from .seed import build_account
from .traffic import TrafficGenerator, TrafficRun, parse_plan

_LOGGER = logging.getLogger(__name__)

PAGE_JS = Path(__file__).with_name("page.js")
MAX_WS_MESSAGE = 256 * 1024 * 1024
MAX_BURST = 100_000
MAX_HOG_MIB = 4096
#: How long `POST /_sim/fault` waits for the open pages to apply a fault (seconds).
FAULT_APPLY_TIMEOUT = 3.0
#: How long `POST /_sim/calls/collect` waits for the pages' answers (a busy page answers late).
CALLS_COLLECT_TIMEOUT = 30.0
PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ0123456789"
MESSAGE_TYPES = {
    "chat",
    "image",
    "video",
    "audio",
    "ptt",
    "document",
    "sticker",
    "location",
    "vcard",
    "multi_vcard",
    "poll_creation",
    "groups_v4_invite",
}
MEDIA_TYPES = {"image", "video", "audio", "ptt", "document", "sticker"}
CONNECTION_ACTIONS = ("drop", "restore", "conflict", "logout", "deprecate")
GROUP_ACTIONS = (
    "add",
    "remove",
    "leave",
    "promote",
    "demote",
    "subject",
    "description",
    "picture",
    "announce",
    "restrict",
)
CHAT_ACTIONS = (
    "archive",
    "unarchive",
    "pin",
    "unpin",
    "seen",
    "mark_unread",
    "delete",
    "clear",
    "mute",
    "unmute",
)
STATE_SAVE_DELAY = 0.3
#: How long `/_sim/ack`, `/react` and `/revoke` wait for an own message whose `send_message` is still on its way.
SENT_MESSAGE_GRACE = 3.0


PLACEHOLDER_SCRIPT = (
    "(function(){'use strict';"
    "document.title='WhatsApp simulator';"
    "document.body&&(document.body.textContent='simulator/page.js is missing');})();"
)


# ----- options and errors -------------------------------------------------------------------


@dataclass
class SimulatorOptions:
    """Command-line / in-process options of one simulator."""

    chats: int = 12
    messages: int = 20
    contacts: int = 20
    groups: int = 3
    seed: int = 1
    qr_interval: float = 20.0
    qr_max: int = 6
    version: str = DEFAULT_VERSION
    state_dir: Path | None = None
    #: Record which module members clients call (`POST /_sim/calls/collect`).
    record_calls: bool = False
    #: The dated WhatsApp Web surface the page offers (`simulator/generations.py`).
    surface: str = DEFAULT_GENERATION

    def __post_init__(self) -> None:
        generation(self.surface)  # an unknown name fails here, listing the known ones


class InputError(Exception):
    """A request the simulator refuses; `status` 400 (bad input), 403 or 404."""

    def __init__(self, field_name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
        self.status = status


def not_found(field_name: str, message: str) -> InputError:
    """A 404 naming the field that held the unknown id."""
    return InputError(field_name, message, 404)


def forbidden(field_name: str, message: str) -> InputError:
    """A 403: the account may not do that (e.g. not an admin)."""
    return InputError(field_name, message, 403)


class Args:
    """Typed access to a JSON object from a request or a `call`; wrong types raise InputError."""

    def __init__(self, data: object, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise InputError(prefix.rstrip(".") or "body", "must be a JSON object")
        self.data: JSONDict = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        """The field's name as reported in errors."""
        return self.prefix + key

    def has(self, key: str) -> bool:
        """Whether the field is present and not null."""
        return self.data.get(key) is not None

    def string(self, key: str, *, required: bool = True, default: str | None = None) -> str | None:
        """A string field."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise InputError(self.name(key), "is required")
            return default
        if not isinstance(value, str):
            raise InputError(self.name(key), "must be a string")
        return value

    def text(self, key: str) -> str:
        """A required string field."""
        value = self.string(key)
        assert value is not None
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        """A boolean field."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InputError(self.name(key), "must be a boolean")
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = True,
        default: int = 0,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        """An integer field (booleans refused)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise InputError(self.name(key), "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(self.name(key), "must be an integer")
        if minimum is not None and value < minimum:
            raise InputError(self.name(key), f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise InputError(self.name(key), f"must be at most {maximum}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        """A string field from a fixed set."""
        value = self.text(key)
        if value not in choices:
            raise InputError(self.name(key), f"must be one of {', '.join(choices)}")
        return value

    def wid(self, key: str, *, required: bool = True, kind: str = "any") -> str | None:
        """An id field: `kind` is `any`, `user` (@c.us/@lid) or `group` (@g.us)."""
        value = self.string(key, required=required)
        if value is None:
            return None
        checks: dict[str, Callable[[str], bool]] = {
            "any": lambda v: ANY_ID_RE.match(v) is not None,
            "user": is_user_id,
            "group": is_group_id,
        }
        if not checks[kind](value):
            wanted = {"any": "a WhatsApp id", "user": "a user id", "group": "a group id"}[kind]
            raise InputError(self.name(key), f"must be {wanted} (got {value[:60]!r})")
        return value

    def id_list(self, key: str, *, required: bool = True) -> list[str]:
        """A list of user ids."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise InputError(self.name(key), "is required")
            return []
        if not isinstance(value, list) or not all(is_user_id(v) for v in value):
            raise InputError(self.name(key), "must be a list of user ids")
        return list(value)

    def string_list(self, key: str) -> list[str]:
        """A required list of strings."""
        value = self.data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(self.name(key), "must be a list of strings")
        return list(value)

    def obj(self, key: str, *, required: bool = True) -> Args | None:
        """A nested object field."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise InputError(self.name(key), "is required")
            return None
        if not isinstance(value, dict):
            raise InputError(self.name(key), "must be an object")
        return Args(value, self.name(key) + ".")


def decode_b64(value: str, field_name: str) -> bytes:
    """Base64 bytes, or a 400 naming the field."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(field_name, "must be base64") from None


# ----- pages --------------------------------------------------------------------------------


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


def qr_to_svg(text: str) -> str:
    """A QR code image (SVG) of `text`, made with segno."""
    code = segno.make(text, error="l", micro=False)
    svg: str = code.svg_inline(scale=4, border=2)
    return svg


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


# ----- the server ---------------------------------------------------------------------------


type OpHandler = Callable[[PageSession, Args], Awaitable[JSONDict]]


class SimulatorServer:
    """One account: its pages, devices, connection state, faults and control API."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        self.account = self._initial_account()
        self.pages: list[PageSession] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.connection = "online"
        self.fault_modules: list[str] = []
        self.fault_members: list[str] = []
        self.faults_seq = 0
        self.calls_seq = 0
        self.pairing_codes: dict[str, PageSession] = {}
        self.last_pairing_code: str | None = None
        self._save_handle: asyncio.TimerHandle | None = None
        self.traffic: TrafficRun | None = None
        self.closing = False
        self.message_kinds = MessageKinds(self)
        self.app = self._make_app()
        self.ops: dict[str, OpHandler] = {
            "request_pairing_code": self.op_request_pairing_code,
            "logout": self.op_logout,
            "takeover": self.op_takeover,
            "send_message": self.op_send_message,
            "media_download": self.op_media_download,
            "load_earlier": self.op_load_earlier,
            "get_messages": self.op_get_messages,
            "react": self.op_react,
            "star": self.op_star,
            "delete": self.op_delete,
            "chat_action": self.op_chat_action,
            "chat_state": self.op_chat_state,
            "presence": self.op_presence,
            "profile": self.op_profile,
            "status_get": self.op_status_get,
            "query_exists": self.op_query_exists,
            "contact_block": self.op_contact_block,
            "common_groups": self.op_common_groups,
            "group_create": self.op_group_create,
            "group_metadata": self.op_group_metadata,
            "group_subject": self.op_group_subject,
            "group_description": self.op_group_description,
            "group_property": self.op_group_property,
            "group_participants": self.op_group_participants,
            "group_leave": self.op_group_leave,
            "group_invite_code": self.op_group_invite_code,
            "group_revoke_invite": self.op_group_revoke_invite,
            "group_join": self.op_group_join,
            "link_preview": self.op_link_preview,
            **self.message_kinds.ops(),
        }

    # ----- set-up and teardown --------------------------------------------------------------

    def _seeded(self) -> Account:
        opts = self.options
        return build_account(
            chats=opts.chats,
            messages=opts.messages,
            contacts=opts.contacts,
            groups=opts.groups,
            seed=opts.seed,
        )

    def _initial_account(self) -> Account:
        state_dir = self.options.state_dir
        if state_dir is not None:
            loaded = Account.load(state_dir)
            if loaded is not None:
                return loaded
            account = self._seeded()
            state_dir.mkdir(parents=True, exist_ok=True)
            account.save(state_dir)
            return account
        return self._seeded()

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_WS_MESSAGE)
        routes = [
            web.get("/", self.handle_index),
            web.get("/_sim/ws", self.handle_ws),
            web.get("/_sim/state", self.handle_state),
            web.post("/_sim/link", self.handle_link),
            web.post("/_sim/incoming", self.handle_incoming),
            web.post("/_sim/burst", self.handle_burst),
            web.post("/_sim/traffic", self.handle_traffic),
            web.get("/_sim/traffic", self.handle_traffic_status),
            web.post("/_sim/hog", self.handle_hog),
            web.get("/_sim/sent", self.handle_sent),
            web.delete("/_sim/sent", self.handle_clear_sent),
            web.post("/_sim/ack", self.handle_ack),
            web.post("/_sim/react", self.handle_react),
            web.post("/_sim/revoke", self.handle_revoke),
            web.post("/_sim/group", self.handle_group),
            web.post("/_sim/call", self.handle_call),
            web.post("/_sim/connection", self.handle_connection),
            web.post("/_sim/offline", self.handle_offline),
            web.post("/_sim/fault", self.handle_fault),
            web.post("/_sim/reset", self.handle_reset),
            web.post("/_sim/calls/collect", self.handle_collect_calls),
            web.get("/_sim/phone", self.handle_phone),
            web.get("/_sim/phone/qr.svg", self.handle_phone_qr),
            web.get("/_sim/chats", self.handle_chats),
            web.get("/_sim/messages/{id}", self.handle_message),
            web.get("/_sim/mms/{path:.*}", self.handle_mms),
            *self.message_kinds.routes(),
            web.route("OPTIONS", "/{tail:.*}", self.handle_options),
        ]
        app.add_routes(routes)
        return app

    async def close(self) -> None:
        """Close every page socket, stop timers and write pending state."""
        self.closing = True
        if self.traffic is not None and self.traffic.task is not None:
            self.traffic.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.traffic.task
        for page in list(self.pages):
            page.stop_rotation()
        await self.close_sockets(1001, b"server shutdown")
        self.flush_state()

    async def serve_on(self, host: str, port: int) -> tuple[web.AppRunner, str]:
        """Answer on ``host:port`` (port 0: a free one); the runner to clean up, and the URL."""
        runner = web.AppRunner(
            self.app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        bound_host, bound_port = runner.addresses[0][:2]
        return runner, f"http://{bound_host}:{bound_port}/"

    async def close_sockets(self, code: int, message: bytes) -> None:
        """Close every page socket; a socket that is already gone is skipped."""
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=code, message=message)

    def forget_pairing_codes(self, page: PageSession) -> None:
        """Forget the pairing codes this page asked for (it linked, asked again or went away)."""
        for code, holder in list(self.pairing_codes.items()):
            if holder is page:
                del self.pairing_codes[code]

    # ----- persistence ----------------------------------------------------------------------

    def changed(self) -> None:
        """Schedule a save of the account (when a state directory is set)."""
        if self.options.state_dir is None or self._save_handle is not None:
            return
        loop = asyncio.get_running_loop()
        self._save_handle = loop.call_later(STATE_SAVE_DELAY, self.flush_state)

    def flush_state(self) -> None:
        """Write the account now if a save is pending."""
        handle, self._save_handle = self._save_handle, None
        if handle is None or self.options.state_dir is None:
            return
        handle.cancel()
        try:
            self.account.save(self.options.state_dir)
        except OSError as err:
            _LOGGER.warning("Could not save the simulator state: %s", err)

    # ----- HTTP plumbing --------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except InputError as err:
            response = web.json_response(
                {"error": {"field": err.field, "message": err.message}}, status=err.status
            )
        except web.HTTPException as err:
            if err.status >= 400 and not err.text:
                response = web.json_response(
                    {"error": {"field": "", "message": err.reason}}, status=err.status
                )
            else:
                raise
        except Exception:  # the simulator answers 500 rather than dying on a bug
            _LOGGER.exception("Simulator route %s failed", request.path)
            response = web.json_response(
                {"error": {"field": "", "message": "internal error"}}, status=500
            )
        if not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def handle_options(self, _request: web.Request) -> web.Response:
        """CORS preflight for pages under another origin."""
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
            },
        )

    @staticmethod
    async def read_json(request: web.Request, *, allow_empty: bool = False) -> Args:
        """The request body as an object, or a 400."""
        raw = await request.read()
        if not raw.strip():
            if allow_empty:
                return Args({})
            raise InputError("body", "a JSON object is required")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InputError("body", "is not valid JSON") from None
        return Args(data)

    def ws_url(self, request: web.Request) -> str:
        """The WebSocket URL for a page served by this request's host."""
        return f"ws://{request.host}/_sim/ws"

    # ----- page and phone -------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page."""
        return web.Response(
            text=render_page(
                self.ws_url(request),
                self.options.version,
                {"modules": list(self.fault_modules), "members": list(self.fault_members)},
                record_calls=self.options.record_calls,
                surface=self.options.surface,
            ),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def handle_phone(self, _request: web.Request) -> web.Response:
        """The phone page for people (the current QR inline, the rest fetched by its script)."""
        qr = self.current_qr()
        qr_svg = qr_to_svg(qr) if qr else "<p>No page shows a QR code.</p>"
        page = PHONE_HTML.replace("{{QR_SVG}}", qr_svg).replace(
            "{{QR_JSON}}", json.dumps(qr).replace("</", "<\\/")
        )
        return web.Response(text=page, content_type="text/html")

    async def handle_phone_qr(self, _request: web.Request) -> web.Response:
        """The current QR as SVG (404 when no page shows one)."""
        qr = self.current_qr()
        if qr is None:
            raise not_found("qr", "no page shows a QR code")
        return web.Response(text=qr_to_svg(qr), content_type="image/svg+xml")

    # ----- WebSocket ------------------------------------------------------------------------

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        """The page's WebSocket: `hello`, then `call`s; pushes go out through `send`."""
        if self.connection == "dropped" or self.closing:
            return web.json_response(
                {"error": {"field": "", "message": "connection dropped"}}, status=503
            )
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, compress=False)
        await ws.prepare(request)
        self.sockets.add(ws)
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
        finally:
            self.sockets.discard(ws)
            if page is not None:
                page.closed = True
                page.faults_changed.set()
                for wanted in page.calls_wanted.values():
                    if not wanted.done():
                        wanted.set_result([])
                page.stop_rotation()
                if page in self.pages:
                    self.pages.remove(page)
                self.forget_pairing_codes(page)
        if not ws.closed:
            await ws.close()
        return ws

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
        return [p for p in self.pages if p.live and p.device_id and not p.closed]

    async def broadcast(self, frame: JSONDict, *, skip: PageSession | None = None) -> None:
        """Send a frame to every live page."""
        for page in self.live_pages():
            if page is not skip:
                await self.send(page, frame)

    def parse_hello(self, data: JSONDict) -> tuple[str, dict[str, str], bool, Device | None]:
        """`(page_id, keys, resume, known device or None)`, or InputError for a bad hello."""
        if data.get("t") != "hello":
            raise InputError("t", "the first frame must be hello")
        args = Args(data)
        keys_args = args.obj("keys")
        assert keys_args is not None
        keys = {name: keys_args.text(name) for name in ("noise", "identity", "adv")}
        page_id = args.string("page_id", required=False) or secrets.token_hex(8)
        resume = args.boolean("resume")
        device_args = args.obj("device", required=False)
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
        self.pages.append(page)
        if self.fault_modules or self.fault_members:
            await self.send(page, self.faults_frame())
        if device is None:
            await self.start_unpaired(page)
        else:
            page.device_id = device.id
            if self.connection == "conflict":
                # A page that (re)connects takes the session over.
                self.connection = "online"
            await self.connect(page, resume=resume)
            if self.connection == "deprecated":
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
            await asyncio.sleep(self.options.qr_interval)
            if page.closed or page.state != "UNPAIRED":
                return
            if page.rotations >= self.options.qr_max:
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
        self.changed()

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
        handler = self.ops.get(op) if isinstance(op, str) else None
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
            "seq": self.faults_seq,
            "modules": list(self.fault_modules),
            "members": list(self.fault_members),
        }

    # ----- shared account changes -----------------------------------------------------------

    def now(self) -> int:
        """Unix seconds."""
        return int(time.time())

    def newest_page(self) -> PageSession | None:
        """The most recently opened page that is still open."""
        open_pages = [p for p in self.pages if not p.closed]
        return open_pages[-1] if open_pages else None

    def current_qr(self) -> str | None:
        """The QR string of the newest page."""
        page = self.newest_page()
        return page.qr() if page else None

    def get_chat(self, chat_id: str, field_name: str) -> Chat:
        """A chat, or a 404."""
        chat = self.account.chats.get(chat_id)
        if chat is None:
            raise not_found(field_name, f"unknown chat {chat_id}")
        return chat

    def get_group(self, group_id: str, field_name: str) -> Group:
        """A group, or a 404."""
        group = self.account.groups.get(group_id)
        if group is None:
            raise not_found(field_name, f"unknown group {group_id}")
        return group

    def get_message(self, key: str, field_name: str) -> StoredMessage:
        """A message by serialized key (or bare id), or a 404."""
        message = self.account.messages.get(key)
        if message is None and "_" not in key:
            message = next(
                (m for m in self.account.messages.values() if m.wire["id"]["id"] == key), None
            )
        if message is None:
            raise not_found(field_name, "unknown message id")
        return message

    def me_in(self, group: Group) -> Participant | None:
        """My participant entry in a group (by phone number or LID)."""
        return group.participant(self.account.me.id) or group.participant(self.account.me.lid)

    def my_group_id(self, group: Group) -> str:
        """The id I use in a group (LID in LID-addressing groups)."""
        return self.account.me.lid if group.is_lid_addressing_mode else self.account.me.id

    def require_admin(self, group: Group, field_name: str) -> None:
        """403 unless I am an admin of the group."""
        mine = self.me_in(group)
        if mine is None:
            raise forbidden(field_name, "not a participant")
        if not (mine.is_admin or mine.is_super_admin):
            raise forbidden(field_name, "not an admin")

    def ensure_direct_chat(self, user_id: str) -> tuple[Chat, list[JSONDict]]:
        """The 1:1 chat with a user, created (with a contact) when new; plus the pushes."""
        pushes: list[JSONDict] = []
        chat = self.account.chats.get(user_id)
        if chat is not None:
            return chat, pushes
        contact = self.account.contacts.get(user_id)
        if contact is None:
            contact = Contact(id=user_id, is_my_contact=False)
            self.account.contacts[user_id] = contact
            pushes.append({"t": "contact_upsert", "contact": contact.wire()})
        chat = Chat(id=user_id, name=contact.name or contact.pushname or "", t=self.now())
        self.account.chats[user_id] = chat
        self.account.chat_messages[user_id] = []
        return chat, pushes

    async def deliver(self, message: StoredMessage, pushes: list[JSONDict]) -> None:
        """A new message from the network: live to connected devices, queued for the others."""
        chat = self.account.chats.get(message.chat)
        frames = list(pushes)
        if chat is not None:
            frames.append({"t": "chat_upsert", "chat": chat.wire()})
        frames.append({"t": "msg_add", "msg": {**message.wire, "isNewMsg": True}})
        online = self.connection != "dropped"
        for device_id in self.account.devices:
            targets = [p for p in self.live_pages() if p.device_id == device_id] if online else []
            if not targets:
                self.account.pending.setdefault(device_id, []).append(message.key)
                continue
            for page in targets:
                for frame in frames:
                    await self.send(page, frame)
        self.changed()

    def build_incoming(
        self,
        chat: Chat,
        *,
        sender: str | None,
        author: str | None,
        body: str,
        kind: str,
        from_me: bool,
        media: tuple[bytes, str, str | None] | None = None,
        quoted_id: str | None = None,
        mentions: list[str] | None = None,
    ) -> StoredMessage:
        """A message as the phone or another user sends it; stored, chat updated."""
        now = self.now()
        group = self.account.groups.get(chat.id)
        my_id = (
            self.my_group_id(group)
            if group
            else (self.account.me.lid if chat.id.endswith("@lid") else self.account.me.id)
        )
        if from_me:
            participant = my_id if group else None
            key = make_key(True, chat.id, new_incoming_id(), participant)
            wire_from, wire_to = my_id, chat.id
            author = my_id if group else None
        else:
            if group is not None and group.is_lid_addressing_mode and author:
                # A LID-addressed group names its senders by LID.
                author = self.account.lid_of(author) or author
            key = make_key(False, chat.id, new_incoming_id(), author if group else None)
            wire_from, wire_to = (chat.id if group else (sender or chat.id)), my_id
        wire: JSONDict = {
            "id": key,
            "type": kind,
            "body": body,
            "t": now,
            "from": wire_from,
            "to": wire_to,
            "ack": 1 if from_me else 0,
            "star": False,
            "isForwarded": False,
            "forwardingScore": 0,
            "mentionedJidList": list(mentions or []),
            "isNewMsg": True,
            "hasReaction": False,
        }
        if author and group:
            wire["author"] = author
        if quoted_id:
            wire["quotedMsgId"] = quoted_id
        if media is not None:
            data, mimetype, filename = media
            self.attach_media(wire, data, mimetype, filename)
            if kind in ("image", "video", "document") and body:
                wire["caption"] = body
                wire["body"] = ""
        message = StoredMessage(chat.id, wire)
        self.account.add_message(message)
        chat.t = now
        if from_me:
            chat.unread_count = 0
        else:
            chat.unread_count += 1
        return message

    def attach_media(
        self, wire: JSONDict, data: bytes, mimetype: str, filename: str | None
    ) -> MediaBlob:
        """Store media bytes under a fresh directPath and set the media fields."""
        blob = MediaBlob(data, mimetype, filename)
        direct_path = wire.get("directPath")
        if not isinstance(direct_path, str) or not direct_path:
            direct_path = (
                f"/v/t62.7118-24/{secrets.randbelow(10**8):08d}_{secrets.token_hex(8)}_n.enc"
            )
        self.account.media[direct_path] = blob
        media_key = wire.get("mediaKey") or base64.b64encode(secrets.token_bytes(32)).decode()
        wire.update(
            {
                "mimetype": mimetype,
                "size": len(data),
                "directPath": direct_path,
                "mediaKey": media_key,
                "filehash": blob.filehash,
                "encFilehash": wire.get("encFilehash")
                or base64.b64encode(secrets.token_bytes(32)).decode(),
                "mediaKeyTimestamp": wire.get("mediaKeyTimestamp") or self.now(),
            }
        )
        if filename:
            wire["filename"] = filename
        return blob

    def gp2(
        self, group: Group, subtype: str, author: str, recipients: list[str], body: str = ""
    ) -> StoredMessage:
        """A group notification message."""
        key = make_key(False, group.id, new_incoming_id(), author)
        wire: JSONDict = {
            "id": key,
            "type": "gp2",
            "subtype": subtype,
            "body": body,
            "t": self.now(),
            "from": group.id,
            "to": self.my_group_id(group),
            "author": author,
            "recipients": recipients,
            "ack": 0,
            "star": False,
            "isForwarded": False,
            "forwardingScore": 0,
            "mentionedJidList": [],
            "isNewMsg": True,
            "hasReaction": False,
        }
        message = StoredMessage(group.id, wire)
        self.account.add_message(message)
        chat = self.account.chats.get(group.id)
        if chat is not None:
            chat.t = message.wire["t"]
            chat.name = group.subject
            mine = self.me_in(group)
            chat.is_read_only = mine is None or (
                group.announce and not (mine.is_admin or mine.is_super_admin)
            )
        return message

    async def push_group(self, group: Group, notification: StoredMessage | None) -> None:
        """group_upsert (+ chat_upsert) to live pages, and the gp2 as a new message."""
        await self.broadcast({"t": "group_upsert", "group": group.wire()})
        if notification is not None:
            await self.deliver(notification, [])
        else:
            chat = self.account.chats.get(group.id)
            if chat is not None:
                await self.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        self.changed()

    # ----- control API ----------------------------------------------------------------------

    async def handle_state(self, _request: web.Request) -> web.Response:
        """`GET /_sim/state`."""
        page = self.newest_page()
        return web.json_response(
            {
                "state": page.state if page else None,
                "linked": bool(self.account.devices),
                "me": self.account.me.wire(),
                "qr": page.qr() if page else None,
                "pairing_code": self.last_pairing_code,
                "version": self.options.version,
                "surface": self.options.surface,
                "pages": len([p for p in self.pages if not p.closed]),
                "connection": self.connection,
                "devices": len(self.account.devices),
            }
        )

    async def handle_link(self, request: web.Request) -> web.Response:
        """`POST /_sim/link`: the phone scans a QR or enters a pairing code."""
        args = await self.read_json(request)
        if args.has("qr"):
            qr = args.text("qr")
            page = next((p for p in self.pages if not p.closed and p.scannable_qr() == qr), None)
            if page is None:
                raise InputError("qr", "no page shows this QR code now")
        elif args.has("code"):
            code = args.text("code").strip().upper().replace("-", "")
            page = self.pairing_codes.get(code)
            if page is None or page.closed or page.device_id is not None:
                raise InputError("code", "no page waits for this pairing code")
        else:
            raise InputError("qr", "give qr or code")
        await self.link(page)
        return web.json_response({"linked": True})

    async def handle_incoming(self, request: web.Request) -> web.Response:
        """`POST /_sim/incoming`: a message from someone (or typed on the phone)."""
        args = await self.read_json(request)
        chat_id = args.wid("chat")
        assert chat_id is not None
        from_me = args.boolean("from_me")
        sender = args.wid("from", required=False, kind="user")
        author = args.wid("author", required=False, kind="user")
        body = args.string("body", required=False, default="") or ""
        kind = args.string("type", required=False)
        if kind is not None and kind not in MESSAGE_TYPES:
            raise InputError("type", f"must be one of {', '.join(sorted(MESSAGE_TYPES))}")
        mentions = args.id_list("mentions", required=False)
        quoted_id = args.string("quoted_id", required=False)
        media_args = args.obj("media", required=False)
        media: tuple[bytes, str, str | None] | None = None
        if media_args is not None:
            mimetype = media_args.text("mimetype")
            filename = media_args.string("filename", required=False)
            data = decode_b64(media_args.text("data_b64"), "media.data_b64")
            media = (data, mimetype, filename)
            if kind is None:
                kind = _kind_for_mimetype(mimetype)
            elif kind not in MEDIA_TYPES:
                raise InputError("type", "must be a media type when media is given")
        elif kind in MEDIA_TYPES:
            raise InputError("media", "is required for a media type")
        pushes: list[JSONDict] = []
        if is_group_id(chat_id):
            chat = self.get_chat(chat_id, "chat")
            if author is None and not from_me:
                raise InputError("author", "is required for group chats")
        else:
            if sender is not None and sender != chat_id:
                known = self.account.contacts.get(chat_id)
                if known is None or sender != known.phone_number:
                    raise InputError("from", "must be the chat (or its phone number)")
            chat, pushes = self.ensure_direct_chat(chat_id)
        if quoted_id is not None:
            self.get_message(quoted_id, "quoted_id")
        message = self.build_incoming(
            chat,
            sender=sender,
            author=author,
            body=body,
            kind=kind or "chat",
            from_me=from_me,
            media=media,
            quoted_id=quoted_id,
            mentions=mentions,
        )
        await self.deliver(message, pushes)
        return web.json_response({"id": message.key})

    async def handle_burst(self, request: web.Request) -> web.Response:
        """`POST /_sim/burst`: many text messages from these 1:1 chats, as fast as the server goes.

        Messages from WhatsApp's servers reach a device without anybody's HTTP request per
        message; a benchmark that sent each one through `/_sim/incoming` measured its own sender.
        """
        args = await self.read_json(request)
        chat_ids = args.id_list("chats")
        if not chat_ids:
            raise InputError("chats", "must name at least one chat")
        count = args.integer("count", minimum=1, maximum=MAX_BURST)
        chats = [self.get_chat(chat_id, "chats") for chat_id in chat_ids]
        ids: list[str] = []
        for n in range(count):
            chat = chats[n % len(chats)]
            message = self.build_incoming(
                chat, sender=None, author=None, body=f"burst {n}", kind="chat", from_me=False
            )
            await self.deliver(message, [])
            ids.append(message.key)
        return web.json_response({"ids": ids})

    async def handle_traffic(self, request: web.Request) -> web.Response:
        """`POST /_sim/traffic`: mixed events at a steady rate, generated here (simulator/traffic.py).

        Answers 202 at once; `GET /_sim/traffic` reports the progress. One run at a time.
        """
        args = await self.read_json(request)
        if args.boolean("stop"):
            if self.traffic is not None and self.traffic.task is not None:
                self.traffic.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.traffic.task
            return web.json_response(self.traffic.status() if self.traffic else {})
        if self.traffic is not None and self.traffic.finished is None:
            raise InputError("count", "a traffic run is still going (stop it first)", status=409)
        run = TrafficRun(parse_plan(self, args))
        run.task = asyncio.get_running_loop().create_task(TrafficGenerator(self, run)())
        self.traffic = run
        return web.json_response(run.status(), status=202)

    async def handle_traffic_status(self, _request: web.Request) -> web.Response:
        """`GET /_sim/traffic`: the latest run's progress (404 before any)."""
        if self.traffic is None:
            raise not_found("traffic", "no traffic run yet")
        return web.json_response(self.traffic.status())

    async def handle_hog(self, request: web.Request) -> web.Response:
        """`POST /_sim/hog {mib}`: live pages allocate and keep ``mib`` MiB more (0 frees it all).

        A page that leaks, for the tests of the integration's memory guard.
        """
        args = await self.read_json(request)
        mib = args.integer("mib", minimum=0, maximum=MAX_HOG_MIB)
        pages = self.live_pages()
        for page in pages:
            await self.send(page, {"t": "hog", "mib": mib})
        return web.json_response({"pages": len(pages)})

    async def handle_sent(self, _request: web.Request) -> web.Response:
        """`GET /_sim/sent`."""
        return web.json_response({"sent": self.account.outbox})

    async def handle_clear_sent(self, _request: web.Request) -> web.Response:
        """`DELETE /_sim/sent`."""
        self.account.outbox.clear()
        self.changed()
        return web.Response(status=204)

    async def handle_ack(self, request: web.Request) -> web.Response:
        """`POST /_sim/ack`: the receiver's phone acknowledged a message."""
        args = await self.read_json(request)
        key = args.text("id")
        ack = args.integer("ack", minimum=-1, maximum=4)
        if ack == 0:
            raise InputError("ack", "must be 1..4 or -1")
        message = await self.sent_message(key)
        message.wire["ack"] = ack
        await self.broadcast({"t": "msg_update", "id": message.key, "changes": {"ack": ack}})
        self.changed()
        return web.Response(status=204)

    async def sent_message(self, key: str) -> StoredMessage:
        """A message by key; an own message (`true_...`) the page is still sending is awaited.

        The page shows a sent message before the server has it (the `send_message` call is in
        flight); the phone can only acknowledge it once it arrived, so wait for it briefly.
        """
        deadline = time.monotonic() + SENT_MESSAGE_GRACE
        while key.startswith("true_") and key not in self.account.messages:
            if time.monotonic() >= deadline or self.closing:
                break
            await asyncio.sleep(0.02)
        return self.get_message(key, "id")

    async def handle_react(self, request: web.Request) -> web.Response:
        """`POST /_sim/react`: someone reacted to a message (`""` removes)."""
        args = await self.read_json(request)
        key = args.text("id")
        emoji = args.text("emoji")
        sender = args.wid("from", required=False, kind="user")
        message = await self.sent_message(key)
        await self.apply_reaction(
            message, self.default_sender(message, sender), emoji, from_me=False
        )
        return web.Response(status=204)

    def default_sender(self, message: StoredMessage, sender: str | None) -> str:
        """Who acts on a message when the control call does not say: the chat, or a group member."""
        if sender is not None:
            return sender
        group = self.account.groups.get(message.chat)
        if group is None:
            return message.chat
        others = [p.id for p in group.participants if not self.account.is_me(p.id)]
        if not others:
            raise InputError("from", "is required (the group has no other member)")
        return others[0]

    async def apply_reaction(
        self, message: StoredMessage, sender: str, emoji: str, *, from_me: bool
    ) -> None:
        """Store a reaction and push its row (and `hasReaction`)."""
        if emoji:
            message.reactions[sender] = emoji
        else:
            message.reactions.pop(sender, None)
        group = message.chat in self.account.groups
        reaction_key = make_key(
            from_me,
            message.chat,
            new_own_id() if from_me else new_incoming_id(),
            sender if group else None,
        )
        row: JSONDict = {
            "id": reaction_key,
            "reactionParentKey": message.wire["id"],
            "reactionText": emoji,
            "reactionTimestamp": int(time.time() * 1000),
            "from": sender,
            "read": False,
            "orphan": 0,
            "ack": 1,
        }
        if group:
            row["author"] = sender
        has_reaction = bool(message.reactions)
        message.wire["hasReaction"] = has_reaction
        await self.broadcast({"t": "reaction", "row": row})
        await self.broadcast(
            {"t": "msg_update", "id": message.key, "changes": {"hasReaction": has_reaction}}
        )
        self.changed()

    async def handle_revoke(self, request: web.Request) -> web.Response:
        """`POST /_sim/revoke`: the sender deleted a message for everyone."""
        args = await self.read_json(request)
        message = await self.sent_message(args.text("id"))
        await self.revoke(message)
        return web.Response(status=204)

    async def revoke(self, message: StoredMessage) -> None:
        """Turn a message into `revoked` and tell the pages."""
        message.revoked = True
        message.wire["type"] = "revoked"
        message.wire["body"] = ""
        for attr in ("caption", "directPath", "mediaKey", "filehash", "encFilehash"):
            message.wire.pop(attr, None)
        await self.broadcast(
            {"t": "msg_update", "id": message.key, "changes": {"type": "revoked", "body": ""}}
        )
        self.changed()

    async def handle_group(self, request: web.Request) -> web.Response:
        """`POST /_sim/group`: someone changed a group."""
        args = await self.read_json(request)
        group_id = args.wid("group", kind="group")
        assert group_id is not None
        action = args.choice("action", GROUP_ACTIONS)
        group = self.get_group(group_id, "group")
        author = args.wid("author", required=False, kind="user")
        if author is None:
            author = group.owner
        participants = args.id_list(
            "participants", required=action in ("add", "remove", "promote", "demote")
        )
        recipients = list(participants)
        if action == "add":
            for user in participants:
                if group.participant(user) is None:
                    group.participants.append(Participant(id=user))
        elif action in ("remove", "leave"):
            gone = set(participants) if action == "remove" else {author}
            missing = [user for user in sorted(gone) if group.participant(user) is None]
            if missing:
                field_name = "participants" if action == "remove" else "author"
                raise not_found(field_name, f"{missing[0]} is not in the group")
            recipients = sorted(gone) if action == "leave" else recipients
            group.participants = [p for p in group.participants if p.id not in gone]
        elif action in ("promote", "demote"):
            for user in participants:
                member = group.participant(user)
                if member is None:
                    raise not_found("participants", f"{user} is not in the group")
                member.is_admin = action == "promote"
                if action == "demote":
                    member.is_super_admin = False
        elif action == "subject":
            group.subject = args.text("value")
        elif action == "description":
            group.desc = args.text("value")
            group.desc_id = new_incoming_id()
        elif action in ("announce", "restrict"):
            value = args.data.get("value")
            if not isinstance(value, bool):
                raise InputError("value", "must be a boolean")
            setattr(group, action, value)
        else:  # picture: nothing in the metadata changes
            args.string("value", required=False)
        body = (
            group.subject if action == "subject" else group.desc if action == "description" else ""
        )
        notification = self.gp2(group, action, author, recipients, body)
        await self.push_group(group, notification)
        return web.json_response({"id": notification.key})

    async def handle_call(self, request: web.Request) -> web.Response:
        """`POST /_sim/call`: an incoming call."""
        args = await self.read_json(request)
        caller = args.wid("from")
        is_video = args.boolean("is_video")
        is_group = args.boolean("is_group")
        call_id = secrets.token_hex(16).upper()
        call: JSONDict = {
            "id": call_id,
            "peerJid": caller,
            "offerTime": self.now(),
            "isVideo": is_video,
            "isGroup": is_group,
            "outgoing": False,
            "canHandleLocally": True,
            "webClientShouldHandle": True,
            "participants": [],
        }
        await self.broadcast({"t": "call_add", "call": call})
        return web.json_response({"id": call_id})

    async def handle_connection(self, request: web.Request) -> web.Response:
        """`POST /_sim/connection`: drop, restore, conflict, logout, deprecate."""
        args = await self.read_json(request)
        action = args.choice("action", CONNECTION_ACTIONS)
        if action == "drop":
            self.connection = "dropped"
            await self.close_sockets(1001, b"connection dropped")
        elif action == "restore":
            self.connection = "online"
            for page in self.live_pages():
                if page.state != "CONNECTED":
                    page.state = "CONNECTED"
                    await self.send(page, {"t": "state", "state": "CONNECTED"})
        elif action == "conflict":
            self.connection = "conflict"
            for page in self.live_pages():
                page.state = "CONFLICT"
                await self.send(page, {"t": "state", "state": "CONFLICT"})
        elif action == "deprecate":
            self.connection = "deprecated"
            for page in [p for p in self.pages if not p.closed]:
                page.state = "DEPRECATED_VERSION"
                await self.send(page, {"t": "state", "state": "DEPRECATED_VERSION"})
        else:
            await self.unlink_devices(list(self.account.devices))
        return web.Response(status=204)

    async def unlink_devices(self, device_ids: list[str]) -> None:
        """The phone removed these devices: their pages get `logout`."""
        for device_id in device_ids:
            self.account.devices.pop(device_id, None)
            self.account.pending.pop(device_id, None)
        for page in [p for p in self.pages if p.device_id in device_ids]:
            page.device_id = None
            page.live = False
            page.state = None
            await self.send(page, {"t": "logout"})
        self.changed()

    async def handle_offline(self, request: web.Request) -> web.Response:
        """`POST /_sim/offline`: N incoming texts queued for the next (re)connection."""
        args = await self.read_json(request)
        count = args.integer("messages", minimum=0, maximum=100_000)
        chat_id = args.wid("chat", required=False)
        if chat_id is not None:
            chat = self.get_chat(chat_id, "chat")
        else:
            candidates = [c for c in self.account.chat_order() if not c.is_group and not c.archive]
            if not candidates:
                raise InputError("chat", "is required (no 1:1 chat to use)")
            chat = candidates[0]
        group = self.account.groups.get(chat.id)
        others = [p.id for p in group.participants if not self.account.is_me(p.id)] if group else []
        if group is not None and not others:
            raise InputError("chat", "the group has no other member")
        for index in range(count):
            message = self.build_incoming(
                chat,
                sender=None,
                author=others[index % len(others)] if others else None,
                body=f"Offline message {index + 1} of {count}",
                kind="chat",
                from_me=False,
            )
            for device_id in self.account.devices:
                self.account.pending.setdefault(device_id, []).append(message.key)
        self.changed()
        return web.Response(status=204)

    async def handle_fault(self, request: web.Request) -> web.Response:
        """`POST /_sim/fault`: hide a module or member from the page (`{}` restores)."""
        args = await self.read_json(request, allow_empty=True)
        module = args.string("missing_module", required=False)
        member = args.string("missing_member", required=False)
        if module is None and member is None:
            if args.data:
                unknown = next(iter(args.data))
                raise InputError(unknown, "unknown fault (missing_module or missing_member)")
            self.fault_modules.clear()
            self.fault_members.clear()
        if module is not None:
            if not module.strip():
                raise InputError("missing_module", "must not be empty")
            if module not in self.fault_modules:
                self.fault_modules.append(module)
        if member is not None:
            if member.count(".") < 1 or not all(member.split(".")):
                raise InputError("missing_member", "must look like Module.member[.deeper]")
            if member not in self.fault_members:
                self.fault_members.append(member)
        self.faults_seq += 1
        frame = self.faults_frame()
        pages = [p for p in self.pages if not p.closed]
        for page in pages:
            await self.send(page, frame)
        # Answer once the open pages run without what was removed, so that a test's next call meets
        # the change (bounded: a page that never answers does not hold the route).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FAULT_APPLY_TIMEOUT):
                for page in pages:
                    while not page.closed and page.faults_applied < self.faults_seq:
                        page.faults_changed.clear()
                        await page.faults_changed.wait()
        return web.Response(status=204)

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

    async def handle_collect_calls(self, _request: web.Request) -> web.Response:
        """`POST /_sim/calls/collect`: the module calls every open page recorded since the last time.

        Each page answers over its WebSocket, after every frame it sent before, so the answer holds
        every call a client made before this request. Only with `--record-calls`.
        """
        if not self.options.record_calls:
            raise InputError("record_calls", "the simulator runs without --record-calls", 409)
        self.calls_seq += 1
        frame = {"t": "calls_collect", "seq": self.calls_seq}
        loop = asyncio.get_running_loop()
        wanted: list[asyncio.Future[list[str]]] = []
        for page in [p for p in self.pages if not p.closed]:
            future: asyncio.Future[list[str]] = loop.create_future()
            page.calls_wanted[self.calls_seq] = future
            wanted.append(future)
            await self.send(page, frame)
        calls: set[str] = set()
        try:
            async with asyncio.timeout(CALLS_COLLECT_TIMEOUT):
                for future in wanted:
                    calls.update(await future)
        except TimeoutError:
            # A partial list would hide differences: say so instead.
            return web.json_response(
                {"error": {"field": "", "message": "a page did not answer calls_collect"}},
                status=504,
            )
        return web.json_response({"calls": sorted(calls)})

    async def handle_reset(self, _request: web.Request) -> web.Response:
        """`POST /_sim/reset`: seeded, unlinked, empty outbox, no faults, online."""
        self.account = self._seeded()
        self.connection = "online"
        self.fault_modules.clear()
        self.fault_members.clear()
        self.pairing_codes.clear()
        self.last_pairing_code = None
        self.message_kinds.reset()
        for page in list(self.pages):
            page.stop_rotation()
        # Pages reconnect by themselves; their device is unknown now, so they show a QR.
        await self.close_sockets(1012, b"reset")
        if self.options.state_dir is not None:
            self.account.save(self.options.state_dir)
        return web.Response(status=204)

    async def handle_chats(self, _request: web.Request) -> web.Response:
        """`GET /_sim/chats`: the server-side truth of every chat."""
        now = self.now()
        chats = []
        for chat in self.account.chat_order():
            muted = chat.mute_expiration == -1 or chat.mute_expiration > now
            chats.append(
                {
                    "id": chat.id,
                    "name": chat.name,
                    "is_group": chat.is_group,
                    "archived": chat.archive,
                    "pinned": bool(chat.pin),
                    "muted_until": chat.mute_expiration if muted else 0,
                    "unread_count": chat.unread_count,
                    "messages": len(self.account.chat_messages.get(chat.id, [])),
                    "t": chat.t,
                }
            )
        return web.json_response({"chats": chats})

    async def handle_message(self, request: web.Request) -> web.Response:
        """`GET /_sim/messages/{id}`."""
        message = self.get_message(request.match_info["id"], "id")
        return web.json_response(message.truth())

    async def handle_mms(self, request: web.Request) -> web.Response:
        """`GET /_sim/mms/{directPath}`: media bytes (for pages that fetch over HTTP)."""
        path = "/" + request.match_info["path"].lstrip("/")
        if request.query_string:
            path += "?" + request.query_string
        blob = self.account.media.get(path)
        if blob is None:
            raise not_found("path", "unknown media")
        return web.Response(body=blob.data, content_type=blob.mimetype.split(";")[0])

    # ----- operations (page calls) ----------------------------------------------------------

    async def op_request_pairing_code(self, page: PageSession, args: Args) -> JSONDict:
        """A pairing code for the phone-number flow."""
        phone = args.text("phone")
        if not phone.isdigit() or not 6 <= len(phone) <= 20:
            raise InputError(args.name("phone"), "must be 6 to 20 digits")
        if page.device_id is not None:
            raise forbidden(args.name("phone"), "the page is already linked")
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
        self.forget_pairing_codes(page)
        self.pairing_codes[code] = page
        self.last_pairing_code = code
        return {"code": code}

    async def op_logout(self, page: PageSession, _args: Args) -> JSONDict:
        """The page logs itself out."""
        assert page.device_id is not None
        await self.unlink_devices([page.device_id])
        return {}

    async def op_takeover(self, page: PageSession, _args: Args) -> JSONDict:
        """'Use here' after a conflict."""
        if self.connection == "conflict":
            self.connection = "online"
            for other in self.live_pages():
                if other.state == "CONFLICT":
                    other.state = "CONNECTED"
                    await self.send(other, {"t": "state", "state": "CONNECTED"})
        return {}

    async def op_send_message(self, page: PageSession, args: Args) -> JSONDict:
        """The user sends a message; stored with `ack: 1`."""
        chat_id = args.wid("chat")
        assert chat_id is not None
        msg_args = args.obj("msg")
        assert msg_args is not None
        key_args = msg_args.obj("id")
        assert key_args is not None
        serialized = key_args.text("_serialized")
        key_args.text("id")
        kind = msg_args.string("type", required=False, default="chat") or "chat"
        kind_entry = kind_fields(kind, msg_args)
        if is_group_id(chat_id):
            chat = self.get_chat(chat_id, args.name("chat"))
            group = self.get_group(chat_id, args.name("chat"))
            mine = self.me_in(group)
            if mine is None:
                raise forbidden(args.name("chat"), "not a participant")
            if group.announce and not (mine.is_admin or mine.is_super_admin):
                raise forbidden(args.name("chat"), "only admins can send messages")
        else:
            if chat_id not in self.account.chats and self.account.registered(chat_id) is None:
                raise not_found(args.name("chat"), f"{chat_id} is not on WhatsApp")
            chat, pushes = self.ensure_direct_chat(chat_id)
            for frame in pushes:
                await self.broadcast(frame)
        if serialized in self.account.messages:
            raise InputError(args.name("msg.id"), "a message with this id exists")
        wire = {k: v for k, v in msg_args.data.items() if k != "extra_attrs"}
        extra = msg_args.data.get("extra_attrs")
        if extra is None:
            extra = args.data.get("extra_attrs")
        if extra is not None and not isinstance(extra, dict):
            raise InputError(args.name("msg.extra_attrs"), "must be an object")
        media_entry: JSONDict | None = None
        media_b64 = args.string("media_b64", required=False)
        sticker = args.obj("sticker", required=False)
        if media_b64 is not None:
            data = decode_b64(media_b64, args.name("media_b64"))
            mimetype = msg_args.string("mimetype", required=False) or "application/octet-stream"
            filename = msg_args.string("filename", required=False)
            blob = self.attach_media(wire, data, mimetype, filename)
            media_entry = {
                "mimetype": mimetype,
                "filename": filename,
                "size": len(data),
                "sha256": blob.sha256_hex,
                "is_gif": bool(wire.get("isGif")),
                "sticker": None
                if sticker is None
                else {
                    "pack_name": sticker.data.get("pack_name"),
                    "publisher": sticker.data.get("publisher"),
                    "emojis": sticker.data.get("emojis"),
                },
            }
        elif kind in MEDIA_TYPES:
            # A forward names media the server already has; anything else must bring its bytes.
            media_entry = self.known_media_entry(wire)
            if media_entry is None:
                raise InputError(args.name("media_b64"), f"is required for a {kind} message")
        now = self.now()
        wire["ack"] = 1
        wire["t"] = now
        wire.setdefault("type", kind)
        message = StoredMessage(chat.id, wire)
        self.account.add_message(message)
        chat.t = now
        chat.unread_count = 0
        if not self._deliverable(kind, args.obj("stanza", required=False)):
            # WhatsApp took the stanza but never delivers it: no outbox entry, ack stays 1.
            message.undelivered = True
            self.changed()
            return {"msg": wire}
        quoted = msg_args.data.get("quotedMsgId")
        mentions = msg_args.data.get("mentionedJidList") or []
        self.account.record(
            "message",
            page.page_id,
            chat=chat.id,
            id=message.key,
            type=kind,
            body=wire.get("body"),
            caption=wire.get("caption"),
            mentions=mentions if isinstance(mentions, list) else [],
            quoted_id=quoted if isinstance(quoted, str) else None,
            link_preview=args.boolean("link_preview"),
            media=media_entry,
            attrs=extra or {},
            **kind_entry,
        )
        await self.broadcast({"t": "msg_add", "msg": {**wire, "isNewMsg": True}}, skip=page)
        await self.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        self.changed()
        return {"msg": wire}

    def known_media_entry(self, wire: JSONDict) -> JSONDict | None:
        """The outbox `media` of a message whose `directPath` the server already holds."""
        blob = self.account.media.get(str(wire.get("directPath") or ""))
        if blob is None:
            return None
        return {
            "mimetype": blob.mimetype,
            "filename": blob.filename,
            "size": len(blob.data),
            "sha256": blob.sha256_hex,
            "is_gif": bool(wire.get("isGif")),
            "sticker": None,
        }

    @staticmethod
    def _deliverable(kind: str, stanza: Args | None) -> bool:
        """A location goes out only as a `text` stanza without a media type.

        The page's own type attributes for a location make WhatsApp drop it; whatsapp-web.js
        answers "text" and no media type (docs/whatsapp-web-surface.md §8.1 C45).
        """
        if kind != "location":
            return True
        if stanza is None:
            return False
        return stanza.data.get("type") == "text" and stanza.data.get("mediatype") is None

    async def op_media_download(self, _page: PageSession, args: Args) -> JSONDict:
        """Media bytes by directPath."""
        path = args.text("directPath")
        blob = self.account.media.get(path)
        if blob is None:
            raise not_found(args.name("directPath"), "unknown media")
        return {
            "data_b64": base64.b64encode(blob.data).decode(),
            "mimetype": blob.mimetype,
            "filename": blob.filename,
            "size": len(blob.data),
        }

    async def op_load_earlier(self, _page: PageSession, args: Args) -> JSONDict:
        """Older messages of a chat, oldest first."""
        chat_id = args.wid("chat")
        assert chat_id is not None
        self.get_chat(chat_id, args.name("chat"))
        count = args.integer("count", required=False, default=50, minimum=1, maximum=1000)
        keys = self.account.chat_keys(chat_id)
        before = args.string("before", required=False)
        end = len(keys)
        if before is not None:
            if before not in keys:
                raise not_found(args.name("before"), "unknown message in this chat")
            end = keys.index(before)
        chosen = keys[max(0, end - count) : end]
        return {"msgs": [{**self.account.messages[k].wire, "isNewMsg": False} for k in chosen]}

    async def op_get_messages(self, _page: PageSession, args: Args) -> JSONDict:
        """The known messages among `ids`."""
        ids = args.string_list("ids")
        found = [self.account.messages[i] for i in ids if i in self.account.messages]
        return {"msgs": [{**m.wire, "isNewMsg": False} for m in found]}

    async def op_react(self, page: PageSession, args: Args) -> JSONDict:
        """I react to a message."""
        key = args.text("message_id")
        emoji = args.text("emoji")
        message = self.get_message(key, args.name("message_id"))
        group = self.account.groups.get(message.chat)
        me = self.my_group_id(group) if group else self.account.me.id
        self.account.record("reaction", page.page_id, message_id=message.key, emoji=emoji)
        await self.apply_reaction(message, me, emoji, from_me=True)
        return {}

    async def op_star(self, page: PageSession, args: Args) -> JSONDict:
        """Star or unstar messages."""
        keys = args.string_list("message_ids")
        starred = args.boolean("starred", default=True)
        messages = [self.get_message(k, args.name("message_ids")) for k in keys]
        for message in messages:
            message.wire["star"] = starred
            self.account.record("star", page.page_id, message_id=message.key, starred=starred)
            await self.broadcast(
                {"t": "msg_update", "id": message.key, "changes": {"star": starred}}
            )
        self.changed()
        return {}

    async def op_delete(self, page: PageSession, args: Args) -> JSONDict:
        """Delete messages for me, or revoke them for everyone."""
        keys = args.string_list("message_ids")
        everyone = args.boolean("everyone")
        messages = [self.get_message(k, args.name("message_ids")) for k in keys]
        if everyone:
            for message in messages:
                group = self.account.groups.get(message.chat)
                mine = self.me_in(group) if group else None
                admin = mine is not None and (mine.is_admin or mine.is_super_admin)
                if not message.wire["id"]["fromMe"] and not admin:
                    raise forbidden(args.name("message_ids"), "can only revoke own messages")
        for message in messages:
            self.account.record("delete", page.page_id, message_id=message.key, everyone=everyone)
            if everyone:
                await self.revoke(message)
            else:
                self.account.remove_message(message.key)
                await self.broadcast({"t": "msg_remove", "id": message.key})
        self.changed()
        return {}

    async def op_chat_action(self, page: PageSession, args: Args) -> JSONDict:
        """Archive, pin, mute, mark read/unread, clear or delete a chat."""
        chat_id = args.wid("chat")
        assert chat_id is not None
        action = args.choice("action", CHAT_ACTIONS)
        chat = self.get_chat(chat_id, args.name("chat"))
        expiration: int | None = None
        if action == "mute":
            expiration = args.integer("expiration", required=False, default=-1, minimum=-1)
            if expiration == 0:
                raise InputError(args.name("expiration"), "must be -1 or unix seconds")
            chat.mute_expiration = expiration
        elif action == "unmute":
            chat.mute_expiration = 0
        elif action == "pin":
            chat.pin = self.now()
        elif action == "unpin":
            chat.pin = 0
        elif action in ("archive", "unarchive"):
            chat.archive = action == "archive"
            if chat.archive:
                chat.pin = 0
        elif action == "seen":
            chat.unread_count = 0
        elif action == "mark_unread":
            chat.unread_count = -1 if chat.unread_count == 0 else chat.unread_count
        entry: JSONDict = {"chat": chat.id, "action": action}
        if action == "mute":
            entry["expiration"] = expiration
        self.account.record("chat", page.page_id, **entry)
        if action in ("clear", "delete"):
            for key in list(self.account.chat_messages.get(chat.id, [])):
                self.account.remove_message(key)
                await self.broadcast({"t": "msg_remove", "id": key})
        if action == "delete":
            self.account.chats.pop(chat.id, None)
            self.account.chat_messages.pop(chat.id, None)
            await self.broadcast({"t": "chat_remove", "id": chat.id})
        else:
            await self.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        self.changed()
        return {}

    async def op_chat_state(self, page: PageSession, args: Args) -> JSONDict:
        """Typing / recording / paused."""
        chat_id = args.wid("chat")
        assert chat_id is not None
        state = args.choice("state", ("composing", "recording", "paused"))
        if chat_id not in self.account.chats and self.account.registered(chat_id) is None:
            # Any WhatsApp user may be told the user is typing, with or without a chat.
            self.get_chat(chat_id, args.name("chat"))
        self.account.record("chat_state", page.page_id, chat=chat_id, state=state)
        return {}

    async def op_presence(self, page: PageSession, args: Args) -> JSONDict:
        """Available / unavailable."""
        available = args.data.get("available")
        if not isinstance(available, bool):
            raise InputError(args.name("available"), "must be a boolean")
        self.account.record("presence", page.page_id, available=available)
        return {}

    async def op_profile(self, page: PageSession, args: Args) -> JSONDict:
        """Set my pushname or about text."""
        field_name = args.choice("field", ("pushname", "status"))
        value = args.text("value")
        if field_name == "pushname":
            if not value.strip() or len(value) > 25:
                raise InputError(args.name("value"), "must be 1 to 25 characters")
            self.account.me.pushname = value
        else:
            if len(value) > 139:
                raise InputError(args.name("value"), "must be at most 139 characters")
            self.account.me.about = value
        self.account.record("profile", page.page_id, field=field_name, value=value)
        if field_name == "pushname":
            await self.broadcast({"t": "me", "changes": {"pushname": value}})
        self.changed()
        return {}

    async def op_status_get(self, _page: PageSession, args: Args) -> JSONDict:
        """A contact's about text."""
        user_id = args.wid("id", kind="user")
        assert user_id is not None
        if self.account.is_me(user_id):
            return {"status": self.account.me.about}
        contact = self.account.registered(user_id)
        if contact is None:
            raise not_found(args.name("id"), "not a WhatsApp user")
        return {"status": contact.about or ""}

    async def op_query_exists(self, _page: PageSession, args: Args) -> JSONDict:
        """Whether a number (or LID) is on WhatsApp."""
        user_id = args.wid("id", kind="user")
        assert user_id is not None
        if self.account.is_me(user_id):
            return {"exists": True, "id": self.account.me.id, "lid": self.account.me.lid}
        contact = self.account.registered(user_id)
        if contact is None:
            return {"exists": False}
        phone = contact.phone_id
        lid = contact.account_lid
        result: JSONDict = {"exists": True, "id": phone or contact.id}
        if lid:
            result["lid"] = lid
        return result

    async def op_contact_block(self, page: PageSession, args: Args) -> JSONDict:
        """Block or unblock a contact by its LID (the block list holds LIDs)."""
        user_id = args.wid("contact", kind="user")
        assert user_id is not None
        blocked = args.data.get("blocked")
        if not isinstance(blocked, bool):
            raise InputError(args.name("blocked"), "must be a boolean")
        if not user_id.endswith("@lid"):
            raise InputError(args.name("contact"), "the block list holds LIDs: expected an @lid id")
        contact = self.account.contact_for(user_id)
        if contact is None:
            raise not_found(args.name("contact"), "unknown contact")
        contact.is_blocked = blocked
        self.account.record(
            "contact",
            page.page_id,
            action="block" if blocked else "unblock",
            contact=contact.id,
            lid=user_id,
        )
        await self.broadcast({"t": "contact_upsert", "contact": contact.wire()})
        self.changed()
        return {}

    async def op_common_groups(self, _page: PageSession, args: Args) -> JSONDict:
        """Groups I share with a contact."""
        user_id = args.wid("contact", kind="user")
        assert user_id is not None
        aliases = {user_id}
        contact = self.account.contacts.get(user_id)
        if contact is not None and contact.phone_number:
            aliases.add(contact.phone_number)
        lid = self.account.lid_of(user_id)
        if lid:
            aliases.add(lid)
        groups = [
            g.id
            for g in self.account.groups.values()
            if g.id in self.account.chats
            and self.me_in(g) is not None
            and any(p.id in aliases or p.phone_number in aliases for p in g.participants)
        ]
        return {"groups": groups}

    def _new_member(self, group: Group, user_id: str) -> Participant:
        """A participant for a user: by LID (with the phone number) in a LID-addressed group."""
        if not group.is_lid_addressing_mode:
            return Participant(id=user_id)
        lid = self.account.lid_of(user_id)
        if lid is None:
            return Participant(id=user_id)
        return Participant(id=lid, phone_number=self.account.phone_of(user_id))

    def _add_code(self, user_id: str, group: Group | None) -> int:
        """200 added, 404 not on WhatsApp, 403 privacy settings, 409 already a member."""
        contact = self.account.registered(user_id)
        if contact is None:
            return 404
        if contact.group_add_privacy:
            return 403
        if group is not None and any(user_id in (p.id, p.phone_number) for p in group.participants):
            return 409
        return 200

    async def op_group_create(self, page: PageSession, args: Args) -> JSONDict:
        """Create a group."""
        title = args.text("title")
        if not title.strip() or len(title) > 100:
            raise InputError(args.name("title"), "must be 1 to 100 characters")
        participants = args.id_list("participants")
        options = args.obj("options", required=False)
        gid = f"120363{secrets.randbelow(10**12):012d}@g.us"
        now = self.now()
        # `addressingModeOverride: 'lid'` makes a LID-addressed group: participants keyed by LID
        # (docs/whatsapp-web-surface.md §8.1 C41).
        lid_mode = options is not None and options.data.get("addressingModeOverride") == "lid"
        me_id = self.account.me.lid if lid_mode else self.account.me.id
        group = Group(
            id=gid,
            subject=title,
            owner=me_id,
            creation=now,
            is_lid_addressing_mode=lid_mode,
            participants=[
                Participant(
                    id=me_id,
                    is_admin=True,
                    is_super_admin=True,
                    phone_number=self.account.me.id if lid_mode else None,
                )
            ],
            invite_code=new_invite_code(),
        )
        if options is not None:
            # Settings the client passes along; anything not a boolean keeps the default.
            settings = {k: v for k, v in options.data.items() if isinstance(v, bool)}
            if "memberAddMode" in settings:
                group.member_add_mode = (
                    "all_member_add" if settings["memberAddMode"] else "admin_add"
                )
            group.announce = settings.get("announce", False)
            group.restrict = settings.get("restrict", False)
        results = []
        for user_id in participants:
            code = self._add_code(user_id, group)
            member = self._new_member(group, user_id)
            if code == 200:
                group.participants.append(member)
            result: JSONDict = {"id": member.id, "code": code}
            if member.phone_number:
                result["phoneNumber"] = member.phone_number
            results.append(result)
        self.account.groups[gid] = group
        chat = Chat(id=gid, name=title, t=now)
        self.account.chats[gid] = chat
        self.account.chat_messages[gid] = []
        self.account.record(
            "group",
            page.page_id,
            action="create",
            group=gid,
            participants=participants,
            value=title,
        )
        await self.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        notification = self.gp2(group, "create", me_id, [], title)
        await self.push_group(group, notification)
        return {"gid": gid, "participants": results}

    async def op_group_metadata(self, _page: PageSession, args: Args) -> JSONDict:
        """A group's metadata."""
        group_id = args.wid("group", kind="group")
        assert group_id is not None
        return {"group": self.get_group(group_id, args.name("group")).wire()}

    def _my_group(self, args: Args) -> Group:
        group_id = args.wid("group", kind="group")
        assert group_id is not None
        group = self.get_group(group_id, args.name("group"))
        if self.me_in(group) is None:
            raise forbidden(args.name("group"), "not a participant")
        return group

    async def op_group_subject(self, page: PageSession, args: Args) -> JSONDict:
        """Change the subject."""
        group = self._my_group(args)
        value = args.text("value")
        if not value.strip() or len(value) > 100:
            raise InputError(args.name("value"), "must be 1 to 100 characters")
        if group.restrict:
            self.require_admin(group, args.name("group"))
        group.subject = value
        self.account.record(
            "group", page.page_id, action="subject", group=group.id, participants=[], value=value
        )
        await self.push_group(group, self.gp2(group, "subject", self.my_group_id(group), [], value))
        return {}

    async def op_group_description(self, page: PageSession, args: Args) -> JSONDict:
        """Change the description."""
        group = self._my_group(args)
        value = args.text("value")
        if len(value) > 2048:
            raise InputError(args.name("value"), "must be at most 2048 characters")
        if group.restrict:
            self.require_admin(group, args.name("group"))
        group.desc = value
        group.desc_id = new_incoming_id()
        self.account.record(
            "group",
            page.page_id,
            action="description",
            group=group.id,
            participants=[],
            value=value,
        )
        await self.push_group(
            group, self.gp2(group, "description", self.my_group_id(group), [], value)
        )
        return {}

    async def op_group_property(self, page: PageSession, args: Args) -> JSONDict:
        """Announcement-only, restrict (admins edit info), member add mode."""
        group = self._my_group(args)
        prop = args.choice("property", ("announcement", "restrict", "member_add_mode"))
        value = args.data.get("value")
        self.require_admin(group, args.name("group"))
        if prop == "member_add_mode":
            if value not in ("admin_add", "all_member_add") and not isinstance(value, bool):
                raise InputError(
                    args.name("value"), "must be a boolean or admin_add/all_member_add"
                )
            group.member_add_mode = (
                value if isinstance(value, str) else ("all_member_add" if value else "admin_add")
            )
        else:
            if not isinstance(value, bool):
                raise InputError(args.name("value"), "must be a boolean")
            if prop == "announcement":
                group.announce = value
            else:
                group.restrict = value
        self.account.record(
            "group",
            page.page_id,
            action="property",
            group=group.id,
            participants=[],
            value={"property": prop, "value": value},
        )
        subtype = {"announcement": "announce", "restrict": "restrict"}.get(prop)
        notification = (
            self.gp2(group, subtype, self.my_group_id(group), [], "on" if value else "off")
            if subtype
            else None
        )
        await self.push_group(group, notification)
        return {}

    async def op_group_participants(self, page: PageSession, args: Args) -> JSONDict:
        """Add, remove, promote or demote participants."""
        group = self._my_group(args)
        action = args.choice("action", ("add", "remove", "promote", "demote"))
        participants = args.id_list("participants")
        if not participants:
            raise InputError(args.name("participants"), "must not be empty")
        if not (action == "add" and group.member_add_mode == "all_member_add"):
            self.require_admin(group, args.name("group"))
        results = []
        done = []
        for user_id in participants:
            member = group.participant(user_id)
            if action == "add":
                code = self._add_code(user_id, group)
                if code == 200:
                    group.participants.append(self._new_member(group, user_id))
            elif member is None:
                code = 404
            elif action == "remove":
                group.participants.remove(member)
                code = 200
            else:
                member.is_admin = action == "promote"
                if action == "demote":
                    member.is_super_admin = False
                code = 200
            if code == 200:
                done.append(user_id)
            results.append({"id": user_id, "code": code})
        self.account.record(
            "group",
            page.page_id,
            action=action,
            group=group.id,
            participants=participants,
            value=None,
        )
        notification = self.gp2(group, action, self.my_group_id(group), done) if done else None
        await self.push_group(group, notification)
        return {"results": results}

    async def op_group_leave(self, page: PageSession, args: Args) -> JSONDict:
        """Leave a group."""
        group = self._my_group(args)
        me_id = self.my_group_id(group)
        group.participants = [p for p in group.participants if not self.account.is_me(p.id)]
        self.account.record(
            "group", page.page_id, action="leave", group=group.id, participants=[me_id], value=None
        )
        await self.push_group(group, self.gp2(group, "leave", me_id, [me_id]))
        return {}

    async def op_group_invite_code(self, page: PageSession, args: Args) -> JSONDict:
        """The group's invite code (admins)."""
        group = self._my_group(args)
        self.require_admin(group, args.name("group"))
        if not group.invite_code:
            group.invite_code = new_invite_code()
        return self._invite_code_answer(page, group, "invite_code")

    async def op_group_revoke_invite(self, page: PageSession, args: Args) -> JSONDict:
        """A new invite code; the old one stops working."""
        group = self._my_group(args)
        self.require_admin(group, args.name("group"))
        group.invite_code = new_invite_code()
        return self._invite_code_answer(page, group, "revoke_invite")

    def _invite_code_answer(self, page: PageSession, group: Group, action: str) -> JSONDict:
        """Record which invite code the page got (outbox entry `group`), and answer it."""
        self.account.record(
            "group",
            page.page_id,
            action=action,
            group=group.id,
            participants=[],
            value=group.invite_code,
        )
        self.changed()
        return {"code": group.invite_code}

    async def op_group_join(self, page: PageSession, args: Args) -> JSONDict:
        """Join by invite code."""
        code = args.text("code").rsplit("/", 1)[-1]
        group = next((g for g in self.account.groups.values() if g.invite_code == code), None)
        if group is None:
            raise not_found(args.name("code"), "unknown invite code")
        me_id = self.my_group_id(group)
        if self.me_in(group) is None:
            group.participants.append(Participant(id=me_id))
        chat = self.account.chats.get(group.id)
        if chat is None:
            chat = Chat(id=group.id, name=group.subject, t=self.now())
            self.account.chats[group.id] = chat
            self.account.chat_messages[group.id] = []
        self.account.record(
            "group", page.page_id, action="join", group=group.id, participants=[me_id], value=code
        )
        await self.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        notification = self.gp2(group, "invite", me_id, [me_id])
        await self.push_group(group, notification)
        return {"gid": group.id}

    async def op_link_preview(self, _page: PageSession, args: Args) -> JSONDict:
        """Preview data for a URL (made up from the URL: there is no internet here)."""
        url = args.text("url")
        if not url.startswith(("http://", "https://")):
            raise InputError(args.name("url"), "must be an http(s) URL")
        host = url.split("/", 3)[2]
        return {
            "data": {
                "title": f"{host} - simulated preview",
                "description": f"A page at {html.escape(host)}",
                "canonicalUrl": url,
                "matchedText": url,
            }
        }


def _kind_for_mimetype(mimetype: str) -> str:
    """The message type WhatsApp uses for a media MIME type."""
    base = mimetype.split(";", maxsplit=1)[0].strip().lower()
    if base == "image/webp":
        return "sticker"
    if base.startswith("image/"):
        return "image"
    if base.startswith("video/"):
        return "video"
    if base.startswith("audio/"):
        return "ptt" if "opus" in mimetype.lower() else "audio"
    return "document"


__all__ = [
    "PageSession",
    "SimulatorOptions",
    "SimulatorServer",
    "render_page",
]


PHONE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Simulator phone</title>
<style>
body { font-family: sans-serif; margin: 1em; max-width: 60em; }
section { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1em; margin-bottom: 1em; }
#qr svg { width: 220px; height: 220px; }
pre { background: #f6f6f6; padding: 0.5em; max-height: 30em; overflow: auto; }
label { display: block; margin: 0.3em 0; }
</style></head><body>
<h1>Simulator phone</h1>
<p id="status">…</p>
<section><h2>Link a device</h2>
<div id="qr">{{QR_SVG}}</div>
<button id="scan">Scan this QR code</button>
<form id="code-form"><label>Pairing code <input id="code" size="10" maxlength="9"></label>
<button>Link with code</button></form>
<p id="link-result"></p></section>
<section><h2>Receive a message</h2>
<form id="incoming-form">
<label>Chat <select id="chat"></select></label>
<label>Author (groups) <input id="author" placeholder="123@c.us"></label>
<label>Text <input id="body" size="50"></label>
<label><input type="checkbox" id="from-me"> typed on this phone</label>
<button>Send to the account</button></form>
<p id="incoming-result"></p></section>
<section><h2>Vote on a poll, edit a message</h2>
<form id="vote-form"><label>Poll message id <input id="vote-id" size="60"></label>
<label>Options (comma-separated; empty withdraws the vote) <input id="vote-options" size="40"></label>
<label>Voter (optional) <input id="vote-from" placeholder="123@c.us"></label>
<button>Vote</button></form>
<form id="edit-form"><label>Message id <input id="edit-id" size="60"></label>
<label>New text <input id="edit-body" size="50"></label>
<button>Edit as its sender</button></form>
<p id="act-result"></p></section>
<section><h2>Outbox (what the page did)</h2>
<button id="clear">Clear</button><pre id="outbox"></pre></section>
<script>
"use strict";
(function () {
  var currentQr = {{QR_JSON}};
  function $(id) { return document.getElementById(id); }
  function call(method, path, body) {
    var init = {method: method, headers: {"Content-Type": "application/json"}};
    if (body !== undefined) { init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error((data.error && (data.error.field + ": " + data.error.message)) || r.status); }
        return data;
      });
    });
  }
  function refreshState() {
    call("GET", "/_sim/state").then(function (s) {
      $("status").textContent = "state " + s.state + " | linked " + s.linked + " | pages " + s.pages +
        " | connection " + s.connection + (s.pairing_code ? " | last code " + s.pairing_code : "");
      if (s.qr !== currentQr) {
        currentQr = s.qr;
        if (s.qr) {
          fetch("/_sim/phone/qr.svg").then(function (r) { return r.text(); }).then(function (svg) { $("qr").innerHTML = svg; });
        } else { $("qr").textContent = "No page shows a QR code."; }
      }
    }).catch(function (e) { $("status").textContent = String(e); });
  }
  function refreshOutbox() {
    call("GET", "/_sim/sent").then(function (d) { $("outbox").textContent = JSON.stringify(d.sent, null, 1); });
  }
  function loadChats() {
    call("GET", "/_sim/chats").then(function (d) {
      var select = $("chat"); select.textContent = "";
      d.chats.forEach(function (c) {
        var option = document.createElement("option");
        option.value = c.id; option.textContent = (c.name || c.id) + (c.is_group ? " (group)" : "");
        select.appendChild(option);
      });
    });
  }
  $("scan").onclick = function () {
    if (!currentQr) { $("link-result").textContent = "no QR to scan"; return; }
    call("POST", "/_sim/link", {qr: currentQr}).then(function () { $("link-result").textContent = "linked"; })
      .catch(function (e) { $("link-result").textContent = String(e); });
  };
  $("code-form").onsubmit = function (ev) {
    ev.preventDefault();
    call("POST", "/_sim/link", {code: $("code").value}).then(function () { $("link-result").textContent = "linked"; })
      .catch(function (e) { $("link-result").textContent = String(e); });
  };
  $("incoming-form").onsubmit = function (ev) {
    ev.preventDefault();
    var body = {chat: $("chat").value, body: $("body").value, from_me: $("from-me").checked};
    if ($("author").value) { body.author = $("author").value; }
    call("POST", "/_sim/incoming", body).then(function (d) { $("incoming-result").textContent = "sent " + d.id; })
      .catch(function (e) { $("incoming-result").textContent = String(e); });
  };
  $("vote-form").onsubmit = function (ev) {
    ev.preventDefault();
    var options = $("vote-options").value.split(",").map(function (o) { return o.trim(); })
      .filter(function (o) { return o; });
    var body = {id: $("vote-id").value.trim(), options: options};
    if ($("vote-from").value) { body.from = $("vote-from").value.trim(); }
    call("POST", "/_sim/vote", body).then(function () { $("act-result").textContent = "voted"; })
      .catch(function (e) { $("act-result").textContent = String(e); });
  };
  $("edit-form").onsubmit = function (ev) {
    ev.preventDefault();
    call("POST", "/_sim/edit", {id: $("edit-id").value.trim(), body: $("edit-body").value})
      .then(function () { $("act-result").textContent = "edited"; })
      .catch(function (e) { $("act-result").textContent = String(e); });
  };
  $("clear").onclick = function () { call("DELETE", "/_sim/sent").then(refreshOutbox); };
  loadChats(); refreshState(); refreshOutbox();
  setInterval(refreshState, 1000); setInterval(refreshOutbox, 2000);
})();
</script></body></html>
"""
