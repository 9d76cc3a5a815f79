"""The phone page (`GET /_sim/phone`) used by a person in a real Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import shutil

from playwright.async_api import Page, async_playwright
import pytest

from simulator.testing import Simulator

from .conftest import PageClient

type MakePage = Callable[[Simulator], PageClient]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
async def browser_tab(socket_enabled: None) -> AsyncIterator[Page]:
    """One headless Chromium tab; the browser is closed at the end."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def test_scan_button_links_the_page_showing_the_qr(
    sim: Simulator, make_page: MakePage, browser_tab: Page
) -> None:
    client_page = make_page(sim)
    await client_page.connect()
    await client_page.expect("unpaired")
    await browser_tab.goto(sim.url + "_sim/phone")
    assert await browser_tab.locator("#qr svg").count() == 1
    await browser_tab.click("#scan")
    await browser_tab.wait_for_function(
        "document.getElementById('link-result').textContent === 'linked'"
    )
    await client_page.expect("linked")
    assert (await sim.control.state())["linked"] is True


async def test_incoming_form_and_outbox(
    sim: Simulator, make_page: MakePage, browser_tab: Page
) -> None:
    client_page = make_page(sim)
    await client_page.connect()
    unpaired = await client_page.expect("unpaired")
    await sim.control.link(qr=client_page.qr(unpaired["ref"]))
    await client_page.expect("offline_done")
    await client_page.ok("presence", available=True)
    await browser_tab.goto(sim.url + "_sim/phone")
    await browser_tab.wait_for_function("document.querySelectorAll('#chat option').length > 0")
    direct = next(c.id for c in sim.account.chat_order() if not c.is_group)
    await browser_tab.select_option("#chat", direct)
    await browser_tab.fill("#body", "typed by a person")
    await browser_tab.click("#incoming-form button")
    await browser_tab.wait_for_function(
        "document.getElementById('incoming-result').textContent.startsWith('sent ')"
    )
    msg = (await client_page.expect("msg_add"))["msg"]
    assert msg["body"] == "typed by a person"
    assert msg["id"]["remote"] == direct
    await browser_tab.wait_for_function(
        "document.getElementById('outbox').textContent.includes('presence')"
    )
    await browser_tab.fill("#code", "WRONGCOD")
    await browser_tab.click("#code-form button")
    await browser_tab.wait_for_function(
        "document.getElementById('link-result').textContent.includes('code')"
    )
