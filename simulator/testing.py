"""In-process helpers for tests: run a simulator and drive its control API.

    async with Simulator(chats=5, qr_interval=0.2) as sim:
        await sim.control.wait_qr()
        ...

Everything started here is stopped on exit (sockets, timers, the HTTP session).
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any, Self, TypeVar

import aiohttp
from aiohttp import web

from .server import SimulatorOptions, SimulatorServer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from .account import Account, JSONDict

T = TypeVar("T")


class ControlError(Exception):
    """A control route answered an error."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class SimulatorControl:
    """Async wrappers for every control route of one simulator (`docs/internals.md` §1)."""

    def __init__(self, url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the HTTP session if this object made it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, body: Any = None, *, expect: tuple[int, ...] = (200, 204)
    ) -> Any:
        """Call a route; returns the JSON answer (None for 204). Other statuses raise."""
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["json"] = body
        async with self._client().request(method, self.url + path.lstrip("/"), **kwargs) as resp:
            text = await resp.text()
            data: Any = None
            if text:
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = text
            if resp.status not in expect:
                raise ControlError(resp.status, data)
            return data

    # ----- routes ---------------------------------------------------------------------------

    async def state(self) -> JSONDict:
        """`GET /_sim/state`."""
        result: JSONDict = await self.request("GET", "_sim/state")
        return result

    async def link(self, *, qr: str | None = None, code: str | None = None) -> JSONDict:
        """`POST /_sim/link` with a QR string or a pairing code."""
        body = {"qr": qr} if qr is not None else {"code": code}
        result: JSONDict = await self.request("POST", "_sim/link", body)
        return result

    async def incoming(self, chat: str, body: str | None = None, **fields: Any) -> str:
        """`POST /_sim/incoming`; returns the serialized message id."""
        payload: JSONDict = {"chat": chat, **fields}
        if body is not None:
            payload["body"] = body
        result: JSONDict = await self.request("POST", "_sim/incoming", payload)
        return str(result["id"])

    async def burst(self, chats: list[str], count: int) -> list[str]:
        """`POST /_sim/burst`; returns the message ids in the order sent."""
        result: JSONDict = await self.request(
            "POST", "_sim/burst", {"chats": chats, "count": count}
        )
        return [str(message_id) for message_id in result["ids"]]

    async def traffic(self, count: int, rate: float, **fields: Any) -> JSONDict:
        """`POST /_sim/traffic` (kinds, chats, groups, seed in ``fields``): starts a steady run."""
        result: JSONDict = await self.request(
            "POST", "_sim/traffic", {"count": count, "rate": rate, **fields}, expect=(202,)
        )
        return result

    async def hog(self, mib: int) -> int:
        """`POST /_sim/hog`: live pages hold ``mib`` MiB more (0 frees); how many pages were told."""
        result: JSONDict = await self.request("POST", "_sim/hog", {"mib": mib})
        return int(result["pages"])

    async def traffic_status(self) -> JSONDict:
        """`GET /_sim/traffic`: the latest run's progress."""
        result: JSONDict = await self.request("GET", "_sim/traffic")
        return result

    async def sent(self) -> list[JSONDict]:
        """`GET /_sim/sent`: the outbox entries."""
        result: JSONDict = await self.request("GET", "_sim/sent")
        entries: list[JSONDict] = result["sent"]
        return entries

    async def clear_sent(self) -> None:
        """`DELETE /_sim/sent`."""
        await self.request("DELETE", "_sim/sent")

    async def stamping(self, enabled: bool) -> None:
        """`POST /_sim/stamps`: pages report when they added each new message (or stop)."""
        await self.request("POST", "_sim/stamps", {"enabled": enabled})

    async def message_stamp(self, message_id: str) -> float:
        """`GET /_sim/stamps/{id}`: the page's wall clock (unix seconds) when it added the message."""
        result: JSONDict = await self.request("GET", f"_sim/stamps/{message_id}")
        return float(result["at"]) / 1000

    async def collect_calls(self) -> list[str]:
        """`POST /_sim/calls/collect`: module-call signatures recorded since the last collection."""
        result: JSONDict = await self.request("POST", "_sim/calls/collect")
        return [str(call) for call in result["calls"]]

    async def ack(self, message_id: str, ack: int) -> None:
        """`POST /_sim/ack`."""
        await self.request("POST", "_sim/ack", {"id": message_id, "ack": ack})

    async def react(self, message_id: str, emoji: str, sender: str | None = None) -> None:
        """`POST /_sim/react`."""
        body: JSONDict = {"id": message_id, "emoji": emoji}
        if sender is not None:
            body["from"] = sender
        await self.request("POST", "_sim/react", body)

    async def revoke(self, message_id: str) -> None:
        """`POST /_sim/revoke`."""
        await self.request("POST", "_sim/revoke", {"id": message_id})

    async def vote(self, message_id: str, options: list[str], sender: str | None = None) -> None:
        """`POST /_sim/vote`: someone chooses these options of a poll (`[]` withdraws)."""
        body: JSONDict = {"id": message_id, "options": options}
        if sender is not None:
            body["from"] = sender
        await self.request("POST", "_sim/vote", body)

    async def edit(self, message_id: str, body: str) -> None:
        """`POST /_sim/edit`: the sender edits a message."""
        await self.request("POST", "_sim/edit", {"id": message_id, "body": body})

    async def picture(self, owner: str, data: bytes | None, mimetype: str = "image/jpeg") -> None:
        """`POST /_sim/picture`: set (or, with None, remove) a contact's or group's picture."""
        body: JSONDict = {"id": owner}
        if data is not None:
            body["data_b64"] = base64.b64encode(data).decode()
            body["mimetype"] = mimetype
        await self.request("POST", "_sim/picture", body)

    async def group(self, group: str, action: str, **fields: Any) -> str:
        """`POST /_sim/group`; returns the id of the gp2 notification."""
        result: JSONDict = await self.request(
            "POST", "_sim/group", {"group": group, "action": action, **fields}
        )
        return str(result["id"])

    async def call(self, sender: str, *, is_video: bool = False, is_group: bool = False) -> str:
        """`POST /_sim/call`; returns the call id."""
        result: JSONDict = await self.request(
            "POST", "_sim/call", {"from": sender, "is_video": is_video, "is_group": is_group}
        )
        return str(result["id"])

    async def connection(self, action: str) -> None:
        """`POST /_sim/connection` (drop, restore, conflict, logout, deprecate)."""
        await self.request("POST", "_sim/connection", {"action": action})

    async def offline(self, messages: int, chat: str | None = None) -> None:
        """`POST /_sim/offline`."""
        body: JSONDict = {"messages": messages}
        if chat is not None:
            body["chat"] = chat
        await self.request("POST", "_sim/offline", body)

    async def fault(
        self, *, missing_module: str | None = None, missing_member: str | None = None
    ) -> None:
        """`POST /_sim/fault`; no argument clears every fault."""
        body: JSONDict = {}
        if missing_module is not None:
            body["missing_module"] = missing_module
        if missing_member is not None:
            body["missing_member"] = missing_member
        await self.request("POST", "_sim/fault", body)

    async def reset(self) -> None:
        """`POST /_sim/reset`."""
        await self.request("POST", "_sim/reset")

    async def chats(self) -> list[JSONDict]:
        """`GET /_sim/chats`."""
        result: JSONDict = await self.request("GET", "_sim/chats")
        chats: list[JSONDict] = result["chats"]
        return chats

    async def message(self, message_id: str) -> JSONDict:
        """`GET /_sim/messages/{id}`."""
        result: JSONDict = await self.request("GET", f"_sim/messages/{message_id}")
        return result

    # ----- waiting --------------------------------------------------------------------------

    async def wait_for(
        self,
        probe: Callable[[], Awaitable[T]],
        predicate: Callable[[T], bool],
        timeout: float = 10.0,
        interval: float = 0.05,
    ) -> T:
        """Poll `probe()` until `predicate(value)`; TimeoutError with the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await probe()
            if predicate(value):
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s; last value: {value!r}")
            await asyncio.sleep(interval)

    async def wait_state(self, state: str | None, timeout: float = 10.0) -> JSONDict:
        """Wait until the newest page's `Socket.state` is `state`."""
        return await self.wait_for(self.state, lambda s: s["state"] == state, timeout)

    async def wait_qr(
        self,
        timeout: float = 10.0,
        *,
        other_than: str | None = None,
    ) -> str:
        """Wait until a page shows a QR (different from `other_than`); returns the QR string."""
        result = await self.wait_for(
            self.state, lambda s: bool(s["qr"]) and s["qr"] != other_than, timeout
        )
        return str(result["qr"])

    async def wait_linked(self, timeout: float = 10.0) -> JSONDict:
        """Wait until a device is linked and the newest page is CONNECTED."""
        return await self.wait_for(
            self.state, lambda s: s["linked"] and s["state"] == "CONNECTED", timeout
        )

    async def wait_sent(
        self,
        predicate: Callable[[JSONDict], bool],
        timeout: float = 10.0,
    ) -> JSONDict:
        """Wait for an outbox entry matching `predicate`; returns it."""
        entries = await self.wait_for(
            self.sent, lambda sent: any(predicate(e) for e in sent), timeout
        )
        return next(e for e in entries if predicate(e))


class Simulator:
    """An in-process simulator on 127.0.0.1 with a free port; an async context manager."""

    def __init__(self, **options: Any) -> None:
        if "state_dir" in options and options["state_dir"] is not None:
            options["state_dir"] = Path(options["state_dir"])
        self.options = SimulatorOptions(**options)
        self.server: SimulatorServer | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.control: SimulatorControl

    @property
    def account(self) -> Account:
        """The server-side account (replaced by `/_sim/reset`)."""
        assert self.server is not None
        return self.server.account

    async def start(self) -> Self:
        """Start serving."""
        self.server = SimulatorServer(self.options)
        self._runner, self.url = await self.server.serve_on("127.0.0.1", 0)
        self._session = aiohttp.ClientSession()
        self.control = SimulatorControl(self.url, self._session)
        return self

    async def stop(self) -> None:
        """Stop serving and release everything."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.server is not None:
            await self.server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def ws_url(self) -> str:
        """The page WebSocket URL."""
        return self.url.replace("http://", "ws://") + "_sim/ws"


__all__ = ["ControlError", "Simulator", "SimulatorControl"]
