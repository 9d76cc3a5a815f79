"""Take the README's screenshot of the demo's dashboard (``script/screenshot_demo``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
import shutil
import sys
import tempfile
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # script/ is not a package: make the repository importable (tests.e2e, simulator).
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from tests.e2e.demo_run import DemoRun, phone_writes, wait_for_sent  # noqa: E402
from tests.e2e.frontend import frontend_tokens, skip_login  # noqa: E402
from tests.e2e.harness import CHROMIUM, api_json, free_port, login  # noqa: E402
from tests.e2e.household import DASHBOARD_VIEW, DEMO_LIGHT, find_account  # noqa: E402

_LOGGER = logging.getLogger("screenshot_demo")
VIEWPORT = {"width": 1280, "height": 900}
UI_TIMEOUT_MS = 60_000


async def play_the_phone(session: aiohttp.ClientSession, info: dict[str, Any]) -> str:
    """What the README says to try: ping, photo, a call. Returns the chat used."""
    simulator = info["simulator_url"]
    account = await find_account(session, info["ha_url"], info["token"], simulator)
    chat = account.first_chat
    await api_json(
        session, "POST", f"{simulator}_sim/incoming", body={"chat": chat, "body": "ping"}
    )
    await wait_for_sent(
        session, simulator, lambda entry: entry["chat"] == chat and "pong" in (entry["body"] or "")
    )
    await phone_writes(session, simulator, chat, "photo")
    await wait_for_sent(
        session, simulator, lambda entry: entry["chat"] == chat and entry["type"] == "image"
    )
    await api_json(session, "POST", f"{simulator}_sim/call", body={"from": chat})
    for _ in range(80):
        light = await api_json(
            session, "GET", f"{info['ha_url']}/api/states/{DEMO_LIGHT}", info["token"]
        )
        if light["state"] == "on":
            break
        await asyncio.sleep(0.25)
    return chat


async def screenshot(info: dict[str, Any], output: Path) -> None:
    """Play the phone, then photograph the dashboard once its cards are drawn."""
    async with aiohttp.ClientSession() as session:
        await play_the_phone(session, info)
        credentials = await login(session, info["ha_url"], "demo", "demo-password")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            page.set_default_timeout(UI_TIMEOUT_MS)
            await skip_login(page, frontend_tokens(info["ha_url"], credentials))
            await page.goto(f"{info['ha_url']}/")
            await page.wait_for_url(f"**/lovelace/{DASHBOARD_VIEW}")
            await page.get_by_text("WhatsApp logbook", exact=True).first.wait_for()
            await page.get_by_text("turned the bed light on").first.wait_for()
            # The camera's picture and the icons load after the cards.
            await page.wait_for_load_state("networkidle")
            await page.wait_for_timeout(2000)
            output.parent.mkdir(parents=True, exist_ok=True)
            # Home Assistant's demo camera shows a frame of a TV cartoon: not ours to publish.
            camera_pictures = page.locator("hui-picture-entity-card hui-image")
            await camera_pictures.first.wait_for()
            await page.screenshot(path=output, mask=[camera_pictures], mask_color="#9e9e9e")
        finally:
            await browser.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``script/screenshot_demo``."""
    parser = argparse.ArgumentParser(prog="script/screenshot_demo", description=__doc__)
    parser.add_argument(
        "output", nargs="?", type=Path, default=REPO_ROOT / "docs" / "demo-dashboard.png"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[screenshot] %(message)s", stream=sys.stderr)
    directory = Path(tempfile.mkdtemp(prefix="wa-screenshot-"))
    demo = DemoRun(directory, free_port(), free_port())
    try:
        _LOGGER.info("starting a demo in %s", directory)
        info = demo.start()
        asyncio.run(screenshot(info, args.output.resolve()))
        _LOGGER.info("wrote %s", args.output)
    finally:
        demo.kill()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
