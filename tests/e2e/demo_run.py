"""One run of ``script/demo --headless`` in a process group of its own, as a person would start it.

Used by the demo's end-to-end tests and by ``script/screenshot_demo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
import select
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

from tests.e2e.harness import (
    REPO_ROOT,
    HarnessError,
    api_json,
    browsers_using,
    kill_browsers_using,
    process_group_alive,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import aiohttp

REPLY_TIMEOUT = 20.0

START_TIMEOUT = 150.0
STOP_TIMEOUT = 60.0


class DemoRun:
    """``script/demo --headless --dir DIRECTORY`` on fixed ports; start, stop, start again."""

    def __init__(self, directory: Path, ha_port: int, simulator_port: int, chats: int = 6) -> None:
        """Nothing runs until ``start``."""
        self.directory = directory
        self.ha_port = ha_port
        self.simulator_port = simulator_port
        self.chats = chats
        self.process: subprocess.Popen[bytes] | None = None
        # What the last start printed.
        self.info: dict[str, Any] = {}

    def running(self) -> bool:
        """Whether script/demo is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> dict[str, Any]:
        """Start it and return the JSON line it prints when ready ({ha_url, token, simulator_url})."""
        self.process = subprocess.Popen(
            [
                str(REPO_ROOT / "script" / "demo"),
                "--headless",
                "--dir",
                str(self.directory),
                "--ha-port",
                str(self.ha_port),
                "--simulator-port",
                str(self.simulator_port),
                "--chats",
                str(self.chats),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.kill()
            raise HarnessError(f"script/demo printed nothing within {START_TIMEOUT:.0f} s")
        self.info = json.loads(line)
        return self.info

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Until it exits; its exit status."""
        assert self.process is not None
        status = self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return status

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        """Send ``signum`` and check that every process it started is gone; its exit status."""
        assert self.process is not None
        recorded = json.loads((self.directory / "processes.json").read_text())
        self.process.send_signal(signum)
        status = self.wait()
        for name in ("hass", "simulator"):
            if process_group_alive(recorded[name]):
                raise HarnessError(f"{name} outlived the demo")
        browsers = browsers_using(self.directory)
        if browsers:
            raise HarnessError(f"browsers outlived the demo: {browsers}")
        return status

    def kill(self) -> None:
        """Whatever state it is in: stopped, and nothing it started left running."""
        if self.running():
            assert self.process is not None
            # SIGTERM first: the demo then stops Home Assistant, its browsers and the simulator.
            os.killpg(self.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.wait()
        # hass and the simulator run in process groups of their own: after a SIGKILL they remain.
        recorded = _read_processes(self.directory)
        for name in ("hass", "simulator"):
            pgid = recorded.get(name)
            if isinstance(pgid, int) and process_group_alive(pgid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
        kill_browsers_using(self.directory)


def _read_processes(directory: Path) -> dict[str, Any]:
    try:
        recorded = json.loads((directory / "processes.json").read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


async def wait_for_sent(
    http: aiohttp.ClientSession,
    simulator_url: str,
    matches: Callable[[dict[str, Any]], bool],
    timeout: float = REPLY_TIMEOUT,
) -> dict[str, Any]:
    """The first message in the simulator's outbox (what the phone received) that ``matches``."""
    deadline = time.monotonic() + timeout
    while True:
        sent = (await api_json(http, "GET", f"{simulator_url}_sim/sent"))["sent"]
        found: list[dict[str, Any]] = [
            entry for entry in sent if entry["kind"] == "message" and matches(entry)
        ]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise HarnessError(f"nothing the demo sent matched within {timeout:.0f} s: {sent}")
        await asyncio.sleep(0.25)


async def phone_writes(
    session: aiohttp.ClientSession, simulator_url: str, chat: str, body: str
) -> str:
    """The simulated phone sends ``body`` in ``chat`` to the demo's account; the message's id."""
    created = await api_json(
        session, "POST", f"{simulator_url}_sim/incoming", body={"chat": chat, "body": body}
    )
    return str(created["id"])
