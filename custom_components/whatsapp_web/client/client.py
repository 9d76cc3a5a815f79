"""WhatsAppWebClient: one linked WhatsApp account, driven through a real Chromium page.

The client owns a supervisor task that launches (or connects to) the browser through a driver, opens
WhatsApp Web with the bridge installed, and keeps it alive: a crashed browser, a closed page or a page
that stops answering the watchdog is replaced, with exponential backoff, and the saved session resumes
from the browser profile without a new QR code. Everything the page reports arrives through one
ordered queue; operations are calls into the bridge with JSON arguments and a timeout each.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
import contextlib
from dataclasses import asdict, dataclass, field
import json
import logging
from pathlib import Path
import re
import secrets
import time
from typing import Any, Final, Protocol

from . import ids
from .drivers.base import (
    BrowserDriver,
    DisconnectReason,
    DriverClosed,
    DriverError,
    DriverTimeout,
    PageError,
)
from .errors import (
    BrowserError,
    ChatNotFound,
    ContactNotFound,
    GroupNotFound,
    InvalidArgument,
    MediaNotFound,
    MediaTooLarge,
    MessageNotFound,
    NotConnected,
    NotFound,
    OperationFailed,
    PairingError,
    Timeout,
    WhatsAppWebChanged,
    WhatsAppWebError,
)
from .media import (
    DEFAULT_MAX_MEDIA_BYTES,
    StickerMetadata,
    read_sticker_metadata,
    with_sticker_metadata,
)
from .memory import MemoryReading, processes_pss
from .models import (
    GROUP_NOTIFICATION_KINDS,
    Authenticated,
    Call,
    CapabilitiesProbed,
    CapabilityMissing,
    Chat,
    ClientEvent,
    ClientState,
    Contact,
    Disconnected,
    GroupChanged,
    GroupCreated,
    GroupNotification,
    IncomingCall,
    Me,
    MediaFile,
    Message,
    MessageAcknowledged,
    MessageReaction,
    MessageReceived,
    MessageRevokedForEveryone,
    MessageRevokedForMe,
    MessageSent,
    MuteState,
    Reaction,
    StateChanged,
    as_json_object,
    serialized_id,
    transfer_allowance,
)
from .page_json import parse_page_json

_LOGGER = logging.getLogger(__name__)

WHATSAPP_WEB_URL: Final = "https://web.whatsapp.com/"
BRIDGE_SOURCE: Final = (Path(__file__).parent / "bridge.js").read_text(encoding="utf-8")
# Where bridge.js expects the binding's name, written as a JavaScript string.
_BINDING_NAME_SLOT: Final = "'__BINDING_NAME__'"
# The answer crosses as JSON text: drivers convert big object graphs (5,000 chats) much more slowly
# than a string, and JSON.stringify in the page is fast. A long answer comes as {handle, parts}.
_CALL_FUNCTION: Final = "(op, args) => globalThis.__whatsappWebBridge.callEncoded(op, args)"
_ANSWER_PART_FUNCTION: Final = (
    "(handle, index) => globalThis.__whatsappWebBridge.answerPart(handle, index)"
)
# Parts of a long answer asked for at once: enough to keep the browser busy serialising one while
# the socket carries another, few enough not to queue behind everything else the page does.
_ANSWER_PARTS_AT_ONCE: Final = 8
_PING_FUNCTION: Final = "() => typeof globalThis.__whatsappWebBridge === 'object'"
_MEDIA_CHUNK: Final = 1024 * 1024
_KEY_ID: Final = re.compile(r"[0-9A-F]{16,32}")
_SEEN_IDS_KEPT: Final = 5000
# Messages older than this before the newest one handled are not looked for again after a restart.
_CATCH_UP_WINDOW: Final = 300
_CATCH_UP_LIMIT: Final = 2000

# WhatsApp Web's Socket states (docs/whatsapp-web-surface.md §2.1), grouped by what they mean here.
_LINKING_STATES: Final = frozenset({"OPENING", "UNLAUNCHED", "PAIRING"})
_UNPAIRED_STATES: Final = frozenset({"UNPAIRED", "UNPAIRED_IDLE"})
_RECOVERING_STATES: Final = frozenset({"TIMEOUT", "OPENING", "PAIRING", "CONFLICT"})
_BLOCKED_STATES: Final = frozenset(
    {"DEPRECATED_VERSION", "TOS_BLOCK", "SMB_TOS_BLOCK", "PROXYBLOCK"}
)

type EventListener = Callable[[ClientEvent], None]
type StateListener = Callable[[ClientState], None]
type QrListener = Callable[[str | None], None]
type DriverFactory = Callable[[], BrowserDriver]


def _subscribe[T](
    listeners: list[Callable[[T], None]], listener: Callable[[T], None]
) -> Callable[[], None]:
    """Add ``listener``; the function returned removes it (once, whenever called)."""
    listeners.append(listener)
    return lambda: listeners.remove(listener) if listener in listeners else None


def _call_each[T](
    listeners: list[Callable[[T], None]], value: T, failure: str, *failure_args: object
) -> None:
    """Hand ``value`` to every listener; one that raises is logged and the others still run."""
    for listener in list(listeners):
        try:
            listener(value)
        except Exception:
            _LOGGER.exception(failure, *failure_args)


def _optional_id(value: Any) -> str | None:
    """An id the page may leave out: a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _parse_answer(encoded: Any) -> Any:
    """The page's answer from its JSON text; ``None`` for anything else."""
    if not isinstance(encoded, str):
        return None
    try:
        return parse_page_json(encoded)
    except ValueError:
        return None


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


def new_binding_name() -> str:
    """A binding name no page script can guess."""
    return f"__{secrets.token_hex(16)}"


def bridge_script(binding_name: str) -> str:
    """bridge.js for a page whose binding is ``binding_name`` (our own random name, not user data)."""
    if BRIDGE_SOURCE.count(_BINDING_NAME_SLOT) != 1:
        raise RuntimeError("bridge.js must name the binding exactly once")
    return BRIDGE_SOURCE.replace(_BINDING_NAME_SLOT, json.dumps(binding_name))


class EventCursorStore(Protocol):
    """Where the caller keeps the high-water mark across restarts."""

    async def load(self) -> EventCursor | None:
        """The saved cursor, or None on first start."""

    async def save(self, cursor: EventCursor) -> None:
        """Keep the cursor (called at most about once a second)."""


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How to send a message."""

    mentions: tuple[str, ...] = ()
    quoted_message_id: str | None = None
    link_preview: bool = True
    send_seen: bool = True
    as_document: bool = False
    as_voice: bool = False
    as_gif: bool = False
    as_sticker: bool = False
    sticker: StickerMetadata | None = None
    wait_until_sent: bool = False
    # 16 to 32 upper-case hex digits; None lets WhatsApp Web choose. See new_message_key_id().
    message_key_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The options as JSON, which ``from_json`` reads back."""
        data = asdict(self)
        data["mentions"] = list(self.mentions)
        if self.sticker is not None:
            data["sticker"] = {
                "pack_name": self.sticker.pack_name,
                "publisher": self.sticker.publisher,
                "emojis": list(self.sticker.emojis),
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SendOptions:
        """Options from ``as_json``'s form, absent keys at their defaults.

        Raises TypeError, ValueError or AttributeError when ``data`` has another shape.
        """
        options = dict(data)
        sticker = options.pop("sticker", None)
        options["mentions"] = tuple(options.get("mentions", ()))
        return cls(
            **options,
            sticker=StickerMetadata(
                pack_name=sticker.get("pack_name"),
                publisher=sticker.get("publisher"),
                emojis=tuple(sticker.get("emojis", ())),
            )
            if sticker
            else None,
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A place to send."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ClientStatus:
    """What the client knows about its connection."""

    state: ClientState
    whatsapp_state: str | None
    me: Me | None
    version: str | None
    error: str | None
    connected_since: float | None
    #: Operation -> the WhatsApp Web call shape in use, or None when the page has none it knows.
    capabilities: dict[str, str | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """JSON for status answers."""
        return {
            "state": self.state.value,
            "whatsapp_state": self.whatsapp_state,
            "me": self.me.as_json() if self.me else None,
            "version": self.version,
            "error": self.error,
            "connected_since": self.connected_since,
            "capabilities": dict(self.capabilities),
        }


@dataclass(slots=True)
class _Timing:
    """Timeouts and pacing; tests shorten them."""

    call_timeout: float = 30.0
    navigation_timeout: float = 60.0
    watchdog_interval: float = 30.0
    watchdog_timeout: float = 15.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    takeover_delay: float = 5.0
    cursor_save_delay: float = 1.0


@dataclass(slots=True)
class _Session:
    """One browser page's life; replaced on every restart."""

    driver: BrowserDriver
    ended: asyncio.Future[str]

    def end(self, reason: str) -> None:
        """End this page's life (the first reason wins); the supervisor starts the next one."""
        if not self.ended.done():
            self.ended.set_result(reason)


class WhatsAppWebClient:
    """A linked WhatsApp account, through WhatsApp Web in a real Chromium."""

    def __init__(
        self,
        driver_factory: DriverFactory,
        *,
        url: str = WHATSAPP_WEB_URL,
        cursor_store: EventCursorStore | None = None,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        call_timeout: float = 30.0,
        watchdog_interval: float = 30.0,
        watchdog_timeout: float = 15.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        """Prepare a client; nothing starts before ``start()``."""
        self._driver_factory = driver_factory
        self._url = url
        self._cursor_store = cursor_store
        self.max_media_bytes = max_media_bytes
        self._timing = _Timing(
            call_timeout=call_timeout,
            watchdog_interval=watchdog_interval,
            watchdog_timeout=watchdog_timeout,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self._state = ClientState.STOPPED
        self._whatsapp_state: str | None = None
        self._version: str | None = None
        self._me: Me | None = None
        self._qr: str | None = None
        self._error: str | None = None
        self._connected_since: float | None = None
        self._capabilities: dict[str, str | None] = {}
        self._synced = False
        self._logged_out = False
        self._session: _Session | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._inbox: asyncio.Queue[tuple[_Session, dict[str, Any]]] = asyncio.Queue()
        self._event_listeners: list[EventListener] = []
        self._state_listeners: list[StateListener] = []
        self._qr_listeners: list[QrListener] = []
        self._state_waiters: list[tuple[frozenset[ClientState], asyncio.Future[ClientState]]] = []
        self._stopping = False
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._cursor_timestamp: int | None = None
        self._cursor_loaded = False
        self._cursor_dirty = False
        self._cursor_task: asyncio.Task[None] | None = None
        self._failed_attempts = 0
        # (operation, missing member) pairs already logged: a change is logged once.
        self._reported_missing: set[tuple[str, str]] = set()

    # -----------------------------------------------------------------------------------------
    # Public state

    @property
    def state(self) -> ClientState:
        """The client's state."""
        return self._state

    @property
    def whatsapp_state(self) -> str | None:
        """WhatsApp Web's own Socket state, as last reported."""
        return self._whatsapp_state

    @property
    def me(self) -> Me | None:
        """The linked account, once known."""
        return self._me

    @property
    def qr(self) -> str | None:
        """The QR string WhatsApp Web shows now, while the device is not linked."""
        return self._qr

    @property
    def last_error(self) -> str | None:
        """Why the client is failed or reconnecting, in words."""
        return self._error

    @property
    def version(self) -> str | None:
        """WhatsApp Web's version string."""
        return self._version

    @property
    def browser_pids(self) -> list[int]:
        """Processes of the browser this client launched (empty for a remote one)."""
        session = self._session
        return session.driver.browser_pids() if session else []

    async def memory(self, timeout: float = 10.0) -> MemoryReading:
        """The page's JavaScript heap and, for a browser this client launched, its processes' PSS.

        Raises :class:`NotConnected` without a page; the driver's errors otherwise.
        """
        session = self._require_session()
        used, total = await session.driver.js_heap(timeout=timeout)
        pids = session.driver.browser_pids()
        pss, counted = await asyncio.to_thread(processes_pss, pids) if pids else (None, 0)
        return MemoryReading(used, total, pss, counted)

    def status(self) -> ClientStatus:
        """A snapshot of the connection."""
        return ClientStatus(
            state=self._state,
            whatsapp_state=self._whatsapp_state,
            me=self._me,
            version=self._version,
            error=self._error,
            connected_since=self._connected_since,
            capabilities=dict(self._capabilities),
        )

    def _set_capabilities(self, table: object) -> None:
        if isinstance(table, dict):
            self._capabilities = {
                str(name): (str(shape) if shape is not None else None)
                for name, shape in table.items()
            }
            self._emit(CapabilitiesProbed(dict(self._capabilities)))

    async def probe_capabilities(self) -> dict[str, str | None]:
        """Ask the page again which call shape each operation can use (no side effects)."""
        self._set_capabilities(await self._page_call("capabilities", {}))
        return dict(self._capabilities)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` with every event, in order; returns a function that removes it."""
        return _subscribe(self._event_listeners, listener)

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns a function that removes it."""
        return _subscribe(self._state_listeners, listener)

    def add_qr_listener(self, listener: QrListener) -> Callable[[], None]:
        """Call ``listener`` with each new QR string (None when linking finished)."""
        return _subscribe(self._qr_listeners, listener)

    async def wait_for_state(
        self, *states: ClientState, timeout: float | None = None
    ) -> ClientState:
        """Wait until the client is in one of ``states``; raise Timeout otherwise."""
        if self._state in states:
            return self._state
        waiter: asyncio.Future[ClientState] = asyncio.get_running_loop().create_future()
        entry = (frozenset(states), waiter)
        self._state_waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError as error:
            raise Timeout(
                f"waiting for {', '.join(state.value for state in states)}", timeout or 0
            ) from error
        finally:
            if entry in self._state_waiters:
                self._state_waiters.remove(entry)

    async def qr_codes(self) -> AsyncIterator[str]:
        """Yield each QR string as WhatsApp Web rotates it, until the device is linked."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        remove = self.add_qr_listener(queue.put_nowait)
        try:
            if self._qr:
                yield self._qr
            while True:
                qr = await queue.get()
                if qr is None:
                    return
                yield qr
        finally:
            remove()

    # -----------------------------------------------------------------------------------------
    # Life cycle

    async def start(self) -> None:
        """Start the browser in the background; returns at once. Watch the state to know more."""
        if self._supervisor is not None:
            return
        self._stopping = False
        await self._load_cursor()
        self._set_state(ClientState.STARTING)
        self._consumer = asyncio.create_task(self._consume(), name="whatsapp_web events")
        self._supervisor = asyncio.create_task(self._supervise(), name="whatsapp_web supervisor")

    async def stop(self) -> None:
        """Close the browser and every task; the state becomes ``stopped``. Safe to call twice."""
        self._stopping = True
        tasks = [task for task in (self._supervisor, self._consumer, *self._side_tasks) if task]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._supervisor = None
        self._consumer = None
        self._side_tasks.clear()
        session, self._session = self._session, None
        if session is not None:
            await self._close_driver(session.driver)
        if self._cursor_task is not None:
            self._cursor_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cursor_task
            self._cursor_task = None
        await self._save_cursor()
        self._set_state(ClientState.STOPPED)

    async def restart_browser(self, reason: str = "RESTART") -> None:
        """End the current page and browser; the supervisor starts a new one."""
        if self._session is not None:
            self._session.end(reason)

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

    # -----------------------------------------------------------------------------------------
    # Supervision

    async def _supervise(self) -> None:
        while not self._stopping:
            driver = self._driver_factory()
            session = _Session(driver=driver, ended=asyncio.get_running_loop().create_future())
            self._session = session
            reason = "STOPPED"
            try:
                await self._open(session)
                watchdog = asyncio.create_task(
                    self._watchdog(session), name="whatsapp_web watchdog"
                )
                try:
                    reason = await session.ended
                finally:
                    watchdog.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watchdog
            except DriverError as error:
                reason = "BROWSER_FAILED"
                self._error = str(error)
                _LOGGER.warning("The browser for WhatsApp Web could not start: %s", error)
            finally:
                if self._session is session:
                    self._session = None
                await self._close_driver(driver)
            if self._stop_requested():
                return
            self._synced = False
            self._connected_since = None
            if reason == "BROWSER_FAILED":
                self._set_state(ClientState.FAILED)
            elif not self._logged_out:
                self._set_state(ClientState.RECONNECTING)
                self._emit(Disconnected(reason))
            delay = min(
                self._timing.backoff_max,
                self._timing.backoff_initial * (2 ** min(self._failed_attempts, 16)),
            )
            self._failed_attempts += 1
            _LOGGER.info("Restarting the WhatsApp Web browser in %.1f s (%s)", delay, reason)
            await asyncio.sleep(delay)

    def _stop_requested(self) -> bool:
        # A method, not the attribute: stop() flips it while the supervisor awaits.
        return self._stopping

    async def _open(self, session: _Session) -> None:
        def on_binding(payload: str) -> None:
            self._receive_batch(session, payload)

        def on_disconnect(reason: DisconnectReason, detail: str) -> None:
            _LOGGER.warning("WhatsApp Web's browser went away: %s (%s)", reason, detail)
            session.end("BROWSER_CRASHED" if reason != "target_closed" else "PAGE_CLOSED")

        # A fresh name per page: a script that learnt an earlier one cannot use it.
        binding_name = new_binding_name()
        await session.driver.start()
        await session.driver.open_page(
            init_script=bridge_script(binding_name),
            binding_name=binding_name,
            on_binding=on_binding,
            on_disconnect=on_disconnect,
        )
        await session.driver.navigate(self._url, timeout=self._timing.navigation_timeout)

    async def _watchdog(self, session: _Session) -> None:
        """Replace a page that stops answering (an endless loop, a frozen renderer)."""
        while not session.ended.done():
            await asyncio.sleep(self._timing.watchdog_interval)
            try:
                await session.driver.evaluate(_PING_FUNCTION, timeout=self._timing.watchdog_timeout)
            except DriverTimeout:
                _LOGGER.warning(
                    "WhatsApp Web did not answer within %.0f s; restarting the browser",
                    self._timing.watchdog_timeout,
                )
                session.end("BROWSER_HUNG")
            except DriverClosed:
                session.end("BROWSER_CRASHED")
            except (DriverError, PageError):
                # A navigation in progress destroys the context; the next round will tell.
                continue

    async def _close_driver(self, driver: BrowserDriver) -> None:
        try:
            await driver.stop()
        except Exception:
            _LOGGER.debug("Stopping the browser driver failed", exc_info=True)

    # -----------------------------------------------------------------------------------------
    # Events from the page

    def _receive_batch(self, session: _Session, payload: str) -> None:
        try:
            batch = parse_page_json(payload)
            events = batch["events"]
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("Ignoring a malformed event batch from the page")
            return
        for event in events:
            if isinstance(event, dict):
                self._inbox.put_nowait((session, event))

    async def _consume(self) -> None:
        while True:
            session, event = await self._inbox.get()
            if session is not self._session:
                continue
            try:
                await self._handle(session, event)
            except Exception:
                _LOGGER.exception(
                    "Could not handle an event of type %s from WhatsApp Web", event.get("type")
                )

    async def _handle(self, session: _Session, event: dict[str, Any]) -> None:
        match event.get("type"):
            case "boot":
                await self._on_boot(session, event)
            case "state":
                await self._on_whatsapp_state(str(event.get("state")))
            case "synced":
                await self._on_synced(event.get("me"))
            case "qr":
                self._on_qr(event.get("qr"))
            case "logout":
                self._on_logout()
            case "offline_progress":
                _LOGGER.debug("Offline sync at %s %%", event.get("percent"))
            case "message":
                self._on_message(
                    Message.from_page(event["message"]),
                    offline=bool(event.get("offline")),
                    sender_alternate_id=_optional_id(event.get("senderAlternateId")),
                )
            case "group_notification":
                self._on_group_notification(
                    Message.from_page(event["message"]), offline=bool(event.get("offline"))
                )
            case "ack":
                self._emit(
                    MessageAcknowledged(Message.from_page(event["message"]), int(event["ack"]))
                )
            case "revoke_everyone":
                before = event.get("before")
                self._emit(
                    MessageRevokedForEveryone(
                        Message.from_page(event["message"]),
                        Message.from_page(before) if isinstance(before, dict) else None,
                    )
                )
            case "revoke_me":
                self._emit(MessageRevokedForMe(Message.from_page(event["message"])))
            case "reaction":
                self._emit(MessageReaction(Reaction(data=event["reaction"])))
            case "call":
                self._emit(IncomingCall(Call(data=event["call"])))
            case "capabilities":
                self._set_capabilities(event.get("table"))
            case "capability_missing":
                feature, missing = str(event.get("feature")), str(event.get("missing"))
                _LOGGER.warning(
                    "WhatsApp Web changed: %s is missing; %s events are unavailable",
                    missing,
                    feature,
                )
                self._emit(CapabilityMissing(feature, missing))
            case "bridge_error":
                _LOGGER.warning(
                    "The WhatsApp Web bridge failed in %s: %s",
                    event.get("feature"),
                    event.get("message"),
                )
            case other:
                _LOGGER.debug("Ignoring an unknown event from the page: %s", other)

    async def _on_boot(self, session: _Session, event: dict[str, Any]) -> None:
        self._version = event.get("version")
        url = str(event.get("url") or "")
        if "post_logout=1" in url:
            self._on_logout()
        state = event.get("state")
        if isinstance(state, str):
            self._synced = bool(event.get("synced"))
            await self._on_whatsapp_state(state)

    async def _on_whatsapp_state(self, state: str) -> None:
        previous, self._whatsapp_state = self._whatsapp_state, state
        if previous is not None and previous != state:
            self._emit(StateChanged(state))
        if state == "CONNECTED":
            if self._synced:
                await self._on_connected()
            elif self._state not in (ClientState.CONNECTED, ClientState.RECONNECTING):
                self._set_state(ClientState.PAIRING if self._qr else ClientState.STARTING)
            else:
                # Back after a drop in the same document: WhatsApp Web does not sync again.
                await self._on_connected()
        elif state in _UNPAIRED_STATES:
            if self._state == ClientState.CONNECTED or self._logged_out:
                self._on_logout()
            else:
                self._set_state(ClientState.NEEDS_PAIRING)
        elif state in _BLOCKED_STATES:
            self._error = f"WhatsApp Web refuses to work: {state}"
            if previous != state:
                _LOGGER.warning("WhatsApp Web refuses to work (%s); a repair is needed", state)
            self._set_state(ClientState.FAILED)
            self._emit(Disconnected(state))
        elif state in _LINKING_STATES and self._state in (
            ClientState.NEEDS_PAIRING,
            ClientState.LOGGED_OUT,
        ):
            self._set_state(ClientState.PAIRING)
        elif state in _RECOVERING_STATES and self._state == ClientState.CONNECTED:
            self._set_state(ClientState.RECONNECTING)
            self._emit(Disconnected(state))
            if state == "CONFLICT":
                self._spawn(self._take_over(), "whatsapp_web takeover")

    async def _take_over(self) -> None:
        """WhatsApp Web was opened elsewhere: take the session back, with backoff, until it sticks."""
        delay = self._timing.takeover_delay
        while self._whatsapp_state == "CONFLICT" and not self._stopping:
            await asyncio.sleep(delay)
            if self._whatsapp_state != "CONFLICT":
                return
            with contextlib.suppress(WhatsAppWebError):
                await self._page_call("takeover", {}, require_connected=False)
            delay = min(delay * 2, self._timing.backoff_max)

    async def _on_synced(self, me: Any) -> None:
        self._synced = True
        if isinstance(me, dict) and me.get("wid"):
            self._me = Me.from_page(me)
        if self._whatsapp_state == "CONNECTED":
            await self._on_connected()

    async def _on_connected(self) -> None:
        if self._state == ClientState.CONNECTED:
            return
        if self._me is None:
            with contextlib.suppress(WhatsAppWebError):
                me = await self._page_call("me", {}, require_connected=False)
                if isinstance(me, dict) and me.get("wid"):
                    self._me = Me.from_page(me)
        self._logged_out = False
        self._error = None
        self._failed_attempts = 0
        self._connected_since = time.time()
        was_pairing = self._qr is not None
        if self._qr is not None:
            self._qr = None
            self._notify_qr(None)
        self._set_state(ClientState.CONNECTED)
        if self._me is not None:
            self._emit(Authenticated(self._me))
        if not was_pairing:
            await self._catch_up()
        elif self._cursor_timestamp is None:
            self._cursor_timestamp = int(time.time())

    def _on_qr(self, qr: Any) -> None:
        if not isinstance(qr, str) or not qr or qr == self._qr:
            return
        self._qr = qr
        if not self._state.unlinked:
            self._set_state(ClientState.NEEDS_PAIRING)
        self._notify_qr(qr)

    def _on_logout(self) -> None:
        if self._logged_out:
            return
        self._logged_out = True
        self._synced = False
        self._connected_since = None
        self._set_state(ClientState.LOGGED_OUT)
        self._emit(Disconnected("LOGOUT"))

    def pair_again(self) -> None:
        """After a logout: show QR codes again (the reauthentication flow starts this)."""
        if self._state == ClientState.LOGGED_OUT:
            self._logged_out = False
            self._set_state(ClientState.NEEDS_PAIRING)
            if self._qr:
                self._notify_qr(self._qr)

    # -----------------------------------------------------------------------------------------
    # Message events, exactly once

    def _on_message(
        self, message: Message, *, offline: bool, sender_alternate_id: str | None = None
    ) -> None:
        if not self._first_time(message):
            return
        self._emit(
            MessageSent(message, offline)
            if message.from_me
            else MessageReceived(message, offline, sender_alternate_id)
        )

    def _on_group_notification(self, message: Message, *, offline: bool) -> None:
        if not self._first_time(message):
            return
        notification = GroupNotification(message)
        kind = GROUP_NOTIFICATION_KINDS.get(notification.type, "update")
        self._emit(GroupChanged(kind, notification, offline))

    def _first_time(self, message: Message) -> bool:
        message_id = message.id
        if message_id in self._seen:
            return False
        self._seen[message_id] = message.timestamp
        while len(self._seen) > _SEEN_IDS_KEPT:
            self._seen.popitem(last=False)
        if self._cursor_timestamp is None or message.timestamp > self._cursor_timestamp:
            self._cursor_timestamp = message.timestamp
        self._schedule_cursor_save()
        return True

    async def _catch_up(self) -> None:
        """After a (re)start, hand over what arrived while this client was away, once."""
        if self._cursor_timestamp is None:
            self._cursor_timestamp = int(time.time())
            self._schedule_cursor_save()
            return
        since = self._cursor_timestamp - _CATCH_UP_WINDOW
        try:
            found = await self._page_call(
                "messagesSince", {"since": since, "limit": _CATCH_UP_LIMIT}
            )
        except WhatsAppWebError as error:
            _LOGGER.warning("Could not look for messages that arrived while away: %s", error)
            return
        for item in found if isinstance(found, list) else []:
            message = Message.from_page(item["message"])
            # The page knows which messages it saw arrive live; the rest arrived while away.
            offline = bool(item.get("offline", True))
            if item.get("kind") == "group_notification":
                self._on_group_notification(message, offline=offline)
            else:
                self._on_message(
                    message,
                    offline=offline,
                    sender_alternate_id=_optional_id(item.get("senderAlternateId")),
                )

    async def _load_cursor(self) -> None:
        if self._cursor_loaded or self._cursor_store is None:
            return
        self._cursor_loaded = True
        cursor = await self._cursor_store.load()
        if cursor is not None:
            self._cursor_timestamp = cursor.timestamp
            for message_id in cursor.recent_ids:
                self._seen[message_id] = cursor.timestamp

    def _schedule_cursor_save(self) -> None:
        self._cursor_dirty = True
        if self._cursor_store is None or (self._cursor_task and not self._cursor_task.done()):
            return
        self._cursor_task = asyncio.create_task(
            self._save_cursor_later(), name="whatsapp_web cursor"
        )

    async def _save_cursor_later(self) -> None:
        await asyncio.sleep(self._timing.cursor_save_delay)
        await self._save_cursor()

    async def _save_cursor(self) -> None:
        if self._cursor_store is None or not self._cursor_dirty or self._cursor_timestamp is None:
            return
        self._cursor_dirty = False
        cursor = EventCursor(timestamp=self._cursor_timestamp, recent_ids=tuple(self._seen))
        try:
            await self._cursor_store.save(cursor)
        except Exception:
            self._cursor_dirty = True
            _LOGGER.exception("Could not save the message high-water mark")

    # -----------------------------------------------------------------------------------------
    # Fan-out

    def _emit(self, event: ClientEvent) -> None:
        _call_each(
            self._event_listeners, event, "An event listener failed on %s", type(event).__name__
        )

    def _set_state(self, state: ClientState) -> None:
        if state == self._state:
            return
        _LOGGER.debug("Client state %s -> %s", self._state.value, state.value)
        self._state = state
        _call_each(self._state_listeners, state, "A state listener failed")
        for wanted, waiter in list(self._state_waiters):
            if state in wanted and not waiter.done():
                waiter.set_result(state)

    def _notify_qr(self, qr: str | None) -> None:
        _call_each(self._qr_listeners, qr, "A QR listener failed")

    def _spawn(self, coroutine: Awaitable[Any], name: str) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        task.set_name(name)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # -----------------------------------------------------------------------------------------
    # Calling the bridge

    def _require_session(self) -> _Session:
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
        if require_connected and self._state != ClientState.CONNECTED:
            raise self._state.not_connected()
        session = self._require_session()
        seconds = timeout or self._timing.call_timeout
        try:
            async with asyncio.timeout(seconds):
                encoded = await session.driver.evaluate(
                    _CALL_FUNCTION, operation, args, timeout=seconds
                )
                if isinstance(encoded, dict):
                    answer = await self._answer_in_parts(session.driver, encoded, seconds)
                else:
                    answer = _parse_answer(encoded)
        except (DriverTimeout, TimeoutError) as error:
            raise Timeout(operation, seconds) from error
        except DriverClosed as error:
            raise NotConnected(ClientState.RECONNECTING.value) from error
        except PageError as error:
            raise NotConnected(f"page not ready ({error})") from error
        except DriverError as error:
            raise BrowserError(str(error)) from error
        if not isinstance(answer, dict):
            raise NotConnected("page not ready")
        if answer.get("ok"):
            return answer.get("result")
        failure = _page_error(operation, answer.get("error") or {})
        if isinstance(failure, WhatsAppWebChanged):
            if (operation, failure.missing) not in self._reported_missing:
                # One clear line per change, not one per call that meets it.
                self._reported_missing.add((operation, failure.missing))
                _LOGGER.warning(
                    "WhatsApp Web changed: %s is missing; %s fails until it is back",
                    failure.missing,
                    operation,
                )
            self._emit(CapabilityMissing(operation, failure.missing))
        raise failure

    @staticmethod
    async def _answer_in_parts(
        driver: BrowserDriver, announced: dict[str, Any], timeout: float
    ) -> Any:
        """A long answer, from the parts the page holds for it; ``None`` if they are gone.

        Parts of a list are answers of their own, parsed as they arrive while the page builds
        the next ones; other parts are slices of one JSON text.
        """
        handle = announced.get("handle")
        count = announced.get("parts")
        of_records = bool(announced.get("records"))
        if not isinstance(handle, str) or not isinstance(count, int) or count < 1:
            return None
        at_once = asyncio.Semaphore(_ANSWER_PARTS_AT_ONCE)

        async def fetch(index: int) -> Any:
            async with at_once:
                part = await driver.evaluate(_ANSWER_PART_FUNCTION, handle, index, timeout=timeout)
            return _parse_answer(part) if of_records else part

        parts = await asyncio.gather(*(fetch(index) for index in range(count)))
        if not of_records:
            # A part is missing when the page reloaded meanwhile.
            if not all(isinstance(part, str) for part in parts):
                return None
            return _parse_answer("".join(parts))
        records: list[Any] = []
        for part in parts:
            if not isinstance(part, dict):
                return None
            if not part.get("ok"):
                return part
            records.extend(part.get("result") or [])
        return {"ok": True, "result": records}

    # -----------------------------------------------------------------------------------------
    # Chats

    async def get_chats(self) -> list[Chat]:
        """Every chat, in WhatsApp's order (pinned first, then the most recent)."""
        result = await self._page_call("getChats", {})
        return [Chat.from_page(item) for item in result]

    async def get_chat(self, chat_id: str) -> Chat:
        """One chat."""
        result = await self._page_call("getChat", {"chatId": ids.normalize_chat_id(chat_id)})
        return Chat.from_page(result)

    async def delete_chat(self, chat_id: str) -> None:
        """Delete a chat from this account."""
        await self._page_call("deleteChat", {"chatId": ids.normalize_chat_id(chat_id)})

    async def archive_chat(self, chat_id: str, archive: bool = True) -> None:
        """Archive (or unarchive) a chat."""
        await self._page_call(
            "archiveChat", {"chatId": ids.normalize_chat_id(chat_id), "archive": archive}
        )

    async def pin_chat(self, chat_id: str, pin: bool = True) -> bool:
        """Pin (or unpin) a chat; returns the new pin state. WhatsApp allows three pinned chats."""
        result = await self._page_call(
            "pinChat", {"chatId": ids.normalize_chat_id(chat_id), "pin": pin}
        )
        return bool(result)

    async def mark_chat_read(self, chat_id: str) -> None:
        """Mark every message of a chat as read (sends read receipts)."""
        await self._page_call("markChatRead", {"chatId": ids.normalize_chat_id(chat_id)})

    async def mark_chat_unread(self, chat_id: str) -> None:
        """Mark a chat as unread."""
        await self._page_call("markChatUnread", {"chatId": ids.normalize_chat_id(chat_id)})

    async def send_chat_state(self, chat_id: str, state: str) -> None:
        """Show ``composing`` (typing), ``recording`` or ``paused`` (clear) in a chat."""
        if state not in ("composing", "recording", "paused"):
            raise InvalidArgument("state", "expected composing, recording or paused")
        await self._page_call(
            "chatState", {"chatId": ids.normalize_chat_id(chat_id), "state": state}
        )

    async def mute_chat(self, chat_id: str, until: float | None = None) -> MuteState:
        """Mute a chat until a unix time, or forever when ``until`` is None."""
        if until is not None and until <= time.time():
            raise InvalidArgument("until", "the end of the mute must be in the future")
        result = as_json_object(
            await self._page_call(
                "muteChat", {"chatId": ids.normalize_chat_id(chat_id), "until": until}
            )
        )
        return MuteState(bool(result["isMuted"]), int(result["muteExpiration"]))

    async def unmute_chat(self, chat_id: str) -> MuteState:
        """Unmute a chat."""
        result = as_json_object(
            await self._page_call("unmuteChat", {"chatId": ids.normalize_chat_id(chat_id)})
        )
        return MuteState(bool(result["isMuted"]), int(result["muteExpiration"]))

    async def clear_chat_messages(self, chat_id: str) -> None:
        """Delete every message of a chat, keeping the chat."""
        await self._page_call("clearChatMessages", {"chatId": ids.normalize_chat_id(chat_id)})

    async def is_registered_user(self, user_id: str) -> bool:
        """Whether a phone number or id has WhatsApp."""
        result = as_json_object(
            await self._page_call("isRegisteredUser", {"id": ids.normalize_user_id(user_id)})
        )
        return bool(result["registered"])

    # -----------------------------------------------------------------------------------------
    # Messages

    async def get_messages(
        self,
        chat_id: str,
        *,
        limit: int = 50,
        before: str | None = None,
        from_me: bool | None = None,
    ) -> list[Message]:
        """Up to ``limit`` messages, newest first; ``before`` pages back from a message id."""
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit", "expected a number from 1 to 1000")
        args: dict[str, Any] = {"chatId": ids.normalize_chat_id(chat_id), "limit": limit}
        if before is not None:
            args["before"] = ids.parse_message_id(before).serialized
        if from_me is not None:
            args["fromMe"] = from_me
        result = await self._page_call("getMessages", args, timeout=self._timing.call_timeout * 2)
        return [Message.from_page(item) for item in result]

    async def find_message(
        self, chat_id: str, key_id: str, *, from_me: bool | None = None
    ) -> Message | None:
        """A message of a chat by its short id (``3EB0...``), as the add-on's routes name messages."""
        if not isinstance(key_id, str) or not ids.is_message_key_id(key_id):
            raise InvalidArgument("message_id", "expected a message id")
        args: dict[str, Any] = {"chatId": ids.normalize_chat_id(chat_id), "keyId": key_id}
        if from_me is not None:
            args["fromMe"] = from_me
        result = await self._page_call("findMessageByKeyId", args)
        return Message.from_page(result) if isinstance(result, dict) else None

    async def get_message(self, message_id: str) -> Message:
        """One message."""
        result = await self._page_call(
            "getMessage", {"messageId": ids.parse_message_id(message_id).serialized}
        )
        return Message.from_page(result)

    async def send_message(
        self,
        chat_id: str,
        text: str | None = None,
        *,
        media: MediaFile | None = None,
        location: Location | None = None,
        options: SendOptions | None = None,
    ) -> Message:
        """Send text, media (with ``text`` as caption) or a location; returns the sent message."""
        options = options or SendOptions()
        chat = ids.normalize_chat_id(chat_id)
        if chat == "status@broadcast" or ids.chat_kind(chat) == "newsletter":
            raise InvalidArgument(
                "chat_id",
                f"{chat}: sending status updates or to channels is not supported",
            )
        if text is not None and not isinstance(text, str):
            raise InvalidArgument("message", "the text must be a string")
        if not text and media is None and location is None:
            raise InvalidArgument("message", "a message needs text, media or a location")
        kinds = sum((options.as_document, options.as_voice, options.as_gif, options.as_sticker))
        if kinds > 1:
            raise InvalidArgument(
                "options", "choose at most one of document, voice note, GIF and sticker"
            )
        if kinds and media is None:
            raise InvalidArgument("options", "document, voice note, GIF and sticker need media")
        page_options: dict[str, Any] = {
            "mentions": [ids.normalize_user_id(item) for item in options.mentions],
            "linkPreview": options.link_preview,
            "sendSeen": options.send_seen,
            "asDocument": options.as_document,
            "isPtt": options.as_voice,
            "asGif": options.as_gif,
            "asSticker": options.as_sticker,
            "waitUntilSent": options.wait_until_sent,
        }
        if options.message_key_id is not None:
            if not _KEY_ID.fullmatch(options.message_key_id):
                raise InvalidArgument("message_key_id", "expected 16 to 32 upper-case hex digits")
            page_options["messageId"] = options.message_key_id
        if options.quoted_message_id:
            page_options["quotedMessageId"] = ids.parse_message_id(
                options.quoted_message_id
            ).serialized
        args: dict[str, Any] = {"chatId": chat, "text": text or "", "options": page_options}
        if location is not None:
            args["location"] = {
                "latitude": location.latitude,
                "longitude": location.longitude,
                "name": location.name,
                "address": location.address,
                "url": location.url,
            }
        token: str | None = None
        try:
            if media is not None:
                if media.size > self.max_media_bytes:
                    raise MediaTooLarge(self.max_media_bytes)
                upload = media
                if options.as_sticker:
                    upload = await self._prepare_sticker(media, options.sticker)
                token = await self._upload(upload)
                args["media"] = {
                    "token": token,
                    "mimetype": upload.mimetype,
                    "filename": upload.filename,
                }
            timeout = self._timing.call_timeout + transfer_allowance(media)
            result = await self._page_call("sendMessage", args, timeout=timeout)
            token = None
        finally:
            if token is not None:
                await self._release_media(token)
        if not isinstance(result, dict):
            raise OperationFailed("send_message", "WhatsApp Web did not return the sent message")
        return Message.from_page(result)

    async def _release_media(self, token: str) -> None:
        """Free the page's buffer for ``token``; a page that is gone has nothing left to free."""
        with contextlib.suppress(WhatsAppWebError):
            await self._page_call("mediaRelease", {"token": token}, require_connected=False)

    async def _upload(self, media: MediaFile) -> str:
        begin = as_json_object(
            await self._page_call(
                "mediaBegin",
                {"size": media.size, "mimetype": media.mimetype, "filename": media.filename},
            )
        )
        token = str(begin["token"])
        for offset in range(0, media.size, _MEDIA_CHUNK):
            chunk = base64.b64encode(media.data[offset : offset + _MEDIA_CHUNK]).decode()
            await self._page_call("mediaWrite", {"token": token, "offset": offset, "data": chunk})
        return token

    async def _download(self, token: str, size: int) -> bytes:
        parts: list[bytes] = []
        try:
            for offset in range(0, size, _MEDIA_CHUNK):
                chunk = as_json_object(
                    await self._page_call(
                        "mediaRead", {"token": token, "offset": offset, "length": _MEDIA_CHUNK}
                    )
                )
                parts.append(base64.b64decode(chunk["data"]))
        finally:
            await self._release_media(token)
        return b"".join(parts)

    async def _prepare_sticker(
        self, media: MediaFile, metadata: StickerMetadata | None
    ) -> MediaFile:
        if media.mimetype == "image/webp":
            webp = media.data
        elif media.mimetype.startswith("image/"):
            token = await self._upload(media)
            converted = as_json_object(await self._page_call("toWebpSticker", {"token": token}))
            webp = await self._download(str(converted["token"]), int(converted["size"]))
        else:
            raise InvalidArgument(
                "media",
                "a sticker must be an image (animated stickers from video are not supported)",
            )
        if metadata is not None:
            webp = with_sticker_metadata(webp, metadata)
        elif read_sticker_metadata(webp) is None:
            webp = with_sticker_metadata(webp, StickerMetadata())
        return MediaFile(
            data=webp, mimetype="image/webp", filename=(media.filename or "sticker") + ".webp"
        )

    async def delete_message(self, message_id: str, *, everyone: bool = False) -> None:
        """Delete a message for everyone (if WhatsApp still allows it) or only here."""
        key = ids.parse_message_id(message_id).serialized
        await self._page_call("deleteMessage", {"messageId": key, "everyone": everyone})

    async def star_message(self, message_id: str, star: bool = True) -> None:
        """Star (or unstar) a message."""
        key = ids.parse_message_id(message_id).serialized
        await self._page_call("starMessage", {"messageId": key, "star": star})

    async def react_message(self, message_id: str, emoji: str) -> None:
        """React with an emoji; an empty string removes the reaction."""
        if not isinstance(emoji, str) or len(emoji) > 32:
            raise InvalidArgument("reaction", "expected one emoji")
        key = ids.parse_message_id(message_id).serialized
        await self._page_call("reactMessage", {"messageId": key, "emoji": emoji})

    async def download_media(self, message_id: str) -> MediaFile:
        """The file attached to a message."""
        key = ids.parse_message_id(message_id).serialized
        info = as_json_object(
            await self._page_call(
                "downloadMedia", {"messageId": key}, timeout=self._timing.call_timeout * 4
            )
        )
        size = int(info["size"])
        if size > self.max_media_bytes:
            await self._release_media(str(info["token"]))
            raise MediaTooLarge(self.max_media_bytes)
        data = await self._download(str(info["token"]), size)
        mimetype = str(info.get("mimetype") or "application/octet-stream")
        return MediaFile(data=data, mimetype=mimetype, filename=info.get("filename"))

    # -----------------------------------------------------------------------------------------
    # Groups

    async def create_group(self, title: str, participants: Iterable[str]) -> GroupCreated:
        """Create a group with these people; per-person results say who could be added."""
        if not isinstance(title, str) or not title.strip():
            raise InvalidArgument("title", "a group needs a name")
        members = [ids.normalize_user_id(item) for item in participants]
        if not members:
            raise InvalidArgument("participants", "a group needs at least one other person")
        result = as_json_object(
            await self._page_call("createGroup", {"title": title.strip(), "participants": members})
        )
        return GroupCreated(
            gid=str(serialized_id(result["gid"])),
            title=str(result["title"]),
            participants=dict(result["participants"]),
        )

    async def get_group(self, group_id: str) -> Chat:
        """A group with its metadata (participants, description, owner, ...)."""
        result = await self._page_call("getGroup", {"groupId": ids.normalize_group_id(group_id)})
        return Chat.from_page(result)

    async def set_group_subject(self, group_id: str, subject: str) -> None:
        """Rename a group."""
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidArgument("subject", "a group needs a name")
        await self._page_call(
            "setGroupSubject", {"groupId": ids.normalize_group_id(group_id), "subject": subject}
        )

    async def set_group_description(self, group_id: str, description: str) -> None:
        """Change a group's description."""
        if not isinstance(description, str):
            raise InvalidArgument("description", "the description must be text")
        await self._page_call(
            "setGroupDescription",
            {"groupId": ids.normalize_group_id(group_id), "description": description},
        )

    async def leave_group(self, group_id: str) -> None:
        """Leave a group."""
        await self._page_call("leaveGroup", {"groupId": ids.normalize_group_id(group_id)})

    async def get_invite_code(self, group_id: str) -> str:
        """The group's invite code (admins only)."""
        result = as_json_object(
            await self._page_call("getInviteCode", {"groupId": ids.normalize_group_id(group_id)})
        )
        return str(result["code"])

    async def revoke_invite_code(self, group_id: str) -> str:
        """Make the old invite code useless; returns the new one."""
        result = as_json_object(
            await self._page_call("revokeInviteCode", {"groupId": ids.normalize_group_id(group_id)})
        )
        return str(result.get("code") or "")

    async def accept_invite(self, code: str) -> str:
        """Join a group by its invite code or link; returns the group id."""
        result = as_json_object(
            await self._page_call("acceptInvite", {"code": ids.normalize_invite_code(code)})
        )
        return str(result["gid"])

    async def add_participants(self, group_id: str, participants: Iterable[str]) -> dict[str, Any]:
        """Add people to a group; per-person results (code 200, 403, 404, 409, ...)."""
        members = [ids.normalize_user_id(item) for item in participants]
        if not members:
            raise InvalidArgument("participants", "name at least one person")
        result = await self._page_call(
            "addParticipants",
            {"groupId": ids.normalize_group_id(group_id), "participants": members},
        )
        return dict(as_json_object(result))

    async def change_participants(
        self, group_id: str, participants: Iterable[str], action: str
    ) -> None:
        """``remove``, ``promote`` or ``demote`` members of a group."""
        if action not in ("remove", "promote", "demote"):
            raise InvalidArgument("action", "expected remove, promote or demote")
        members = [ids.normalize_user_id(item) for item in participants]
        if not members:
            raise InvalidArgument("participants", "name at least one person")
        await self._page_call(
            "changeParticipants",
            {
                "groupId": ids.normalize_group_id(group_id),
                "participants": members,
                "action": action,
            },
        )

    # -----------------------------------------------------------------------------------------
    # Contacts and the own account

    async def get_contacts(self) -> list[Contact]:
        """Every contact WhatsApp Web knows."""
        result = await self._page_call("getContacts", {})
        return [Contact.from_page(item) for item in result]

    async def get_contact(self, contact_id: str) -> Contact:
        """One contact."""
        result = await self._page_call(
            "getContact", {"contactId": ids.normalize_user_id(contact_id)}
        )
        return Contact.from_page(result)

    async def block_contact(self, contact_id: str, block: bool = True) -> None:
        """Block (or unblock) a contact."""
        await self._page_call(
            "blockContact", {"contactId": ids.normalize_user_id(contact_id), "block": block}
        )

    async def get_common_groups(self, contact_id: str) -> list[str]:
        """Ids of the groups this account shares with a contact."""
        result = await self._page_call(
            "getCommonGroups", {"contactId": ids.normalize_user_id(contact_id)}
        )
        return [text for item in result if (text := serialized_id(item))]

    async def set_presence(self, *, available: bool) -> None:
        """Show this account online (available) or not."""
        await self._page_call("setPresence", {"available": available})

    async def set_display_name(self, name: str) -> None:
        """Change the push name others see."""
        if not isinstance(name, str) or not name.strip() or len(name) > 25:
            raise InvalidArgument("name", "expected 1 to 25 characters")
        await self._page_call("setDisplayName", {"name": name})

    async def set_text_status(self, status: str) -> None:
        """Change the "about" text."""
        if not isinstance(status, str) or len(status) > 139:
            raise InvalidArgument("status", "expected at most 139 characters")
        await self._page_call("setTextStatus", {"status": status})


def new_message_key_id() -> str:
    """A message id in WhatsApp Web's own form (``3EB0`` and 16 hex digits), chosen before sending."""
    return "3EB0" + secrets.token_hex(8).upper()


_NOT_FOUND_ERRORS: Final[dict[str, type[NotFound]]] = {
    "chat_not_found": ChatNotFound,
    "message_not_found": MessageNotFound,
    "contact_not_found": ContactNotFound,
    "group_not_found": GroupNotFound,
    "media_not_found": MediaNotFound,
}


def _page_error(operation: str, error: dict[str, Any]) -> WhatsAppWebError:
    """Turn the bridge's error answer into this package's hierarchy."""
    code = str(error.get("code") or "page_error")
    message = str(error.get("message") or "unknown error")
    if code == "whatsapp_web_changed":
        return WhatsAppWebChanged(str(error.get("missing") or "unknown"), operation)
    if code in _NOT_FOUND_ERRORS:
        return _NOT_FOUND_ERRORS[code](str(error.get("id") or ""))
    if code == "invalid_argument":
        return InvalidArgument(str(error.get("field") or "value"), message)
    if code in ("not_ready", "not_connected"):
        return NotConnected("page not ready")
    return OperationFailed(operation, message)
