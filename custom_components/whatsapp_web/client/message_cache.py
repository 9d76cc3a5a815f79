"""Keep the messages WhatsApp Web holds in memory bounded, so a page can run for weeks.

WhatsApp Web keeps every message it loaded or received in its ``Msg`` collection and in its chat's
``msgs`` until the page is reloaded, so the page's heap grows with traffic (docs/whatsapp-web-surface.md
§4.10). It does not need them there: an older page of a chat comes back through ``loadEarlierMsgs``
and one message through ``Msg.getMessagesById``, which every operation of this client already uses
for a message that is not loaded.

So after every ``every_messages`` message events the client asks the bridge to unload what nobody
needs in memory. Always kept:

- the ``keep_newest`` newest messages of the account (an edit, revoke or reaction of a recent message
  still reports its text);
- our own messages not yet read, for ``own_unread_hours``, at most ``own_unread_max`` of them: their
  delivered and read receipts only reach a loaded message;
- every chat's newest message and newest real message (the chat list's preview), and every message
  of the chat open in the page;
- messages still waiting to be decrypted.

Nothing is unloaded while fewer than ``min_unload`` could go, so a quiet account is left alone for
days, and at most ``max_unload`` go per call, oldest first (the client calls again while more are
due). The price, written down: WhatsApp Web reports an edit, a revoke or a receipt only for a loaded
message, so one of those for an old unloaded message arrives without an event (a reaction or a poll
vote still does, with its parent fetched by id). The catch-up after a restart is not affected: the
client unloads only while it is connected, when every message has already been handed over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import logging
import time
from typing import Any, Final

from .errors import WhatsAppWebError

_LOGGER = logging.getLogger(__name__)

#: A call into the bridge: the operation's name and its arguments.
type BridgeCall = Callable[[str, dict[str, Any]], Awaitable[Any]]

#: Calls in one round while the bridge says more are due; the next message events start another.
_MAX_CALLS_PER_ROUND: Final = 20


@dataclass(frozen=True, slots=True)
class MessageCacheLimits:
    """What stays loaded; ``every_messages`` 0 turns unloading off."""

    every_messages: int = 1000
    keep_newest: int = 1000
    own_unread_hours: float = 24.0
    own_unread_max: int = 500
    min_unload: int = 500
    max_unload: int = 2000


@dataclass(frozen=True, slots=True)
class UnloadResult:
    """One round: how many messages went, and how many are loaded now."""

    unloaded: int
    loaded: int


class MessageCache:
    """Counts message events and unloads old messages from the page every so many of them."""

    def __init__(self, limits: MessageCacheLimits) -> None:
        """Nothing happens before ``note_message`` says a round is due."""
        self.limits = limits
        self._since_last_round = 0
        self._running = False
        self.unloaded_total = 0
        self.last: UnloadResult | None = None

    def note_message(self) -> bool:
        """A message event came; True when a round is due now (the caller runs ``unload``)."""
        every = self.limits.every_messages
        if every <= 0:
            return False
        self._since_last_round += 1
        if self._running or self._since_last_round < every:
            return False
        self._since_last_round = 0
        return True

    async def unload(self, call: BridgeCall) -> UnloadResult:
        """One round of unloading, in bounded calls; errors are logged, never raised."""
        if self._running:
            return self.last or UnloadResult(0, 0)
        self._running = True
        limits = self.limits
        arguments = {
            "keepNewest": limits.keep_newest,
            "ownUnreadSince": int(time.time() - limits.own_unread_hours * 3600),
            "ownUnreadMax": limits.own_unread_max,
            "minUnload": limits.min_unload,
            "maxUnload": limits.max_unload,
        }
        unloaded = 0
        loaded = 0
        try:
            for _ in range(_MAX_CALLS_PER_ROUND):
                answer = await call("unloadMessages", arguments)
                if not isinstance(answer, dict):
                    break
                unloaded += int(answer.get("unloaded", 0))
                loaded = int(answer.get("loaded", 0))
                if not answer.get("more"):
                    break
        except WhatsAppWebError as error:
            _LOGGER.debug("Could not unload old messages from WhatsApp Web: %s", error)
        finally:
            self._running = False
        self.unloaded_total += unloaded
        self.last = UnloadResult(unloaded, loaded)
        if unloaded:
            _LOGGER.debug("Unloaded %d old messages; %d stay loaded", unloaded, loaded)
        return self.last
