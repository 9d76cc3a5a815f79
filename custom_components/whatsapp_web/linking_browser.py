"""The browser a config flow links the phone in: its client, whose it is, and the waits on it.

The flow either starts a client of its own (and stops it again) or, when a loaded entry is linked
again, borrows the entry's client, which it never stops. Progress steps are called again whenever
their task ends and whenever the frontend re-reads the flow, so each wait is one task per thing
waited for: a step that asks again for the same wait gets the same task.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from .client.errors import WhatsAppWebError
from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .client import WhatsAppWebClient


class LinkingBrowser:
    """The config flow's WhatsApp Web client while the phone links."""

    def __init__(self, hass: HomeAssistant) -> None:
        """No client yet."""
        self._hass = hass
        self._client: WhatsAppWebClient | None = None
        self._owned = False
        self._start_deadline = 0.0
        self._wait_task: asyncio.Task[None] | None = None
        self._wait_key: tuple[Any, ...] | None = None

    @property
    def client(self) -> WhatsAppWebClient | None:
        """The client in use, if any."""
        return self._client

    @property
    def owns_client(self) -> bool:
        """Whether the client is the flow's own (stopped on release), not a loaded entry's."""
        return self._client is not None and self._owned

    @property
    def start_remaining(self) -> float:
        """Seconds left for WhatsApp Web to say whether this browser is linked."""
        return self._start_deadline - self._hass.loop.time()

    def require_client(self) -> WhatsAppWebClient:
        """The client; a step reached without one is a caller skipping steps."""
        if self._client is None:
            # Only reachable by a caller that skips steps; the flow has no browser to use.
            raise RuntimeError("the flow has no WhatsApp Web client")
        return self._client

    async def async_start_own(self, client: WhatsAppWebClient, start_timeout: float) -> None:
        """Use (and start) a client of the flow's own, in place of the one before."""
        await self.async_release()
        self._client, self._owned = client, True
        self._start_deadline = self._hass.loop.time() + start_timeout
        await client.start()

    async def async_borrow(self, client: WhatsAppWebClient, start_timeout: float) -> None:
        """Use a loaded entry's running client: it holds the profile, and it is never stopped here."""
        await self.async_release()
        self._client, self._owned = client, False
        self._start_deadline = self._hass.loop.time() + start_timeout

    async def async_unlink(self) -> None:
        """Log the linked device out of the phone (what this flow linked and must not keep)."""
        if self._client is not None:
            with contextlib.suppress(WhatsAppWebError):
                await self._client.logout()

    async def async_release(self) -> None:
        """Stop the flow's own client (never the client of a loaded entry) and any wait."""
        self.cancel_wait()
        client, owned = self._client, self._owned
        self._client, self._owned = None, False
        if client is not None and owned:
            await client.stop()

    def wait(
        self, key: tuple[Any, ...], condition: Callable[[], bool], timeout: float | None
    ) -> asyncio.Task[None]:
        """The progress task for ``key``: the same one while it runs, so a re-entry changes nothing."""
        if self._wait_task is not None and self._wait_key == key and not self._wait_task.done():
            return self._wait_task
        self.cancel_wait()
        self._wait_key = key
        self._wait_task = self._hass.async_create_background_task(
            self._async_wait_until(condition, timeout), f"{DOMAIN} config flow {key[0]}"
        )
        return self._wait_task

    def cancel_wait(self) -> None:
        """Stop waiting (the step moves on, or the flow ends)."""
        if self._wait_task is not None and not self._wait_task.done():
            self._wait_task.cancel()
        self._wait_task = None
        self._wait_key = None

    async def _async_wait_until(self, condition: Callable[[], bool], limit: float | None) -> None:
        """Return when ``condition`` holds after a change of the client, or after ``limit`` seconds."""
        client = self.require_client()
        changed = asyncio.Event()

        def poke(*_: Any) -> None:
            changed.set()

        removers = [
            client.add_state_listener(poke),
            client.add_qr_listener(poke),
            client.add_event_listener(poke),
        ]
        try:
            async with asyncio.timeout(limit):
                while not condition():
                    await changed.wait()
                    changed.clear()
        except TimeoutError:
            pass
        finally:
            for remove in removers:
                remove()
