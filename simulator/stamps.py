"""When a page handed each new message to its Store, for latency benchmarks.

A client's delay is measured from the moment the page has a message (as WhatsApp Web would have it
off its socket) to the moment the client's process sees the event, without the time the control
route that created the message took to answer. With stamping on (`POST /_sim/stamps`), live
`msg_add` frames carry `stamp: true`; the page answers `msg_stamp {id, at, wall}` with its wall clock
(`performance.timeOrigin + performance.now()`, ms) taken just before it added the message, and
`GET /_sim/stamps/{id}` reads it. Off by default: nothing extra travels during other runs.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
import contextlib
from typing import TYPE_CHECKING

from aiohttp import web

from .args import not_found, read_json
from .part import ServerPart

if TYPE_CHECKING:
    from .account import JSONDict
    from .server import SimulatorServer

#: Stamps kept (the oldest are forgotten first); a benchmark reads each soon after it was made.
MAX_STAMPS = 10_000
#: How long `GET /_sim/stamps/{id}` waits for the page's stamp (seconds).
STAMP_WAIT = 5.0


class MessageStamps(ServerPart):
    """`POST /_sim/stamps {enabled}` and `GET /_sim/stamps/{id}`; the pages' `msg_stamp` frames."""

    def __init__(self, server: SimulatorServer) -> None:
        super().__init__(server)
        self.enabled = False
        self._stamps: OrderedDict[str, JSONDict] = OrderedDict()
        self._arrived = asyncio.Condition()

    def routes(self) -> list[web.RouteDef]:
        """The stamp routes."""
        return [
            web.post("/_sim/stamps", self.handle_enable),
            web.get("/_sim/stamps/{id}", self.handle_stamp),
        ]

    def mark(self, frame: JSONDict) -> JSONDict:
        """A live `msg_add` frame, asking for the page's stamp when stamping is on."""
        return {**frame, "stamp": True} if self.enabled else frame

    async def on_stamp(self, data: JSONDict) -> None:
        """A page's `msg_stamp`: the first page to add a message sets its stamp."""
        message_id, at, wall = data.get("id"), data.get("at"), data.get("wall")
        if not isinstance(message_id, str) or not isinstance(at, int | float):
            return
        if message_id in self._stamps:
            return
        self._stamps[message_id] = {
            "id": message_id,
            "at": float(at),
            "wall": float(wall) if isinstance(wall, int | float) else None,
        }
        while len(self._stamps) > MAX_STAMPS:
            self._stamps.popitem(last=False)
        async with self._arrived:
            self._arrived.notify_all()

    async def handle_enable(self, request: web.Request) -> web.Response:
        """`POST /_sim/stamps {enabled}`: turn stamping on or off (off forgets the stamps).

        A missing `enabled` turns it off.
        """
        args = await read_json(request)
        self.enabled = args.boolean("enabled")
        if not self.enabled:
            self._stamps.clear()
        return web.Response(status=204)

    async def handle_stamp(self, request: web.Request) -> web.Response:
        """`GET /_sim/stamps/{id}`: `{id, at, wall}`, waiting a moment for a page still adding it."""
        message_id = request.match_info["id"]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STAMP_WAIT), self._arrived:
                await self._arrived.wait_for(lambda: message_id in self._stamps)
        stamp = self._stamps.get(message_id)
        if stamp is None:
            raise not_found("id", "no page stamped this message (is stamping on?)")
        return web.json_response(stamp)
