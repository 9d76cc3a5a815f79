"""The add-on's run script with Debian's Chromium, driven by the integration's own CdpDriver.

The script runs here as it runs in the container, with paths and ports from the environment: Chromium
with the script's command line, DevTools on loopback, the gateway in front of it. The image itself is
not built here (no Docker daemon): Debian's Chromium, ``setpriv`` and the user ``nobody`` stand in
for Alpine's Chromium, ``setpriv`` and the image's user ``chromium``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from pathlib import Path
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

import aiohttp
import aiohttp.web
import pytest
import yaml

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.client.drivers.base import DriverError
from custom_components.whatsapp_web.client.drivers.cdp import CdpDriver
from custom_components.whatsapp_web.client.drivers.chromium import processes_using_profile
from simulator.testing import Simulator
from tests.e2e.harness import free_port, process_group_alive
from tests.support.clients import CHROMIUM, link, new_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDON_DIR = REPO_ROOT / "addon"
RUN_SCRIPT = ADDON_DIR / "run.sh"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
CDP_DRIVER_SOURCE = (
    REPO_ROOT / "custom_components" / "whatsapp_web" / "client" / "drivers" / "cdp.py"
)
# The unprivileged user that stands in for the image's `chromium` user.
BROWSER_USER = "nobody"
# The page origin the gateway lets tabs open in these tests (nothing listens on port 9).
PAGE_URL = "http://127.0.0.1:9/"


def load_gateway_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "devtools_gateway", ADDON_DIR / "devtools_gateway.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_as(user: str, *command: str) -> subprocess.CompletedProcess[bytes]:
    """``command`` run as ``user`` (the test runs as root)."""
    account = pwd.getpwnam(user)
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--clear-groups",
            "--",
            *command,
        ],
        capture_output=True,
        check=False,
    )


def user_namespaces_work_for(user: str) -> bool:
    """Whether ``user`` may create user namespaces here (what Chromium's sandbox needs)."""
    return run_as(user, "unshare", "--user", "--pid", "--net", "--fork", "true").returncode == 0


def process_user_ids(pid: int) -> set[int]:
    """The real, effective, saved and file-system user ids of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.MULTILINE)
    assert uids is not None
    return {int(uid) for uid in uids.groups()}


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """The add-on's /data: under /tmp, where the browser's unprivileged user can reach it."""
    path = Path(tempfile.mkdtemp(prefix="whatsapp-web-addon-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Addon:
    """``addon/run.sh`` in a process group of its own, with a private /data."""

    def __init__(self, data: Path, options: dict[str, Any], **environment: str) -> None:
        self.data = data
        self.options = options
        self.extra_environment = {
            "CHROMIUM_USER": BROWSER_USER,
            "PAGE_URL": PAGE_URL,
            **environment,
        }
        self.gateway_port = free_port()
        self.devtools_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # Inside /data: removed with it (it holds the token the gateway prints).
        self.log = data / "addon.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def token_file(self) -> Path:
        return self.data / "devtools_token"

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "CHROMIUM": CHROMIUM,
            "DATA_DIR": str(self.data),
            "DEVTOOLS_PORT": str(self.devtools_port),
            "GATEWAY_PORT": str(self.gateway_port),
            "PYTHON": str(PYTHON),
            **self.extra_environment,
            **extra,
        }

    def print_command(self) -> subprocess.CompletedProcess[str]:
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "options.json").write_text(json.dumps(self.options))
        return subprocess.run(
            ["bash", str(RUN_SCRIPT)],
            env=self.environment(PRINT_COMMAND="1"),
            capture_output=True,
            text=True,
            check=False,
        )

    def command_line(self) -> list[str]:
        output = self.print_command()
        assert output.returncode == 0, output.stderr
        return output.stdout.splitlines()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "options.json").write_text(json.dumps(self.options))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, stopped in stop()
                ["bash", str(RUN_SCRIPT)],
                env=self.environment(),
                stdout=log,
                stderr=log,
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
async def addon(data_dir: Path, socket_enabled: None) -> AsyncIterator[Addon]:
    running = Addon(data_dir, {"allowed_hosts": ["127.0.0.1"]})
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            await running.stop()


def test_chromium_command_line(data_dir: Path, socket_enabled: None) -> None:
    addon = Addon(data_dir, {"extra_flags": ["--force-dark-mode"]})
    command = addon.command_line()
    account = pwd.getpwnam(BROWSER_USER)
    # Chromium is started as the unprivileged user, never as root.
    assert command[:5] == [
        "setpriv",
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--clear-groups",
        "--",
    ]
    command = command[5:]
    assert command[0] == CHROMIUM
    assert "--headless" in command
    assert "--remote-debugging-address=127.0.0.1" in command
    assert f"--remote-debugging-port={addon.devtools_port}" in command
    assert f"--user-data-dir={data_dir / 'chromium'}" in command
    # With its sandbox where the system lets that user create namespaces (it does here).
    assert ("--no-sandbox" in command) is not user_namespaces_work_for(BROWSER_USER)
    assert "--disable-dev-shm-usage" in command
    # The user's extra flags come last, before the start page.
    assert command[-2:] == ["--force-dark-mode", "about:blank"]
    # The profile belongs to that user; /data itself does not.
    assert (data_dir / "chromium").stat().st_uid == account.pw_uid
    assert data_dir.stat().st_uid == os.getuid()


def test_without_the_browser_user_chromium_runs_as_root_without_sandbox_and_says_so(
    data_dir: Path, socket_enabled: None
) -> None:
    addon = Addon(data_dir, {}, CHROMIUM_USER="no-such-user-for-whatsapp-web")
    output = addon.print_command()
    assert output.returncode == 0, output.stderr
    command = output.stdout.splitlines()
    assert command[0] == CHROMIUM
    assert "--no-sandbox" in command
    assert output.stderr.count("WARNING") == 1
    assert "without its sandbox" in output.stderr
    assert "no user no-such-user-for-whatsapp-web" in output.stderr


@pytest.mark.parametrize(
    "flag",
    [
        "--remote-debugging-port=9999",
        "--remote-debugging-address=0.0.0.0",
        "--remote-debugging-pipe",
    ],
)
def test_extra_flags_may_not_open_another_devtools_endpoint(
    data_dir: Path, socket_enabled: None, flag: str
) -> None:
    addon = Addon(data_dir, {"extra_flags": ["--force-dark-mode", flag]})
    output = addon.print_command()
    assert output.returncode != 0
    assert output.stdout == ""
    assert f"refusing extra flag {flag}" in output.stderr
    # The Supervisor refuses it already when the option is saved.
    config = yaml.safe_load((ADDON_DIR / "config.yaml").read_text())
    (pattern,) = config["schema"]["extra_flags"]
    regex = re.fullmatch(r"match\((.*)\)", pattern)
    assert regex is not None
    assert re.fullmatch(regex.group(1), flag) is None
    assert re.fullmatch(regex.group(1), "--force-dark-mode") is not None


def test_the_gateway_forwards_exactly_the_methods_the_driver_sends() -> None:
    source = CDP_DRIVER_SOURCE.read_text()
    sent = set(re.findall(r'_(?:page_)?command\(\s*"([A-Za-z]+\.[A-Za-z]+)"', source))
    assert "Runtime.callFunctionOn" in sent
    assert sent == load_gateway_module().ALLOWED_METHODS


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
        # No token was configured: the gateway still wants the one it made.
        async with session.get(f"{addon.url}/json/version") as response:
            assert response.status == 401
        async with session.get(f"{addon.url}/json/version?token=wrong") as response:
            assert response.status == 401
        async with session.get(
            f"{addon.url}/json/version", headers={"Authorization": "Bearer "}
        ) as response:
            assert response.status == 401
        async with session.get(f"{addon.url}/json/version?token={addon.token}") as response:
            assert response.status == 200
        async with session.get(f"{addon.url}/json/version", headers=addon.auth) as response:
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


async def test_gateway_refuses_addresses_not_allowed(data_dir: Path, socket_enabled: None) -> None:
    addon = Addon(data_dir, {"allowed_hosts": ["10.255.255.1", "homeassistant.invalid"]})
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
        # The gateway lets the tab open the simulator (the WhatsApp Web of this test) only.
        addon.extra_environment["PAGE_URL"] = simulator.url
        await addon.start()
        # Every command the driver sends passes the gateway's filter.
        client = new_client(simulator, lambda: CdpDriver(addon.url, token=addon.token))
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
        client = new_client(simulator, lambda: CdpDriver(addon.url, token=addon.token))
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


# ---------------------------------------------------------------------------------------------
# The gateway's token and what it lets through


async def test_the_token_is_made_once_kept_private_and_shown_in_the_addon_log(
    addon: Addon,
) -> None:
    await addon.start()
    token = addon.token
    assert len(token) >= 40
    mode = addon.token_file.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o600
    assert mode.st_uid == os.getuid()
    # Chromium's user cannot read it.
    read_as_browser = run_as(BROWSER_USER, "cat", str(addon.token_file))
    assert read_as_browser.returncode != 0
    assert token.encode() not in read_as_browser.stdout
    # The add-on's log is where the user copies it from.
    assert token in addon.log_text()
    assert await addon.stop() == 0

    # A restart (an update, a reboot) keeps it: the integration's copy stays valid.
    await addon.start()
    assert addon.token == token
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{addon.url}/json/version", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
    assert await addon.stop() == 0


class DevTools:
    """A raw DevTools client, as another add-on on Home Assistant's network would write it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> dict[str, Any]:
        """The browser's (or the gateway's) whole answer: ``result`` or ``error``."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        await self.ws.send_str(json.dumps(message))
        async with asyncio.timeout(30):
            while True:
                answer = json.loads((await self.ws.receive()).data)
                if answer.get("id") == self.next_id:
                    return answer


async def browser_websocket_url(addon: Addon, session: aiohttp.ClientSession) -> str:
    async with session.get(f"{addon.url}/json/version", headers=addon.auth) as response:
        assert response.status == 200
        return str((await response.json())["webSocketDebuggerUrl"])


async def chromium_tab_urls(addon: Addon, session: aiohttp.ClientSession) -> list[str]:
    """Every tab's URL, asked of Chromium itself behind the gateway."""
    async with session.get(f"http://127.0.0.1:{addon.devtools_port}/json/list") as response:
        return [target["url"] for target in await response.json() if target["type"] == "page"]


async def test_the_gateway_forwards_only_what_the_driver_needs(addon: Addon) -> None:
    await addon.start()
    async with aiohttp.ClientSession() as session:
        ws_url = await browser_websocket_url(addon, session)
        tabs_before = await chromium_tab_urls(addon, session)
        async with session.ws_connect(ws_url, headers=addon.auth) as ws:
            devtools = DevTools(ws)
            # A method the driver never sends: reading every cookie (the WhatsApp session).
            answer = await devtools.call("Storage.getCookies")
            assert "result" not in answer
            assert "Storage.getCookies is not allowed" in answer["error"]["message"]
            # New tabs at foreign pages or local files.
            for url in (
                "file:///data/devtools_token",
                "http://127.0.0.2:9/",
                "http://127.0.0.1:10/",
                "https://127.0.0.1:9/",
                "javascript:alert(1)",
            ):
                answer = await devtools.call("Target.createTarget", {"url": url})
                assert "result" not in answer, url
                assert "may only open" in answer["error"]["message"]
            assert await chromium_tab_urls(addon, session) == tabs_before
            # A blank tab is allowed, and navigating it within the page's origin too.
            created = await devtools.call("Target.createTarget", {"url": "about:blank"})
            target_id = created["result"]["targetId"]
            attached = await devtools.call(
                "Target.attachToTarget", {"targetId": target_id, "flatten": True}
            )
            session_id = attached["result"]["sessionId"]
            for url in ("file:///data/devtools_token", "file:///etc/passwd", "http://127.0.0.2:9/"):
                answer = await devtools.call("Page.navigate", {"url": url}, session_id)
                assert "result" not in answer, url
                assert answer["sessionId"] == session_id
                assert "may only open" in answer["error"]["message"]
            # Chromium's own answer (the page does not load: nothing listens on port 9).
            answer = await devtools.call("Page.navigate", {"url": PAGE_URL + "x"}, session_id)
            assert "result" in answer
            answer = await devtools.call(
                "Runtime.evaluate", {"expression": "document.cookie"}, session_id
            )
            assert "Runtime.evaluate is not allowed" in answer["error"]["message"]
            assert not any(
                url.startswith("file:") for url in await chromium_tab_urls(addon, session)
            )
            await devtools.call("Target.closeTarget", {"targetId": target_id})


async def test_the_gateway_serves_no_other_endpoint(addon: Addon) -> None:
    await addon.start()
    async with aiohttp.ClientSession() as session:
        tabs_before = await chromium_tab_urls(addon, session)
        for method, path in (
            ("PUT", "/json/new?file:///data/devtools_token"),
            ("GET", "/json/new?about:blank"),
            ("GET", "/json/list"),
            ("GET", "/json"),
            ("GET", "/json/protocol"),
        ):
            async with session.request(
                method, f"{addon.url}{path}", headers=addon.auth
            ) as response:
                assert response.status == 403, path
        assert await chromium_tab_urls(addon, session) == tabs_before
        # A tab's own socket (it would skip the browser socket's rules) is refused too.
        async with session.get(f"http://127.0.0.1:{addon.devtools_port}/json/list") as response:
            page_id = next(target["id"] for target in await response.json())
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                f"ws://127.0.0.1:{addon.gateway_port}/devtools/page/{page_id}", headers=addon.auth
            )
        assert refused.value.status == 403


async def test_chromium_runs_as_an_unprivileged_user(addon: Addon) -> None:
    await addon.start()
    pids = await asyncio.to_thread(processes_using_profile, str(addon.data / "chromium"))
    assert pids
    account = pwd.getpwnam(BROWSER_USER)
    for pid in pids:
        assert process_user_ids(pid) == {account.pw_uid}, pid
    browser_command = Path(f"/proc/{min(pids)}/cmdline").read_bytes().split(b"\0")  # noqa: ASYNC240
    assert (b"--no-sandbox" in browser_command) is not user_namespaces_work_for(BROWSER_USER)


async def test_the_addon_announces_itself_to_home_assistant(
    data_dir: Path, socket_enabled: None
) -> None:
    """Under the Supervisor: a POST to its discovery API with the address and the token."""
    announced: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def discovery(request: aiohttp.web.Request) -> aiohttp.web.Response:
        await announced.put((request.headers.get("Authorization", ""), await request.json()))
        return aiohttp.web.json_response({"result": "ok", "data": {"uuid": "0" * 32}})

    app = aiohttp.web.Application()
    app.router.add_post("/discovery", discovery)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    supervisor_port = runner.addresses[0][1]
    addon = Addon(
        data_dir,
        {"allowed_hosts": ["127.0.0.1"]},
        SUPERVISOR_TOKEN="supervisor-secret",
        SUPERVISOR_URL=f"http://127.0.0.1:{supervisor_port}",
    )
    try:
        await addon.start()
        async with asyncio.timeout(30):
            authorization, body = await announced.get()
        assert authorization == "Bearer supervisor-secret"
        assert body == {
            "service": "whatsapp_web",
            "config": {
                "url": f"http://{socket.gethostname()}:{addon.gateway_port}",
                "token": addon.token,
            },
        }
        assert await addon.stop() == 0
    finally:
        if addon.process is not None and addon.process.poll() is None:
            await addon.stop()
        await runner.cleanup()
