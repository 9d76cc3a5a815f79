"""Device trigger "message received" on an account's device, optionally for one chat or one person.

Built on the ``whatsapp_message_received`` bus event. The chat filter compares the normalised chat id
of the message (the raw payload nests it in the message key), so it is matched here, not with the
generic ``event`` trigger's flat ``event_data``. The person filter compares ``person_entity_id``, which
the account adds to the event when the options' people map the sender (people.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.selector import EntitySelector, EntitySelectorConfig
import voluptuous as vol

from .const import DOMAIN, EVENT_MESSAGE_RECEIVED
from .events import message_summary
from .ha_compat import device_config_entry_ids
from .values import chat_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
    from homeassistant.helpers.typing import ConfigType

TRIGGER_MESSAGE_RECEIVED = "message_received"
CONF_CHAT_ID = "chat_id"
CONF_PERSON = "person_entity_id"


TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In([TRIGGER_MESSAGE_RECEIVED]),
        vol.Optional(CONF_CHAT_ID): chat_id,
        vol.Optional(CONF_PERSON): cv.entity_domain("person"),
    }
)


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Check the trigger and that its device is a WhatsApp account."""
    config = TRIGGER_SCHEMA(config)
    if _entry_ids(hass, config[CONF_DEVICE_ID]) is None:
        raise InvalidDeviceAutomationConfig(
            f"Device {config[CONF_DEVICE_ID]} is not a WhatsApp account"
        )
    return config


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """The triggers an account's device offers."""
    if _entry_ids(hass, device_id) is None:
        return []
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: TRIGGER_MESSAGE_RECEIVED,
        }
    ]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The optional chat and person filters, shown in the automation editor."""
    return {
        "extra_fields": vol.Schema(
            {
                vol.Optional(CONF_CHAT_ID): cv.string,
                vol.Optional(CONF_PERSON): EntitySelector(EntitySelectorConfig(domain="person")),
            }
        )
    }


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Run ``action`` for each message the account receives (in the chosen chat, from the person)."""
    entry_ids = _entry_ids(hass, config[CONF_DEVICE_ID]) or set()
    chat_id: str | None = config.get(CONF_CHAT_ID)
    person: str | None = config.get(CONF_PERSON)
    job = HassJob(action, f"{DOMAIN} device trigger {trigger_info}")
    trigger_data = trigger_info["trigger_data"]

    @callback
    def matches(event_data: Mapping[str, Any]) -> bool:
        if event_data.get("config_entry_id") not in entry_ids:
            return False
        if person is not None and event_data.get("person_entity_id") != person:
            return False
        return chat_id is None or message_summary(dict(event_data))["chat_id"] == chat_id

    @callback
    def handle(event: Event[Mapping[str, Any]]) -> None:
        hass.async_run_hass_job(
            job,
            {
                "trigger": {
                    **trigger_data,
                    **config,
                    "description": f"WhatsApp message received ({event.event_type})",
                    "event": event,
                }
            },
            event.context,
        )

    return hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, handle, event_filter=matches)


def _entry_ids(hass: HomeAssistant, device_id: str) -> set[str] | None:
    """The config entries of a WhatsApp device, or None when the device is not one."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None or not any(domain == DOMAIN for domain, _ in device.identifiers):
        return None
    return device_config_entry_ids(device)
