"""The simulator's server: WhatsApp's servers and the user's phone, as one aiohttp app.

`SimulatorServer` is the composition root: it holds what its parts share (the account, the open
pages, the connection state, the faults, the pairing codes) and assembles the app from them:

- `simulator/pages.py`: `GET /` serves the page, `GET /_sim/ws` is its WebSocket
  (`simulator/PROTOCOL.md`); every push to the pages.
- `simulator/page_ops/`: what the page's `call`s do, by family.
- `simulator/phone.py` and `simulator/control.py`: the control API (`/_sim/*`, docs/internals.md §1),
  the phone's side and the test harness's side; `simulator/message_kinds.py` adds polls, edits and
  profile pictures to both.
- `simulator/account_changes.py`: what others do to the account, stored and pushed alike.

The server holds the truth (`simulator.account.Account`); pages get pushes for every change.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web

from . import DEFAULT_VERSION
from .account import Account, Chat, Group, Participant, StoredMessage
from .account_changes import AccountChanges
from .args import InputError, forbidden, not_found
from .control import ControlApi
from .generations import DEFAULT_GENERATION, generation
from .message_kinds import MessageKinds
from .page_ops import op_table
from .pages import MAX_WS_MESSAGE, OpHandler, PageHub, PageSession, render_page
from .phone import Phone
from .seed import build_account
from .stamps import MessageStamps

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from .traffic import TrafficRun

_LOGGER = logging.getLogger(__name__)

STATE_SAVE_DELAY = 0.3


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
    #: Messages of the first 1:1 chat, instead of `messages` (0: like the others).
    long_chat: int = 0

    def __post_init__(self) -> None:
        generation(self.surface)  # an unknown name fails here, listing the known ones


class SimulatorServer:
    """One account: its shared state, and the parts that serve pages, page calls and the control API."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        # What the parts share; tests read `account`, `pages` and the pairing codes too.
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
        # The parts, each over the state above.
        self.hub = PageHub(self)
        self.changes = AccountChanges(self)
        self.phone = Phone(self)
        self.control_api = ControlApi(self)
        self.message_kinds = MessageKinds(self)
        self.stamps = MessageStamps(self)
        self.ops: dict[str, OpHandler] = op_table(self)
        self.app = self._make_app()

    # ----- set-up and teardown --------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_WS_MESSAGE)
        app.add_routes(
            [
                *self.hub.routes(),
                *self.phone.routes(),
                *self.control_api.routes(),
                *self.message_kinds.routes(),
                *self.stamps.routes(),
                web.route("OPTIONS", "/{tail:.*}", self.handle_options),
            ]
        )
        return app

    def seeded_account(self) -> Account:
        """A fresh account from the options' seed (start, or `/_sim/reset`)."""
        opts = self.options
        return build_account(
            chats=opts.chats,
            messages=opts.messages,
            contacts=opts.contacts,
            groups=opts.groups,
            seed=opts.seed,
            long_chat=opts.long_chat,
        )

    def _initial_account(self) -> Account:
        state_dir = self.options.state_dir
        if state_dir is not None:
            loaded = Account.load(state_dir)
            if loaded is not None:
                return loaded
            account = self.seeded_account()
            state_dir.mkdir(parents=True, exist_ok=True)
            account.save(state_dir)
            return account
        return self.seeded_account()

    async def close(self) -> None:
        """Close every page socket, stop timers and write pending state."""
        self.closing = True
        if self.traffic is not None and self.traffic.task is not None:
            self.traffic.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.traffic.task
        for page in list(self.pages):
            page.stop_rotation()
        await self.hub.close_sockets(1001, b"server shutdown")
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

    # ----- lookups the parts share --------------------------------------------------------

    def now(self) -> int:
        """Unix seconds."""
        return int(time.time())

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


__all__ = [
    "PageSession",
    "SimulatorOptions",
    "SimulatorServer",
    "render_page",
]
