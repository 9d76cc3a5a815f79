"""How an operation calls the bridge: the client's state checked, the page's answer or error.

Each operation family (chats, messages, groups, contacts, linking) is a mixin of
:class:`~.client.WhatsAppWebClient`: it checks its arguments, names them the way the bridge expects
and turns the answer into models. The call itself is here, over the client's state and page session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import NotConnected, WhatsAppWebChanged
from .models import CapabilityMissing, ClientState

if TYPE_CHECKING:
    from .capabilities import Capabilities
    from .listeners import Listeners
    from .page_session import PageSession


@dataclass(slots=True)
class Timing:
    """Timeouts and pacing; tests shorten them."""

    call_timeout: float = 30.0
    navigation_timeout: float = 60.0
    watchdog_interval: float = 30.0
    watchdog_timeout: float = 15.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    takeover_delay: float = 5.0
    cursor_save_delay: float = 1.0

    def backoff(self, failed_attempts: int) -> float:
        """Seconds before the next browser start after ``failed_attempts`` in a row."""
        return min(self.backoff_max, self.backoff_initial * 2.0 ** min(failed_attempts, 16))


class PageCalls:
    """A call into the bridge, with the limits the families apply; the client sets the fields."""

    max_media_bytes: int
    _timing: Timing
    # The address WhatsApp Web is loaded from.
    _url: str
    _state: ClientState
    _session: PageSession | None
    _capabilities: Capabilities
    _listeners: Listeners

    def _require_session(self) -> PageSession:
        session = self._session
        if session is None:
            raise NotConnected(self._state.value)
        return session

    async def _page_call(
        self,
        operation: str,
        args: dict[str, Any],
        *,
        timeout: float | None = None,
        require_connected: bool = True,
    ) -> Any:
        """The bridge's result for ``operation``; without the connection, the state's error."""
        if require_connected and self._state != ClientState.CONNECTED:
            raise self._state.not_connected()
        session = self._require_session()
        try:
            return await session.call(operation, args, timeout or self._timing.call_timeout)
        except WhatsAppWebChanged as failure:
            self._capabilities.report_missing(operation, failure.missing)
            self._listeners.emit(CapabilityMissing(operation, failure.missing))
            raise
