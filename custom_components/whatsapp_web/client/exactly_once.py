"""Message events exactly once: the ids already handed over and the high-water mark.

The page reports a message live, again in the catch-up after a restart, and sometimes twice in one
document; listeners get it once. The mark (the newest handled timestamp and the latest ids) survives
restarts through the caller's store, saved at most about once a second. After a restart the
catch-up asks the page for what arrived since shortly before the mark.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import logging
import time
from typing import Any, Final, Protocol

from .errors import WhatsAppWebError
from .models import (
    GROUP_NOTIFICATION_KINDS,
    ClientEvent,
    GroupChanged,
    GroupNotification,
    Message,
    MessageReceived,
    MessageSent,
    serialized_id,
)

_LOGGER = logging.getLogger(__name__)

_SEEN_IDS_KEPT: Final = 5000
# Messages older than this before the newest one handled are not looked for again after a restart.
_CATCH_UP_WINDOW: Final = 300
_CATCH_UP_LIMIT: Final = 2000

#: Asks the page for the messages since a time (seconds), at most a number of them.
type MessagesSince = Callable[[int, int], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class EventCursor:
    """The high-water mark of message events: what was already handed to listeners."""

    timestamp: int
    recent_ids: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """For the caller's storage."""
        return {"timestamp": self.timestamp, "recent_ids": list(self.recent_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventCursor:
        """Back from the caller's storage."""
        return cls(
            timestamp=int(data["timestamp"]),
            recent_ids=tuple(str(item) for item in data["recent_ids"]),
        )


class EventCursorStore(Protocol):
    """Where the caller keeps the high-water mark across restarts."""

    async def load(self) -> EventCursor | None:
        """The saved cursor, or None on first start."""

    async def save(self, cursor: EventCursor) -> None:
        """Keep the cursor (called at most about once a second)."""


class DeliveryLedger:
    """Which message events were handed to listeners, kept in the caller's store."""

    def __init__(self, store: EventCursorStore | None, *, save_delay: float) -> None:
        """Empty until ``load()``; without a store nothing outlives the client."""
        self._store = store
        self.save_delay = save_delay
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._timestamp: int | None = None
        self._loaded = False
        self._dirty = False
        self._save_task: asyncio.Task[None] | None = None

    @property
    def timestamp(self) -> int | None:
        """The newest message time handed over (None before the first one, on first start)."""
        return self._timestamp

    async def load(self) -> None:
        """Read the saved mark, once."""
        if self._loaded or self._store is None:
            return
        self._loaded = True
        cursor = await self._store.load()
        if cursor is not None:
            self._timestamp = cursor.timestamp
            for message_id in cursor.recent_ids:
                self._seen[message_id] = cursor.timestamp

    def first_time(self, message: Message) -> bool:
        """Whether ``message`` is new; a new one is remembered and the mark moves."""
        message_id = message.id
        if message_id in self._seen:
            return False
        self._seen[message_id] = message.timestamp
        while len(self._seen) > _SEEN_IDS_KEPT:
            self._seen.popitem(last=False)
        if self._timestamp is None or message.timestamp > self._timestamp:
            self._timestamp = message.timestamp
        self.schedule_save()
        return True

    def start_now(self) -> None:
        """With no mark yet, start at the present: nothing older is looked for."""
        if self._timestamp is None:
            self._timestamp = int(time.time())

    def schedule_save(self) -> None:
        """Save the mark soon; changes until then go in the same save."""
        self._dirty = True
        if self._store is None or (self._save_task and not self._save_task.done()):
            return
        self._save_task = asyncio.create_task(self._save_later(), name="whatsapp_web cursor")

    async def close(self) -> None:
        """Save what is not saved yet, now."""
        if self._save_task is not None:
            self._save_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._save_task
            self._save_task = None
        await self._save()

    async def _save_later(self) -> None:
        await asyncio.sleep(self.save_delay)
        await self._save()

    async def _save(self) -> None:
        if self._store is None or not self._dirty or self._timestamp is None:
            return
        self._dirty = False
        cursor = EventCursor(timestamp=self._timestamp, recent_ids=tuple(self._seen))
        try:
            await self._store.save(cursor)
        except Exception:
            self._dirty = True
            _LOGGER.exception("Could not save the message high-water mark")


class MessageEvents:
    """The page's message and group-notification events, each handed to ``emit`` once."""

    def __init__(self, ledger: DeliveryLedger, emit: Callable[[ClientEvent], None]) -> None:
        """Events go to ``emit`` when ``ledger`` has not seen their message yet."""
        self._ledger = ledger
        self._emit = emit

    def from_page(self, item: dict[str, Any], *, group_notification: bool, offline: bool) -> None:
        """One message the page reported, live or in a catch-up."""
        message = Message.from_page(item["message"])
        if not self._ledger.first_time(message):
            return
        if group_notification:
            notification = GroupNotification(message)
            kind = GROUP_NOTIFICATION_KINDS.get(notification.type, "update")
            self._emit(GroupChanged(kind, notification, offline))
        elif message.from_me:
            self._emit(MessageSent(message, offline))
        else:
            alternate_id = serialized_id(item.get("senderAlternateId")) or None
            self._emit(MessageReceived(message, offline, alternate_id))

    async def catch_up(self, messages_since: MessagesSince) -> None:
        """After a (re)start, hand over what arrived while the client was away, once."""
        newest = self._ledger.timestamp
        if newest is None:
            self._ledger.start_now()
            self._ledger.schedule_save()
            return
        try:
            found = await messages_since(newest - _CATCH_UP_WINDOW, _CATCH_UP_LIMIT)
        except WhatsAppWebError as error:
            _LOGGER.warning("Could not look for messages that arrived while away: %s", error)
            return
        for item in found if isinstance(found, list) else []:
            self.from_page(
                item,
                group_notification=item.get("kind") == "group_notification",
                # The page knows which messages it saw arrive live; the rest arrived while away.
                offline=bool(item.get("offline", True)),
            )
