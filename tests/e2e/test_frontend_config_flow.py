"""The config flow in Home Assistant's own frontend, in a real Chromium: from "add integration" to entities.

A second simulated account (its own simulator) is linked here, so the test does not depend on the
account the other tests use; its entry is removed again at the end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import time
from typing import TYPE_CHECKING

import cv2
import numpy as np
from playwright.async_api import async_playwright

from tests.e2e.frontend import frontend_tokens, skip_login
from tests.e2e.harness import (
    CHROMIUM,
    DOMAIN,
    HaWebSocket,
    SimulatorProcess,
    Stack,
    api_json,
    entity_states_of_entry,
    login,
    whatsapp_entries,
)

if TYPE_CHECKING:
    import aiohttp

ARTIFACTS = Path(__file__).parent / "artifacts"
UI_TIMEOUT_MS = 60_000


def decode_qr(png: bytes) -> str:
    """The text of the QR code in a screenshot ("" when none is found).

    OpenCV's classic detector misses some codes as the frontend draws them (seen on 2026.11's), which
    its ArUco-based detector reads: the first that finds one wins.
    """
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        text, _, _ = detector.detectAndDecode(image)
        if text:
            return str(text)
    return ""


async def test_config_flow_in_the_frontend(stack: Stack, http: aiohttp.ClientSession) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    credentials = await login(http, stack.ha_url, stack.settings.username, stack.settings.password)
    # Advanced mode shows the page address field, which points the flow at this test's simulator.
    websocket = await HaWebSocket.connect(http, stack.ha_url, credentials.access_token)
    try:
        await websocket.command(
            {"type": "frontend/set_user_data", "key": "core", "value": {"showAdvanced": True}}
        )
    finally:
        await websocket.close()
    tokens = frontend_tokens(stack.ha_url, credentials)
    entries_before = {
        entry["entry_id"] for entry in await whatsapp_entries(http, stack.ha_url, stack.token)
    }
    simulator = await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: SimulatorProcess.start(
            # A QR code that stays a minute: the test reads it, checks it and scans it in one go.
            seed=99,
            chats=3,
            messages=2,
            extra_args=("--qr-interval", "60"),
        ),
    )
    new_entry_id: str | None = None
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 1000})
                page = await context.new_page()
                page.set_default_timeout(UI_TIMEOUT_MS)
                await skip_login(page, tokens)
                await page.goto(f"{stack.ha_url}/config/integrations/dashboard/add?domain={DOMAIN}")

                # "Do you want to set up WhatsApp Web?"
                await page.get_by_role("button", name="OK").click()
                # The first step: local or remote browser.
                await page.get_by_text("Chromium on this machine").first.click()
                # The page address sits in the collapsed "Advanced" section. By role: 2026.11's text
                # fields (wa-input) carry their label in a slot, not a <label>.
                await page.get_by_text("Advanced", exact=True).click()
                page_address = page.get_by_role("textbox", name="Page address")
                await page_address.fill(simulator.url)
                await page.screenshot(path=ARTIFACTS / "config_flow_local.png")
                await page.get_by_role("button", name="Submit").click()
                # The browser opens WhatsApp Web (the simulator), then: QR code or phone number.
                await page.get_by_text("Scan a QR code").click()
                qr_element = page.locator("ha-qr-code")
                await qr_element.locator("canvas").wait_for()
                shown = await qr_element.get_attribute("data")
                assert shown
                png = await page.screenshot(path=ARTIFACTS / "config_flow_qr.png")
                assert decode_qr(png) == shown
                state = await api_json(http, "GET", f"{simulator.url}_sim/state")
                assert state["qr"] == shown

                # The phone scans the code the dialog shows.
                await api_json(http, "POST", f"{simulator.url}_sim/link", body={"qr": shown})
                # The dialog's last step: "Success" up to 2025.x, "Name and assign" (the new device)
                # since 2026.
                await (
                    page.get_by_text("Success").or_(page.get_by_text("Name and assign")).wait_for()
                )
                await page.screenshot(path=ARTIFACTS / "config_flow_success.png")

                entries = await whatsapp_entries(http, stack.ha_url, stack.token)
                created = [entry for entry in entries if entry["entry_id"] not in entries_before]
                assert len(created) == 1, entries
                new_entry_id = created[0]["entry_id"]
                title = created[0]["title"]
                assert state["me"]["id"].split("@")[0] in title

                # The entry and its entities, as the integration's page shows them.
                await page.goto(f"{stack.ha_url}/config/integrations/integration/{DOMAIN}")
                await page.get_by_text(title).first.wait_for()
                await page.screenshot(path=ARTIFACTS / "integration_page.png")
                entities: dict[str, str] = {}
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    entities = await entity_states_of_entry(
                        http, stack.ha_url, stack.token, new_entry_id
                    )
                    if "connected" in entities.values():
                        break
                    await asyncio.sleep(0.5)
                sensors = {k: v for k, v in entities.items() if k.startswith("sensor.")}
                assert list(sensors.values()) == ["connected"], entities
                assert any(entity_id.startswith("event.") for entity_id in entities), entities
            finally:
                await browser.close()
    finally:
        if new_entry_id is not None:
            await api_json(
                http,
                "DELETE",
                f"{stack.ha_url}/api/config/config_entries/entry/{new_entry_id}",
                stack.token,
            )
        await asyncio.get_running_loop().run_in_executor(None, simulator.stop)
