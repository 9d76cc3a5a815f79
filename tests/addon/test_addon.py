"""The add-on's run script with Debian's Chromium, driven by the integration's own CdpDriver.

The script runs here as it runs in the container, with paths and ports from the environment: Chromium
with the script's command line, DevTools on loopback, the gateway in front of it.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import re
import signal
import subprocess
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
import yaml

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.client.drivers.base import DriverError
from custom_components.whatsapp_web.client.drivers.cdp import CdpDriver
from simulator.testing import Simulator
from tests.e2e.harness import free_port, process_group_alive
from tests.support.clients import CHROMIUM, link, new_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_SCRIPT = REPO_ROOT / "addon" / "run.sh"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


class Addon:
    """``addon/run.sh`` in a process group of its own, with a private /data."""

    def __init__(self, data: Path, options: dict[str, Any]) -> None:
        self.data = data
        self.options = options
        self.gateway_port = free_port()
        self.devtools_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "CHROMIUM": CHROMIUM,
            "DATA_DIR": str(self.data),
            "DEVTOOLS_PORT": str(self.devtools_port),
            "GATEWAY_PORT": str(self.gateway_port),
            "PYTHON": str(PYTHON),
            **extra,
        }

    def command_line(self) -> list[str]:
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "options.json").write_text(json.dumps(self.options))
        output = subprocess.run(
            ["bash", str(RUN_SCRIPT)],
            env=self.environment(PRINT_COMMAND="1"),
            capture_output=True,
            text=True,
            check=True,
        )
        return output.stdout.splitlines()

    async def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "options.json").write_text(json.dumps(self.options))
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, stopped in stop()
            ["bash", str(RUN_SCRIPT)],
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        async with asyncio.timeout(30), aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"run.sh exited with {self.process.returncode}")
                try:
                    async with session.get(
                        f"http://127.0.0.1:{self.devtools_port}/json/version"
                    ) as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            while True:
                try:
                    async with session.get(f"{self.url}/json/version"):
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)

    async def stop(self) -> int:
        """SIGTERM to the script, as the Supervisor does; returns its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.to_thread(self.process.wait, 20)
        finally:
            if process_group_alive(self.process.pid):
                os.killpg(self.process.pid, signal.SIGKILL)
        return status


@pytest.fixture
async def addon(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Addon]:
    running = Addon(tmp_path / "data", {"allowed_hosts": ["127.0.0.1"], "token": "s3cret"})
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            await running.stop()


def test_chromium_command_line(tmp_path: Path, socket_enabled: None) -> None:
    addon = Addon(tmp_path / "data", {"extra_flags": ["--force-dark-mode"]})
    command = addon.command_line()
    assert command[0] == CHROMIUM
    assert "--headless" in command
    assert "--remote-debugging-address=127.0.0.1" in command
    assert f"--remote-debugging-port={addon.devtools_port}" in command
    assert f"--user-data-dir={tmp_path / 'data' / 'chromium'}" in command
    assert "--no-sandbox" in command
    assert "--disable-dev-shm-usage" in command
    # The user's extra flags come last, before the start page.
    assert command[-2:] == ["--force-dark-mode", "about:blank"]


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


async def test_devtools_on_loopback_and_gateway_in_front(addon: Addon) -> None:
    await addon.start()
    # Chromium's own endpoint: 127.0.0.1 only (0100007F in /proc/net/tcp).
    assert listening_addresses(addon.devtools_port) == {"0100007F"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{addon.url}/json/version") as response:
            assert response.status == 401
        async with session.get(f"{addon.url}/json/version?token=wrong") as response:
            assert response.status == 401
        async with session.get(
            f"{addon.url}/json/version", headers={"Authorization": "Bearer s3cret"}
        ) as response:
            assert response.status == 200
            version = await response.json()
    # The browser's address, as the gateway publishes it, points at the gateway.
    assert version["webSocketDebuggerUrl"].startswith(
        f"ws://127.0.0.1:{addon.gateway_port}/devtools/browser/"
    )
    assert version["Browser"].startswith(("Chrome/", "HeadlessChrome/"))
    driver = CdpDriver(addon.url)
    with pytest.raises(DriverError):
        await driver.start()
    await driver.stop()


async def test_gateway_refuses_addresses_not_allowed(tmp_path: Path, socket_enabled: None) -> None:
    addon = Addon(tmp_path / "data", {"allowed_hosts": ["10.255.255.1", "homeassistant.invalid"]})
    await addon.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{addon.url}/json/version") as response:
                assert response.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(f"ws://127.0.0.1:{addon.gateway_port}/devtools/browser/x")
    finally:
        assert await addon.stop() == 0


async def test_links_through_the_gateway_and_keeps_the_session(addon: Addon) -> None:
    async with Simulator(chats=2, messages=1, contacts=2, groups=0) as simulator:
        await addon.start()
        client = new_client(simulator, lambda: CdpDriver(addon.url, token="s3cret"))
        try:
            await link(client, simulator)
            chats = await client.get_chats()
            assert len(chats) == 2
        finally:
            await client.stop()
        assert await addon.stop() == 0
        assert addon.process is not None
        assert not process_group_alive(addon.process.pid)

        # The add-on restarts (an update, a reboot): the profile in /data keeps the linked session.
        await addon.start()
        client = new_client(simulator, lambda: CdpDriver(addon.url, token="s3cret"))
        try:
            await client.start()
            await client.wait_for_state(ClientState.CONNECTED, timeout=30)
            assert client.qr is None
            state = await simulator.control.state()
            assert state["qr"] is None
        finally:
            await client.stop()
        assert await addon.stop() == 0


def test_addon_definition_is_consistent() -> None:
    """config.yaml, the Dockerfile, the translations and run.sh agree (the Supervisor is not here)."""
    addon_dir = REPO_ROOT / "addon"
    config = yaml.safe_load((addon_dir / "config.yaml").read_text())
    for key in ("name", "version", "slug", "description", "arch", "startup", "boot"):
        assert config[key], key
    assert re.fullmatch(r"[a-z0-9_]+", config["slug"])
    assert set(config["arch"]) <= {"aarch64", "amd64", "armhf", "armv7", "i386"}
    # Reachable only on the internal network: no host port is mapped.
    assert not config.get("ports")
    assert not config.get("host_network", False)
    assert set(config["options"]) == set(config["schema"])
    translations = yaml.safe_load((addon_dir / "translations" / "en.yaml").read_text())
    assert set(translations["configuration"]) == set(config["options"])
    dockerfile = (addon_dir / "Dockerfile").read_text()
    assert f'io.hass.version="{config["version"]}"' in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (addon_dir / source).is_file(), source
    build = yaml.safe_load((addon_dir / "build.yaml").read_text())
    assert set(build["build_from"]) == set(config["arch"])
    run_script = (addon_dir / "run.sh").read_text()
    for option in config["options"]:
        assert f"option {option} " in run_script, f"run.sh ignores the option {option}"
