"""What stays private on disk and in support data: the browser profile, the outbox, diagnostics."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.whatsapp_web.account import WhatsAppAccount
from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import (
    BROWSER_LOCAL,
    BROWSER_REMOTE,
    CONF_BROWSER,
    CONF_CHROMIUM_PATH,
    CONF_IGNORED_CHATS,
    CONF_NOTIFY_RECIPIENTS,
    CONF_PAGE_URL,
    CONF_PROFILE,
    CONF_REMOTE_TOKEN,
    CONF_REMOTE_URL,
    DOMAIN,
    PROFILES_DIRECTORY,
)
from simulator.testing import Simulator
from tests.integration.linking import add_linked_entry
from tests.support.clients import CHROMIUM, browser_for, new_client, short_tmp

from .ha_support import private_chats, send_via_service
from .support import profile_mode, record_figure

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .conftest import Secrets


async def test_profile_directory_is_private(
    hass: HomeAssistant, big_simulator: Simulator, config_dir: Path
) -> None:
    """A new local account's browser profile (the linked session's keys) is 0700 from the start."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="fresh",
        unique_id="34999999999@c.us",
        data={
            CONF_BROWSER: BROWSER_LOCAL,
            CONF_CHROMIUM_PATH: CHROMIUM,
            CONF_PROFILE: "fresh",
            CONF_PAGE_URL: big_simulator.url,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(
        ClientState.NEEDS_PAIRING, ClientState.LOGGED_OUT, timeout=60
    )
    profile = Path(hass.config.path(PROFILES_DIRECTORY, "fresh"))
    mode = await hass.async_add_executor_job(profile_mode, profile)
    parent = await hass.async_add_executor_job(profile_mode, profile.parent)
    assert mode == 0o700, oct(mode)
    # Chromium creates its files with the umask; the 0700 directory is what keeps others out of them.
    inside = await hass.async_add_executor_job(
        lambda: [p for p in profile.rglob("*") if not p.is_symlink()]
    )
    record_figure(
        "browser profile",
        "mode (profile / its parent)",
        f"{oct(mode)} / {oct(parent)}; {len(inside)} entries inside, reachable only through the 0700 directory",
    )


async def test_diagnostics_redact_every_identifier(
    hass: HomeAssistant,
    big_simulator: Simulator,
    hass_client: Any,
    leak_guard: Secrets,
) -> None:
    sim = big_simulator
    assert await async_setup_component(hass, "diagnostics", {})
    chats = await private_chats(sim, 2)
    entry = await add_linked_entry(
        hass, sim, options={CONF_NOTIFY_RECIPIENTS: [chats[0]], CONF_IGNORED_CHATS: [chats[1]]}
    )
    state = await sim.control.state()
    me = state["me"]
    # Something waiting in the outbox, so that its items show up too.
    await sim.control.connection("drop")
    await entry.runtime_data.client.wait_for_state(ClientState.RECONNECTING, timeout=20)
    body = "a private body in the outbox"
    leak_guard.add("message body", body)
    answer = await send_via_service(hass, chats[0], body)
    assert answer["queued"] is True
    # A remote account with a token, never contacted.
    remote = MockConfigEntry(
        domain=DOMAIN,
        title="+34611111111",
        unique_id="34611111111@c.us",
        data={
            CONF_BROWSER: BROWSER_REMOTE,
            CONF_REMOTE_URL: "http://browser.internal.example:3000",
            CONF_REMOTE_TOKEN: "remote-token-6f1d2c",
            CONF_PROFILE: "34611111111",
        },
    )
    remote.add_to_hass(hass)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics, ensure_ascii=False)
    number = me["id"].split("@")[0]
    forbidden = {
        "own number": number,
        "own id": me["id"],
        "lid": me["lid"].split("@")[0] if me.get("lid") else None,
        "push name": me["pushname"],
        "notify recipient": chats[0].split("@")[0],
        "ignored chat": chats[1].split("@")[0],
        "message body": body,
        "title": entry.title,
    }
    found = {kind: value for kind, value in forbidden.items() if value and value in text}
    assert not found, f"diagnostics show {found}"
    assert diagnostics["outbox"]["pending"] == 1
    assert diagnostics["client"]["state"] in ("reconnecting", ClientState.RECONNECTING.value)
    await sim.control.connection("restore")
    # Loaded without starting its client (nothing contacts that address).
    remote.runtime_data = WhatsAppAccount(hass, remote)
    remote.mock_state(hass, ConfigEntryState.LOADED)
    remote_text = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, remote))
    assert "remote-token-6f1d2c" not in remote_text
    assert "browser.internal.example" not in remote_text
    assert "34611111111" not in remote_text
    record_figure(
        "diagnostics",
        "identifiers shown (linked local entry / remote entry with token)",
        f"0 of {len([v for v in forbidden.values() if v])} / 0 of 3",
    )


async def test_linking_secrets_stay_out_of_the_log(
    hass: HomeAssistant, socket_enabled: None, leak_guard: Secrets
) -> None:
    """QR strings and the pairing code of a real linking are registered; the guard scans for them."""
    root = short_tmp()
    qrs: list[str] = []
    try:
        async with (
            Simulator(chats=2, messages=1, seed=31) as sim,
            browser_for("local", root) as (factory, _),
        ):
            leak_guard.watch(sim)
            client = new_client(sim, factory)
            client.add_qr_listener(lambda qr: qrs.append(qr) if qr else None)
            try:
                await client.start()
                await client.wait_for_state(ClientState.NEEDS_PAIRING, timeout=30)
                code = await client.request_pairing_code("+34 600 11 22 33")
                leak_guard.add("pairing code", code)
                await sim.control.link(code=code)
                await client.wait_for_state(ClientState.CONNECTED, timeout=30)
                for qr in qrs:
                    leak_guard.add("QR string", qr)
            finally:
                await client.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert qrs, "a QR was shown before the code was asked for"
    assert len(code) == 8
    record_figure(
        "linking secrets",
        "QR strings / pairing codes scanned for in the log",
        f"{len(qrs)} / 1; found: 0",
    )
