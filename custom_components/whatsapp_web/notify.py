"""A notify entity per recipient chosen in the options: ``notify.send_message`` to WhatsApp."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.components.notify import NotifyEntity
from homeassistant.exceptions import Unauthorized

from .client.errors import WhatsAppWebError
from .const import CONF_NOTIFY_RECIPIENTS
from .entity import WhatsAppEntity
from .operations.errors import OperationError
from .rate_limit import RateLimitExceeded
from .services import async_context_is_trusted, raise_translated

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .account import WhatsAppAccount, WhatsAppConfigEntry

# Sends of one account leave one after another through its outbox.
PARALLEL_UPDATES = 1
# How long a notification waits for WhatsApp's answer before it is left to the outbox.
SEND_WAIT_SECONDS = 30.0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one notify entity per configured recipient."""
    account = entry.runtime_data
    async_add_entities(
        WhatsAppNotifyEntity(account, recipient)
        for recipient in entry.options.get(CONF_NOTIFY_RECIPIENTS, ())
    )


class WhatsAppNotifyEntity(WhatsAppEntity, NotifyEntity):
    """Sends a text to one chat.

    Always available: while the account reconnects a message waits in the persistent outbox and
    leaves, once, when the account is back.
    """

    _attr_translation_key = "recipient"

    def __init__(self, account: WhatsAppAccount, chat_id: str) -> None:
        """Bind the entity to a chat of the account."""
        super().__init__(account, f"notify_{chat_id}")
        self.chat_id = chat_id
        self._attr_translation_placeholders = {"recipient": chat_id.split("@", 1)[0]}

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send ``message`` (with ``title`` in bold above it) to the chat.

        Sending changes WhatsApp, so the rule of the send_message action holds here too: automations,
        scripts and administrators may; other users are refused before anything is queued.
        """
        if not await async_context_is_trusted(self.hass, self._context):
            raise Unauthorized(context=self._context, permission=POLICY_CONTROL)
        text = f"*{title}*\n{message}" if title else message
        try:
            # Counted by the account's send limit like the send_message action.
            await self.account.async_send_text(self.chat_id, text, wait_seconds=SEND_WAIT_SECONDS)
        except (WhatsAppWebError, OperationError, RateLimitExceeded) as error:
            # The same translated errors as the send_message action.
            raise_translated(error)
