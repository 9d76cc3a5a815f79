"""The test harness's control routes: what the server holds, and what breaks on purpose.

`GET /_sim/state`, `/sent`, `/chats`, `/messages/{id}` and `/mms/...` read the server's truth;
`/_sim/connection`, `/fault`, `/hog` break the link, the page or its memory; `/_sim/calls/collect`
gathers the module calls pages recorded; `/_sim/reset` starts over (docs/internals.md §1). What the
phone and other people do is in `simulator/phone.py`.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from .args import InputError, not_found, read_json
from .part import ServerPart

MAX_HOG_MIB = 4096
#: How long `POST /_sim/fault` waits for the open pages to apply a fault (seconds).
FAULT_APPLY_TIMEOUT = 3.0
#: How long `POST /_sim/calls/collect` waits for the pages' answers (a busy page answers late).
CALLS_COLLECT_TIMEOUT = 30.0
CONNECTION_ACTIONS = ("drop", "restore", "conflict", "logout", "deprecate")


class ControlApi(ServerPart):
    """The control routes that read the server's truth or break things for a test."""

    def routes(self) -> list[web.RouteDef]:
        """The harness's control routes."""
        return [
            web.get("/_sim/state", self.handle_state),
            web.get("/_sim/sent", self.handle_sent),
            web.delete("/_sim/sent", self.handle_clear_sent),
            web.get("/_sim/chats", self.handle_chats),
            web.get("/_sim/messages/{id}", self.handle_message),
            web.get("/_sim/mms/{path:.*}", self.handle_mms),
            web.post("/_sim/connection", self.handle_connection),
            web.post("/_sim/fault", self.handle_fault),
            web.post("/_sim/hog", self.handle_hog),
            web.post("/_sim/calls/collect", self.handle_collect_calls),
            web.post("/_sim/reset", self.handle_reset),
        ]

    async def handle_state(self, _request: web.Request) -> web.Response:
        """`GET /_sim/state`."""
        page = self.hub.newest_page()
        return web.json_response(
            {
                "state": page.state if page else None,
                "linked": bool(self.account.devices),
                "me": self.account.me.wire(),
                "qr": page.qr() if page else None,
                "pairing_code": self.server.last_pairing_code,
                "version": self.server.options.version,
                "surface": self.server.options.surface,
                "pages": len([p for p in self.server.pages if not p.closed]),
                "connection": self.server.connection,
                "devices": len(self.account.devices),
            }
        )

    async def handle_sent(self, _request: web.Request) -> web.Response:
        """`GET /_sim/sent`."""
        return web.json_response({"sent": self.account.outbox})

    async def handle_clear_sent(self, _request: web.Request) -> web.Response:
        """`DELETE /_sim/sent`."""
        self.account.outbox.clear()
        self.server.changed()
        return web.Response(status=204)

    async def handle_chats(self, _request: web.Request) -> web.Response:
        """`GET /_sim/chats`: the server-side truth of every chat."""
        now = self.server.now()
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
        message = self.server.get_message(request.match_info["id"], "id")
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

    async def handle_connection(self, request: web.Request) -> web.Response:
        """`POST /_sim/connection`: drop, restore, conflict, logout, deprecate."""
        args = await read_json(request)
        action = args.choice("action", CONNECTION_ACTIONS)
        if action == "drop":
            self.server.connection = "dropped"
            await self.hub.close_sockets(1001, b"connection dropped")
        elif action == "restore":
            self.server.connection = "online"
            for page in self.hub.live_pages():
                if page.state != "CONNECTED":
                    page.state = "CONNECTED"
                    await self.hub.send(page, {"t": "state", "state": "CONNECTED"})
        elif action == "conflict":
            self.server.connection = "conflict"
            for page in self.hub.live_pages():
                page.state = "CONFLICT"
                await self.hub.send(page, {"t": "state", "state": "CONFLICT"})
        elif action == "deprecate":
            self.server.connection = "deprecated"
            for page in [p for p in self.server.pages if not p.closed]:
                page.state = "DEPRECATED_VERSION"
                await self.hub.send(page, {"t": "state", "state": "DEPRECATED_VERSION"})
        else:
            await self.hub.unlink_devices(list(self.account.devices))
        return web.Response(status=204)

    async def handle_fault(self, request: web.Request) -> web.Response:
        """`POST /_sim/fault`: hide a module or member from the page (`{}` restores)."""
        args = await read_json(request, allow_empty=True)
        module = args.optional_text("missing_module")
        member = args.optional_text("missing_member")
        if module is None and member is None:
            if args.data:
                unknown = next(iter(args.data))
                raise InputError(unknown, "unknown fault (missing_module or missing_member)")
            self.server.fault_modules.clear()
            self.server.fault_members.clear()
        if module is not None:
            if not module.strip():
                raise InputError("missing_module", "must not be empty")
            if module not in self.server.fault_modules:
                self.server.fault_modules.append(module)
        if member is not None:
            if member.count(".") < 1 or not all(member.split(".")):
                raise InputError("missing_member", "must look like Module.member[.deeper]")
            if member not in self.server.fault_members:
                self.server.fault_members.append(member)
        self.server.faults_seq += 1
        frame = self.hub.faults_frame()
        pages = [p for p in self.server.pages if not p.closed]
        for page in pages:
            await self.hub.send(page, frame)
        # Answer once the open pages run without what was removed, so that a test's next call meets
        # the change (bounded: a page that never answers does not hold the route).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FAULT_APPLY_TIMEOUT):
                for page in pages:
                    while not page.closed and page.faults_applied < self.server.faults_seq:
                        page.faults_changed.clear()
                        await page.faults_changed.wait()
        return web.Response(status=204)

    async def handle_hog(self, request: web.Request) -> web.Response:
        """`POST /_sim/hog {mib}`: live pages allocate and keep ``mib`` MiB more (0 frees it all).

        A page that leaks, for the tests of the integration's memory guard.
        """
        args = await read_json(request)
        mib = args.integer("mib", minimum=0, maximum=MAX_HOG_MIB)
        pages = self.hub.live_pages()
        for page in pages:
            await self.hub.send(page, {"t": "hog", "mib": mib})
        return web.json_response({"pages": len(pages)})

    async def handle_collect_calls(self, _request: web.Request) -> web.Response:
        """`POST /_sim/calls/collect`: the module calls every open page recorded since the last time.

        Each page answers over its WebSocket, after every frame it sent before, so the answer holds
        every call a client made before this request. Only with `--record-calls`.
        """
        if not self.server.options.record_calls:
            raise InputError("record_calls", "the simulator runs without --record-calls", 409)
        self.server.calls_seq += 1
        frame = {"t": "calls_collect", "seq": self.server.calls_seq}
        loop = asyncio.get_running_loop()
        wanted: list[asyncio.Future[list[str]]] = []
        for page in [p for p in self.server.pages if not p.closed]:
            future: asyncio.Future[list[str]] = loop.create_future()
            page.calls_wanted[self.server.calls_seq] = future
            wanted.append(future)
            await self.hub.send(page, frame)
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
        self.server.account = self.server.seeded_account()
        self.server.connection = "online"
        self.server.fault_modules.clear()
        self.server.fault_members.clear()
        self.server.pairing_codes.clear()
        self.server.last_pairing_code = None
        self.server.message_kinds.reset()
        for page in list(self.server.pages):
            page.stop_rotation()
        # Pages reconnect by themselves; their device is unknown now, so they show a QR.
        await self.hub.close_sockets(1012, b"reset")
        if self.server.options.state_dir is not None:
            self.account.save(self.server.options.state_dir)
        return web.Response(status=204)
