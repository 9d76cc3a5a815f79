"""The persistent outbox: every send is stored before it is tried, and leaves exactly once, in order.

A send is accepted only once it is on disk (a Home Assistant ``Store``; media bytes in files beside it).
One worker per account takes the items in order and sends them while the account is connected. Each item
carries a message id chosen before the first try, so after a crash, a browser restart or a timeout the
worker asks WhatsApp Web whether that message already exists before sending it again: nothing is sent
twice and nothing accepted is lost. Items older than the configured time are dropped with a
``whatsapp_outbox_expired`` event; items WhatsApp refuses for good are dropped with
``whatsapp_outbox_failed``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
import logging
from pathlib import Path
import shutil
import time
from typing import TYPE_CHECKING, Any, Final
import uuid

from homeassistant.helpers.storage import Store

from .client.client import SendOptions, new_message_key_id
from .client.errors import BrowserError, NotConnected, OperationFailed, Timeout, WhatsAppWebError
from .client.media import StickerMetadata
from .client.models import ClientState, MediaFile, Message
from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .client import WhatsAppWebClient

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION: Final = 1
# Errors after which trying again later may work; anything else drops the item.
_TRANSIENT: Final = (NotConnected, Timeout, BrowserError)


@dataclass(slots=True)
class OutboxItem:
    """One accepted send, as stored."""

    id: str
    created: float
    chat_id: str
    text: str
    key_id: str
    options: dict[str, Any]
    media_mimetype: str | None = None
    media_filename: str | None = None
    attempts: int = 0

    def send_options(self) -> SendOptions:
        """The client's options for this item."""
        options = dict(self.options)
        sticker = options.pop("sticker", None)
        options["mentions"] = tuple(options.get("mentions", ()))
        return SendOptions(
            **options,
            sticker=StickerMetadata(
                pack_name=sticker.get("pack_name"),
                publisher=sticker.get("publisher"),
                emojis=tuple(sticker.get("emojis", ())),
            )
            if sticker
            else None,
            message_key_id=self.key_id,
        )


@dataclass(frozen=True, slots=True)
class Queued:
    """The account is not connected; the send waits in the outbox."""

    outbox_id: str


type SendOutcome = Message | Queued


def options_to_store(options: SendOptions) -> dict[str, Any]:
    """SendOptions as JSON for the store (without the message id, which the item keeps)."""
    data = asdict(options)
    data.pop("message_key_id", None)
    data["mentions"] = list(options.mentions)
    if options.sticker is not None:
        data["sticker"] = {
            "pack_name": options.sticker.pack_name,
            "publisher": options.sticker.publisher,
            "emojis": list(options.sticker.emojis),
        }
    return data


def _outbox_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(
        hass, STORAGE_VERSION, f"{DOMAIN}.outbox.{entry_id}", private=True, atomic_writes=True
    )


def _media_directory(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}_outbox", entry_id))


async def async_remove_outbox(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an account's outbox: what waits and its media (the config entry is being removed)."""
    await _outbox_store(hass, entry_id).async_remove()
    await hass.async_add_executor_job(shutil.rmtree, _media_directory(hass, entry_id), True)


class Outbox:
    """The outbox of one account."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        client: WhatsAppWebClient,
        *,
        ttl_seconds: float,
        on_dropped: Callable[[str, OutboxItem, str | None], None],
    ) -> None:
        """Bind to an account; call ``async_load`` before use."""
        self._hass = hass
        self._client = client
        self.ttl_seconds = ttl_seconds
        self._on_dropped = on_dropped
        self._store = _outbox_store(hass, entry_id)
        self._media_dir = _media_directory(hass, entry_id)
        self._items: list[OutboxItem] = []
        self._waiters: dict[str, asyncio.Future[Message]] = {}
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        """How many sends wait."""
        return len(self._items)

    def snapshot(self) -> list[dict[str, Any]]:
        """The waiting items without their content (for diagnostics)."""
        return [
            {
                "id": item.id,
                "created": item.created,
                "attempts": item.attempts,
                "has_media": item.media_mimetype is not None,
            }
            for item in self._items
        ]

    async def async_load(self) -> None:
        """Read what was accepted before a restart."""
        stored = await self._store.async_load()
        self._items = [OutboxItem(**item) for item in (stored or {}).get("items", [])]

    def start(self, create_task: Callable[..., asyncio.Task[None]]) -> None:
        """Start the worker (a task the config entry owns)."""
        self._worker = create_task(self._work(), f"{DOMAIN} outbox")

    def wake(self) -> None:
        """The client's state changed: look at the queue again."""
        self._wake.set()

    async def send(
        self,
        chat_id: str,
        text: str,
        *,
        media: MediaFile | None,
        options: SendOptions,
        fail_fast: bool,
        wait_seconds: float,
    ) -> SendOutcome:
        """Accept a send; return the sent message, or Queued when it must wait for the account."""
        if fail_fast and self._client.state != ClientState.CONNECTED:
            raise NotConnected(self._client.state.value)
        item = OutboxItem(
            id=uuid.uuid4().hex,
            created=time.time(),
            chat_id=chat_id,
            text=text,
            key_id=new_message_key_id(),
            options=options_to_store(options),
            media_mimetype=media.mimetype if media else None,
            media_filename=media.filename if media else None,
        )
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        async with self._lock:
            if media is not None:
                await self._hass.async_add_executor_job(self._write_media, item.id, media.data)
            self._items.append(item)
            self._waiters[item.id] = waiter
            await self._save()
        self._wake.set()
        try:
            async with asyncio.timeout(wait_seconds):
                return await asyncio.shield(waiter)
        except TimeoutError:
            if fail_fast:
                # The caller asked not to wait; the send stays accepted and will still leave.
                raise NotConnected(self._client.state.value) from None
            return Queued(item.id)
        finally:
            # Nobody waits any more: a later failure is reported with an event instead.
            self._waiters.pop(item.id, None)

    # -----------------------------------------------------------------------------------------

    def _write_media(self, item_id: str, data: bytes) -> None:
        self._media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._media_dir / item_id
        temporary = path.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(path)

    def _read_media(self, item_id: str) -> bytes:
        return (self._media_dir / item_id).read_bytes()

    def _delete_media(self, item_id: str) -> None:
        (self._media_dir / item_id).unlink(missing_ok=True)

    async def _save(self) -> None:
        await self._store.async_save({"items": [asdict(item) for item in self._items]})

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._drop_expired()
            while self._items and self._client.state == ClientState.CONNECTED:
                item = self._items[0]
                outcome = await self._deliver(item)
                if outcome is None:
                    # A transient failure: wait for the next state change, then try again.
                    await asyncio.sleep(1)
                    break
                async with self._lock:
                    self._items.remove(item)
                    await self._save()
                if item.media_mimetype is not None:
                    await self._hass.async_add_executor_job(self._delete_media, item.id)
                waiter = self._waiters.pop(item.id, None)
                if isinstance(outcome, Message):
                    if waiter and not waiter.done():
                        waiter.set_result(outcome)
                elif waiter and not waiter.done():
                    waiter.set_exception(outcome)
                else:
                    self._on_dropped("failed", item, getattr(outcome, "code", "error"))
                await self._drop_expired()
            if self._items and self._client.state == ClientState.CONNECTED:
                self._wake.set()

    async def _deliver(self, item: OutboxItem) -> Message | WhatsAppWebError | None:
        """Send one item: the message, a permanent error, or None to retry later."""
        try:
            if item.attempts:
                existing = await self._client.find_message(item.chat_id, item.key_id, from_me=True)
                if existing is not None:
                    _LOGGER.debug("Outbox item %s had already been sent", item.id)
                    return existing
            item.attempts += 1
            async with self._lock:
                await self._save()
            media = None
            if item.media_mimetype is not None:
                data = await self._hass.async_add_executor_job(self._read_media, item.id)
                media = MediaFile(
                    data=data, mimetype=item.media_mimetype, filename=item.media_filename
                )
            return await self._client.send_message(
                item.chat_id, item.text or None, media=media, options=item.send_options()
            )
        except _TRANSIENT as error:
            _LOGGER.info("Sending from the outbox paused: %s", error)
            return None
        except WhatsAppWebError as error:
            _LOGGER.warning("WhatsApp refused a send from the outbox: %s", error)
            return error
        except FileNotFoundError:
            return OperationFailed("send_message", "the stored media of this send is gone")

    async def _drop_expired(self) -> None:
        if not self._items:
            return
        limit = time.time() - self.ttl_seconds
        expired = [item for item in self._items if item.created < limit]
        if not expired:
            return
        async with self._lock:
            for item in expired:
                self._items.remove(item)
            await self._save()
        for item in expired:
            if item.media_mimetype is not None:
                await self._hass.async_add_executor_job(self._delete_media, item.id)
            waiter = self._waiters.pop(item.id, None)
            if waiter and not waiter.done():
                waiter.set_exception(NotConnected("expired in the outbox"))
            self._on_dropped("expired", item, None)
