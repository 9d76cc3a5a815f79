"""The blueprints in blueprints/: valid for Home Assistant's blueprint schema, and they do their job.

Each blueprint is loaded with Home Assistant's own YAML loader and blueprint schema, instantiated with
inputs and validated as an automation, then run in Home Assistant on the event it listens to. The
services it calls are recorded (the integration is not loaded here; the end-to-end tests run the
reply bot against the real one).
"""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Any

from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

BLUEPRINTS = Path(__file__).resolve().parents[1] / "blueprints" / "automation" / "whatsapp_web"
NAMES = ("reply_bot", "camera_snapshot_on_doorbell", "notify_missed_call")

# Inputs a user would give each blueprint (the required ones, at least).
INPUTS: dict[str, dict[str, Any]] = {
    "reply_bot": {},
    "camera_snapshot_on_doorbell": {
        "doorbell": "binary_sensor.doorbell",
        "camera": "camera.front_door",
        "recipient": "+34 600 11 22 33",
    },
    "notify_missed_call": {},
}


def load(name: str) -> Blueprint:
    data = load_yaml_dict(str(BLUEPRINTS / f"{name}.yaml"))
    return Blueprint(data, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA)


def test_every_blueprint_is_tested() -> None:
    assert sorted(path.stem for path in BLUEPRINTS.glob("*.yaml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
async def test_blueprint_schema_and_substitution(hass: HomeAssistant, name: str) -> None:
    blueprint = load(name)
    assert blueprint.domain == "automation"
    assert blueprint.metadata["source_url"].endswith(
        f"blueprints/automation/whatsapp_web/{name}.yaml"
    )
    inputs = BlueprintInputs(
        blueprint, {"use_blueprint": {"path": f"whatsapp_web/{name}.yaml", "input": INPUTS[name]}}
    )
    inputs.validate()
    config = inputs.async_substitute()
    validated = await async_validate_config_item(hass, "test", {"id": name, **config})
    assert validated is not None
    assert validated.validation_status == "ok", validated.validation_error


@pytest.fixture
async def blueprint_hass(hass: HomeAssistant, tmp_path: Path) -> HomeAssistant:
    """Home Assistant whose configuration folder holds this repository's blueprints."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints" / "automation" / "whatsapp_web")
    return hass


async def use(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "id": name,
                    "alias": name,
                    "use_blueprint": {"path": f"whatsapp_web/{name}.yaml", "input": inputs},
                }
            ]
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(f"automation.{name}").state == "on"


def message(chat: str, body: str, *, author: str | None = None) -> dict[str, Any]:
    """A ``whatsapp_message_received`` payload: whatsapp-web.js's raw message plus the account."""
    sender = author or chat
    return {
        "id": {
            "fromMe": False,
            "remote": chat,
            "id": "3A0001",
            "_serialized": f"false_{chat}_3A0001",
        },
        "type": "chat",
        "body": body,
        "from": {
            "server": chat.split("@")[1],
            "user": chat.split("@", maxsplit=1)[0],
            "_serialized": chat,
        },
        "author": {"_serialized": sender} if author else None,
        "notifyName": "Ana",
        "offline": False,
        "account": "34699000000@c.us",
        "config_entry_id": "entry1",
    }


async def test_reply_bot_answers_keyword_in_the_same_chat(blueprint_hass: HomeAssistant) -> None:
    hass = blueprint_hass
    sends = async_mock_service(hass, "whatsapp_web", "send_message")
    await use(
        hass, "reply_bot", {"keyword": "Ping", "reply": "pong, {{ trigger.event.data.notifyName }}"}
    )

    hass.bus.async_fire("whatsapp_message_received", message("34600112233@c.us", "ping?"))
    hass.bus.async_fire("whatsapp_message_received", message("34600112233@c.us", "hello"))
    # Groups are left alone unless asked for.
    hass.bus.async_fire(
        "whatsapp_message_received",
        message("120363000000000001@g.us", "ping", author="34600112233@c.us"),
    )
    await hass.async_block_till_done()

    assert [call.data for call in sends] == [
        {"config_entry_id": "entry1", "chat_id": "34600112233@c.us", "msg": "pong, Ana"}
    ]


async def test_reply_bot_in_groups_and_for_one_account(blueprint_hass: HomeAssistant) -> None:
    hass = blueprint_hass
    sends = async_mock_service(hass, "whatsapp_web", "send_message")
    await use(hass, "reply_bot", {"include_groups": True, "account": "entry1"})

    hass.bus.async_fire(
        "whatsapp_message_received",
        message("120363000000000001@g.us", "PING", author="34600112233@c.us"),
    )
    other_account = {**message("34600112233@c.us", "ping"), "config_entry_id": "entry2"}
    hass.bus.async_fire("whatsapp_message_received", other_account)
    await hass.async_block_till_done()

    assert [(call.data["chat_id"], call.data["msg"]) for call in sends] == [
        ("120363000000000001@g.us", "pong")
    ]


def test_doorbell_snapshots_are_never_written_to_disk() -> None:
    """Home Assistant serves www/ to anyone at /local/; the picture goes from the camera to WhatsApp."""
    blueprint = load("camera_snapshot_on_doorbell")
    assert "snapshot_path" not in blueprint.inputs
    assert "camera.snapshot" not in (BLUEPRINTS / "camera_snapshot_on_doorbell.yaml").read_text()


async def test_doorbell_sends_a_snapshot(blueprint_hass: HomeAssistant) -> None:
    hass = blueprint_hass
    sends = async_mock_service(hass, "whatsapp_web", "send_message")
    hass.states.async_set("binary_sensor.doorbell", "off")
    await use(
        hass,
        "camera_snapshot_on_doorbell",
        {**INPUTS["camera_snapshot_on_doorbell"], "caption": "Ding dong"},
    )

    hass.states.async_set("binary_sensor.doorbell", "on")
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.doorbell", "off")
    await hass.async_block_till_done()

    assert [call.data for call in sends] == [
        {
            "chat_id": "+34 600 11 22 33",
            "msg": "Ding dong",
            "camera_entity_id": "camera.front_door",
        }
    ]


async def test_doorbell_event_entity_and_account(blueprint_hass: HomeAssistant) -> None:
    hass = blueprint_hass
    sends = async_mock_service(hass, "whatsapp_web", "send_message")
    hass.states.async_set("event.doorbell", "2026-01-01T10:00:00.000+00:00")
    inputs = {
        **INPUTS["camera_snapshot_on_doorbell"],
        "doorbell": "event.doorbell",
        "account": "entry7",
    }
    await use(hass, "camera_snapshot_on_doorbell", inputs)

    hass.states.async_set("event.doorbell", "2026-01-01T10:05:00.000+00:00")
    await hass.async_block_till_done()

    assert len(sends) == 1
    assert sends[0].data["config_entry_id"] == "entry7"
    assert sends[0].data["msg"].startswith("Someone is at the door (")


def call_event(*, is_group: bool = False, from_me: bool = False) -> dict[str, Any]:
    return {
        "call": {
            "id": "CALL1",
            "from": "34600112233@c.us",
            "timestamp": 1_767_261_600,
            "isVideo": True,
            "isGroup": is_group,
            "fromMe": from_me,
            "participants": [],
        },
        "account": "34699000000@c.us",
        "config_entry_id": "entry1",
    }


async def test_missed_call_notifies_and_answers(blueprint_hass: HomeAssistant) -> None:
    hass = blueprint_hass
    notes = async_mock_service(hass, "persistent_notification", "create")
    sends = async_mock_service(hass, "whatsapp_web", "send_message")
    await use(hass, "notify_missed_call", {"auto_reply": True, "auto_reply_text": "Busy"})

    hass.bus.async_fire("whatsapp_call", call_event())
    hass.bus.async_fire("whatsapp_call", call_event(is_group=True))
    hass.bus.async_fire("whatsapp_call", call_event(from_me=True))
    await hass.async_block_till_done()

    assert len(notes) == 1
    assert notes[0].data["title"] == "Missed WhatsApp call"
    assert notes[0].data["message"].startswith("Video call from +34600112233 at ")
    assert [call.data for call in sends] == [
        {"config_entry_id": "entry1", "chat_id": "34600112233@c.us", "msg": "Busy"}
    ]


async def test_missed_call_default_sends_nothing_on_whatsapp(blueprint_hass: HomeAssistant) -> None:
    hass = blueprint_hass
    notes = async_mock_service(hass, "persistent_notification", "create")
    sends = async_mock_service(hass, "whatsapp_web", "send_message")
    await use(hass, "notify_missed_call", {})

    hass.bus.async_fire("whatsapp_call", call_event())
    await hass.async_block_till_done()

    assert len(notes) == 1
    assert sends == []
