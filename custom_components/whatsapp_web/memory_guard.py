"""The memory guard: reload WhatsApp Web before Chromium eats the host's memory.

Every few minutes the guard reads the page's JavaScript heap and, for a browser on this machine, the
PSS of all its processes (``client.memory()``). Above a limit it first unloads old messages from the
page (client/message_cache.py; the client also does that by itself every so many messages) and, when
that freed nothing, it waits for a quiet moment (nothing
in the outbox, no event for a few seconds; bounded, so a busy account is still reloaded) and
restarts the browser with the same profile: the session is kept (no QR), events that arrive
meanwhile are caught up from the high-water mark, and sends wait in the outbox.

Default limits, for a 2 GiB Raspberry Pi: Home Assistant with a few integrations holds 300-500 MiB
and the operating system and add-ons another 400-600 MiB, which leaves about 1 GiB. Chromium with
WhatsApp Web holds 250-350 MiB when idle (PSS of every process; benchmarks/README.md). 600 MiB is
about twice that: it is not reached in normal use, and once reached the browser is reloaded well
before the host starts swapping. The page's JavaScript heap alone gets 300 MiB: real WhatsApp Web
idles at 60-150 MiB, and a heap twice that size is growth, not work. A remote browser's processes
are not visible, so only the heap limit applies to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import EVENT_LOGBOOK_ENTRY

from .client import ClientState
from .client.errors import WhatsAppWebError
from .client.memory import MIB, MemoryReading
from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .client import WhatsAppWebClient
    from .outbox import Outbox

_LOGGER = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT_MIB: Final = 600
DEFAULT_HEAP_LIMIT_MIB: Final = 300
#: Seconds between readings; a reading costs a DevTools call and a look at /proc.
CHECK_INTERVAL: Final = 120.0
#: A quiet moment: no event and nothing in the outbox for this long.
QUIET_SECONDS: Final = 5.0
#: How long the guard waits for a quiet moment before it reloads anyway.
MAX_QUIET_WAIT: Final = 300.0


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """The limits in MiB; 0 turns a limit off."""

    browser_mib: float = DEFAULT_MEMORY_LIMIT_MIB
    heap_mib: float = DEFAULT_HEAP_LIMIT_MIB


class MemoryGuard:
    """Watches one account's browser and reloads it above the limits."""

    def __init__(
        self,
        hass: HomeAssistant,
        client: WhatsAppWebClient,
        outbox: Outbox,
        limits: GuardLimits,
        *,
        on_reading: Callable[[], None],
        logbook_name: Callable[[], str],
        logbook_entity: Callable[[], str | None],
    ) -> None:
        """Bind to an account's client and outbox; ``on_reading`` is told of every new reading."""
        self._hass = hass
        self._client = client
        self._outbox = outbox
        self.limits = limits
        self._on_reading = on_reading
        self._logbook_name = logbook_name
        self._logbook_entity = logbook_entity
        self.reading: MemoryReading | None = None
        self.reloads = 0
        self.last_reload: float | None = None
        self.last_reload_reason: str | None = None
        self._last_event = time.monotonic()

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return bool(self.limits.browser_mib or self.limits.heap_mib)

    def note_event(self) -> None:
        """An event came from the page: the account is busy now."""
        self._last_event = time.monotonic()

    def attributes(self) -> dict[str, Any]:
        """The figures for the connection sensor's attributes."""
        reading = self.reading
        browser = None if reading is None else reading.browser_pss_mib
        return {
            "browser_memory_mib": None if browser is None else round(browser, 1),
            "js_heap_mib": None if reading is None else round(reading.js_heap_used_mib, 1),
            "memory_limit_mib": self.limits.browser_mib or None,
            "js_heap_limit_mib": self.limits.heap_mib or None,
            "memory_reloads": self.reloads,
            "messages_unloaded": self._client.message_cache.unloaded_total,
        }

    def over_limit(self, reading: MemoryReading) -> str | None:
        """Why this reading is too much (in words), or None."""
        browser = reading.browser_pss_mib
        if self.limits.browser_mib and browser is not None and browser > self.limits.browser_mib:
            return f"browser memory {browser:.0f} MiB above {self.limits.browser_mib:.0f} MiB"
        heap = reading.js_heap_used / MIB
        if self.limits.heap_mib and heap > self.limits.heap_mib:
            return f"page heap {heap:.0f} MiB above {self.limits.heap_mib:.0f} MiB"
        return None

    async def run(self) -> None:
        """Read, and reload when needed, until cancelled."""
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            await self.check()

    async def check(self) -> bool:
        """One reading; a reload when it is over a limit. True when the browser was reloaded."""
        if not self._connected():
            return False
        try:
            reading = await self._client.memory()
        except WhatsAppWebError as error:
            _LOGGER.debug("Could not read the browser's memory: %s", error)
            return False
        self.reading = reading
        self._on_reading()
        reason = self.over_limit(reading) if self.enabled else None
        if reason is None:
            return False
        if (await self._client.unload_messages()).unloaded:
            # Old messages were the weight: the next reading, after the page's garbage collector
            # ran, decides. A reload costs the account a minute of syncing.
            _LOGGER.debug("Unloaded old messages instead of reloading (%s)", reason)
            return False
        await self._wait_for_quiet()
        if not self._connected():
            return False  # it went away on its own meanwhile: the new page starts fresh anyway
        _LOGGER.info("Reloading WhatsApp Web to free memory: %s", reason)
        self.reloads += 1
        self.last_reload = time.time()
        self.last_reload_reason = reason
        self._hass.bus.async_fire(
            EVENT_LOGBOOK_ENTRY,
            {
                "name": self._logbook_name(),
                "message": f"reloaded WhatsApp Web to free memory ({reason})",
                "domain": DOMAIN,
                "entity_id": self._logbook_entity(),
            },
        )
        await self._client.restart_browser("MEMORY_LIMIT")
        return True

    def _connected(self) -> bool:
        return self._client.state == ClientState.CONNECTED

    async def _wait_for_quiet(self) -> None:
        """Until nothing waits in the outbox and no event came for QUIET_SECONDS (bounded)."""
        deadline = time.monotonic() + MAX_QUIET_WAIT
        while time.monotonic() < deadline:
            quiet_for = time.monotonic() - self._last_event
            if self._outbox.pending == 0 and quiet_for >= QUIET_SECONDS:
                return
            await asyncio.sleep(max(0.5, QUIET_SECONDS - quiet_for))
