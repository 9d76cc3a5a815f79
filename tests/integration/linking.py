"""Fixtures and helpers of the set-up tests: a simulator, a real Chromium, flows driven like the frontend.

Test modules import the fixtures they use from here (``from .linking import simulator  # noqa: F401``).
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
import re
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import (
    EVENT_DATA_ENTRY_FLOW_PROGRESSED,
    FlowResultType,
    UnknownFlow,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import (
    BROWSER_LOCAL,
    CONF_BROWSER,
    CONF_CHROMIUM_PATH,
    CONF_PAGE_URL,
    CONF_PROFILE,
    DOMAIN,
    PROFILES_DIRECTORY,
    SECTION_ADVANCED,
)
from simulator.testing import Simulator
from tests.support.clients import CHROMIUM, driver_factory as test_driver_factory, link, new_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

QR_ELEMENT = re.compile(
    r'<ha-qr-code data="([^"]+)" scale="4" error-correction-level="quartile"></ha-qr-code>'
)
FLOW_TIMEOUT = 60.0


@pytest.fixture
def config_dir(hass: HomeAssistant) -> Iterator[Path]:
    """A short, private configuration directory (browser profiles live under it)."""
    directory = Path(tempfile.mkdtemp(prefix="wa-ha-"))
    hass.config.config_dir = str(directory)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def simulator(
    hass: HomeAssistant, socket_enabled: None, config_dir: Path
) -> AsyncIterator[Simulator]:
    """A simulator on 127.0.0.1; every entry and flow of the integration is closed after the test."""
    async with Simulator(chats=4, messages=3, contacts=4, groups=1) as sim:
        try:
            yield sim
        finally:
            await close_everything(hass)


async def close_everything(hass: HomeAssistant) -> None:
    """Abort the integration's flows and unload its entries, so no browser outlives the test."""
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


class FlowDriver:
    """Drives a config flow the way the frontend does: after each progress event, read the flow again."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.refreshes: list[str] = []
        self._events: asyncio.Queue[str] = asyncio.Queue()
        self._unsubscribe = hass.bus.async_listen(
            EVENT_DATA_ENTRY_FLOW_PROGRESSED, self._progressed
        )

    @callback
    def _progressed(self, event: Event) -> None:
        self.refreshes.append(event.data["flow_id"])
        self._events.put_nowait(event.data["flow_id"])

    def close(self) -> None:
        self._unsubscribe()

    async def next(
        self, result: ConfigFlowResult, timeout: float = FLOW_TIMEOUT
    ) -> ConfigFlowResult:
        """Wait for the next refresh of a progress step and return the flow's new result."""
        assert result["type"] is FlowResultType.SHOW_PROGRESS, result
        flow_id = result["flow_id"]
        async with asyncio.timeout(timeout):
            while True:
                if await self._events.get() != flow_id:
                    continue
                try:
                    return await self.hass.config_entries.flow.async_configure(flow_id)
                except UnknownFlow:
                    # The flow manager finished the flow itself; nothing more to read.
                    continue

    async def until(
        self, result: ConfigFlowResult, predicate: Any, timeout: float = FLOW_TIMEOUT
    ) -> ConfigFlowResult:
        """Follow progress refreshes until ``predicate(result)``."""
        async with asyncio.timeout(timeout):
            while not predicate(result):
                result = await self.next(result, timeout)
        return result


@pytest.fixture
def flows(hass: HomeAssistant) -> Iterator[FlowDriver]:
    """A FlowDriver for the test."""
    driver = FlowDriver(hass)
    yield driver
    driver.close()


def shown_qr(result: ConfigFlowResult) -> str:
    """The QR string of a ``link`` progress step, read back from the ``<ha-qr-code>`` element."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS, result
    assert result["progress_action"] == "scan_qr_code", result
    match = QR_ELEMENT.fullmatch(result["description_placeholders"]["qr_code"])
    assert match, result["description_placeholders"]
    return html.unescape(match.group(1))


def is_step(step_id: str) -> Any:
    return lambda result: (
        result.get("step_id") == step_id and result["type"] is not FlowResultType.SHOW_PROGRESS_DONE
    )


def showing_qr(result: ConfigFlowResult) -> bool:
    return (
        result["type"] is FlowResultType.SHOW_PROGRESS
        and result.get("progress_action") == "scan_qr_code"
    )


async def start_local_flow(
    hass: HomeAssistant, flows: FlowDriver, sim: Simulator, *, context: dict[str, Any] | None = None
) -> ConfigFlowResult:
    """Run the flow up to the QR code with the local Chromium on the simulator."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context=context or {"source": "user"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    return await choose_local_browser(hass, flows, sim, result)


async def choose_local_browser(
    hass: HomeAssistant, flows: FlowDriver, sim: Simulator, result: ConfigFlowResult
) -> ConfigFlowResult:
    """Fill the local form, wait for WhatsApp Web, pick the QR code; returns the first QR step."""
    assert result["step_id"] == "local"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_CHROMIUM_PATH: CHROMIUM, SECTION_ADVANCED: {CONF_PAGE_URL: sim.url}},
    )
    return await pick_qr(hass, flows, result)


async def pick_qr(
    hass: HomeAssistant, flows: FlowDriver, result: ConfigFlowResult
) -> ConfigFlowResult:
    """From the start step to the link menu, then the QR code."""
    result = await flows.until(result, is_step("link_method"))
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["link", "phone"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "link"}
    )
    return await flows.until(result, showing_qr)


async def scan(flows: FlowDriver, sim: Simulator, result: ConfigFlowResult) -> ConfigFlowResult:
    """Link with the QR the dialog shows, as the phone would; returns the flow's final result."""
    await sim.control.link(qr=shown_qr(result))
    return await flows.until(
        result, lambda result: result["type"] is not FlowResultType.SHOW_PROGRESS
    )


def profile_path(hass: HomeAssistant, profile: str) -> Path:
    return Path(hass.config.path(PROFILES_DIRECTORY, profile))


async def link_profile(hass: HomeAssistant, sim: Simulator, profile: str) -> None:
    """Link a local profile outside Home Assistant, as a previous run of the integration would have."""
    directory = profile_path(hass, profile)
    directory.mkdir(parents=True, exist_ok=True)
    client = new_client(sim, test_driver_factory("local", directory))
    try:
        await link(client, sim)
    finally:
        await client.stop()


async def add_linked_entry(
    hass: HomeAssistant,
    sim: Simulator,
    *,
    options: dict[str, Any] | None = None,
    profile: str = "main",
) -> MockConfigEntry:
    """A local entry whose profile is linked; set up and connected."""
    await link_profile(hass, sim, profile)
    state = await sim.control.state()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"{state['me']['pushname']} (+{state['me']['id'].split('@')[0]})",
        unique_id=state["me"]["id"],
        data={
            CONF_BROWSER: BROWSER_LOCAL,
            CONF_CHROMIUM_PATH: CHROMIUM,
            CONF_PROFILE: profile,
            CONF_PAGE_URL: sim.url,
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=FLOW_TIMEOUT)
    return entry


async def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    """Poll ``predicate()`` (state written by callbacks that offer nothing to await)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def process_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="ascii").split()[2] != "Z"
    except FileNotFoundError:
        return False
