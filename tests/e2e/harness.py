"""Run the whole product for real: a simulator process, a ``hass`` process, onboarding, a token, linking.

Shared by ``script/demo`` (through ``script/demo.py``) and the end-to-end tests in this folder. Nothing
here imports Home Assistant: it drives the processes from the outside, over HTTP and WebSocket, the way a
person or a REST client would.

    async with aiohttp.ClientSession() as session:
        sim = SimulatorProcess.start(state_dir=..., port=...)
        hass = HassProcess(config_dir, port=...)
        write_configuration(config_dir, port=...)
        hass.start()
        await hass.wait_until_serving(session)
        credentials = await onboard_or_login(session, hass.url, USERNAME, PASSWORD)
        token = await create_long_lived_token(session, hass.url, credentials.access_token)
        await link_through_config_flow(session, hass.url, token, sim.url)

Every process is started in its own process group, so stopping it also stops the browsers it launched.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import html
import json
import logging
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any, Final, TextIO

import aiohttp

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
# hass and the simulator run from the venv running this code: .venv (the oldest supported Home
# Assistant) or .venv-newest (the newest, script/setup_newest_ha); .venv outside any venv.
VENV_BIN: Final = (
    Path(sys.prefix) / "bin" if sys.prefix != sys.base_prefix else REPO_ROOT / ".venv" / "bin"
)
DOMAIN: Final = "whatsapp_web"
HOST: Final = "127.0.0.1"
CHROMIUM: Final = "/usr/bin/chromium"
CLIENT_NAME: Final = "whatsapp_web demo"

# Only what the demo and the tests use: default_config fails on these machines (go2rtc, radio_browser).
COMPONENTS: Final = (
    "api",
    "config",
    "frontend",
    "logger",
    "onboarding",
    "person",
    "websocket_api",
)

# What a household's Home Assistant adds for the demo: the parts of default_config that work offline
# and without the packages --skip-pip leaves out (not bluetooth, dhcp, ssdp, usb, zeroconf: hardware and
# multicast; not cloud, homeassistant_alerts, go2rtc: the internet; not mobile_app, stream: no PyNaCl,
# no PyAV), and Home Assistant's demo text-to-speech engine. Setting that platform up loads the `demo`
# integration, whose config entry brings its cameras and lights too (from 2025.4 on they exist only
# there, not as YAML platforms).
HOUSEHOLD_COMPONENTS: Final = (
    "assist_pipeline",
    "conversation",
    "energy",
    "history",
    "logbook",
    "media_source",
    "my",
    "recorder",
    "sun",
    "webhook",
)
HOUSEHOLD_PLATFORMS: Final = {"tts": [{"platform": "demo"}]}

# The QR element the config flow puts into its progress step (see config_flow.qr_code_element).
QR_ELEMENT: Final = re.compile(r'<ha-qr-code data="([^"]+)"')

HASS_START_TIMEOUT: Final = 90.0
HASS_STOP_TIMEOUT: Final = 40.0
SIMULATOR_START_TIMEOUT: Final = 30.0
FLOW_STEP_TIMEOUT: Final = 90.0
CONNECTED_TIMEOUT: Final = 90.0
POLL_INTERVAL: Final = 0.25

_LOGGER = logging.getLogger(__name__)


class HarnessError(Exception):
    """Something in the stack did not come up as expected; the message says what and where to look."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` of 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do: connections of a stopped server in TIME_WAIT must not count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


# ---------------------------------------------------------------------------------------------
# Processes


def _stop_process_group(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM the process, wait, then SIGKILL whatever is left of its process group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _LOGGER.warning("process %s did not stop in %.0f s; killing it", process.pid, timeout)
    # The group id is the leader's pid (start_new_session=True). Children that did not start a
    # session of their own stay in the group even after the leader exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def process_group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies count as gone)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp.
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def browsers_using(directory: Path) -> list[int]:
    """Pids of the browsers whose profile lies under ``directory`` (ours: it is a private folder)."""
    marker = f"--user-data-dir={directory}"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(argument.decode(errors="replace").startswith(marker) for argument in arguments):
            found.append(int(entry.name))
    return found


def kill_browsers_using(directory: Path) -> None:
    """Kill what ``browsers_using`` finds: both local drivers start the browser in a session of its
    own, so it is outside hass's process group (the pipe driver's exits with hass; Playwright's may
    not)."""
    for pid in browsers_using(directory):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class SimulatorProcess:
    """``python -m simulator`` in its own process group."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(
        cls,
        *,
        port: int = 0,
        seed: int = 1,
        chats: int = 8,
        messages: int = 10,
        state_dir: Path | None = None,
        extra_args: tuple[str, ...] = (),
        log_file: Path | None = None,
    ) -> SimulatorProcess:
        """Start it and wait for its ``{"url": ...}`` line."""
        command = [
            str(VENV_BIN / "python"),
            "-m",
            "simulator",
            "--host",
            HOST,
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--chats",
            str(chats),
            "--messages",
            str(messages),
            *extra_args,
        ]
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            command += ["--state-dir", str(state_dir)]
        stderr: TextIO | int = subprocess.DEVNULL
        if log_file is not None:
            stderr = log_file.open("a", encoding="utf-8")
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        if log_file is not None and not isinstance(stderr, int):
            stderr.close()
        assert process.stdout is not None
        deadline = time.monotonic() + SIMULATOR_START_TIMEOUT
        line = ""
        # readline blocks; the simulator prints its line within a second or exits.
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line or process.poll() is not None:
                break
        try:
            url = str(json.loads(line)["url"])
        except (ValueError, KeyError, TypeError) as error:
            _stop_process_group(process, 5)
            raise HarnessError(f"the simulator did not start: {line!r}") from error
        return cls(process, url)

    @property
    def phone_url(self) -> str:
        """The page people use to play the phone."""
        return f"{self.url}_sim/phone"

    def stop(self) -> None:
        """Stop it (idempotent)."""
        _stop_process_group(self.process, 10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def write_configuration(
    config_dir: Path,
    *,
    port: int,
    name: str = "WhatsApp Web demo",
    automations: list[dict[str, Any]] | None = None,
    debug: bool = True,
    household: bool = False,
) -> None:
    """``configuration.yaml`` and the integration linked from this checkout.

    Automations and scripts live in ``automations.yaml`` and ``scripts.yaml``, as in a new installation:
    the automation and script editors edit those. ``automations`` are extra, read-only ones.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    components = COMPONENTS + (HOUSEHOLD_COMPONENTS if household else ())
    configuration: dict[str, Any] = {
        "homeassistant": {
            "name": name,
            "time_zone": "UTC",
            "unit_system": "metric",
            "currency": "EUR",
            "country": "ES",
            "latitude": 40.4,
            "longitude": -3.7,
            "elevation": 650,
        },
        **{component: {} for component in components},
        **(HOUSEHOLD_PLATFORMS if household else {}),
        "http": {"server_host": HOST, "server_port": port},
        "logger": {
            "default": "warning",
            "logs": {
                "custom_components.whatsapp_web": "debug" if debug else "info",
                "homeassistant.components.automation": "info",
            },
        },
    }
    if automations:
        configuration["automation harness"] = automations
    # One top-level key per line, its value as JSON (valid YAML); the includes need YAML's tags.
    lines = [f"{key}: {json.dumps(value)}" for key, value in configuration.items()]
    lines += ["automation: !include automations.yaml", "script: !include scripts.yaml"]
    (config_dir / "configuration.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for included in ("automations.yaml", "scripts.yaml"):
        if not (config_dir / included).exists():
            # What a new installation starts with: scripts.yaml holds a mapping, automations a list.
            (config_dir / included).write_text(
                "{}\n" if included == "scripts.yaml" else "[]\n", encoding="utf-8"
            )
    _link_directory(
        config_dir / "custom_components" / DOMAIN, REPO_ROOT / "custom_components" / DOMAIN
    )
    # The project's blueprints, ready to use (Settings > Automations > Blueprints).
    _link_directory(
        config_dir / "blueprints" / "automation" / DOMAIN,
        REPO_ROOT / "blueprints" / "automation" / DOMAIN,
    )


def _link_directory(link: Path, target: Path) -> None:
    """Make ``link`` a symbolic link to ``target`` (replacing whatever is there)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=True)


class HassProcess:
    """``hass -c CONFIG --skip-pip`` in its own process group, its output in ``hass.out`` there."""

    def __init__(self, config_dir: Path, port: int) -> None:
        """Nothing runs until ``start``."""
        self.config_dir = config_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL, no trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def pgid(self) -> int | None:
        """The process group of the running hass (its browsers included)."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start ``hass``; returns at once (see ``wait_until_serving``)."""
        if self.process is not None and self.process.poll() is None:
            raise HarnessError("hass is already running")
        if not port_is_free(self.port):
            raise HarnessError(f"port {self.port} on {HOST} is in use (another demo or hass?)")
        with (self.config_dir / "hass.out").open("ab") as output:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "hass"), "-c", str(self.config_dir), "--skip-pip"],
                cwd=self.config_dir,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # The venv's bin first: Playwright's driver and tools are looked up there.
                env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
            )

    def running(self) -> bool:
        """Whether the hass process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop hass gracefully (it closes its browsers), then anything left of its group."""
        if self.process is None:
            return
        _stop_process_group(self.process, HASS_STOP_TIMEOUT)
        kill_browsers_using(self.config_dir)

    def log_tail(self, lines: int = 40) -> str:
        """The end of Home Assistant's log, for error messages."""
        log = self.config_dir / "home-assistant.log"
        if not log.exists():
            log = self.config_dir / "hass.out"
        try:
            return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_until_serving(
        self, session: aiohttp.ClientSession, timeout: float = HASS_START_TIMEOUT
    ) -> None:
        """Until the HTTP server answers (``/api/`` answers 401 without a token)."""

        async def serving() -> bool:
            if not self.running():
                raise HarnessError(f"hass exited while starting:\n{self.log_tail()}")
            try:
                async with session.get(f"{self.url}/api/") as response:
                    return response.status in (200, 401)
            except aiohttp.ClientError:
                return False

        await wait_for(serving, timeout, f"hass to serve on {self.url}", self.log_tail)

    async def wait_until_running(
        self, session: aiohttp.ClientSession, token: str, timeout: float = HASS_START_TIMEOUT
    ) -> None:
        """Until Home Assistant reports that it finished starting."""

        async def started() -> bool:
            if not self.running():
                raise HarnessError(f"hass exited while starting:\n{self.log_tail()}")
            config = await api_json(session, "GET", f"{self.url}/api/config", token)
            return bool(config.get("state") == "RUNNING")

        await wait_for(started, timeout, "Home Assistant to finish starting", self.log_tail)


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    timeout: float,
    what: str,
    details: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until it is true; a HarnessError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if await condition():
            return
        if time.monotonic() > deadline:
            extra = f"\n{details()}" if details is not None else ""
            raise HarnessError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        await asyncio.sleep(POLL_INTERVAL)


# ---------------------------------------------------------------------------------------------
# HTTP helpers


async def api_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    body: Any = None,
    *,
    expect: tuple[int, ...] = (200, 201),
) -> Any:
    """Call a JSON route; returns the decoded body; other statuses raise HarnessError."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    async with session.request(method, url, **kwargs) as response:
        text = await response.text()
        if response.status not in expect:
            raise HarnessError(f"{method} {url} answered {response.status}: {text[:500]}")
        return json.loads(text) if text else None


@dataclass(frozen=True)
class Credentials:
    """What a login gives: an access token (30 minutes) and its refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int


def client_id(base_url: str) -> str:
    """The OAuth client id Home Assistant's frontend uses: the instance's own URL."""
    return f"{base_url}/"


async def _exchange_code(session: aiohttp.ClientSession, base_url: str, code: str) -> Credentials:
    async with session.post(
        f"{base_url}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": client_id(base_url)},
    ) as response:
        if response.status != 200:
            raise HarnessError(f"/auth/token answered {response.status}: {await response.text()}")
        tokens = await response.json()
    return Credentials(tokens["access_token"], tokens["refresh_token"], int(tokens["expires_in"]))


async def onboarding_steps(session: aiohttp.ClientSession, base_url: str) -> list[dict[str, Any]]:
    """``[{step, done}]``; empty once onboarding is over (Home Assistant then drops the route)."""
    async with session.get(f"{base_url}/api/onboarding") as response:
        if response.status == 404:
            return []
        if response.status != 200:
            raise HarnessError(f"/api/onboarding answered {response.status}")
        steps: list[dict[str, Any]] = await response.json()
    return steps


async def onboard(
    session: aiohttp.ClientSession, base_url: str, username: str, password: str, name: str
) -> Credentials:
    """Onboard a fresh instance without clicks; returns the new owner's credentials."""
    created = await api_json(
        session,
        "POST",
        f"{base_url}/api/onboarding/users",
        body={
            "client_id": client_id(base_url),
            "name": name,
            "username": username,
            "password": password,
            "language": "en",
        },
    )
    credentials = await _exchange_code(session, base_url, created["auth_code"])
    token = credentials.access_token
    await api_json(session, "POST", f"{base_url}/api/onboarding/core_config", token, {})
    await api_json(session, "POST", f"{base_url}/api/onboarding/analytics", token, {})
    await api_json(
        session,
        "POST",
        f"{base_url}/api/onboarding/integration",
        token,
        {"client_id": client_id(base_url), "redirect_uri": f"{base_url}/?auth_callback=1"},
    )
    return credentials


async def login(
    session: aiohttp.ClientSession, base_url: str, username: str, password: str
) -> Credentials:
    """Log in with Home Assistant's own username and password provider."""
    flow = await api_json(
        session,
        "POST",
        f"{base_url}/auth/login_flow",
        body={
            "client_id": client_id(base_url),
            "handler": ["homeassistant", None],
            "redirect_uri": f"{base_url}/?auth_callback=1",
        },
    )
    result = await api_json(
        session,
        "POST",
        f"{base_url}/auth/login_flow/{flow['flow_id']}",
        body={"client_id": client_id(base_url), "username": username, "password": password},
    )
    if result.get("type") != "create_entry":
        raise HarnessError(f"login as {username!r} failed: {result.get('errors')}")
    return await _exchange_code(session, base_url, result["result"])


async def onboard_or_login(
    session: aiohttp.ClientSession,
    base_url: str,
    username: str,
    password: str,
    name: str = "Demo",
) -> Credentials:
    """Onboard a fresh instance, or log in to one onboarded before (a second demo start)."""
    steps = await onboarding_steps(session, base_url)
    if steps and not any(step["done"] for step in steps):
        return await onboard(session, base_url, username, password, name)
    credentials = await login(session, base_url, username, password)
    # An earlier run may have stopped half way through onboarding: finish the remaining steps.
    remaining = [step["step"] for step in steps if not step["done"]]
    for step in remaining:
        body: dict[str, Any] = {}
        if step == "integration":
            body = {
                "client_id": client_id(base_url),
                "redirect_uri": f"{base_url}/?auth_callback=1",
            }
        await api_json(
            session, "POST", f"{base_url}/api/onboarding/{step}", credentials.access_token, body
        )
    return credentials


class HaWebSocket:
    """A small client of Home Assistant's WebSocket API (auth, then id-numbered commands)."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse) -> None:
        """Use ``connect``."""
        self.socket = socket_
        self._next_id = 1

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, base_url: str, token: str
    ) -> HaWebSocket:
        """Open ``/api/websocket`` and authenticate."""
        socket_ = await session.ws_connect(f"{base_url.replace('http', 'ws', 1)}/api/websocket")
        hello = await socket_.receive_json(timeout=10)
        if hello.get("type") != "auth_required":
            raise HarnessError(f"unexpected WebSocket greeting: {hello}")
        await socket_.send_json({"type": "auth", "access_token": token})
        answer = await socket_.receive_json(timeout=10)
        if answer.get("type") != "auth_ok":
            await socket_.close()
            raise HarnessError(f"WebSocket authentication failed: {answer}")
        return cls(socket_)

    async def send(self, message: dict[str, Any]) -> int:
        """Send a command; returns its id."""
        message_id = self._next_id
        self._next_id += 1
        await self.socket.send_json({"id": message_id, **message})
        return message_id

    async def command(self, message: dict[str, Any], timeout: float = 10) -> Any:
        """Send a command and return its result (raises on an error result)."""
        answer = await self.receive_result(await self.send(message), timeout)
        if not answer.get("success"):
            raise HarnessError(f"{message.get('type')} failed: {answer.get('error')}")
        return answer.get("result")

    async def receive_result(self, message_id: int, timeout: float = 10) -> dict[str, Any]:
        """The ``result`` message answering command ``message_id``, successful or not."""
        async with asyncio.timeout(timeout):
            while True:
                answer: dict[str, Any] = await self.socket.receive_json()
                if answer.get("id") == message_id and answer.get("type") == "result":
                    return answer

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next message from the server."""
        message: dict[str, Any] = await self.socket.receive_json(timeout=timeout)
        return message

    async def close(self) -> None:
        """Close the socket."""
        await self.socket.close()


async def create_long_lived_token(
    session: aiohttp.ClientSession, base_url: str, access_token: str, lifespan_days: int = 3650
) -> str:
    """A long-lived access token (what REST clients put in ``Authorization: Bearer``)."""
    websocket = await HaWebSocket.connect(session, base_url, access_token)
    try:
        # Names must be unique per user: a second demo start creates another one.
        result = await websocket.command(
            {
                "type": "auth/long_lived_access_token",
                "client_name": f"{CLIENT_NAME} {int(time.time())}",
                "lifespan": lifespan_days,
            }
        )
    finally:
        await websocket.close()
    return str(result)


async def confirm_http_settings(session: aiohttp.ClientSession, base_url: str, token: str) -> None:
    """Confirm the ``http:`` settings of ``configuration.yaml`` where Home Assistant asks for it.

    From 2026.11 on, Home Assistant moves them into its storage as a *pending* configuration and, unless
    an administrator confirms it within five minutes (as Settings > System > Network does), restarts on
    the defaults: port 8123 on every interface. Older versions have no such command: nothing to do.
    """
    websocket = await HaWebSocket.connect(session, base_url, token)
    try:
        message_id = await websocket.send({"type": "http/config"})
        answer = await websocket.receive_result(message_id)
        if not answer.get("success"):
            if (answer.get("error") or {}).get("code") == "unknown_command":
                return
            raise HarnessError(f"http/config failed: {answer.get('error')}")
        settings = answer["result"]
        if settings.get("active_config_type") == "pending" and settings.get("pending"):
            await websocket.command({"type": "http/config/promote"})
    finally:
        await websocket.close()


async def token_works(session: aiohttp.ClientSession, base_url: str, token: str) -> bool:
    """Whether Home Assistant accepts ``token``."""
    async with session.get(
        f"{base_url}/api/", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status == 200


# ---------------------------------------------------------------------------------------------
# The integration


async def whatsapp_entries(
    session: aiohttp.ClientSession, base_url: str, token: str
) -> list[dict[str, Any]]:
    """The integration's config entries as the REST config API lists them."""
    entries: list[dict[str, Any]] = await api_json(
        session, "GET", f"{base_url}/api/config/config_entries/entry?domain={DOMAIN}", token
    )
    return [entry for entry in entries if entry.get("domain") == DOMAIN]


async def entity_states_of_entry(
    session: aiohttp.ClientSession, base_url: str, token: str, entry_id: str
) -> dict[str, str]:
    """``{entity_id: state}`` of every entity of a config entry (entity registry + states)."""
    websocket = await HaWebSocket.connect(session, base_url, token)
    try:
        registry = await websocket.command({"type": "config/entity_registry/list"})
    finally:
        await websocket.close()
    entity_ids = {item["entity_id"] for item in registry if item.get("config_entry_id") == entry_id}
    states = await api_json(session, "GET", f"{base_url}/api/states", token)
    found = {
        state["entity_id"]: state["state"] for state in states if state["entity_id"] in entity_ids
    }
    # Disabled entities have no state; they are listed as such.
    return {entity_id: found.get(entity_id, "<no state>") for entity_id in sorted(entity_ids)}


# Onboarding adds these; without network or their Python packages (--skip-pip) they only fail.
ONBOARDING_DOMAINS: Final = frozenset({"google_translate", "met", "radio_browser"})


async def remove_failed_onboarding_entries(
    session: aiohttp.ClientSession, base_url: str, token: str
) -> None:
    """Delete the entries onboarding created that cannot work offline (a tidy demo)."""
    entries = await api_json(session, "GET", f"{base_url}/api/config/config_entries/entry", token)
    for entry in entries:
        if entry["domain"] in ONBOARDING_DOMAINS and entry["state"] != "loaded":
            await api_json(
                session,
                "DELETE",
                f"{base_url}/api/config/config_entries/entry/{entry['entry_id']}",
                token,
                expect=(200, 404),
            )


def qr_from_placeholders(result: dict[str, Any]) -> str | None:
    """The QR string of a ``link`` progress step (inside its ``<ha-qr-code>`` element)."""
    element = (result.get("description_placeholders") or {}).get("qr_code") or ""
    match = QR_ELEMENT.search(element)
    return html.unescape(match.group(1)) if match else None


class ConfigFlowClient:
    """Drives a config flow over ``/api/config/config_entries/flow`` like the frontend does."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        """Bind to one Home Assistant."""
        self.session = session
        self.base = f"{base_url}/api/config/config_entries/flow"
        self.token = token

    async def start(self, handler: str = DOMAIN) -> dict[str, Any]:
        """Open a flow, as the frontend's "Add integration" does."""
        result: dict[str, Any] = await api_json(
            self.session,
            "POST",
            self.base,
            self.token,
            {"handler": handler},
        )
        return result

    async def submit(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Answer a form or pick a menu option (``{"next_step_id": ...}``)."""
        result: dict[str, Any] = await api_json(
            self.session, "POST", f"{self.base}/{flow_id}", self.token, data
        )
        return result

    async def read(self, flow_id: str) -> dict[str, Any]:
        """Read the flow again (this is what lets a finished progress step move on)."""
        result: dict[str, Any] = await api_json(
            self.session, "GET", f"{self.base}/{flow_id}", self.token
        )
        return result

    async def abort(self, flow_id: str) -> None:
        """Close the flow (as closing the dialog does)."""
        await api_json(
            self.session, "DELETE", f"{self.base}/{flow_id}", self.token, expect=(200, 404)
        )

    async def until(
        self,
        result: dict[str, Any],
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = FLOW_STEP_TIMEOUT,
    ) -> dict[str, Any]:
        """Read the flow until ``predicate(result)``; a finished flow's last answer is returned."""
        deadline = time.monotonic() + timeout
        while not predicate(result):
            if result.get("type") in ("create_entry", "abort"):
                raise HarnessError(f"the config flow ended before the expected step: {result}")
            if time.monotonic() > deadline:
                raise HarnessError(f"the config flow stayed at {result} for {timeout:.0f} s")
            await asyncio.sleep(POLL_INTERVAL)
            result = await self.read(result["flow_id"])
        return result


def is_step(step_id: str, result_type: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """A predicate: the flow shows ``step_id`` (and, if given, with that result type)."""
    return lambda result: (
        result.get("step_id") == step_id
        and (result_type is None or result.get("type") == result_type)
    )


def showing_qr(result: dict[str, Any]) -> bool:
    """The flow shows a QR code to scan."""
    return result.get("type") == "progress" and qr_from_placeholders(result) is not None


async def simulator_link(session: aiohttp.ClientSession, simulator_url: str, qr: str) -> None:
    """Scan ``qr`` with the simulated phone."""
    await api_json(session, "POST", f"{simulator_url}_sim/link", body={"qr": qr})


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise HarnessError(message)


async def link_through_config_flow(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    simulator_url: str,
    *,
    chromium: str = CHROMIUM,
) -> dict[str, Any]:
    """Add the integration with the local Chromium on the simulator and scan its QR code.

    Returns the created config entry (the flow's ``result``).
    """
    flows = ConfigFlowClient(session, base_url, token)
    result = await flows.start()
    flow_id = result["flow_id"]
    try:
        _expect(
            result.get("type") == "menu" and "local" in result.get("menu_options", []),
            f"unexpected first step of the config flow: {result}",
        )
        result = await flows.submit(flow_id, {"next_step_id": "local"})
        _expect(
            "page_url" in json.dumps(result.get("data_schema", [])),
            "the config flow offers no page address in its advanced section: it cannot be pointed at "
            f"the simulator ({result})",
        )
        result = await flows.submit(
            flow_id, {"chromium_path": chromium, "advanced": {"page_url": simulator_url}}
        )
        result = await flows.until(result, is_step("link_method", "menu"))
        result = await flows.submit(flow_id, {"next_step_id": "link"})
        for attempt in range(3):
            result = await flows.until(result, showing_qr)
            qr = qr_from_placeholders(result)
            assert qr is not None
            try:
                await simulator_link(session, simulator_url, qr)
                break
            except HarnessError:
                # WhatsApp rotated the code between reading and scanning: read the new one.
                if attempt == 2:
                    raise
                await asyncio.sleep(POLL_INTERVAL)
                result = await flows.read(flow_id)
        result = await flows.until(result, lambda result: result.get("type") == "create_entry")
    except BaseException:
        with contextlib.suppress(Exception):
            await flows.abort(flow_id)
        raise
    entry: dict[str, Any] = result["result"]
    return entry


async def wait_until_connected(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    timeout: float = CONNECTED_TIMEOUT,
    account: str | None = None,
) -> dict[str, Any]:
    """Until ``GET /api/whatsapp_web/status`` says the account is connected; returns that answer."""
    status: dict[str, Any] = {}
    query = f"?account={account}" if account else ""

    async def connected() -> bool:
        nonlocal status
        async with session.get(
            f"{base_url}/api/whatsapp_web/status{query}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            if response.status != 200:
                return False
            status = await response.json()
        return status.get("state") == "connected"

    await wait_for(connected, timeout, "the WhatsApp account to be connected")
    return status


# ---------------------------------------------------------------------------------------------
# The whole stack


@dataclass
class StackSettings:
    """Where and how to run one simulator and one Home Assistant."""

    directory: Path
    ha_port: int
    simulator_port: int
    username: str = "demo"
    password: str = "demo-password"
    seed: int = 1
    chats: int = 8
    messages: int = 10
    automations: list[dict[str, Any]] | None = None
    # The demo's household: history, logbook, Home Assistant's demo camera, lights and speech.
    household: bool = False

    @property
    def config_dir(self) -> Path:
        """Home Assistant's configuration directory."""
        return self.directory / "config"

    @property
    def simulator_dir(self) -> Path:
        """The simulator's saved account (the linked device survives restarts)."""
        return self.directory / "simulator"


@dataclass
class Stack:
    """A running simulator and Home Assistant, onboarded, with a long-lived token."""

    settings: StackSettings
    simulator: SimulatorProcess | None = None
    hass: HassProcess | None = None
    token: str = ""
    credentials: Credentials | None = None

    @property
    def ha_url(self) -> str:
        """Home Assistant's base URL."""
        return f"http://{HOST}:{self.settings.ha_port}"

    def start_processes(self) -> None:
        """Start the simulator and hass (no waiting for hass)."""
        settings = self.settings
        settings.directory.mkdir(parents=True, exist_ok=True)
        if self.simulator is None:
            self.simulator = SimulatorProcess.start(
                port=settings.simulator_port,
                seed=settings.seed,
                chats=settings.chats,
                messages=settings.messages,
                state_dir=settings.simulator_dir,
                log_file=settings.directory / "simulator.log",
            )
        write_configuration(
            settings.config_dir,
            port=settings.ha_port,
            automations=settings.automations,
            household=settings.household,
        )
        self.hass = HassProcess(settings.config_dir, settings.ha_port)
        self.hass.start()

    async def bring_up(
        self, session: aiohttp.ClientSession, saved_token: str | None = None
    ) -> None:
        """Start what is not running, onboard or log in, and get a working long-lived token."""
        if self.hass is None or not self.hass.running():
            self.start_processes()
        assert self.hass is not None
        await self.hass.wait_until_serving(session)
        settings = self.settings
        self.credentials = await onboard_or_login(
            session, self.ha_url, settings.username, settings.password
        )
        if saved_token and await token_works(session, self.ha_url, saved_token):
            self.token = saved_token
        else:
            self.token = await create_long_lived_token(
                session, self.ha_url, self.credentials.access_token
            )
        await self.hass.wait_until_running(session, self.token)
        await confirm_http_settings(session, self.ha_url, self.token)
        await remove_failed_onboarding_entries(session, self.ha_url, self.token)

    async def ensure_linked(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """Link the simulator's account through the config flow unless an entry exists; wait for it."""
        assert self.simulator is not None
        entries = await whatsapp_entries(session, self.ha_url, self.token)
        if not entries:
            await link_through_config_flow(session, self.ha_url, self.token, self.simulator.url)
        return await wait_until_connected(session, self.ha_url, self.token)

    async def restart_hass(self, session: aiohttp.ClientSession) -> None:
        """Stop hass and start it again on the same configuration."""
        assert self.hass is not None
        # Stopping waits for the process: in a thread, so the caller's event loop keeps running.
        await asyncio.get_running_loop().run_in_executor(None, self.hass.stop)
        self.hass.start()
        await self.hass.wait_until_serving(session)
        await self.hass.wait_until_running(session, self.token)

    def stop(self) -> None:
        """Stop every process (hass first: it closes its browsers while the simulator still runs)."""
        if self.hass is not None:
            self.hass.stop()
        kill_browsers_using(self.settings.directory)
        if self.simulator is not None:
            self.simulator.stop()


def run_in_thread[T](coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh event loop in a thread of its own and wait for it.

    For synchronous callers that must not touch the event loop of the thread they run in (pytest's).
    """
    import threading  # noqa: PLC0415  (only this helper needs it)

    outcome: dict[str, Any] = {}

    def runner() -> None:
        loop = asyncio.new_event_loop()
        try:
            outcome["value"] = loop.run_until_complete(coroutine_factory())
        except BaseException as error:
            outcome["error"] = error
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=runner, name="e2e-harness", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use script/demo")
