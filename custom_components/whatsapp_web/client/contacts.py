"""Contacts and the linked account itself (presence, name, about text)."""

from __future__ import annotations

from . import ids
from .errors import InvalidArgument
from .models import Contact, serialized_id
from .page_calls import PageCalls


class ContactCalls(PageCalls):
    """Contacts and the own account."""

    async def get_contacts(self) -> list[Contact]:
        """Every contact WhatsApp Web knows."""
        result = await self._page_call("getContacts", {})
        return [Contact.from_page(item) for item in result]

    async def get_contact(self, contact_id: str) -> Contact:
        """One contact."""
        result = await self._page_call(
            "getContact", {"contactId": ids.normalize_user_id(contact_id)}
        )
        return Contact.from_page(result)

    async def block_contact(self, contact_id: str, block: bool = True) -> None:
        """Block (or unblock) a contact."""
        await self._page_call(
            "blockContact", {"contactId": ids.normalize_user_id(contact_id), "block": block}
        )

    async def get_common_groups(self, contact_id: str) -> list[str]:
        """Ids of the groups this account shares with a contact."""
        result = await self._page_call(
            "getCommonGroups", {"contactId": ids.normalize_user_id(contact_id)}
        )
        return [text for item in result if (text := serialized_id(item))]

    async def set_presence(self, *, available: bool) -> None:
        """Show this account online (available) or not."""
        await self._page_call("setPresence", {"available": available})

    async def set_display_name(self, name: str) -> None:
        """Change the push name others see."""
        if not isinstance(name, str) or not name.strip() or len(name) > 25:
            raise InvalidArgument("name", "expected 1 to 25 characters")
        await self._page_call("setDisplayName", {"name": name})

    async def set_text_status(self, status: str) -> None:
        """Change the "about" text."""
        if not isinstance(status, str) or len(status) > 139:
            raise InvalidArgument("status", "expected at most 139 characters")
        await self._page_call("setTextStatus", {"status": status})
