"""A capability WhatsApp Web no longer offers is one repair issue, gone once it is back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.whatsapp_web.const import DOMAIN
from simulator.testing import Simulator

from .linking import add_linked_entry, close_everything, wait_until

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

pytestmark = pytest.mark.timeout(180)


def our_issues(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    return {
        issue_id: issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN
    }


async def test_missing_capability_is_one_issue_until_it_is_back(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    # A WhatsApp Web update removed the member before the page loaded.
    await simulator.control.fault(missing_member="WAWebGroupInviteJob.joinGroupViaInvite")
    entry = await add_linked_entry(hass, simulator)
    issue_id = f"capability_missing_acceptInvite_{entry.entry_id}"
    await wait_until(lambda: issue_id in our_issues(hass))
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as raised:
            await hass.services.async_call(
                DOMAIN, "accept_invite", {"invite_code": "AbCdEfGhIjK"}, blocking=True
            )
        assert "joinGroupViaInvite" in str(raised.value) or "joinGroupViaInvite" in str(
            raised.value.translation_placeholders
        )
    issues = our_issues(hass)
    assert list(issues) == [issue_id], "one issue, for that capability only"
    issue = issues[issue_id]
    assert issue.translation_key == "capability_missing"
    placeholders = dict(issue.translation_placeholders or {})
    assert placeholders["capability"] == "acceptInvite"
    assert placeholders["missing"] == "WAWebGroupInviteJob.joinGroupViaInvite"

    # WhatsApp Web offers it again: the next probe of the page removes the issue.
    await simulator.control.fault()
    await entry.runtime_data.client.probe_capabilities()
    await wait_until(lambda: issue_id not in our_issues(hass))
    assert our_issues(hass) == {}


async def test_fictitious_generation_raises_one_issue_per_moved_capability(
    hass: HomeAssistant, socket_enabled: None, config_dir: Path
) -> None:
    async with Simulator(chats=4, messages=3, contacts=4, groups=1, surface="2027-01") as sim:
        try:
            entry = await add_linked_entry(hass, sim)
            wanted = {
                f"capability_missing_{capability}_{entry.entry_id}"
                for capability in ("acceptInvite", "blockContact")
            }
            await wait_until(lambda: wanted <= set(our_issues(hass)))
            assert set(our_issues(hass)) == wanted
            chats = await hass.services.async_call(
                DOMAIN, "get_chats", {}, blocking=True, return_response=True
            )
            assert chats
            assert chats["chats"]
        finally:
            await close_everything(hass)
