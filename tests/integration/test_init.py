"""Setting an account up and down: never holding Home Assistant's start, leaving nothing behind."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import (
    BROWSER_LOCAL,
    CONF_BROWSER,
    CONF_CHROMIUM_PATH,
    CONF_NOTIFY_RECIPIENTS,
    CONF_PAGE_URL,
    CONF_PROFILE,
    DOMAIN,
)
from tests.support.clients import CHROMIUM
from tests.support.figures import record_figure

from .linking import add_linked_entry, link_profile, process_alive, profile_path

if TYPE_CHECKING:
    from pathlib import Path

    from homeassistant.core import HomeAssistant

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


def _local_entry(
    sim: Simulator, profile: str, unique_id: str, **options: object
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Sam (+1)",
        unique_id=unique_id,
        data={
            CONF_BROWSER: BROWSER_LOCAL,
            CONF_CHROMIUM_PATH: CHROMIUM,
            CONF_PROFILE: profile,
            CONF_PAGE_URL: sim.url,
        },
        options=options,
    )


async def test_setup_returns_before_the_browser_is_up_and_unload_stops_it(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await link_profile(hass, simulator, "main")
    me = (await simulator.control.state())["me"]
    entry = _local_entry(simulator, "main", me["id"])
    entry.add_to_hass(hass)

    started = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    setup_ms = (time.perf_counter() - started) * 1000
    client = entry.runtime_data.client
    # A figure for the notes, not a bound: a loaded machine may take longer.
    record_figure(
        "Home Assistant start", "config entry set up (browser in background)", f"{setup_ms:.0f} ms"
    )
    # Set-up is done; the browser is still on its way.
    assert entry.state is ConfigEntryState.LOADED
    assert client.state in (ClientState.STOPPED, ClientState.STARTING)

    states: list[ClientState] = []
    client.add_state_listener(states.append)
    await client.wait_for_state(ClientState.CONNECTED, timeout=60)
    assert ClientState.NEEDS_PAIRING not in states
    assert client.me is not None
    assert client.me.id == me["id"]
    pids = client.browser_pids
    assert pids

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert client.state is ClientState.STOPPED
    assert not any(process_alive(pid) for pid in pids)


async def test_unload_right_after_setup_leaves_nothing_behind(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = _local_entry(simulator, "fresh", "34600000009@c.us")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = entry.runtime_data.client
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert client.state is ClientState.STOPPED
    assert client.browser_pids == []


async def test_restart_resumes_the_session_without_a_qr(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await add_linked_entry(hass, simulator)
    assert await hass.config_entries.async_reload(entry.entry_id)
    client = entry.runtime_data.client
    states: list[ClientState] = []
    client.add_state_listener(states.append)
    await client.wait_for_state(ClientState.CONNECTED, timeout=60)
    assert ClientState.NEEDS_PAIRING not in states


async def test_a_lost_session_raises_a_repair_issue_and_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, issue_registry: ir.IssueRegistry
) -> None:
    # A profile that was never linked: WhatsApp Web asks for a QR code.
    entry = _local_entry(simulator, "empty", "34600000009@c.us")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(ClientState.NEEDS_PAIRING, timeout=60)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"logged_out_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "logged_out"
    assert issue.translation_placeholders == {"account": "34600000009"}
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    # Unloading removes the account's issues.
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, f"logged_out_{entry.entry_id}") is None


async def test_changed_options_reload_the_entry(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    entry = await add_linked_entry(hass, simulator)
    assert not [
        item
        for item in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if item.domain == "notify"
    ]
    old_account = entry.runtime_data
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_NOTIFY_RECIPIENTS: ["34600112233@c.us"]}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data is not old_account
    assert old_account.client.state is ClientState.STOPPED
    assert [
        item.unique_id
        for item in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if item.domain == "notify"
    ] == [f"{entry.unique_id}_notify_34600112233@c.us"]


async def test_removing_the_entry_deletes_its_profile(
    hass: HomeAssistant, simulator: Simulator, config_dir: Path
) -> None:
    entry = await add_linked_entry(hass, simulator)
    assert profile_path(hass, "main").is_dir()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not profile_path(hass, "main").exists()


async def test_actions_are_registered_once_for_every_account(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "send_message")
    assert hass.services.has_service(DOMAIN, "get_status")


async def test_a_refused_account_raises_a_repair_issue(
    hass: HomeAssistant, simulator: Simulator, issue_registry: ir.IssueRegistry
) -> None:
    entry = await add_linked_entry(hass, simulator)
    await simulator.control.connection("deprecate")
    await entry.runtime_data.client.wait_for_state(ClientState.FAILED, timeout=30)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"blocked_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["state"] == "DEPRECATED_VERSION"


async def test_a_browser_that_cannot_start_raises_a_repair_issue(
    hass: HomeAssistant, simulator: Simulator, issue_registry: ir.IssueRegistry
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Sam (+1)",
        unique_id="34600000009@c.us",
        data={
            CONF_BROWSER: BROWSER_LOCAL,
            CONF_CHROMIUM_PATH: "/bin/true",
            CONF_PROFILE: "broken",
            CONF_PAGE_URL: simulator.url,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(ClientState.FAILED, timeout=60)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"browser_failed_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["error"]
