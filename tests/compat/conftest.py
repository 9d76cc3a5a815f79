"""Fixtures for running the unmodified whatsapp-web.js package against the simulator.

`runner.js` (next to this file) wraps a whatsapp-web.js `Client`: it prints every event as one JSON
line and answers commands sent as JSON lines. The fixtures here start one simulator per test (the
`python -m simulator` command, so the account lives in its own process), write the simulator's page
into a whatsapp-web.js `local` web version cache, and start runner.js processes against it. At
teardown every Node and Chromium process a test started is ended, by process id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from simulator import DEFAULT_VERSION
from simulator.seed import build_account
from simulator.server import render_page
from tests.support.processes import process_alive

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from simulator.account import Account

COMPAT_DIR = Path(__file__).parent
RUNNER_JS = COMPAT_DIR / "runner.js"
WWEBJS_PACKAGE = COMPAT_DIR / "node_modules" / "whatsapp-web.js" / "package.json"
REPO_ROOT = COMPAT_DIR.parent.parent
CHROMIUM = "/usr/bin/chromium"
#: The page's `Debug.VERSION`, also the file name whatsapp-web.js's local web cache serves.
WEB_VERSION = DEFAULT_VERSION
# One JSON line on stdout can hold a whole chat list or a media message.
STREAM_LIMIT = 64 * 1024 * 1024
SIMULATOR_START_TIMEOUT = 30.0
#: The simulator's data set; `seeded_account()` builds the same one for expectations.
SEED = {"chats": 12, "messages": 8, "contacts": 20, "groups": 3, "seed": 7}
DEFAULT_EVENT_TIMEOUT = 30.0
#: `--qr-max` of the `compat_rotating_qr` simulator.
QR_MAX_ROTATIONS = 2


def require_wwebjs() -> None:
    """Skip when the Node packages were never installed; under CI that is a failure instead."""
    if WWEBJS_PACKAGE.is_file():
        return
    reason = (
        "tests/compat/node_modules is missing: run script/setup "
        "(or `cd tests/compat && PUPPETEER_SKIP_DOWNLOAD=1 npm ci`)"
    )
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason)
    pytest.skip(reason)


def _ancestors() -> set[int]:
    """This process and its parents (never to be killed, whatever their command line says)."""
    pids = set()
    pid = os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def processes_mentioning(marker: str) -> list[int]:
    """Node and Chromium processes whose command line contains `marker`.

    The marker is a directory only one runner of this test uses (its LocalAuth data path), so the
    match finds exactly the processes that runner started, even after they were re-parented.
    """
    found = []
    skip = _ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = Path(arguments[0].decode(errors="replace")).name
        if ("chrom" in program or program == "node") and any(
            marker.encode() in argument for argument in arguments
        ):
            found.append(int(entry.name))
    return found


def kill_pids(pids: list[int]) -> None:
    """SIGKILL each listed process that is still alive."""
    for pid in pids:
        if pid != os.getpid() and process_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


class RunnerError(AssertionError):
    """runner.js did not do what the test waited for; the message carries its recent output."""


class WwebjsRunner:
    """One runner.js process: a whatsapp-web.js Client with one Chromium."""

    def __init__(self, name: str, config: dict[str, Any], profile_marker: str) -> None:
        self.name = name
        self.config = config
        self.profile_marker = profile_marker
        self.events: list[dict[str, Any]] = []
        self.replies: dict[int, dict[str, Any]] = {}
        self.stderr_lines: list[str] = []
        self.browser_pid: int | None = None
        self.exited = False
        self._process: asyncio.subprocess.Process | None = None
        self._changed = asyncio.Condition()
        self._readers: list[asyncio.Task[None]] = []
        self._next_id = 0

    @property
    def pid(self) -> int:
        """The process id of node runner.js (the benchmarks measure its memory)."""
        if self._process is None:
            raise RuntimeError("runner.js is not started")
        return self._process.pid

    async def start(self) -> None:
        """Start node runner.js with the config."""
        self._process = await asyncio.create_subprocess_exec(
            "node",
            str(RUNNER_JS),
            json.dumps(self.config),
            cwd=str(COMPAT_DIR),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=STREAM_LIMIT,
        )
        self._readers = [
            asyncio.create_task(self._read_stdout(), name=f"{self.name}-stdout"),
            asyncio.create_task(self._read_stderr(), name=f"{self.name}-stderr"),
        ]

    async def _read_stdout(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            arrived = time.monotonic()
            try:
                item = json.loads(raw)
            except ValueError:
                self.stderr_lines.append(f"[stdout, not JSON] {raw.decode(errors='replace')}")
                continue
            # When the line was read: the benchmarks time events with it.
            item["_t"] = arrived
            async with self._changed:
                if "reply" in item and isinstance(item["reply"], int):
                    self.replies[item["reply"]] = item
                elif item.get("event") == "browser":
                    self.browser_pid = int(item["pid"])
                else:
                    self.events.append(item)
                self._changed.notify_all()
        async with self._changed:
            self.exited = True
            self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self._process is not None
        assert self._process.stderr is not None
        async for raw in self._process.stderr:
            self.stderr_lines.append(raw.decode(errors="replace").rstrip("\n"))

    def describe(self, lines: int = 60) -> str:
        """Recent events and stderr, for assertion messages."""
        events = "\n".join(json.dumps(event)[:400] for event in self.events[-25:])
        stderr = "\n".join(line[:600] for line in self.stderr_lines[-lines:])
        return f"--- {self.name} events ---\n{events}\n--- {self.name} stderr ---\n{stderr}"

    def events_named(self, name: str) -> list[dict[str, Any]]:
        """Every event of that name seen so far."""
        return [event for event in self.events if event.get("event") == name]

    async def wait_event(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        within: float = DEFAULT_EVENT_TIMEOUT,
        start: int = 0,
    ) -> dict[str, Any]:
        """The first event named `name` (at index >= start) for which predicate holds."""

        def find() -> dict[str, Any] | None:
            for event in self.events[start:]:
                if event.get("event") == name and (predicate is None or predicate(event)):
                    return event
            return None

        async with self._changed:
            try:
                async with asyncio.timeout(within):
                    while (found := find()) is None:
                        if self.exited:
                            raise RunnerError(
                                f"runner exited before event {name!r}\n{self.describe()}"
                            )
                        await self._changed.wait()
            except TimeoutError:
                raise RunnerError(
                    f"no event {name!r} within {within} s\n{self.describe()}"
                ) from None
        return found

    async def command(self, cmd: str, within: float = 30.0, **fields: Any) -> Any:
        """Send one command and return its result; a failed command raises RunnerError."""
        reply = await self.command_reply(cmd, within=within, **fields)
        if not reply["ok"]:
            raise RunnerError(f"{cmd} failed: {reply.get('error')}\n{self.describe()}")
        return reply.get("result")

    async def command_reply(self, cmd: str, within: float = 30.0, **fields: Any) -> dict[str, Any]:
        """Send one command and return the whole reply (ok or not)."""
        assert self._process is not None
        assert self._process.stdin is not None
        self._next_id += 1
        command_id = self._next_id
        line = json.dumps({"id": command_id, "cmd": cmd, **fields}) + "\n"
        self._process.stdin.write(line.encode())
        await self._process.stdin.drain()
        async with self._changed:
            try:
                async with asyncio.timeout(within):
                    while command_id not in self.replies:
                        if self.exited:
                            raise RunnerError(
                                f"runner exited before replying to {cmd}\n{self.describe()}"
                            )
                        await self._changed.wait()
            except TimeoutError:
                raise RunnerError(
                    f"no reply to {cmd} within {within} s\n{self.describe()}"
                ) from None
        return self.replies[command_id]

    async def end_input(self) -> None:
        """Close runner.js's stdin (it then shuts down by itself)."""
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.close()
        await self._process.stdin.wait_closed()

    async def wait_exit(self, within: float) -> int | None:
        """Wait until the process ended; None when it is still running after timeout."""
        assert self._process is not None
        try:
            async with asyncio.timeout(within):
                return await self._process.wait()
        except TimeoutError:
            return None

    async def close(self) -> None:
        """Ask for a clean destroy, then make sure Node and every Chromium process are gone."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            if process.stdin is not None and not process.stdin.is_closing():
                with contextlib.suppress(ConnectionError, RuntimeError):
                    process.stdin.write(b'{"id": -1, "cmd": "destroy"}\n')
                    await process.stdin.drain()
                    process.stdin.close()
            if await self.wait_exit(15.0) is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        elif process.stdin is not None:
            process.stdin.close()
        leftovers = processes_mentioning(self.profile_marker)
        if self.browser_pid is not None:
            leftovers.append(self.browser_pid)
        kill_pids(leftovers)
        for reader in self._readers:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(5):
                    await reader
            reader.cancel()


class SimulatorProcess:
    """`python -m simulator` in a subprocess plus an HTTP session for its control API."""

    def __init__(self) -> None:
        self.url = ""
        self.http: aiohttp.ClientSession | None = None
        self.output: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, *arguments: str) -> None:
        """Start the simulator and wait for its `{"url": ...}` line."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *arguments,
            cwd=str(REPO_ROOT),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=STREAM_LIMIT,
        )
        assert self._process.stdout is not None
        try:
            async with asyncio.timeout(SIMULATOR_START_TIMEOUT):
                while True:
                    raw = await self._process.stdout.readline()
                    if not raw:
                        raise AssertionError(
                            "simulator exited before printing its URL:\n" + "\n".join(self.output)
                        )
                    text = raw.decode(errors="replace").strip()
                    self.output.append(text)
                    if text.startswith("{") and '"url"' in text:
                        self.url = json.loads(text)["url"]
                        break
        except TimeoutError:
            raise AssertionError("simulator printed no URL:\n" + "\n".join(self.output)) from None
        self._reader = asyncio.create_task(self._drain(), name="simulator-output")
        self.http = aiohttp.ClientSession()

    async def attach(self, url: str) -> None:
        """Use a simulator someone else started (it must run with SEED's options); reset it."""
        self.url = url
        self.http = aiohttp.ClientSession()
        status, _ = await self.post("/_sim/reset", {})
        assert status == 204, f"POST /_sim/reset on {url}: {status}"

    async def _drain(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            self.output.append(raw.decode(errors="replace").rstrip("\n"))

    def endpoint(self, path: str) -> str:
        """Absolute URL of a control route such as `/_sim/state`."""
        return self.url.rstrip("/") + path

    @property
    def ws_url(self) -> str:
        """The WebSocket URL the page connects to (simulator/PROTOCOL.md)."""
        return "ws://" + self.url.split("://", 1)[1].rstrip("/") + "/_sim/ws"

    async def get(self, path: str) -> Any:
        """GET a control route and return its JSON."""
        assert self.http is not None
        async with self.http.get(self.endpoint(path)) as response:
            body = await response.text()
            assert response.status == 200, f"GET {path}: {response.status} {body}"
            return json.loads(body)

    async def post(self, path: str, payload: dict[str, Any], expect: int | None = None) -> Any:
        """POST JSON to a control route; returns (status, parsed body or None)."""
        assert self.http is not None
        async with self.http.post(self.endpoint(path), json=payload) as response:
            body = await response.text()
            if expect is not None:
                assert response.status == expect, f"POST {path} {payload}: {response.status} {body}"
            return response.status, (json.loads(body) if body.strip() else None)

    async def delete(self, path: str) -> None:
        """DELETE a control route."""
        assert self.http is not None
        async with self.http.delete(self.endpoint(path)) as response:
            assert response.status in (200, 204), f"DELETE {path}: {response.status}"

    async def stop(self) -> None:
        """SIGTERM the simulator (SIGKILL after 10 s) and close the HTTP session."""
        if self.http is not None:
            await self.http.close()
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(5):
                    await self._reader
            self._reader.cancel()


def seeded_account() -> Account:
    """The account the simulator of these tests starts with (ids and names are deterministic)."""
    return build_account(**SEED)


class CompatHarness:
    """The simulator of one test plus the runner.js processes started against it."""

    def __init__(
        self, simulator: SimulatorProcess, work_dir: Path, *, record_calls: bool = False
    ) -> None:
        self.simulator = simulator
        self.record_calls = record_calls
        self.work_dir = work_dir
        self.cache_dir = work_dir / "wwebjs_cache"
        self.runners: list[WwebjsRunner] = []

    def write_page(self) -> None:
        """Put the simulator's page where whatsapp-web.js's local web cache looks for it."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        html = render_page(self.simulator.ws_url, WEB_VERSION, record_calls=self.record_calls)
        (self.cache_dir / f"{WEB_VERSION}.html").write_text(html, encoding="utf-8")

    async def start_runner(
        self,
        name: str,
        auth_dir: Path,
        mode: str = "qr",
        phone: str | None = None,
    ) -> WwebjsRunner:
        """Start runner.js with a LocalAuth directory (reuse the directory to reuse the session)."""
        config: dict[str, Any] = {
            "cacheDir": str(self.cache_dir),
            "webVersion": WEB_VERSION,
            "dataPath": str(auth_dir),
            "mode": mode,
            "chromium": CHROMIUM,
        }
        if phone is not None:
            config["phone"] = phone
        runner = WwebjsRunner(name, config, profile_marker=str(auth_dir))
        self.runners.append(runner)
        await runner.start()
        return runner

    async def close(self) -> None:
        """End every runner (and its browser)."""
        for runner in self.runners:
            await runner.close()


@contextlib.asynccontextmanager
async def running_harness(
    work_dir: Path, *qr_arguments: str, record_calls: bool = False
) -> AsyncIterator[CompatHarness]:
    """Start a simulator (SEED's data set plus `qr_arguments`) and end everything at exit.

    ``record_calls``: the simulator records the module calls clients make (the page whatsapp-web.js
    loads from its web cache records them too).
    """
    require_wwebjs()
    simulator = SimulatorProcess()
    harness = CompatHarness(simulator, work_dir, record_calls=record_calls)
    try:
        if external_url := os.environ.get("COMPAT_SIMULATOR_URL"):
            # For debugging against a simulator started by hand with SEED's options.
            await simulator.attach(external_url)
        else:
            seed_arguments = [
                part for key, value in SEED.items() for part in (f"--{key}", str(value))
            ]
            recording = ["--record-calls"] if record_calls else []
            await simulator.start(*seed_arguments, *qr_arguments, *recording)
        harness.write_page()
        yield harness
    finally:
        await harness.close()
        await simulator.stop()


@pytest.fixture
async def compat(socket_enabled: None, tmp_path: Path) -> AsyncIterator[CompatHarness]:
    """A running simulator with its page in a web cache; runners are started by the test."""
    # A long QR interval: no rotation interferes with a test's linking.
    async with running_harness(tmp_path, "--qr-interval", "60") as harness:
        yield harness


@pytest.fixture
async def compat_rotating_qr(socket_enabled: None, tmp_path: Path) -> AsyncIterator[CompatHarness]:
    """Like `compat`, with the QR rotating every second, at most QR_MAX_ROTATIONS times."""
    arguments = ("--qr-interval", "1", "--qr-max", str(QR_MAX_ROTATIONS))
    async with running_harness(tmp_path, *arguments) as harness:
        yield harness
