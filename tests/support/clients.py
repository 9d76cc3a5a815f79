"""Build WhatsAppWebClients on the simulator with either driver, and link them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import os
from pathlib import Path
import shutil
import signal
import subprocess
import tempfile
from typing import Any

from custom_components.whatsapp_web.client import ClientState, EventCursor, WhatsAppWebClient
from custom_components.whatsapp_web.client.drivers.base import BrowserDriver
from custom_components.whatsapp_web.client.models import ClientEvent
from simulator.testing import Simulator

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The integration's default local driver, and the remote one. Playwright is held to the same driver
# contract (tests/client/test_driver_contract.py) and has a client smoke test of its own.
DRIVERS = ("local", "cdp")
# The kinds that launch their own browser (the others connect to the test's RemoteChromium).
LAUNCHING = ("local", "playwright")


class Recorder:
    """Collects client events; lets a test wait for one."""

    def __init__(self, client: WhatsAppWebClient) -> None:
        self.events: list[ClientEvent] = []
        self._changed = asyncio.Event()
        client.add_event_listener(self._add)

    def _add(self, event: ClientEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, kind: type, predicate: Any = None, timeout: float = 15) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if isinstance(event, kind) and (predicate is None or predicate(event)):
                        return event
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


class MemoryCursorStore:
    """An EventCursorStore that lives as long as the test (shared across client restarts)."""

    def __init__(self) -> None:
        self.cursor: EventCursor | None = None
        self.saves = 0

    async def load(self) -> EventCursor | None:
        return self.cursor

    async def save(self, cursor: EventCursor) -> None:
        self.cursor = cursor
        self.saves += 1


class RemoteChromium:
    """A Chromium started with a DevTools port on 127.0.0.1: the stand-in for a remote browser."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    async def start(self) -> str:
        args = [
            CHROMIUM,
            "--headless=new",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "about:blank",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        # A previous run on this profile left its port behind; wait for the new one.
        (self.profile / "DevToolsActivePort").unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, stopped in stop()
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        port_file = self.profile / "DevToolsActivePort"
        async with asyncio.timeout(20):
            while not port_file.exists() or not port_file.read_text().strip():
                if self.process.poll() is not None:
                    raise RuntimeError("Chromium exited before it opened its DevTools port")
                await asyncio.sleep(0.05)
        port = port_file.read_text().split()[0]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    async def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process and self.process.stderr:
            self.process.stderr.close()


def driver_factory(
    kind: str, profile: Path, remote_url: str | None = None
) -> Callable[[], BrowserDriver]:
    """The function a client calls at each browser (re)start."""
    if kind == "local":
        from custom_components.whatsapp_web.client.drivers.local import (  # noqa: PLC0415
            LocalChromiumDriver,
        )

        return lambda: LocalChromiumDriver(
            profile_dir=str(profile), executable_path=CHROMIUM, extra_args=[]
        )
    if kind == "playwright":
        from custom_components.whatsapp_web.client.drivers.playwright import (  # noqa: PLC0415
            PlaywrightDriver,
        )

        return lambda: PlaywrightDriver(
            profile_dir=str(profile), executable_path=CHROMIUM, extra_args=[]
        )
    from custom_components.whatsapp_web.client.drivers.cdp import CdpDriver  # noqa: PLC0415

    assert remote_url
    return lambda: CdpDriver(remote_url)


def new_client(
    simulator: Simulator,
    factory: Callable[[], BrowserDriver],
    cursor_store: MemoryCursorStore | None = None,
    **timing: Any,
) -> WhatsAppWebClient:
    """A client on the simulator with test-sized timings."""
    options: dict[str, Any] = {
        "call_timeout": 20.0,
        "watchdog_interval": 5.0,
        "watchdog_timeout": 5.0,
        "backoff_initial": 0.2,
        "backoff_max": 2.0,
    }
    options.update(timing)
    return WhatsAppWebClient(
        factory, url=simulator.url, cursor_store=cursor_store or MemoryCursorStore(), **options
    )


async def link(client: WhatsAppWebClient, simulator: Simulator, timeout: float = 30) -> str:
    """Start the client, scan the QR it shows with the simulated phone, wait for connected."""
    await client.start()
    async with asyncio.timeout(timeout):
        async for qr in client.qr_codes():
            await simulator.control.link(qr=qr)
            break
    await client.wait_for_state(ClientState.CONNECTED, timeout=timeout)
    return qr


@contextlib.asynccontextmanager
async def linked_with_recorder(
    simulator: Simulator, factory: Callable[[], BrowserDriver], **options: Any
) -> AsyncIterator[tuple[WhatsAppWebClient, Recorder]]:
    """A linked client whose events are recorded from its start; stopped on the way out."""
    client = new_client(simulator, factory, **options)
    recorder = Recorder(client)
    try:
        await link(client, simulator)
        yield client, recorder
    finally:
        await client.stop()


@contextlib.asynccontextmanager
async def browser_for(
    kind: str, root: Path
) -> AsyncIterator[tuple[Callable[[], BrowserDriver], RemoteChromium | None]]:
    """A driver factory of the given kind; for CDP, the remote Chromium it talks to."""
    profile = root / f"profile-{kind}"
    profile.mkdir(parents=True, exist_ok=True)
    if kind in LAUNCHING:
        yield driver_factory(kind, profile), None
        return
    remote = RemoteChromium(profile)
    try:
        url = await remote.start()
        yield driver_factory(kind, profile, url), remote
    finally:
        await remote.stop()


def short_tmp() -> Path:
    """A short temporary directory (Chromium's socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix="wa-"))
