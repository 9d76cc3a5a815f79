"""Contacts and the linked account itself (presence, name, about text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from yarl import URL

from . import ids
from .errors import InvalidArgument, OperationFailed, ProfilePictureNotFound
from .media import media_from_url
from .models import Contact, MediaFile, as_json_object, serialized_id
from .page_calls import PageCalls

if TYPE_CHECKING:
    import aiohttp

# Profile pictures are small JPEGs (640 px); anything far larger is not one.
PROFILE_PICTURE_MAX_BYTES: Final = 5 * 1024 * 1024


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

    async def profile_picture_url(self, contact_id: str) -> str | None:
        """The URL of a contact's or group's profile picture, or None when it shows none."""
        result = as_json_object(
            await self._page_call(
                "profilePictureUrl", {"contactId": ids.normalize_chat_id(contact_id)}
            )
        )
        url = result.get("url")
        return url if isinstance(url, str) and url else None

    async def get_profile_picture(
        self, contact_id: str, session: aiohttp.ClientSession, *, timeout: float = 15.0
    ) -> MediaFile:
        """A contact's or group's profile picture, fetched from WhatsApp's picture server."""
        url = await self.profile_picture_url(contact_id)
        if url is None:
            raise ProfilePictureNotFound(contact_id)
        if not self._is_picture_server(URL(url)):
            # The page names the URL: fetch only from WhatsApp's servers, never elsewhere.
            raise OperationFailed("get_profile_picture", "the picture is not on WhatsApp's servers")
        return await media_from_url(
            session,
            url,
            max_bytes=min(self.max_media_bytes, PROFILE_PICTURE_MAX_BYTES),
            timeout=timeout,
        )

    def _is_picture_server(self, url: URL) -> bool:
        """WhatsApp's picture servers (https, ``*.whatsapp.net``), or the origin WhatsApp Web came from."""
        host = (url.host or "").lower()
        if url.scheme == "https" and (host == "whatsapp.net" or host.endswith(".whatsapp.net")):
            return True
        return url.origin() == URL(self._url).origin()
