"""Diagnostics: useful, and nothing that identifies the account or its contacts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from homeassistant.components.diagnostics import REDACTED
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.whatsapp_web.const import (
    CONF_IGNORED_CHATS,
    CONF_NOTIFY_RECIPIENTS,
    CONF_PROFILE,
)

from .linking import add_linked_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


async def test_diagnostics_redact_every_identifier(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    chats = await simulator.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    group = next(chat["id"] for chat in chats if chat["is_group"])
    entry = await add_linked_entry(
        hass,
        simulator,
        options={CONF_NOTIFY_RECIPIENTS: [person], CONF_IGNORED_CHATS: [group]},
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["client"]["state"] == "connected"
    assert diagnostics["client"]["whatsapp_state"] == "CONNECTED"
    assert diagnostics["client"]["version"]
    # The capability table: the WhatsApp Web call shape each operation uses.
    assert diagnostics["client"]["capabilities"]["acceptInvite"] == "WAWebGroupInviteJob"
    assert diagnostics["client"]["capabilities"]["loadEarlierMessages"] == "options-object"
    assert diagnostics["outbox"] == {"pending": 0, "items": []}
    assert diagnostics["memory"]["memory_reloads"] == 0
    assert diagnostics["memory"]["memory_limit_mib"] == 600
    assert diagnostics["entry"]["title"] == REDACTED
    assert diagnostics["entry"]["unique_id"] == REDACTED
    assert diagnostics["entry"]["data"][CONF_PROFILE] == REDACTED
    assert diagnostics["entry"]["options"][CONF_NOTIFY_RECIPIENTS] == REDACTED
    assert diagnostics["client"]["me"] == REDACTED

    me = (await simulator.control.state())["me"]
    text = json.dumps(diagnostics)
    for secret in (
        me["id"].split("@")[0],
        me["lid"].split("@")[0],
        me["pushname"],
        person.split("@")[0],
        group.split("@")[0],
        entry.data[CONF_PROFILE],
    ):
        assert secret not in text
