"""``script/demo --headless``: what a person tries first, then stopping and starting it again.

One demo runs for the whole module (about 30 s to start); the tests use it as a person would: the
simulated phone writes ``ping`` and ``photo`` and calls, the dashboard and the logbook open in Chromium.
The last test stops it with a signal, checks nothing is left, and starts it again on the same folder.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
from pathlib import Path
import shutil
import signal
import tempfile
import time
from typing import TYPE_CHECKING, Any
import uuid

from playwright.async_api import async_playwright
import pytest
import pytest_socket

from tests.e2e.demo_run import DemoRun, phone_writes, wait_for_sent
from tests.e2e.frontend import frontend_tokens, skip_login
from tests.e2e.harness import CHROMIUM, api_json, free_port, login, whatsapp_entries
from tests.e2e.household import (
    ASSIST_EXAMPLE,
    ASSIST_LIGHT,
    CALL_LOGBOOK_NAME,
    DASHBOARD_VIEW,
    DEMO_LIGHT,
    DemoAccount,
    find_account,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import aiohttp

ARTIFACTS = Path(__file__).parent / "artifacts"
UI_TIMEOUT_MS = 60_000
REPLY_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoRun]:
    """One demo folder for the module; the demo is started by ``running`` and stopped at the end."""
    # The harness disables sockets before each test; choosing ports needs them.
    pytest_socket.enable_socket()
    directory = Path(tempfile.mkdtemp(prefix="wa-demo-"))
    run = DemoRun(directory, free_port(), free_port())
    try:
        yield run
    finally:
        run.kill()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def running(demo: DemoRun, http: aiohttp.ClientSession) -> dict[str, Any]:
    """The demo's ``{ha_url, token, simulator_url}``, started if it does not run."""
    if not demo.running():
        await asyncio.get_running_loop().run_in_executor(None, demo.start)
    return demo.info


async def account_of(http: aiohttp.ClientSession, info: dict[str, Any]) -> DemoAccount:
    return await find_account(http, info["ha_url"], info["token"], info["simulator_url"])


async def wait_for_logbook(
    http: aiohttp.ClientSession,
    info: dict[str, Any],
    since: datetime,
    matches: Callable[[dict[str, Any]], bool],
    timeout: float = REPLY_TIMEOUT,
) -> dict[str, Any]:
    """The first logbook entry since ``since`` that ``matches`` (the recorder writes every ~5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = await api_json(
            http, "GET", f"{info['ha_url']}/api/logbook/{since.isoformat()}", info["token"]
        )
        found = [entry for entry in entries if matches(entry)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no such logbook entry within {timeout:.0f} s"
        await asyncio.sleep(0.5)


async def test_ping_is_answered_with_pong(
    running: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    account = await account_of(http, running)
    await phone_writes(http, running["simulator_url"], account.first_chat, "ping")
    reply = await wait_for_sent(
        http,
        running["simulator_url"],
        lambda entry: entry["chat"] == account.first_chat and "pong" in (entry["body"] or ""),
    )
    assert reply["type"] == "chat"
    # The automation is the editor's: saved in automations.yaml, made from the project's blueprint.
    config = await api_json(
        http,
        "GET",
        f"{running['ha_url']}/api/config/automation/config/whatsapp_demo_ping",
        running["token"],
    )
    assert config["use_blueprint"]["path"] == "whatsapp_web/reply_bot.yaml"


async def test_photo_gets_the_snapshot_and_a_call_turns_the_light_on(
    running: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    account = await account_of(http, running)
    simulator = running["simulator_url"]
    since = datetime.now(UTC)
    await phone_writes(http, simulator, account.first_chat, "Photo")
    snapshot = await wait_for_sent(
        http,
        simulator,
        lambda entry: entry["chat"] == account.first_chat and entry["type"] == "image",
    )
    assert snapshot["media"]["mimetype"] == "image/jpeg"

    await api_json(http, "POST", f"{simulator}_sim/call", body={"from": account.first_chat})
    entry = await wait_for_logbook(
        http, running, since, lambda entry: entry.get("name") == CALL_LOGBOOK_NAME
    )
    assert entry["entity_id"] == account.incoming_event
    light = await api_json(
        http, "GET", f"{running['ha_url']}/api/states/{DEMO_LIGHT}", running["token"]
    )
    assert light["state"] == "on"


async def test_the_mapped_phone_talks_to_assist(
    running: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    """The owner's number (mapped by the demo) asks Assist; the light goes off, the answer arrives."""
    account = await account_of(http, running)
    assert account.assist_chat != account.first_chat
    ha, token = running["ha_url"], running["token"]
    light = await api_json(http, "GET", f"{ha}/api/states/{ASSIST_LIGHT}", token)
    if light["state"] != "on":
        await api_json(
            http, "POST", f"{ha}/api/services/light/turn_on", token, {"entity_id": ASSIST_LIGHT}
        )
    question = await phone_writes(
        http, running["simulator_url"], account.assist_chat, ASSIST_EXAMPLE
    )
    answer = await wait_for_sent(
        http,
        running["simulator_url"],
        lambda entry: entry["chat"] == account.assist_chat and entry.get("quoted_id") == question,
    )
    assert answer["type"] == "chat"
    assert answer["body"]
    light = await api_json(http, "GET", f"{ha}/api/states/{ASSIST_LIGHT}", token)
    assert light["state"] == "off"
    # The turn ran as the owner's user (the person the number is mapped to).
    persons = [
        state
        for state in await api_json(http, "GET", f"{ha}/api/states", token)
        if state["entity_id"].startswith("person.")
    ]
    owners = {state["attributes"].get("user_id") for state in persons}
    assert light["context"]["user_id"] in owners


async def test_dashboard_and_logbook_in_chromium(
    running: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    account = await account_of(http, running)
    ha_url, simulator = running["ha_url"], running["simulator_url"]
    credentials = await login(http, ha_url, "demo", "demo-password")
    since = datetime.now(UTC)
    await phone_writes(http, simulator, account.first_chat, f"hello {uuid.uuid4().hex[:8]}")
    received = await wait_for_logbook(
        http,
        running,
        since,
        lambda entry: str(entry.get("message", "")).startswith("received a chat message"),
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            await skip_login(page, frontend_tokens(ha_url, credentials))
            # The WhatsApp dashboard is what Home Assistant opens on.
            await page.goto(f"{ha_url}/")
            await page.wait_for_url(f"**/lovelace/{DASHBOARD_VIEW}")
            for text in (
                "Try it",
                "Account",
                "Connection",
                "Last message or call",
                "WhatsApp logbook",
                "Send a text",
                "Send location",
                "Send snapshot",
                "Demo camera",
            ):
                await page.get_by_text(text, exact=True).first.wait_for()
            # The sensor's row (its text shares the element with the row's name) and the logbook.
            await page.get_by_text("Connected").first.wait_for()
            await page.locator(f'a[href="{account.phone_url}"]').wait_for()
            await page.screenshot(path=ARTIFACTS / "demo_dashboard.png")

            # A button sends to the first chat.
            await page.get_by_text("Send a text", exact=True).click()
            await wait_for_sent(
                http,
                simulator,
                lambda entry: (
                    entry["chat"] == account.first_chat
                    and (entry["body"] or "").startswith("Hello from Home Assistant")
                ),
            )

            await page.goto(f"{ha_url}/logbook")
            await page.get_by_text(received["message"]).first.wait_for()
            await page.screenshot(path=ARTIFACTS / "demo_logbook.png")
        finally:
            await browser.close()


async def test_demo_headless_twice_on_the_same_folder(
    demo: DemoRun, running: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    info = running
    loop = asyncio.get_running_loop()
    directory = demo.directory
    assert set(info) == {"ha_url", "token", "simulator_url"}
    assert json.loads((directory / "demo.json").read_text()) == info
    assert info["ha_url"] == f"http://127.0.0.1:{demo.ha_port}"
    status = await api_json(http, "GET", f"{info['ha_url']}/api/whatsapp_web/status", info["token"])
    assert status["state"] == "connected"

    # A second start while the first runs leaves it alone and names it.
    second = DemoRun(directory, demo.ha_port, demo.simulator_port)
    assert await loop.run_in_executor(None, second.start) == info
    assert await loop.run_in_executor(None, second.wait) == 0

    assert await loop.run_in_executor(None, demo.stop, signal.SIGTERM) == 0

    # Again on the same folder: same user and token, the account still linked, no new QR code, and
    # the household as it was (nothing added twice).
    automations_before = (directory / "config" / "automations.yaml").read_text()
    assert await loop.run_in_executor(None, demo.start) == info
    status = await api_json(http, "GET", f"{info['ha_url']}/api/whatsapp_web/status", info["token"])
    assert status["state"] == "connected"
    assert len(await whatsapp_entries(http, info["ha_url"], info["token"])) == 1
    state = await api_json(http, "GET", f"{info['simulator_url']}_sim/state")
    assert state["qr"] is None
    assert (directory / "config" / "automations.yaml").read_text() == automations_before
    assert await loop.run_in_executor(None, demo.stop, signal.SIGINT) == 0
