"""The config flow: every step, error and abort, reauthentication, reconfiguration and options.

Linking runs end to end: a real Chromium opens the simulator, the dialog shows the simulator's QR code in
the frontend's ``<ha-qr-code>`` element, and the simulated phone scans exactly that string.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_HASSIO, SOURCE_USER, ConfigEntryState
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.requirements import RequirementsNotFound
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.client.drivers.playwright import PlaywrightDriver
from custom_components.whatsapp_web.config_flow import format_pairing_code, qr_code_element
from custom_components.whatsapp_web.const import (
    ALL_EVENTS,
    BROWSER_LOCAL,
    BROWSER_REMOTE,
    CONF_BROWSER,
    CONF_CHROMIUM_PATH,
    CONF_EVENTS,
    CONF_HEAP_LIMIT,
    CONF_IGNORED_CHATS,
    CONF_LOCAL_DRIVER,
    CONF_LOOKUP_LIMIT,
    CONF_MEMORY_LIMIT,
    CONF_NON_ADMIN_READ,
    CONF_NOTIFY_RECIPIENTS,
    CONF_OUTBOX_TTL,
    CONF_PAGE_URL,
    CONF_PROFILE,
    CONF_REMOTE_TOKEN,
    CONF_REMOTE_URL,
    CONF_SEND_LIMIT,
    DEFAULT_LOOKUP_LIMIT,
    DEFAULT_OUTBOX_TTL_MINUTES,
    DEFAULT_SEND_LIMIT,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    LOCAL_DRIVER_PIPE,
    MAX_RATE_LIMIT,
    SECTION_ADVANCED,
)
from custom_components.whatsapp_web.memory_guard import (
    DEFAULT_HEAP_LIMIT_MIB,
    DEFAULT_MEMORY_LIMIT_MIB,
)
from simulator.testing import Simulator
from tests.support.clients import CHROMIUM, RemoteChromium

from .linking import (
    FlowDriver,
    add_linked_entry,
    choose_local_browser,
    close_everything,
    is_step,
    pick_qr,
    process_alive,
    profile_path,
    scan,
    showing_qr,
    shown_qr,
    start_local_flow,
)

if TYPE_CHECKING:
    from pathlib import Path

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import issue_registry as ir
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

pytestmark = pytest.mark.timeout(180)


async def _user_flow(hass: HomeAssistant) -> dict:
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})


def _flow(hass: HomeAssistant, flow_id: str):
    """The flow handler itself (to reach its browser in tests about clean-up)."""
    return hass.config_entries.flow._progress[flow_id]


# ---------------------------------------------------------------------------------------------
# Choosing the browser (no browser needed)


async def test_user_step_offers_local_and_remote(hass: HomeAssistant) -> None:
    result = await _user_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["local", "remote"]


async def _form_as_the_frontend_sees_it(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, step: str
) -> dict[str, dict[str, Any]]:
    """The fields of a browser form, serialised by Home Assistant's own flow API for the frontend.

    Going through the API keeps the test independent of how each Home Assistant version serialises
    schemas (voluptuous-serialize on 2025.x, probatio on 2026.x).
    """
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post("/api/config/config_entries/flow", json={"handler": DOMAIN})
    assert response.status == 200
    flow_id = (await response.json())["flow_id"]
    response = await client.post(
        f"/api/config/config_entries/flow/{flow_id}", json={"next_step_id": step}
    )
    assert response.status == 200
    result = await response.json()
    assert result["type"] == "form"
    assert result["step_id"] == step
    hass.config_entries.flow.async_abort(flow_id)
    return {field["name"]: field for field in result["data_schema"]}


async def test_local_form_defaults_to_the_detected_chromium(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    fields = await _form_as_the_frontend_sees_it(hass, hass_client, "local")
    assert list(fields) == [CONF_CHROMIUM_PATH, SECTION_ADVANCED]
    assert fields[CONF_CHROMIUM_PATH]["default"] == CHROMIUM


@pytest.mark.parametrize("step", ["local", "remote"])
async def test_page_address_in_a_collapsed_advanced_section(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, step: str
) -> None:
    fields = await _form_as_the_frontend_sees_it(hass, hass_client, step)
    expected = [CONF_REMOTE_URL, CONF_REMOTE_TOKEN] if step == "remote" else [CONF_CHROMIUM_PATH]
    assert list(fields) == [*expected, SECTION_ADVANCED]
    advanced = fields[SECTION_ADVANCED]
    assert advanced["type"] == "expandable"
    assert advanced["expanded"] is False
    *driver, page_url = advanced["schema"]
    assert page_url["name"] == CONF_PAGE_URL
    assert page_url["default"] == "https://web.whatsapp.com/"
    if step == "local":
        # The driver of a local Chromium: DevTools pipes unless Playwright is chosen.
        (choice,) = driver
        assert choice["name"] == CONF_LOCAL_DRIVER
        assert choice["default"] == LOCAL_DRIVER_PIPE
        assert choice["selector"]["select"]["options"] == [LOCAL_DRIVER_PIPE, "playwright"]
    else:
        assert driver == []


async def test_playwright_on_a_platform_without_it_is_an_error_and_pipes_still_work(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    with patch(
        "custom_components.whatsapp_web.browser.playwright_platform_supported",
        return_value=False,
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_CHROMIUM_PATH: CHROMIUM,
                SECTION_ADVANCED: {
                    CONF_LOCAL_DRIVER: "playwright",
                    CONF_PAGE_URL: simulator.url,
                },
            },
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "playwright_unsupported_platform"}
        # Without Playwright (Alpine, Home Assistant OS's container) a local Chromium still works.
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_CHROMIUM_PATH: CHROMIUM,
                SECTION_ADVANCED: {
                    CONF_LOCAL_DRIVER: LOCAL_DRIVER_PIPE,
                    CONF_PAGE_URL: simulator.url,
                },
            },
        )
        result = await pick_qr(hass, flows, result)
    assert showing_qr(result)


async def test_local_chromium_not_found_then_fixed(
    hass: HomeAssistant, config_dir: Path, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CHROMIUM_PATH: "/nonexistent/chromium",
            SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url},
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CHROMIUM_PATH: "chromium_not_found"}
    # The form keeps what was typed, and the flow recovers with a good path.
    result = await choose_local_browser(hass, flows, simulator, result)
    assert showing_qr(result)


async def test_playwright_that_cannot_be_installed_is_an_error(hass: HomeAssistant) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    with patch(
        "custom_components.whatsapp_web.browser.async_process_requirements",
        side_effect=RequirementsNotFound(DOMAIN, ["playwright==1.65.2"]),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_CHROMIUM_PATH: CHROMIUM, SECTION_ADVANCED: {CONF_LOCAL_DRIVER: "playwright"}},
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "playwright_unavailable"}


async def test_remote_address_must_be_a_url(hass: HomeAssistant) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "remote"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REMOTE_URL: "browser:9222"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_REMOTE_URL: "invalid_url"}


async def test_remote_browser_that_does_not_answer(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "remote"}
    )
    # Port 9 (discard) has no DevTools server on this machine.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REMOTE_URL: "http://127.0.0.1:9", CONF_REMOTE_TOKEN: "secret"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "remote"
    assert result["errors"] == {"base": "cannot_connect"}


def test_qr_element_and_pairing_code_format() -> None:
    assert qr_code_element('2@a"b<c,d') == (
        '<ha-qr-code data="2@a&quot;b&lt;c,d" scale="4" error-correction-level="quartile"></ha-qr-code>'
    )
    assert format_pairing_code("ABCDEFGH") == "ABCD-EFGH"
    assert format_pairing_code("ABC") == "ABC"


# ---------------------------------------------------------------------------------------------
# Linking, end to end


async def test_link_with_qr_creates_the_entry_and_the_entry_needs_no_second_qr(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await start_local_flow(hass, flows, simulator)
    qr = shown_qr(result)
    assert qr == (await simulator.control.state())["qr"]

    # The frontend reads the flow again after each refresh: nothing changes while the QR is the same.
    refreshes = len(flows.refreshes)
    again = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert again["description_placeholders"] == result["description_placeholders"]
    assert _flow(hass, result["flow_id"]).async_get_progress_task() is not None
    await asyncio.sleep(0.2)
    assert len(flows.refreshes) == refreshes

    profile = _flow(hass, result["flow_id"])._data[CONF_PROFILE]
    result = await scan(flows, simulator, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    me = (await simulator.control.state())["me"]
    number = me["id"].split("@")[0]
    assert result["title"] == f"{me['pushname']} (+{number})"
    assert result["result"].unique_id == me["id"]
    assert result["data"] == {
        CONF_BROWSER: BROWSER_LOCAL,
        CONF_CHROMIUM_PATH: CHROMIUM,
        CONF_LOCAL_DRIVER: LOCAL_DRIVER_PIPE,
        CONF_PROFILE: profile,
        CONF_PAGE_URL: simulator.url,
    }
    assert profile_path(hass, profile).is_dir()

    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    states: list[ClientState] = []
    entry.runtime_data.client.add_state_listener(states.append)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    # The entry's browser reused the flow's profile: connected without ever needing a QR code.
    assert ClientState.NEEDS_PAIRING not in states
    assert entry.runtime_data.client.qr is None


async def test_playwright_can_still_drive_the_local_chromium(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CHROMIUM_PATH: CHROMIUM,
            SECTION_ADVANCED: {CONF_LOCAL_DRIVER: "playwright", CONF_PAGE_URL: simulator.url},
        },
    )
    result = await scan(flows, simulator, await pick_qr(hass, flows, result))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LOCAL_DRIVER] == "playwright"
    entry = result["result"]
    await hass.async_block_till_done()
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    session = entry.runtime_data.client._session
    assert session is not None
    assert isinstance(session.driver, PlaywrightDriver)


async def test_qr_code_is_renewed_as_whatsapp_rotates_it(
    hass: HomeAssistant, socket_enabled: None, config_dir: Path, flows: FlowDriver
) -> None:
    async with Simulator(chats=2, messages=1, qr_interval=1.0, qr_max=20) as sim:
        try:
            result = await start_local_flow(hass, flows, sim)
            seen = [shown_qr(result)]
            while len(seen) < 3:
                result = await flows.next(result)
                if showing_qr(result) and shown_qr(result) != seen[-1]:
                    seen.append(shown_qr(result))
                    assert seen[-1] == (await sim.control.state())["qr"]
            result = await scan(flows, sim, result)
            assert result["type"] is FlowResultType.CREATE_ENTRY
        finally:
            await close_everything(hass)


async def test_idle_qr_offers_a_reload_and_a_new_code_links(
    hass: HomeAssistant, socket_enabled: None, config_dir: Path, flows: FlowDriver
) -> None:
    async with Simulator(chats=2, messages=1, qr_interval=0.5, qr_max=2) as sim:
        try:
            result = await start_local_flow(hass, flows, sim)
            old_qr = shown_qr(result)
            result = await flows.until(result, is_step("link_expired"))
            assert result["type"] is FlowResultType.MENU
            assert result["menu_options"] == ["reload", "phone"]
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"next_step_id": "reload"}
            )
            result = await flows.until(result, showing_qr)
            assert shown_qr(result) != old_qr
            result = await scan(flows, sim, result)
            assert result["type"] is FlowResultType.CREATE_ENTRY
        finally:
            await close_everything(hass)


async def test_link_with_phone_number(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_CHROMIUM_PATH: CHROMIUM, SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
    )
    result = await flows.until(result, is_step("link_method"))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "phone"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "phone"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"phone_number": "0600 11"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"phone_number": "invalid_phone_number"}

    me = (await simulator.control.state())["me"]
    number = me["id"].split("@")[0]
    # WhatsApp Web without its pairing-code function: the form says so, and recovers once it is back.
    await simulator.control.fault(missing_member="WAWebAltDeviceLinkingApi.startAltLinkingFlow")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"phone_number": f"+{number}"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "pairing_code_failed"}
    await simulator.control.fault()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"phone_number": f"+{number}"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "phone_code"
    assert result["progress_action"] == "enter_pairing_code"
    code = (await simulator.control.state())["pairing_code"]
    assert re.fullmatch(r"[A-Z0-9]{8}", code)
    assert result["description_placeholders"] == {"code": f"{code[:4]}-{code[4:]}"}

    await simulator.control.link(code=code)
    result = await flows.until(
        result, lambda result: result["type"] is not FlowResultType.SHOW_PROGRESS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == me["id"]


async def test_expired_pairing_code_offers_a_new_qr_or_number(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await start_local_flow(hass, flows, simulator)
    flow_id = result["flow_id"]
    # Back to the menu is not possible from a progress step: start over with the phone.
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    with patch("custom_components.whatsapp_web.config_flow.PAIRING_CODE_TIMEOUT", 0.5):
        result = await _user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "local"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_CHROMIUM_PATH: CHROMIUM, SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
        )
        result = await flows.until(result, is_step("link_method"))
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "phone"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"phone_number": "+44 20 7946 0000"}
        )
        assert result["step_id"] == "phone_code"
        result = await flows.until(result, is_step("link_expired"))
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reload"}
    )
    result = await flows.until(result, showing_qr)
    result = await scan(flows, simulator, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_linking_the_same_number_again_aborts_and_unlinks_the_extra_device(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await start_local_flow(hass, flows, simulator)
    me = (await simulator.control.state())["me"]
    MockConfigEntry(
        domain=DOMAIN, unique_id=me["id"], data={CONF_BROWSER: BROWSER_REMOTE}
    ).add_to_hass(hass)
    profile = _flow(hass, result["flow_id"])._data[CONF_PROFILE]
    pids = _flow(hass, result["flow_id"])._client.browser_pids
    assert pids

    result = await scan(flows, simulator, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await hass.async_block_till_done(wait_background_tasks=True)
    # The device linked by this flow was unlinked again, its browser closed and its profile removed.
    state = await simulator.control.state()
    assert not state["linked"]
    assert not any(process_alive(pid) for pid in pids)
    assert not profile_path(hass, profile).exists()


async def test_closing_the_dialog_closes_the_browser(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await start_local_flow(hass, flows, simulator)
    flow = _flow(hass, result["flow_id"])
    pids = flow._client.browser_pids
    profile = flow._data[CONF_PROFILE]
    assert pids
    assert profile_path(hass, profile).is_dir()

    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not any(process_alive(pid) for pid in pids)
    assert not profile_path(hass, profile).exists()


async def test_browser_that_cannot_start_is_reported_on_the_form(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    # An executable that is not a browser: Playwright cannot launch it.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_CHROMIUM_PATH: "/bin/true", SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
    )
    result = await flows.until(result, is_step("local"))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "browser_failed"}


async def test_page_that_never_becomes_whatsapp_web_times_out(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    result = await _user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    with patch("custom_components.whatsapp_web.config_flow.START_TIMEOUT", 3.0):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_CHROMIUM_PATH: CHROMIUM,
                SECTION_ADVANCED: {CONF_PAGE_URL: f"{simulator.url}_sim/state"},
            },
        )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "start_browser"
    result = await flows.until(result, is_step("local"))
    assert result["errors"] == {"base": "timeout"}


async def test_remote_browser_links_and_its_profile_keeps_the_session(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, config_dir: Path
) -> None:
    remote = RemoteChromium(config_dir / "remote")
    (config_dir / "remote").mkdir()
    url = await remote.start()
    try:
        result = await _user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "remote"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_REMOTE_URL: url, SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
        )
        result = await pick_qr(hass, flows, result)
        result = await scan(flows, simulator, result)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            CONF_BROWSER: BROWSER_REMOTE,
            CONF_REMOTE_URL: url,
            CONF_PAGE_URL: simulator.url,
        }
        entry = result["result"]
        await hass.async_block_till_done()
        states: list[ClientState] = []
        entry.runtime_data.client.add_state_listener(states.append)
        await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
        assert ClientState.NEEDS_PAIRING not in states

        # A second flow on the same remote browser finds it linked to the configured number.
        result = await _user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "remote"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_REMOTE_URL: url, SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
        )
        result = await flows.until(result, lambda result: result["type"] is FlowResultType.ABORT)
        assert result["reason"] == "already_configured"
        # It did not unlink the account it found there.
        assert (await simulator.control.state())["linked"]
        await close_everything(hass)
    finally:
        await remote.stop()


async def test_remote_browser_that_dies_while_linking_aborts(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, config_dir: Path
) -> None:
    remote = RemoteChromium(config_dir / "remote")
    (config_dir / "remote").mkdir()
    url = await remote.start()
    try:
        result = await _user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "remote"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_REMOTE_URL: url, SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
        )
        result = await pick_qr(hass, flows, result)
        remote.kill()
        result = await flows.until(result, lambda result: result["type"] is FlowResultType.ABORT)
        assert result["reason"] == "browser_failed"
        assert result["description_placeholders"]["error"]
    finally:
        await remote.stop()


async def test_remote_browser_that_dies_while_a_pairing_code_is_shown_aborts(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, config_dir: Path
) -> None:
    remote = RemoteChromium(config_dir / "remote")
    (config_dir / "remote").mkdir()
    url = await remote.start()
    try:
        result = await _user_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "remote"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_REMOTE_URL: url, SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}},
        )
        result = await flows.until(result, is_step("link_method"))
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "phone"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"phone_number": "+44 20 7946 0000"}
        )
        assert result["step_id"] == "phone_code"
        remote.kill()
        result = await flows.until(result, lambda result: result["type"] is FlowResultType.ABORT)
        assert result["reason"] == "browser_failed"
    finally:
        await remote.stop()


async def test_remote_browser_gone_when_a_new_qr_is_asked_for_aborts(
    hass: HomeAssistant, socket_enabled: None, config_dir: Path, flows: FlowDriver
) -> None:
    remote = RemoteChromium(config_dir / "remote")
    (config_dir / "remote").mkdir()
    url = await remote.start()
    async with Simulator(chats=2, messages=1, qr_interval=0.5, qr_max=2) as sim:
        try:
            result = await _user_flow(hass)
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"next_step_id": "remote"}
            )
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"],
                {CONF_REMOTE_URL: url, SECTION_ADVANCED: {CONF_PAGE_URL: sim.url}},
            )
            result = await pick_qr(hass, flows, result)
            result = await flows.until(result, is_step("link_expired"))
            remote.kill()
            client = _flow(hass, result["flow_id"])._client
            await client.wait_for_state(ClientState.RECONNECTING, ClientState.FAILED, timeout=30)
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"next_step_id": "reload"}
            )
            assert result["type"] is FlowResultType.ABORT
            assert result["reason"] == "browser_failed"
        finally:
            await close_everything(hass)
            await remote.stop()


# ---------------------------------------------------------------------------------------------
# Reauthentication and reconfiguration


async def test_reauth_after_the_phone_unlinked_the_device(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, issue_registry: ir.IssueRegistry
) -> None:
    entry = await add_linked_entry(hass, simulator)
    client = entry.runtime_data.client
    await simulator.control.connection("logout")
    await client.wait_for_state(ClientState.LOGGED_OUT, timeout=30)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"logged_out_{entry.entry_id}")

    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["account"] == entry.title
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    result = await pick_qr(hass, flows, result)
    result = await scan(flows, simulator, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await client.wait_for_state(ClientState.CONNECTED, timeout=30)
    await hass.async_block_till_done()
    assert not issue_registry.async_get_issue(DOMAIN, f"logged_out_{entry.entry_id}")


async def test_reauth_of_an_entry_that_is_not_loaded_links_a_wrong_account(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Someone else",
        unique_id="49151000000@c.us",
        data={
            CONF_BROWSER: BROWSER_LOCAL,
            CONF_CHROMIUM_PATH: CHROMIUM,
            CONF_PROFILE: "other",
            CONF_PAGE_URL: simulator.url,
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await pick_qr(hass, flows, result)
    result = await scan(flows, simulator, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert result["description_placeholders"] == {"account": "Someone else"}
    await hass.async_block_till_done(wait_background_tasks=True)
    # The wrong phone's link was undone.
    assert not (await simulator.control.state())["linked"]


async def test_reconfigure_local_chromium_keeps_the_session(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, config_dir: Path
) -> None:
    entry = await add_linked_entry(hass, simulator)
    chromium_link = config_dir / "my-chromium"
    chromium_link.symlink_to(CHROMIUM)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["local", "remote"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "local"}
    )
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_CHROMIUM_PATH].default() == CHROMIUM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CHROMIUM_PATH: str(chromium_link)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_CHROMIUM_PATH] == str(chromium_link)
    assert entry.data[CONF_PROFILE] == "main"
    assert entry.data[CONF_PAGE_URL] == simulator.url
    await hass.async_block_till_done()
    states: list[ClientState] = []
    entry.runtime_data.client.add_state_listener(states.append)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    assert ClientState.NEEDS_PAIRING not in states


async def test_reconfigure_to_a_remote_browser_links_it(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, config_dir: Path
) -> None:
    entry = await add_linked_entry(hass, simulator)
    remote = RemoteChromium(config_dir / "remote")
    (config_dir / "remote").mkdir()
    url = await remote.start()
    try:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "remote"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_REMOTE_URL: url, CONF_REMOTE_TOKEN: "t0ken"}
        )
        result = await pick_qr(hass, flows, result)
        result = await scan(flows, simulator, result)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.data == {
            CONF_BROWSER: BROWSER_REMOTE,
            CONF_REMOTE_URL: url,
            CONF_REMOTE_TOKEN: "t0ken",
            CONF_PAGE_URL: simulator.url,
        }
        await hass.async_block_till_done()
        await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)

        # And back to a local Chromium: a new profile, linked again, kept by the entry.
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "local"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_CHROMIUM_PATH: CHROMIUM}
        )
        result = await pick_qr(hass, flows, result)
        result = await scan(flows, simulator, result)
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_BROWSER] == BROWSER_LOCAL
        assert entry.data[CONF_PROFILE] != "main"
        await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
        # The flow's clean-up (long done by now) left the profile the entry uses.
        assert profile_path(hass, entry.data[CONF_PROFILE]).is_dir()
        await close_everything(hass)
    finally:
        await remote.stop()


# ---------------------------------------------------------------------------------------------
# Options


async def _settings_form(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    """The options' settings form, chosen from the menu."""
    result = await hass.config_entries.options.async_init(entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "people", "assist"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )


async def test_options_flow(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="34600000001@c.us", data={CONF_BROWSER: BROWSER_REMOTE}
    )
    entry.add_to_hass(hass)
    result = await _settings_form(hass, entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    defaults = {str(key): key.default() for key in result["data_schema"].schema}
    assert defaults == {
        CONF_EVENTS: list(ALL_EVENTS),
        CONF_IGNORED_CHATS: [],
        CONF_NOTIFY_RECIPIENTS: [],
        CONF_OUTBOX_TTL: DEFAULT_OUTBOX_TTL_MINUTES,
        CONF_NON_ADMIN_READ: False,
        CONF_SEND_LIMIT: DEFAULT_SEND_LIMIT,
        CONF_LOOKUP_LIMIT: DEFAULT_LOOKUP_LIMIT,
        CONF_MEMORY_LIMIT: DEFAULT_MEMORY_LIMIT_MIB,
        CONF_HEAP_LIMIT: DEFAULT_HEAP_LIMIT_MIB,
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_EVENTS: [EVENT_MESSAGE_RECEIVED],
            CONF_IGNORED_CHATS: ["not a chat"],
            CONF_NOTIFY_RECIPIENTS: ["12"],
            CONF_OUTBOX_TTL: 30,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_IGNORED_CHATS: "invalid_chat",
        CONF_NOTIFY_RECIPIENTS: "invalid_recipient",
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_EVENTS: [EVENT_MESSAGE_RECEIVED, "whatsapp_call"],
            CONF_IGNORED_CHATS: ["120363012345678901@g.us", " "],
            CONF_NOTIFY_RECIPIENTS: ["+34 600 11 22 33", "34600112233@c.us", "0034 611 000 000"],
            CONF_OUTBOX_TTL: 30,
            CONF_NON_ADMIN_READ: True,
            CONF_SEND_LIMIT: 10.0,
            CONF_LOOKUP_LIMIT: 5,
            CONF_MEMORY_LIMIT: 450.0,
            CONF_HEAP_LIMIT: 0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_EVENTS: [EVENT_MESSAGE_RECEIVED, "whatsapp_call"],
        CONF_IGNORED_CHATS: ["120363012345678901@g.us"],
        CONF_NOTIFY_RECIPIENTS: ["34600112233@c.us", "34611000000@c.us"],
        CONF_OUTBOX_TTL: 30,
        CONF_NON_ADMIN_READ: True,
        CONF_SEND_LIMIT: 10,
        CONF_LOOKUP_LIMIT: 5,
        CONF_MEMORY_LIMIT: 450,
        CONF_HEAP_LIMIT: 0,
    }

    # The form shows the saved options next time.
    result = await _settings_form(hass, entry.entry_id)
    defaults = {str(key): key.default() for key in result["data_schema"].schema}
    assert defaults[CONF_NOTIFY_RECIPIENTS] == ["34600112233@c.us", "34611000000@c.us"]
    assert defaults[CONF_EVENTS] == [EVENT_MESSAGE_RECEIVED, "whatsapp_call"]
    assert defaults[CONF_NON_ADMIN_READ] is True
    assert (defaults[CONF_SEND_LIMIT], defaults[CONF_LOOKUP_LIMIT]) == (10, 5)


@pytest.mark.parametrize(
    ("key", "value"),
    [(CONF_SEND_LIMIT, 0), (CONF_LOOKUP_LIMIT, 0), (CONF_SEND_LIMIT, MAX_RATE_LIMIT + 1)],
)
async def test_options_flow_refuses_rate_limits_out_of_range(
    hass: HomeAssistant, key: str, value: int
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="34600000001@c.us", data={CONF_BROWSER: BROWSER_REMOTE}
    )
    entry.add_to_hass(hass)
    result = await _settings_form(hass, entry.entry_id)
    with pytest.raises(InvalidData) as raised:
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_OUTBOX_TTL: 30, key: value}
        )
    assert raised.value.path == [key]
    assert entry.options == {}


# ---------------------------------------------------------------------------------------------
# The add-on's browser, announced through the Supervisor's discovery


def _addon_discovery(url: str, token: str) -> HassioServiceInfo:
    return HassioServiceInfo(
        config={"url": url, "token": token, "addon": "WhatsApp Web browser"},
        name="WhatsApp Web browser",
        slug="local_whatsapp_web_browser",
        uuid="5a1b2c3d4e5f60718293a4b5c6d7e8f9",
    )


async def test_the_addon_announced_by_the_supervisor_links_an_account(
    hass: HomeAssistant, flows: FlowDriver, simulator: Simulator, config_dir: Path
) -> None:
    remote = RemoteChromium(config_dir / "remote")
    (config_dir / "remote").mkdir()
    url = await remote.start()
    try:
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_HASSIO},
            data=_addon_discovery(url, "addon-token"),
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "hassio_confirm"
        assert result["description_placeholders"] == {"addon": "WhatsApp Web browser"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {SECTION_ADVANCED: {CONF_PAGE_URL: simulator.url}}
        )
        result = await pick_qr(hass, flows, result)
        result = await scan(flows, simulator, result)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            CONF_BROWSER: BROWSER_REMOTE,
            CONF_REMOTE_URL: url,
            CONF_REMOTE_TOKEN: "addon-token",
            CONF_PAGE_URL: simulator.url,
        }
        entry = result["result"]
        await hass.async_block_till_done()

        # The add-on was reinstalled and announces a new token: the account takes it, no new flow.
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_HASSIO}, data=_addon_discovery(url, "new-token")
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured_browser"
        assert entry.data[CONF_REMOTE_TOKEN] == "new-token"
        await hass.async_block_till_done()
        await close_everything(hass)
    finally:
        await remote.stop()


@pytest.mark.parametrize(
    ("url", "token"), [("http://local-whatsapp-web-browser:9222", ""), ("file:///data", "t")]
)
async def test_an_incomplete_announcement_aborts(hass: HomeAssistant, url: str, token: str) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_addon_discovery(url, token)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_an_announced_browser_that_does_not_answer_is_an_error(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_HASSIO},
        data=_addon_discovery("http://127.0.0.1:9", "addon-token"),
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    assert result["errors"] == {"base": "cannot_connect"}
