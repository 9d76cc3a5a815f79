"""Linking this device: QR codes as they rotate, a pairing code instead, a fresh page, unlinking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ids
from .drivers.base import DriverError
from .errors import BrowserError, PairingError
from .models import as_json_object
from .page_calls import PageCalls

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator


class LinkingCalls(PageCalls):
    """Linking and unlinking the account's device."""

    # The QR string WhatsApp Web shows now (the client's state machine keeps it).
    _qr: str | None

    def qr_codes(self) -> AsyncGenerator[str]:
        """Yield each QR string as WhatsApp Web rotates it, until the device is linked."""
        return self._listeners.qr_codes(lambda: self._qr)

    async def reload(self) -> None:
        """Load WhatsApp Web again, e.g. for a fresh QR code after it went idle."""
        session = self._require_session()
        self._qr = None
        try:
            await session.driver.navigate(self._url, timeout=self._timing.navigation_timeout)
        except DriverError as error:
            raise BrowserError(f"could not reload WhatsApp Web: {error}") from error

    async def request_pairing_code(self, phone_number: str) -> str:
        """Ask WhatsApp Web for the 8-character code to type on the phone (instead of the QR)."""
        digits = ids.normalize_phone_number(phone_number)
        if not self._state.unlinked:
            raise PairingError(f"pairing needs an unlinked device (state: {self._state.value})")
        result = await self._page_call(
            "requestPairingCode", {"phoneNumber": digits}, require_connected=False
        )
        code = as_json_object(result).get("code")
        if not isinstance(code, str) or not code:
            raise PairingError("WhatsApp Web gave no pairing code")
        return code

    async def logout(self) -> None:
        """Unlink this device from the phone."""
        await self._page_call("logout", {})
