"""Per-account rate limits on what WhatsApp watches for abuse: sends and "is this number on WhatsApp?".

WhatsApp publishes no limits for personal accounts. What it acts on is known from its terms and from
people automating WhatsApp Web: bulk or automated messages (above all to people who never saved the
number), and long runs of number checks, which is how contact lists are scraped; both get accounts
banned, and a ban of a personal number cannot be appealed from Home Assistant. The one figure WhatsApp
does publish is for its Business Platform, whose new numbers may start 250 business-initiated
conversations in a rolling 24 hours.

A home sends to a few chats that know the number: a doorbell, an alarm, a reminder, a few to a few
dozen messages a day, in bursts (an alarm to five people, repeated). The defaults are

- **60 sends an hour**: one a minute on average, room for any such burst, while a runaway automation
  (a loop, a flapping sensor) stops after 60 messages instead of sending thousands;
- **20 number checks an hour**: a person checks a number now and then (before adding a recipient);
  scraping needs hundreds.

Both are per account, shared by every caller (automations, scripts, services, the REST mirror, notify
entities): the limit protects the account, not a user's share of it. A window is one hour, sliding:
each counted call frees its place an hour after it was made. Sends count when they are accepted,
queued in the outbox included; a call that fails before WhatsApp could act on it (the caller's mistake,
an account that is not connected) gives its place back. Counts start again when the account is
reloaded (an options change, a restart).
"""

from __future__ import annotations

from collections import deque
import math
from typing import TYPE_CHECKING, Final

from homeassistant.core import HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import RATE_LIMIT_WINDOW_SECONDS

if TYPE_CHECKING:
    from datetime import datetime

    from homeassistant.core import CALLBACK_TYPE

# The kinds of limit, also the prefix of their error's translation key (``send_rate_limited``).
SENDS: Final = "send"
LOOKUPS: Final = "lookup"
_NOUNS: Final = {SENDS: "sends", LOOKUPS: "number checks"}


class RateLimitExceeded(Exception):
    """The account's limit for this kind of call is used up for now."""

    def __init__(self, kind: str, limit: int, retry_after: int) -> None:
        """``retry_after``: whole seconds until a place frees up."""
        super().__init__(
            f"this account's limit of {limit} {_NOUNS[kind]} an hour is used up; "
            f"try again in {retry_after} s"
        )
        self.kind = kind
        self.limit = limit
        self.retry_after = retry_after
        # The translation key and REST error code, as the client's errors carry theirs.
        self.code = f"{kind}_rate_limited"


class RateLimiter:
    """At most ``limit`` calls in any ``window`` seconds; the places taken expire by Home Assistant timers.

    Timers (not clock reads) free the places, so tests move time with the harness's
    ``async_fire_time_changed``.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        kind: str,
        limit: int,
        window: float = RATE_LIMIT_WINDOW_SECONDS,
    ) -> None:
        """Build an empty limiter; ``close`` it when the account stops."""
        self._hass = hass
        self.kind = kind
        self.limit = limit
        self.window = window
        # Oldest first: when each place frees up (loop time) and the timer that frees it.
        self._taken: deque[_Place] = deque()
        self._expire_job = HassJob(
            self._expire_oldest, f"{kind} rate limit", cancel_on_shutdown=True
        )

    @property
    def used(self) -> int:
        """How many places are taken now."""
        return len(self._taken)

    def take(self) -> _Place:
        """Take a place, or raise ``RateLimitExceeded`` with the seconds until one frees up."""
        now = self._hass.loop.time()
        if len(self._taken) >= self.limit:
            retry_after = max(1, math.ceil(self._taken[0].frees_at - now))
            raise RateLimitExceeded(self.kind, self.limit, retry_after)
        place = _Place(self, now + self.window)
        place.cancel_timer = async_call_later(self._hass, self.window, self._expire_job)
        self._taken.append(place)
        return place

    @callback
    def _expire_oldest(self, _now: datetime) -> None:
        # Every place lives exactly one window, so timers fire in the order the places were taken.
        if self._taken:
            self._taken.popleft()

    def give_back(self, place: _Place) -> None:
        """Free a place at once: the call it counted did not reach WhatsApp."""
        if place in self._taken:
            self._taken.remove(place)
            place.cancel_timer()

    def close(self) -> None:
        """Cancel every timer (the account stops)."""
        for place in self._taken:
            place.cancel_timer()
        self._taken.clear()


class _Place:
    """One counted call."""

    __slots__ = ("cancel_timer", "frees_at", "limiter")

    def __init__(self, limiter: RateLimiter, frees_at: float) -> None:
        self.limiter = limiter
        self.frees_at = frees_at
        self.cancel_timer: CALLBACK_TYPE = _nothing

    def give_back(self) -> None:
        """Free this place at once."""
        self.limiter.give_back(self)


def _nothing() -> None:
    """A timer that was never started cancels nothing."""
