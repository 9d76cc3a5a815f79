"""The persistent outbox: every send is stored before it is tried, and leaves exactly once, in order.

A send is accepted only once it is on disk: the outbox writes its own file (in Home Assistant's
``.storage``, in the ``Store`` format) and the media bytes beside it, each time to a new file that is
flushed to the disk, renamed over the old one, and followed by a flush of the folder. A write that fails
(disk full, read-only) refuses the send (``outbox_write_failed``, REST 507): it is never reported as
queued when it is not stored.

One worker per account takes the items in order and sends them while the account is connected. Each item
carries a message id chosen before the first try. After a restart every item read from disk is first
looked up in WhatsApp Web (a lost write of the attempt counter must not mean a duplicate), and so is an
item tried before in this run: nothing is sent twice and nothing accepted is lost. A lookup that finds no
chat means "not sent yet". Items older than the configured time are dropped with a
``whatsapp_outbox_expired`` event; items WhatsApp refuses for good are dropped with
``whatsapp_outbox_failed``.

A file that cannot be read in full (corrupt, or items of an unknown shape) does not stop the account: it
is kept aside under a new name, the items that can be read are kept, and a repair issue says how many
sends were lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass, fields
import json
import logging
import os
from pathlib import Path
import shutil
import time
from typing import TYPE_CHECKING, Any, Final
import uuid

from homeassistant.helpers import issue_registry as ir

from .client import ids
from .client.client import SendOptions, new_message_key_id
from .client.errors import (
    BrowserError,
    ChatNotFound,
    NotConnected,
    OperationFailed,
    Timeout,
    WhatsAppWebError,
)
from .client.models import ClientState, MediaFile, Message
from .const import DOMAIN
from .operations.errors import OperationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .client import WhatsAppWebClient

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 1
ISSUE_OUTBOX_DAMAGED: Final = "outbox_damaged"
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
        return SendOptions.from_json({**self.options, "message_key_id": self.key_id})


@dataclass(frozen=True, slots=True)
class Queued:
    """The account is not connected; the send waits in the outbox."""

    outbox_id: str

    def as_json(self) -> dict[str, Any]:
        """What both faces answer for a send that waits."""
        return {"queued": True, "outbox_id": self.outbox_id}


type SendOutcome = Message | Queued


def options_to_store(options: SendOptions) -> dict[str, Any]:
    """SendOptions as JSON for the store (without the message id, which the item keeps)."""
    data = options.as_json()
    data.pop("message_key_id", None)
    return data


def outbox_file(hass: HomeAssistant, entry_id: str) -> Path:
    """Where an account's outbox is stored (the path Home Assistant's ``Store`` used for it)."""
    return Path(hass.config.path(".storage", _storage_key(entry_id)))


def _storage_key(entry_id: str) -> str:
    return f"{DOMAIN}.outbox.{entry_id}"


def _media_directory(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}_outbox", entry_id))


async def async_remove_outbox(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an account's outbox: what waits and its media (the config entry is being removed)."""
    await hass.async_add_executor_job(_remove_file, outbox_file(hass, entry_id))
    await hass.async_add_executor_job(shutil.rmtree, _media_directory(hass, entry_id), True)
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_OUTBOX_DAMAGED}_{entry_id}")


def _remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)


def _write_bytes(fd: int, data: bytes) -> None:
    """Write everything (the one place the outbox's bytes reach the OS; tests make it fail)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, never a mix.

    A new file beside it, flushed to the disk, renamed over the name, then the folder flushed (the
    rename itself is only durable once the folder is). Raises ``OSError``; nothing is left behind.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    file_fd = os.open(temporary, flags, 0o600)
    try:
        try:
            _write_bytes(file_fd, data)
            os.fsync(file_fd)
        finally:
            os.close(file_fd)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)


_ITEM_FIELDS: Final = frozenset(item.name for item in fields(OutboxItem))
_OPTIONAL_TEXT: Final = ("media_mimetype", "media_filename")


def _item_from_json(data: Any) -> OutboxItem | None:
    """A stored item, or None when it cannot be sent as stored (keys it does not know are ignored)."""
    if not isinstance(data, dict):
        return None
    try:
        item = OutboxItem(**{key: value for key, value in data.items() if key in _ITEM_FIELDS})
    except TypeError:
        return None
    valid = (
        isinstance(item.id, str)
        and bool(item.id)
        and isinstance(item.created, int | float)
        and not isinstance(item.created, bool)
        and isinstance(item.chat_id, str)
        and isinstance(item.text, str)
        and isinstance(item.key_id, str)
        and ids.is_message_key_id(item.key_id)
        and isinstance(item.options, dict)
        and isinstance(item.attempts, int)
        and all(isinstance(getattr(item, name), str | None) for name in _OPTIONAL_TEXT)
    )
    if not valid:
        return None
    try:
        ids.normalize_chat_id(item.chat_id)
        item.send_options()
    except (WhatsAppWebError, TypeError, ValueError, AttributeError):
        return None
    return item


@dataclass(frozen=True, slots=True)
class _Loaded:
    """What an outbox file held: the items that can be sent, and what was wrong with the rest."""

    items: list[OutboxItem]
    lost: int = 0
    problem: str | None = None


def _parse_outbox(raw: bytes, key: str) -> _Loaded:
    try:
        document = json.loads(raw)
    except ValueError:
        # Nothing can be trusted; the item count is what the text still shows.
        return _Loaded([], raw.count(b'"key_id"'), "the file is not valid JSON")
    data = document.get("data") if isinstance(document, dict) else None
    stored = data.get("items") if isinstance(data, dict) else None
    if not isinstance(stored, list):
        return _Loaded([], raw.count(b'"key_id"'), "the file has no list of items")
    items = [item for item in map(_item_from_json, stored) if item is not None]
    lost = len(stored) - len(items)
    problems = []
    if lost:
        problems.append(f"{lost} items cannot be sent as stored")
    if document.get("version") != STORAGE_VERSION or document.get("key") != key:
        problems.append("the file has an unknown version or key")
    if any(isinstance(entry, dict) and set(entry) - _ITEM_FIELDS for entry in stored):
        problems.append("items have unknown keys")
    return _Loaded(items, lost, "; ".join(problems) or None)


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
        self._entry_id = entry_id
        self._path = outbox_file(hass, entry_id)
        self._media_dir = _media_directory(hass, entry_id)
        self._items: list[OutboxItem] = []
        # Items read from disk: whether they reached WhatsApp before the restart is not known.
        self._unverified: set[str] = set()
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

    async def async_load(self, account_name: str) -> None:
        """Read what was accepted before a restart; a damaged file is kept aside and reported."""
        loaded, kept_as = await self._hass.async_add_executor_job(self._load_file)
        self._items = loaded.items
        self._unverified = {item.id for item in loaded.items}
        if loaded.problem is None:
            return
        _LOGGER.error(
            "The outbox of WhatsApp account %s could not be read in full (%s): %d waiting sends lost, "
            "%d kept; the file was kept as %s",
            account_name,
            loaded.problem,
            loaded.lost,
            len(loaded.items),
            kept_as,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{ISSUE_OUTBOX_DAMAGED}_{self._entry_id}",
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_OUTBOX_DAMAGED,
            translation_placeholders={
                "account": account_name,
                "lost": str(loaded.lost),
                "kept": str(len(loaded.items)),
                "reason": loaded.problem,
                "file": str(kept_as or self._path),
            },
        )

    def _load_file(self) -> tuple[_Loaded, Path | None]:
        """Read the file (in the executor); a damaged one is renamed aside and the rest written anew."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            loaded = _Loaded([])
        except OSError as error:
            loaded = _Loaded([], 0, f"the file cannot be read: {error.strerror}")
        else:
            loaded = _parse_outbox(raw, _storage_key(self._entry_id))
        kept_as = None
        if loaded.problem is not None:
            kept_as = self._path.with_name(
                f"{self._path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"
            )
            try:
                self._path.replace(kept_as)
                write_durably(self._path, self._payload(loaded.items))
            except OSError as error:
                _LOGGER.error("The damaged outbox file could not be set aside: %s", error.strerror)
        self._remove_orphan_media({item.id for item in loaded.items})
        return loaded, kept_as

    def _remove_orphan_media(self, item_ids: set[str]) -> None:
        """Media files no stored item names: a send refused or lost before it was stored."""
        with contextlib.suppress(FileNotFoundError):
            for path in self._media_dir.iterdir():
                if path.name not in item_ids:
                    path.unlink(missing_ok=True)

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
            self._items.append(item)
            try:
                if media is not None:
                    await self._hass.async_add_executor_job(self._write_media, item.id, media.data)
                await self._save()
            except OSError as error:
                self._items.remove(item)
                if media is not None:
                    await self._hass.async_add_executor_job(self._delete_media, item.id)
                reason = error.strerror or type(error).__name__
                _LOGGER.error(
                    "A WhatsApp send was refused: the outbox cannot be written (%s)", reason
                )
                raise OperationError(
                    "outbox_write_failed",
                    507,
                    f"the send was not accepted: the outbox cannot be written ({reason})",
                    placeholders={"error": reason},
                    caller_mistake=False,
                ) from error
            self._waiters[item.id] = waiter
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
        write_durably(self._media_dir / item_id, data)

    def _read_media(self, item_id: str) -> bytes:
        return (self._media_dir / item_id).read_bytes()

    def _delete_media(self, item_id: str) -> None:
        (self._media_dir / item_id).unlink(missing_ok=True)

    def _payload(self, items: list[OutboxItem]) -> bytes:
        """The file's bytes, in the format of Home Assistant's ``Store`` (which kept it before)."""
        document = {
            "version": STORAGE_VERSION,
            "minor_version": STORAGE_MINOR_VERSION,
            "key": _storage_key(self._entry_id),
            "data": {"items": [asdict(item) for item in items]},
        }
        # ASCII: a lone surrogate in a text (a broken emoji) is escaped instead of failing the write.
        return json.dumps(document, ensure_ascii=True, indent=1).encode()

    async def _save(self) -> None:
        """Store the items as they are now (hold the lock); raises ``OSError``."""
        payload = self._payload(self._items)
        await self._hass.async_add_executor_job(write_durably, self._path, payload)

    async def _save_after_accepting(self) -> None:
        """Store a change of items already accepted; a failure is logged, the items stay as they are.

        The worst a lost write does here is an item tried again after a restart, and that item is
        looked up before it is sent.
        """
        try:
            await self._save()
        except OSError as error:
            _LOGGER.warning("The WhatsApp outbox could not be written: %s", error.strerror)

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
                    await self._save_after_accepting()
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
            if item.attempts or item.id in self._unverified:
                existing = await self._already_sent(item)
                if existing is not None:
                    _LOGGER.debug("Outbox item %s had already been sent", item.id)
                    return existing
                self._unverified.discard(item.id)
            item.attempts += 1
            async with self._lock:
                await self._save_after_accepting()
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

    async def _already_sent(self, item: OutboxItem) -> Message | None:
        """The item's message if WhatsApp has it; no chat at all means it was not sent.

        The bridge looks in the chat named and in the same person's other chat (phone number or LID).
        """
        try:
            return await self._client.find_message(item.chat_id, item.key_id, from_me=True)
        except ChatNotFound:
            return None

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
                self._unverified.discard(item.id)
            await self._save_after_accepting()
        for item in expired:
            if item.media_mimetype is not None:
                await self._hass.async_add_executor_job(self._delete_media, item.id)
            waiter = self._waiters.pop(item.id, None)
            if waiter and not waiter.done():
                waiter.set_exception(NotConnected("expired in the outbox"))
            self._on_dropped("expired", item, None)
