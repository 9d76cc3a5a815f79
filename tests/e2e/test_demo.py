"""``script/demo --headless``: up, linked, stopped by a signal with nothing left, and again on the same folder."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import shutil
import signal
import tempfile
from typing import TYPE_CHECKING, Any

from tests.e2e.harness import (
    REPO_ROOT,
    api_json,
    browsers_using,
    free_port,
    process_group_alive,
    whatsapp_entries,
)

if TYPE_CHECKING:
    import aiohttp

START_TIMEOUT = 150


class Demo:
    """One run of script/demo in a process group of its own."""

    def __init__(self, directory: Path, ha_port: int, simulator_port: int) -> None:
        self.directory = directory
        self.ha_port = ha_port
        self.simulator_port = simulator_port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> dict[str, Any]:
        """Start it and return the JSON line it prints when ready."""
        self.process = await asyncio.create_subprocess_exec(
            str(REPO_ROOT / "script" / "demo"),
            "--headless",
            "--dir",
            str(self.directory),
            "--ha-port",
            str(self.ha_port),
            "--simulator-port",
            str(self.simulator_port),
            "--chats",
            "4",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT)
        assert line, "script/demo exited before it was ready"
        info: dict[str, Any] = json.loads(line)
        return info

    async def stop(self, signum: signal.Signals) -> int:
        """Send ``signum``; returns the exit status."""
        assert self.process is not None
        recorded = json.loads((self.directory / "processes.json").read_text())
        self.process.send_signal(signum)
        status = await asyncio.wait_for(self.process.wait(), 60)
        for name in ("hass", "simulator"):
            assert not process_group_alive(recorded[name]), f"{name} outlived the demo"
        assert browsers_using(self.directory) == []
        return status

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGKILL)


async def test_demo_headless_twice_on_the_same_folder(http: aiohttp.ClientSession) -> None:
    directory = Path(tempfile.mkdtemp(prefix="wa-demo-"))
    demo = Demo(directory, free_port(), free_port())
    try:
        info = await demo.start()
        assert set(info) == {"ha_url", "token", "simulator_url"}
        assert json.loads((directory / "demo.json").read_text()) == info
        assert info["ha_url"] == f"http://127.0.0.1:{demo.ha_port}"
        status = await api_json(
            http, "GET", f"{info['ha_url']}/api/whatsapp_web/status", info["token"]
        )
        assert status["state"] == "connected"

        # A second start while the first runs leaves it alone and names it.
        second = Demo(directory, demo.ha_port, demo.simulator_port)
        assert await second.start() == info
        assert second.process is not None
        assert await second.process.wait() == 0

        assert await demo.stop(signal.SIGTERM) == 0

        # Again on the same folder: same user and token, the account still linked, no new QR code.
        again = await demo.start()
        assert again == info
        status = await api_json(
            http, "GET", f"{info['ha_url']}/api/whatsapp_web/status", info["token"]
        )
        assert status["state"] == "connected"
        assert len(await whatsapp_entries(http, info["ha_url"], info["token"])) == 1
        state = await api_json(http, "GET", f"{info['simulator_url']}_sim/state")
        assert state["qr"] is None
        assert await demo.stop(signal.SIGINT) == 0
    finally:
        demo.kill()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: shutil.rmtree(directory, ignore_errors=True)
        )
