"""Fixtures for the simulator's own tests: an in-process simulator and a scripted page."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import json
import os
from typing import Any

import aiohttp
import pytest

from simulator.testing import Simulator

type Frame = dict[str, Any]


def random_keys() -> dict[str, str]:
    """Three base64 32-byte keys, as a page makes them once per document."""
    return {
        name: base64.b64encode(os.urandom(32)).decode() for name in ("noise", "identity", "adv")
    }


class PageClient:
    """Plays the page's side of the protocol over a real WebSocket."""

    def __init__(self, session: aiohttp.ClientSession, ws_url: str) -> None:
        self.session = session
        self.ws_url = ws_url
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.keys = random_keys()
        self.page_id = base64.b16encode(os.urandom(6)).decode()
        self.frames: list[Frame] = []
        self._unread: list[Frame] = []
        self._call_id = 0

    async def connect(self, device: dict[str, str] | None = None, *, resume: bool = False) -> None:
        """Open the socket and send `hello`."""
        self.ws = await self.session.ws_connect(self.ws_url, max_msg_size=0)
        await self.send(
            {
                "t": "hello",
                "device": device,
                "keys": self.keys,
                "resume": resume,
                "page_id": self.page_id,
            }
        )

    async def send(self, frame: Frame) -> None:
        """Send one frame."""
        assert self.ws is not None
        await self.ws.send_str(json.dumps(frame))

    async def _receive(self, timeout: float) -> Frame:
        assert self.ws is not None
        message = await self.ws.receive(timeout=timeout)
        if message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        ):
            raise ConnectionError(f"socket closed: {message.data!r} {message.extra!r}")
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: Frame = json.loads(message.data)
        self.frames.append(frame)
        return frame

    async def next(self, timeout: float = 5.0) -> Frame:
        """The next frame not yet consumed."""
        if self._unread:
            return self._unread.pop(0)
        return await self._receive(timeout)

    async def expect(
        self,
        kind: str,
        timeout: float = 5.0,
        where: Callable[[Frame], bool] | None = None,
        **match: Any,
    ) -> Frame:
        """Skip to the next frame of type `kind` (and matching fields); earlier ones stay unread."""

        def wanted(frame: Frame) -> bool:
            return (
                frame["t"] == kind
                and all(frame.get(k) == v for k, v in match.items())
                and (where is None or where(frame))
            )

        for index, frame in enumerate(self._unread):
            if wanted(frame):
                del self._unread[index]
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} frame; got {[f['t'] for f in self._unread]}")
            frame = await self._receive(remaining)
            if wanted(frame):
                return frame
            self._unread.append(frame)

    async def no_frame(self, kind: str, wait: float = 0.3) -> None:
        """Assert that no frame of this type arrives within `wait` seconds."""
        with contextlib.suppress(TimeoutError):
            frame = await self.expect(kind, timeout=wait)
            raise AssertionError(f"unexpected {kind} frame: {frame}")

    def drain(self) -> list[Frame]:
        """Forget unread frames (returns them)."""
        unread, self._unread = self._unread, []
        return unread

    async def call(self, op: str, timeout: float = 5.0, **args: Any) -> Frame:
        """Send a `call` and wait for its `reply`."""
        self._call_id += 1
        call_id = self._call_id
        await self.send({"t": "call", "id": call_id, "op": op, "args": args})
        return await self.expect("reply", timeout=timeout, id=call_id)

    async def ok(self, op: str, **args: Any) -> Any:
        """A call that must succeed; returns its result."""
        reply = await self.call(op, **args)
        assert reply["ok"], reply
        return reply["result"]

    def qr(self, ref: str) -> str:
        """The QR string this page would show for `ref`."""
        return ",".join((ref, self.keys["noise"], self.keys["identity"], self.keys["adv"], "1"))

    async def close(self) -> None:
        """Close the socket."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()


type PageFactory = Callable[[], PageClient]
type SimFactory = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def make_sim(socket_enabled: None) -> AsyncIterator[SimFactory]:
    """Start simulators with options; all are stopped at the end of the test."""
    started: list[Simulator] = []

    async def factory(**options: Any) -> Simulator:
        sim = Simulator(**options)
        started.append(sim)
        return await sim.start()

    yield factory
    for sim in reversed(started):
        await sim.stop()


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    """A small simulator with quick QR rotation."""
    return await make_sim(chats=8, messages=6, contacts=12, groups=2, qr_interval=5.0)


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session for raw requests."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def make_page(
    session: aiohttp.ClientSession,
) -> AsyncIterator[Callable[[Simulator], PageClient]]:
    """Scripted pages; all sockets are closed at the end of the test."""
    pages: list[PageClient] = []

    def factory(simulator: Simulator) -> PageClient:
        page = PageClient(session, simulator.ws_url)
        pages.append(page)
        return page

    yield factory
    for page in pages:
        await page.close()


async def link_page(simulator: Simulator, page: PageClient) -> dict[str, str]:
    """Connect an unlinked page, link it by QR, consume the sync; returns the device."""
    await page.connect()
    unpaired = await page.expect("unpaired")
    await simulator.control.link(qr=page.qr(unpaired["ref"]))
    linked = await page.expect("linked")
    await page.expect("sync")
    await page.expect("offline_done")
    page.drain()
    device: dict[str, str] = linked["device"]
    return device
