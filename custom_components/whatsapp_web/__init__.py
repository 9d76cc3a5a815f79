"""WhatsApp Web for Home Assistant: link an account the way WhatsApp Web does.

Each config entry is one linked WhatsApp account. Setting an entry up returns at once: the browser
starts in a background task the entry owns, so Home Assistant's start is never held by it, and unloading
the entry closes the browser and every task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.helpers import config_validation as cv

from . import http, services
from .account import WhatsAppAccount, WhatsAppConfigEntry, async_remove_account_data
from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.core import Event, HomeAssistant
    from homeassistant.helpers.typing import ConfigType

PLATFORMS: list[Platform] = [Platform.EVENT, Platform.NOTIFY, Platform.SENSOR]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and the REST mirror once for every account."""
    services.async_setup_services(hass)
    http.async_register_views(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> bool:
    """Build the account and start its browser in the background."""
    account = WhatsAppAccount(hass, entry)
    # The outbox is read before anything can send through it; that is a small file, not the browser.
    await account.async_load()
    entry.runtime_data = account
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))

    async def _async_stop_browser(_event: Event) -> None:
        # Home Assistant does not unload entries when it stops; the browser must not outlive it.
        await account.async_stop()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop_browser))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    account.start_in_background()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> bool:
    """Close the browser and unload the platforms."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
        entry.runtime_data.clear_issues()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
    """Forget the account's outbox, event cursor and browser profile."""
    await async_remove_account_data(hass, entry)


async def _async_options_updated(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
    """Reload so that notify entities and the outbox follow the new options.

    People and Assist are followed by the running account: no browser restart for them.
    """
    if entry.runtime_data.apply_live_options():
        return
    await hass.config_entries.async_reload(entry.entry_id)
