"""The driver contract (docs/internals.md §2), run against both drivers with a real Chromium.

``PlaywrightDriver`` and ``LocalChromiumDriver`` (DevTools over pipes, no Playwright) launch
``/usr/bin/chromium`` themselves; ``CdpDriver`` connects to a Chromium that the test starts with
``--remote-debugging-port=0``. Pages come from a small aiohttp server on
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import signal
import stat
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import WSMsgType, web
import pytest

from custom_components.whatsapp_web.client.drivers import chromium as chromium_launch
from custom_components.whatsapp_web.client.drivers.base import (
    BrowserDriver,
    DisconnectReason,
    DriverClosed,
    DriverError,
    DriverTimeout,
    PageError,
)
from custom_components.whatsapp_web.client.drivers.cdp import CdpDriver
from custom_components.whatsapp_web.client.drivers.chromium import processes_using_profile
from custom_components.whatsapp_web.client.drivers.local import LocalChromiumDriver
from custom_components.whatsapp_web.client.drivers.playwright import PlaywrightDriver

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

CHROMIUM = "/usr/bin/chromium"
BINDING = "__testBinding"
# The drivers that launch (and own) their browser.
LAUNCHING = ("playwright", "local")
type Launcher = PlaywrightDriver | LocalChromiumDriver

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs /usr/bin/chromium")

# Runs at document start: records that it ran first, and reports each new document.
INIT_SCRIPT = f"""
window.__order = ['init'];
window.__initSawBody = document.body !== null;
window.{BINDING}(JSON.stringify({{doc: location.pathname + location.search}}));
"""

PAGE_HTML = """<!doctype html>
<html><head><title>t</title>
<script>window.__order = (window.__order || ['no-init']).concat(['page']);</script>
</head><body><p>hello</p></body></html>"""

NASTY_STRINGS = [
    "",
    "plain",
    "quotes ' \" and `backticks` and ${globalThis.__pwned = 1}",
    "</script><script>globalThis.__pwned = 2</script>",
    "'); globalThis.__pwned = 3; ('",
    '"); globalThis.__pwned = 4; //',
    "*/ globalThis.__pwned = 5; /*",
    "NUL>\x00<NUL",
    "control \x01\x1f\x7f and \t\r\n",
    "emoji 😀👍🏽🇩🇪 and zwj 👩\u200d👩\u200d👧",
    "RTL مرحبا بالعالم \u202e reversed \u202c",
    "line separators \u2028 \u2029",
    "backslashes \\ \\n \\u0041 \\x00",
]


# ---------------------------------------------------------------------------------------------
# Helpers


@dataclass
class Recorder:
    """What a driver told the test through its callbacks."""

    bindings: list[str] = field(default_factory=list)
    disconnects: list[tuple[DisconnectReason, str]] = field(default_factory=list)

    def on_binding(self, text: str) -> None:
        self.bindings.append(text)

    def on_disconnect(self, reason: DisconnectReason, detail: str) -> None:
        self.disconnects.append((reason, detail))

    def documents(self) -> list[str]:
        return [json.loads(text)["doc"] for text in self.bindings if text.startswith("{")]


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def alive(pids: list[int]) -> list[int]:
    """The pids that are still running (a zombie has exited: it only waits to be reaped)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            running.append(pid)
    return running


@dataclass
class WebServer:
    """A tiny site on 127.0.0.1: a page, a page that never answers, a slow page."""

    url: str
    release: asyncio.Event


@pytest.fixture
async def web_server(socket_enabled: None) -> AsyncIterator[WebServer]:
    release = asyncio.Event()

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE_HTML, content_type="text/html")

    async def hang(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late", content_type="text/html")

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.Response(text=PAGE_HTML, content_type="text/html")

    async def echo_user_agent(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("User-Agent", ""), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/echo-user-agent", echo_user_agent)
    app.router.add_get("/page", page)
    app.router.add_get("/hang", hang)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield WebServer(url=f"http://127.0.0.1:{port}", release=release)
    release.set()
    await runner.cleanup()


class RemoteChromium:
    """A Chromium started with a DevTools port, as a remote browser would be."""

    def __init__(self, profile: Path) -> None:
        args = [
            CHROMIUM,
            "--headless=new",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.profile = profile
        # Its own process group, so the whole browser (renderers, zygotes) can be killed at once.
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.port = 0
        self.ws_url = ""

    async def wait_ready(self) -> None:
        """Chromium writes its port and browser path to DevToolsActivePort once it listens."""
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while True:
            if active.exists():
                lines = active.read_text().split()
                if len(lines) >= 2:
                    self.port = int(lines[0])
                    self.ws_url = f"ws://127.0.0.1:{self.port}{lines[1]}"
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not open its DevTools port")
            await asyncio.sleep(0.05)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
async def remote_chromium(socket_enabled: None, tmp_path: Path) -> AsyncIterator[RemoteChromium]:
    browser = RemoteChromium(tmp_path / "remote-profile")
    try:
        await browser.wait_ready()
        yield browser
    finally:
        browser.kill()


class Harness:
    """Makes started drivers of one kind and tears everything down after the test."""

    def __init__(self, kind: str, tmp_path: Path, remote: RemoteChromium | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.remote = remote
        self.drivers: list[BrowserDriver] = []

    async def driver(self, **kwargs: Any) -> BrowserDriver:
        """A started driver (no page yet)."""
        driver: BrowserDriver
        if self.kind == "playwright":
            kwargs.setdefault("profile_dir", str(self.tmp_path / "profile"))
            driver = PlaywrightDriver(executable_path=CHROMIUM, **kwargs)
        elif self.kind == "local":
            kwargs.setdefault("profile_dir", str(self.tmp_path / "profile"))
            driver = LocalChromiumDriver(executable_path=CHROMIUM, **kwargs)
        else:
            assert self.remote is not None
            driver = CdpDriver(self.remote.http_url, **kwargs)
        self.drivers.append(driver)
        await driver.start()
        return driver

    async def page(self, **kwargs: Any) -> tuple[BrowserDriver, Recorder]:
        """A started driver with its page open (and not navigated yet)."""
        driver = await self.driver(**kwargs)
        recorder = Recorder()
        await driver.open_page(
            init_script=INIT_SCRIPT,
            binding_name=BINDING,
            on_binding=recorder.on_binding,
            on_disconnect=recorder.on_disconnect,
        )
        return driver, recorder

    def kill_browser(self, driver: BrowserDriver) -> None:
        """SIGKILL every browser process, as the OOM killer would."""
        if isinstance(driver, PlaywrightDriver | LocalChromiumDriver):
            pids = driver.browser_pids()
            assert pids, "a launched browser has processes"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        else:
            assert self.remote is not None
            self.remote.kill()

    async def close_tab_from_outside(self, driver: BrowserDriver) -> None:
        """Close the driver's tab the way a user or another client would."""
        if isinstance(driver, PlaywrightDriver):
            page = driver._page
            assert page is not None
            await page.close()
            return
        if isinstance(driver, LocalChromiumDriver):
            # Nobody else can reach a browser over its pipes; the driver's channel stands in.
            await driver._command("Target.closeTarget", {"targetId": driver._target_id})
            return
        assert isinstance(driver, CdpDriver)
        assert self.remote is not None
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(self.remote.ws_url) as ws,
        ):
            await ws.send_json(
                {"id": 1, "method": "Target.closeTarget", "params": {"targetId": driver._target_id}}
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT and json.loads(message.data).get("id") == 1:
                    break

    async def close(self) -> None:
        for driver in self.drivers:
            await driver.stop()


async def remote_target_ids(remote: RemoteChromium) -> list[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{remote.http_url}/json/list") as response,
    ):
        return [target["id"] for target in await response.json()]


@pytest.fixture(params=["playwright", "local", "cdp"])
async def harness(
    request: pytest.FixtureRequest, socket_enabled: None, tmp_path: Path
) -> AsyncIterator[Harness]:
    remote: RemoteChromium | None = None
    if request.param == "cdp":
        remote = RemoteChromium(tmp_path / "remote-profile")
    try:
        if remote is not None:
            await remote.wait_ready()
        harness = Harness(request.param, tmp_path, remote)
        try:
            yield harness
        finally:
            await harness.close()
    finally:
        if remote is not None:
            remote.kill()


async def raises[E: BaseException](kind: type[E], call: Awaitable[Any]) -> E:
    with pytest.raises(kind) as caught:
        await call
    return caught.value


# ---------------------------------------------------------------------------------------------
# Pages, init script and binding


async def test_init_script_runs_first_in_every_new_document(
    harness: Harness, web_server: WebServer
) -> None:
    driver, recorder = await harness.page()
    for query in ("?n=1", "?n=2"):
        await driver.navigate(f"{web_server.url}/page{query}", timeout=15)
        assert await driver.evaluate("() => window.__order", timeout=5) == ["init", "page"]
        # Document start: before the parser created <body>.
        assert await driver.evaluate("() => window.__initSawBody", timeout=5) is False
    assert recorder.documents() == ["/page?n=1", "/page?n=2"]
    assert recorder.disconnects == []


async def test_the_page_presents_itself_as_desktop_chrome(
    harness: Harness, web_server: WebServer
) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/echo-user-agent", timeout=15)
    sent = await driver.evaluate("() => document.body.textContent", timeout=5)
    seen = await driver.evaluate("() => navigator.userAgent", timeout=5)
    assert sent == seen
    assert "Chrome/" in seen
    assert "Headless" not in seen


async def test_binding_calls_arrive_in_order_from_every_document(
    harness: Harness, web_server: WebServer
) -> None:
    driver, recorder = await harness.page()
    send_many = (
        f"(prefix, count) => {{ for (let i = 0; i < count; i++) window.{BINDING}(prefix + i); }}"
    )
    await driver.navigate(f"{web_server.url}/page?a", timeout=15)
    await driver.evaluate(send_many, "a", 40, timeout=5)
    await driver.navigate(f"{web_server.url}/page?b", timeout=15)
    await driver.evaluate(send_many, "b", 40, timeout=5)
    await wait_until(lambda: len(recorder.bindings) >= 82)
    assert recorder.bindings == [
        json.dumps({"doc": "/page?a"}, separators=(",", ":")),
        *(f"a{i}" for i in range(40)),
        json.dumps({"doc": "/page?b"}, separators=(",", ":")),
        *(f"b{i}" for i in range(40)),
    ]


async def run_in_another_world(driver: BrowserDriver, expression: str) -> None:
    """Evaluate ``expression`` in a new isolated world of the main frame, as an extension would."""
    if isinstance(driver, PlaywrightDriver):
        assert driver._context is not None
        assert driver._page is not None
        devtools = await driver._context.new_cdp_session(driver._page)
        try:
            tree = await devtools.send("Page.getFrameTree")
            world = await devtools.send(
                "Page.createIsolatedWorld",
                {"frameId": tree["frameTree"]["frame"]["id"], "worldName": "elsewhere"},
            )
            await devtools.send(
                "Runtime.evaluate",
                {"expression": expression, "contextId": world["executionContextId"]},
            )
        finally:
            await devtools.detach()
        return
    assert isinstance(driver, CdpDriver | LocalChromiumDriver)
    world = await driver._page_command(
        "Page.createIsolatedWorld", {"frameId": driver._main_frame_id, "worldName": "elsewhere"}
    )
    await driver._page_command(
        "Runtime.evaluate", {"expression": expression, "contextId": world["executionContextId"]}
    )


async def test_binding_calls_count_only_from_the_main_frames_own_world(
    harness: Harness, web_server: WebServer
) -> None:
    driver, recorder = await harness.page()
    await driver.navigate(f"{web_server.url}/page?main", timeout=15)
    # An iframe's own script (its document also ran the init script, which calls the binding).
    await driver.evaluate(
        """(html) => new Promise((resolve) => {
            const frame = document.createElement('iframe');
            frame.onload = resolve;
            frame.srcdoc = html;
            document.body.appendChild(frame);
        })""",
        f"<script>window.{BINDING}('from an iframe')</script>",
        timeout=10,
    )
    # Another world on the main frame shares the document but not the page's scripts.
    await run_in_another_world(driver, f"window.{BINDING}('from another world')")
    # The main world's own call comes after all of them: once it arrived, they would have too.
    await driver.evaluate(f"() => window.{BINDING}('from the page')", timeout=5)
    await wait_until(lambda: "from the page" in recorder.bindings)
    assert recorder.bindings == [
        json.dumps({"doc": "/page?main"}, separators=(",", ":")),
        "from the page",
    ]


# ---------------------------------------------------------------------------------------------
# evaluate


async def test_arguments_of_every_json_type_round_trip_and_never_run(
    harness: Harness, web_server: WebServer
) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    values: list[Any] = [
        None,
        True,
        False,
        0,
        -17,
        2**53 - 1,
        3.25,
        -1e-300,
        *NASTY_STRINGS,
        [],
        {},
        [1, "two", [3, {"four": None}]],
        {"key with 'quotes'": {"nested": ["</script>", "${x}"]}, "": 0, "😀": True},
    ]
    echoed = await driver.evaluate("(...values) => values", *values, timeout=5)
    assert echoed == values
    # Each string arrives intact, character for character, in JavaScript too.
    lengths = await driver.evaluate(
        "(...strings) => strings.map((s) => [s.length, [...s].map((c) => c.codePointAt(0))])",
        *NASTY_STRINGS,
        timeout=5,
    )
    assert lengths == [
        [len(s.encode("utf-16-le")) // 2, [ord(c) for c in s]] for s in NASTY_STRINGS
    ]
    assert await driver.evaluate("() => globalThis.__pwned === undefined", timeout=5) is True


async def test_large_values_cross_in_both_directions(
    harness: Harness, web_server: WebServer
) -> None:
    """Media crosses as base64 strings of several megabytes."""
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    big = "QUJD" * (3 * 1024 * 1024 // 4 * 2)  # 6 MiB
    assert await driver.evaluate("(s) => s.length", big, timeout=20) == len(big)
    produced = await driver.evaluate("(n) => 'x'.repeat(n)", 6 * 1024 * 1024, timeout=20)
    assert produced == "x" * (6 * 1024 * 1024)


async def test_promises_are_awaited(harness: Harness, web_server: WebServer) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    result = await driver.evaluate(
        "(ms, value) => new Promise((resolve) => setTimeout(() => resolve({value}), ms))",
        200,
        "later",
        timeout=5,
    )
    assert result == {"value": "later"}
    assert await driver.evaluate("async () => undefined", timeout=5) is None


async def test_thrown_errors_become_page_errors_with_their_message(
    harness: Harness, web_server: WebServer
) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    error = await raises(
        PageError,
        driver.evaluate("(id) => { throw new Error('no such chat: ' + id); }", "x@c.us", timeout=5),
    )
    assert str(error) == "Error: no such chat: x@c.us"
    error = await raises(
        PageError, driver.evaluate("async () => { throw new TypeError('bad'); }", timeout=5)
    )
    assert str(error) == "TypeError: bad"
    error = await raises(PageError, driver.evaluate("() => Promise.reject('plain')", timeout=5))
    assert "plain" in str(error)
    # The page is fine afterwards.
    assert await driver.evaluate("(a, b) => a + b", 2, 3, timeout=5) == 5


async def test_evaluate_times_out_and_the_driver_keeps_working(
    harness: Harness, web_server: WebServer
) -> None:
    driver, recorder = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    started = time.monotonic()
    await raises(DriverTimeout, driver.evaluate("() => new Promise(() => {})", timeout=0.5))
    assert time.monotonic() - started < 3
    assert await driver.evaluate("() => 'still here'", timeout=5) == "still here"
    assert recorder.disconnects == []


async def test_js_heap_follows_what_the_page_holds(harness: Harness, web_server: WebServer) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    used, total = await driver.js_heap(timeout=10)
    assert 0 < used <= total
    # 32 MiB of doubles the page keeps: DevTools' exact figure grows by about that much.
    await driver.evaluate(
        "() => { window.held = Array.from({length: 32}, () => new Array(131072).fill(0.5)); }",
        timeout=30,
    )
    grown, _ = await driver.js_heap(timeout=10)
    assert grown - used > 24 * 2**20


async def test_navigation_times_out_on_a_server_that_never_answers(
    harness: Harness, web_server: WebServer
) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    started = time.monotonic()
    await raises(DriverTimeout, driver.navigate(f"{web_server.url}/hang", timeout=1.0))
    assert time.monotonic() - started < 5
    assert await driver.evaluate("() => 1 + 1", timeout=5) == 2


async def test_a_navigation_ends_a_pending_evaluate_instead_of_hanging(
    harness: Harness, web_server: WebServer
) -> None:
    driver, _ = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    pending = asyncio.create_task(driver.evaluate("() => new Promise(() => {})", timeout=30))
    await asyncio.sleep(0.3)
    await driver.navigate(f"{web_server.url}/page?next", timeout=15)
    started = time.monotonic()
    with pytest.raises((PageError, DriverClosed)):
        await asyncio.wait_for(pending, 10)
    assert time.monotonic() - started < 10
    assert await driver.evaluate("() => location.search", timeout=5) == "?next"


async def test_a_failed_navigation_is_a_driver_error(harness: Harness) -> None:
    driver, _ = await harness.page()
    with pytest.raises(DriverError) as caught:
        await driver.navigate("http://127.0.0.1:9/nothing-listens-here", timeout=10)
    assert not isinstance(caught.value, DriverClosed)


# ---------------------------------------------------------------------------------------------
# Going away


async def test_a_killed_browser_is_reported_once(harness: Harness, web_server: WebServer) -> None:
    driver, recorder = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    harness.kill_browser(driver)
    await wait_until(lambda: bool(recorder.disconnects))
    await raises(DriverClosed, driver.evaluate("() => 1", timeout=5))
    await asyncio.sleep(0.7)  # the late page/context/socket events must not report again
    assert len(recorder.disconnects) == 1
    assert recorder.disconnects[0][0] in ("browser_closed", "connection_lost")
    await driver.stop()
    await driver.stop()


async def test_a_crashed_page_is_reported(harness: Harness, web_server: WebServer) -> None:
    driver, recorder = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    with pytest.raises(DriverError):
        await driver.navigate("chrome://crash", timeout=10)
    await wait_until(lambda: bool(recorder.disconnects))
    await raises(DriverClosed, driver.evaluate("() => 1", timeout=5))
    await asyncio.sleep(0.7)
    assert [reason for reason, _ in recorder.disconnects] == ["page_crashed"]


async def test_a_tab_closed_from_outside_is_reported(
    harness: Harness, web_server: WebServer
) -> None:
    driver, recorder = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    await harness.close_tab_from_outside(driver)
    await wait_until(lambda: bool(recorder.disconnects))
    await raises(DriverClosed, driver.evaluate("() => 1", timeout=5))
    await asyncio.sleep(0.7)
    assert [reason for reason, _ in recorder.disconnects] == ["target_closed"]


async def test_stop_is_idempotent_silent_and_leaves_nothing(
    harness: Harness, web_server: WebServer
) -> None:
    driver, recorder = await harness.page()
    await driver.navigate(f"{web_server.url}/page", timeout=15)
    pids = driver.browser_pids()
    if harness.kind in LAUNCHING:
        assert len(pids) >= 2  # the browser and at least its renderer
    else:
        assert pids == []  # a remote browser is not ours
    await driver.stop()
    await driver.stop()
    assert recorder.disconnects == []
    await raises(DriverClosed, driver.evaluate("() => 1", timeout=5))
    if harness.kind in LAUNCHING:
        await wait_until(lambda: not alive(pids), timeout=5)
    else:
        assert harness.remote is not None
        assert harness.remote.process.poll() is None  # the remote browser keeps running
        assert isinstance(driver, CdpDriver)
        assert driver._target_id is not None
        # The browser drops a closed tab from its list a moment after answering closeTarget.
        remote, target_id = harness.remote, driver._target_id
        for _ in range(50):
            if target_id not in await remote_target_ids(remote):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the driver's tab is still open in the remote browser")


# ---------------------------------------------------------------------------------------------
# The drivers that launch their own browser


@pytest.mark.parametrize("launcher", [PlaywrightDriver, LocalChromiumDriver])
async def test_the_profile_is_private_and_persistent(
    socket_enabled: None, tmp_path: Path, web_server: WebServer, launcher: type[Launcher]
) -> None:
    profile = tmp_path / "nested" / "profile"
    first = launcher(
        profile_dir=str(profile),
        executable_path=CHROMIUM,
        extra_args=["--user-agent=ContractTest/1"],
    )
    try:
        await first.start()
        assert stat.S_IMODE(profile.stat().st_mode) == 0o700
        await first.open_page(
            init_script="",
            binding_name=BINDING,
            on_binding=lambda _text: None,
            on_disconnect=lambda _reason, _detail: None,
        )
        await first.navigate(f"{web_server.url}/page", timeout=15)
        assert await first.evaluate("() => navigator.userAgent", timeout=5) == "ContractTest/1"
        await first.evaluate("(v) => localStorage.setItem('linked', v)", "yes ✓", timeout=5)
    finally:
        await first.stop()
    profile.chmod(0o755)
    second = launcher(profile_dir=str(profile), executable_path=CHROMIUM)
    try:
        await second.start()
        assert stat.S_IMODE(profile.stat().st_mode) == 0o700
        await second.open_page(
            init_script="",
            binding_name=BINDING,
            on_binding=lambda _text: None,
            on_disconnect=lambda _reason, _detail: None,
        )
        await second.navigate(f"{web_server.url}/page", timeout=15)
        assert await second.evaluate("() => localStorage.getItem('linked')", timeout=5) == "yes ✓"
    finally:
        await second.stop()
    assert processes_using_profile(str(profile)) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="about Home Assistant running as root")
@pytest.mark.parametrize("launcher", [PlaywrightDriver, LocalChromiumDriver])
async def test_as_root_it_says_once_why_chromium_has_no_sandbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, launcher: type[Launcher]
) -> None:
    chromium_launch.warn_without_sandbox.cache_clear()
    for _ in range(2):  # the client restarts the browser: the log says it once
        driver = launcher(profile_dir=str(tmp_path / "profile"), executable_path=CHROMIUM)
        try:
            await driver.start()
            # The browser process itself (its helpers carry a --type=).
            command_lines = [
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b" ", b"\0").split(b"\0")  # noqa: ASYNC240
                for pid in driver.browser_pids()
            ]
            (browser,) = [
                line for line in command_lines if not any(b"--type=" in arg for arg in line)
            ]
            assert b"--no-sandbox" in browser
        finally:
            await driver.stop()
    warnings = [
        record
        for record in caplog.records
        if record.name == chromium_launch.__name__
        and record.levelno == logging.WARNING
        and "sandbox" in record.getMessage()
    ]
    assert len(warnings) == 1
    assert "runs as root" in warnings[0].getMessage()


@pytest.mark.parametrize("launcher", [PlaywrightDriver, LocalChromiumDriver])
async def test_a_missing_browser_is_reported_clearly(
    tmp_path: Path, launcher: type[Launcher]
) -> None:
    driver = launcher(profile_dir=str(tmp_path / "p"), executable_path="/nonexistent/chromium")
    with pytest.raises(DriverError, match="/nonexistent/chromium"):
        await driver.start()
    await driver.stop()
    driver = launcher(profile_dir=str(tmp_path / "p"), executable_path="no-such-browser-x")
    with pytest.raises(DriverError, match="no-such-browser-x"):
        await driver.start()
    await driver.stop()


# ---------------------------------------------------------------------------------------------
# CdpDriver only


async def test_cdp_works_with_the_websocket_url_directly(
    remote_chromium: RemoteChromium, web_server: WebServer
) -> None:
    driver = CdpDriver(remote_chromium.ws_url)
    recorder = Recorder()
    try:
        await driver.start()
        await driver.open_page(
            init_script=INIT_SCRIPT,
            binding_name=BINDING,
            on_binding=recorder.on_binding,
            on_disconnect=recorder.on_disconnect,
        )
        await driver.navigate(f"{web_server.url}/page?ws", timeout=15)
        assert await driver.evaluate("() => window.__order", timeout=5) == ["init", "page"]
        assert recorder.documents() == ["/page?ws"]
    finally:
        await driver.stop()
    assert driver._connection._session is None  # the session it made itself is closed and dropped


async def test_cdp_keeps_a_session_it_was_given_open(
    remote_chromium: RemoteChromium,
) -> None:
    async with aiohttp.ClientSession() as session:
        driver = CdpDriver(remote_chromium.http_url, session=session)
        await driver.start()
        await driver.stop()
        assert not session.closed
        assert driver._connection._session is session


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://127.0.0.1:1/", "must start with http://, https://, ws:// or wss://"),
        ("not a url", "must start with"),
        ("http://", "has no host"),
        (
            "http://127.0.0.1:9/?token=secret",
            "could not connect to the browser at http://127.0.0.1:9/",
        ),
        ("ws://127.0.0.1:9/devtools/browser/x", "could not connect"),
    ],
)
async def test_cdp_bad_urls_give_clear_errors(
    socket_enabled: None, url: str, expected: str
) -> None:
    driver = CdpDriver(url, token="secret", connect_timeout=5)
    with pytest.raises(DriverError) as caught:
        await driver.start()
    assert expected in str(caught.value)
    assert "secret" not in str(caught.value)
    await driver.stop()


async def test_cdp_reports_endpoints_that_are_not_devtools(web_server: WebServer) -> None:
    driver = CdpDriver(web_server.url, connect_timeout=5)  # /json/version is a 404 there
    with pytest.raises(DriverError, match="answered HTTP 404"):
        await driver.start()
    await driver.stop()


async def test_cdp_sends_the_token_and_uses_the_reachable_host(socket_enabled: None) -> None:
    """A browserless-style service: token in header and query; it names itself by another host."""
    seen: dict[str, Any] = {}

    async def version(request: web.Request) -> web.Response:
        seen["version_auth"] = request.headers.get("Authorization")
        seen["version_token"] = request.query.get("token")
        return web.json_response({"webSocketDebuggerUrl": "ws://0.0.0.0:1/devtools/browser/abc"})

    async def devtools(request: web.Request) -> web.WebSocketResponse:
        seen["ws_path"] = request.path
        seen["ws_auth"] = request.headers.get("Authorization")
        seen["ws_token"] = request.query.get("token")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            command = json.loads(message.data)
            seen.setdefault("methods", []).append(command["method"])
            await ws.send_json({"id": command["id"], "result": {}})
        return ws

    app = web.Application()
    app.router.add_get("/json/version", version)
    app.router.add_get("/devtools/browser/abc", devtools)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    driver = CdpDriver(f"http://127.0.0.1:{port}", token="t0k&n=", connect_timeout=5)
    try:
        await driver.start()
    finally:
        await driver.stop()
        await runner.cleanup()
    assert seen["version_auth"] == seen["ws_auth"] == "Bearer t0k&n="
    assert seen["version_token"] == seen["ws_token"] == "t0k&n="
    assert seen["ws_path"] == "/devtools/browser/abc"
    assert seen["methods"] == ["Target.setDiscoverTargets"]


ORPHAN_SCRIPT = """
import asyncio, json, os, sys
from custom_components.whatsapp_web.client.drivers.local import LocalChromiumDriver

async def main():
    driver = LocalChromiumDriver(profile_dir=sys.argv[1], executable_path=sys.argv[2])
    await driver.start()
    print(json.dumps(driver.browser_pids()), flush=True)
    os._exit(0)  # as if Home Assistant were killed: nobody stops the driver

asyncio.run(main())
"""


async def test_a_local_browser_does_not_outlive_its_host_process(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    host = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ORPHAN_SCRIPT,
        str(profile),
        CHROMIUM,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=Path(__file__).parents[2],
    )
    output, _ = await asyncio.wait_for(host.communicate(), 60)
    pids = json.loads(output)
    assert pids, "the host started a browser"
    command_line = Path(f"/proc/{pids[0]}/cmdline").read_bytes().split(b"\0")  # noqa: ASYNC240
    # DevTools over pipes: nothing on the host can connect to this browser.
    assert b"--remote-debugging-pipe" in command_line
    assert not any(arg.startswith(b"--remote-debugging-port") for arg in command_line)
    try:
        # Its DevTools pipe closed with the host: Chromium shuts itself down.
        await wait_until(lambda: not alive(pids), timeout=30)
    finally:
        for pid in processes_using_profile(str(profile)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
