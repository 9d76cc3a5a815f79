"""What the operation families (chats, messages, groups, contacts) need from the client.

Each family is a mixin of :class:`~.client.WhatsAppWebClient`: it checks its arguments, names them
the way the bridge expects and turns the answer into models. The client supplies the call itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


class PageCalls:
    """A call into the bridge, with the limits the families apply."""

    max_media_bytes: int
    _timing: Timing
    # The address WhatsApp Web is loaded from.
    _url: str

    async def _page_call(
        self,
        operation: str,
        args: dict[str, Any],
        *,
        timeout: float | None = None,
        require_connected: bool = True,
    ) -> Any:
        """The bridge's result for ``operation`` (the client implements it)."""
        raise NotImplementedError
