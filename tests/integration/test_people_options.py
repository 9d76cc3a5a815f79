"""The options' People and Talk to Assist forms (no browser: the options are only saved here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.whatsapp_web.const import (
    BROWSER_REMOTE,
    CONF_ASSIST_AGENT,
    CONF_ASSIST_PEOPLE,
    CONF_ASSIST_STT,
    CONF_BROWSER,
    CONF_OUTBOX_TTL,
    CONF_PEOPLE,
    DEFAULT_ASSIST_AGENT,
    DOMAIN,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

ALICE = "person.alice"
BOB = "person.bob"


def _entry(hass: HomeAssistant, options: dict[str, Any] | None = None) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="34600000001@c.us",
        data={CONF_BROWSER: BROWSER_REMOTE},
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def _form(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def test_people_are_mapped_one_at_a_time(hass: HomeAssistant) -> None:
    entry = _entry(hass)
    result = await _form(hass, entry, "people")
    assert result["step_id"] == "people"
    assert result["description_placeholders"] == {"people": "-"}

    # Not a person's id: a group, a number without its country code.
    for bad in (["120363012345678901@g.us"], ["0600 11 22 33"]):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"person": ALICE, "ids": bad}
        )
        assert result["errors"] == {"ids": "invalid_person_id"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"person": ALICE, "ids": ["+34 600 11 22 33", "123456789012345@LID", " "]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_PEOPLE: {ALICE: ["34600112233@c.us", "123456789012345@lid"]}}

    # Another person may not take Alice's ids; the form shows who is mapped.
    result = await _form(hass, entry, "people")
    assert result["description_placeholders"] == {
        "people": "- person.alice: 34600112233@c.us, 123456789012345@lid"
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"person": BOB, "ids": ["34600112233@c.us"]}
    )
    assert result["errors"] == {"ids": "already_mapped"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"person": BOB, "ids": ["+44 7700 900123"]}
    )
    assert entry.options[CONF_PEOPLE] == {
        ALICE: ["34600112233@c.us", "123456789012345@lid"],
        BOB: ["447700900123@c.us"],
    }


async def test_assist_allows_only_mapped_people_and_removing_a_person_revokes_it(
    hass: HomeAssistant,
) -> None:
    entry = _entry(hass, {CONF_PEOPLE: {ALICE: ["34600112233@c.us"]}, CONF_OUTBOX_TTL: 30})
    result = await _form(hass, entry, "assist")
    assert result["step_id"] == "assist"
    defaults = {
        str(key): key.default()
        for key in result["data_schema"].schema
        if key.default is not vol.UNDEFINED
    }
    assert defaults == {CONF_ASSIST_PEOPLE: [], CONF_ASSIST_AGENT: DEFAULT_ASSIST_AGENT}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ASSIST_PEOPLE: [ALICE, BOB]}
    )
    assert result["errors"] == {CONF_ASSIST_PEOPLE: "person_not_mapped"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_ASSIST_PEOPLE: [ALICE],
            CONF_ASSIST_AGENT: "conversation.home_assistant",
            CONF_ASSIST_STT: "stt.kitchen",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The other options are kept.
    assert entry.options == {
        CONF_PEOPLE: {ALICE: ["34600112233@c.us"]},
        CONF_OUTBOX_TTL: 30,
        CONF_ASSIST_PEOPLE: [ALICE],
        CONF_ASSIST_AGENT: "conversation.home_assistant",
        CONF_ASSIST_STT: "stt.kitchen",
    }

    # The form shows what was saved; no speech-to-text engine is saved as none.
    result = await _form(hass, entry, "assist")
    schema = {str(key): key for key in result["data_schema"].schema}
    assert schema[CONF_ASSIST_PEOPLE].default() == [ALICE]
    assert schema[CONF_ASSIST_STT].description == {"suggested_value": "stt.kitchen"}
    await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ASSIST_PEOPLE: [ALICE]}
    )
    assert entry.options[CONF_ASSIST_STT] is None

    # Alice without ids is no longer mapped, and no longer talks to Assist.
    result = await _form(hass, entry, "people")
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"person": ALICE, "ids": []}
    )
    assert entry.options[CONF_PEOPLE] == {}
    assert entry.options[CONF_ASSIST_PEOPLE] == []
