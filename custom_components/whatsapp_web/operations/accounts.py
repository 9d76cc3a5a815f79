"""Which account an operation runs on: named by a service's config entry or REST's ``?account=``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState

from ..client import ids
from ..client.errors import InvalidId
from ..const import DOMAIN, RETRY_AFTER_NOT_LOADED
from .errors import OperationError

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from ..account import WhatsAppAccount


def loaded_accounts(hass: HomeAssistant) -> list[WhatsAppAccount]:
    """The accounts whose config entries are loaded, in the order they were added."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _not_loaded(entry_id: str, field_name: str) -> OperationError:
    return OperationError(
        "entry_not_loaded",
        503,
        f"the WhatsApp Web account {entry_id} is not loaded",
        field=field_name,
        placeholders={"config_entry_id": entry_id},
        retry_after=RETRY_AFTER_NOT_LOADED,
    )


def _only_account(hass: HomeAssistant, field_name: str) -> WhatsAppAccount:
    """The one loaded account, when no account was named."""
    accounts = loaded_accounts(hass)
    if len(accounts) == 1:
        return accounts[0]
    if accounts:
        raise OperationError(
            "account_required",
            400,
            f"several WhatsApp accounts are loaded: choose one with {field_name}",
            field=field_name,
            placeholders={"field": field_name},
        )
    raise OperationError(
        "no_accounts",
        503,
        "no WhatsApp Web account is loaded",
        retry_after=RETRY_AFTER_NOT_LOADED,
    )


def account_for_entry_id(
    hass: HomeAssistant, entry_id: str | None, field_name: str
) -> WhatsAppAccount:
    """The account of a config entry id (services), or the only one when none is given."""
    if not entry_id:
        return _only_account(hass, field_name)
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise OperationError(
            "entry_not_found",
            404,
            f"no WhatsApp Web account has the config entry id {entry_id}",
            field=field_name,
            placeholders={"config_entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise _not_loaded(entry_id, field_name)
    account: WhatsAppAccount = entry.runtime_data
    return account


def account_for_query(hass: HomeAssistant, value: str | None, field_name: str) -> WhatsAppAccount:
    """The account REST's ``?account=`` names: a config entry id or the account's own number or id."""
    if not value:
        return _only_account(hass, field_name)
    entry = hass.config_entries.async_get_entry(value)
    if entry is not None and entry.domain == DOMAIN:
        return account_for_entry_id(hass, value, field_name)
    try:
        own_id = ids.normalize_user_id(value)
    except InvalidId:
        own_id = None
    if own_id is not None and (
        owner := hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, own_id)
    ):
        return account_for_entry_id(hass, owner.entry_id, field_name)
    raise OperationError(
        "account_not_found",
        404,
        f"no loaded WhatsApp Web account matches {value}",
        field=field_name,
        placeholders={"account": value},
    )
