"""WhatsAppWebClient: one linked WhatsApp account, driven through a real Chromium page.

The client owns a supervisor task that launches (or connects to) the browser through a driver, opens
WhatsApp Web with the bridge installed, and keeps it alive: a crashed browser, a closed page or a page
that stops answering the watchdog is replaced, with exponential backoff, and the saved session resumes
from the browser profile without a new QR code. Everything the page reports arrives through one
ordered queue; operations are calls into the bridge with JSON arguments and a timeout each.

Where the parts live: one page's life (open, watchdog, calls, answers in parts) in page_session.py;
the exactly-once bookkeeping of message events and the catch-up in exactly_once.py; the page's
events that are plain translations in page_events.py; the fan-out to listeners in listeners.py; the
call into the bridge in page_calls.py; the operations, one family per module (chats.py, messages.py,
groups.py, contacts.py, linking.py). This module keeps the public state, the state machine
(``_state`` is its one field) and the supervisor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import logging
import time
from typing import Any, Final

from . import page_events
from .capabilities import Capabilities
from .chats import ChatCalls
from .contacts import ContactCalls
from .drivers.base import BrowserDriver, DriverError
from .errors import WhatsAppWebError
from .exactly_once import DeliveryLedger, EventCursor, EventCursorStore, MessageEvents
from .groups import GroupCalls
from .linking import LinkingCalls
from .listeners import EventListener, Listeners, QrListener, StateListener
from .media import DEFAULT_MAX_MEDIA_BYTES
from .memory import MemoryReading, read_memory
from .message_cache import MessageCache, MessageCacheLimits, UnloadResult
from .messages import Location, MessageCalls, SendOptions, new_message_key_id
from .models import (
    Authenticated,
    CapabilitiesProbed,
    ClientState,
    Disconnected,
    Me,
    StateChanged,
)
from .page_calls import Timing
from .page_session import PageSession

__all__ = [
    "WHATSAPP_WEB_URL",
    "ClientStatus",
    "EventCursor",
    "EventCursorStore",
    "Location",
    "MessageCacheLimits",
    "SendOptions",
    "WhatsAppWebClient",
    "new_message_key_id",
]

_LOGGER = logging.getLogger(__name__)

WHATSAPP_WEB_URL: Final = "https://web.whatsapp.com/"

# WhatsApp Web's Socket states (docs/whatsapp-web-surface.md §2.1), grouped by what they mean here.
_LINKING_STATES: Final = frozenset({"OPENING", "UNLAUNCHED", "PAIRING"})
_UNPAIRED_STATES: Final = frozenset({"UNPAIRED", "UNPAIRED_IDLE"})
_RECOVERING_STATES: Final = frozenset({"TIMEOUT", "OPENING", "PAIRING", "CONFLICT"})
_BLOCKED_STATES: Final = frozenset(
    {"DEPRECATED_VERSION", "TOS_BLOCK", "SMB_TOS_BLOCK", "PROXYBLOCK"}
)

type DriverFactory = Callable[[], BrowserDriver]


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


class WhatsAppWebClient(ChatCalls, MessageCalls, GroupCalls, ContactCalls, LinkingCalls):
    """A linked WhatsApp account, through WhatsApp Web in a real Chromium.

    The operations come from one mixin per family (chats, messages, groups, contacts, linking);
    this class keeps the state machine and the supervisor of the page session.
    """

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
        message_cache: MessageCacheLimits | None = None,
    ) -> None:
        """Prepare a client; nothing starts before ``start()``."""
        self._driver_factory = driver_factory
        self._url = url
        self.max_media_bytes = max_media_bytes
        self._timing = Timing(
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
        self._capabilities = Capabilities()
        self._session: PageSession | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._inbox: asyncio.Queue[tuple[PageSession, dict[str, Any]]] = asyncio.Queue()
        self._listeners = Listeners()
        self._delivered = DeliveryLedger(cursor_store, save_delay=self._timing.cursor_save_delay)
        self._message_events = MessageEvents(self._delivered, self._listeners.emit)
        self._message_cache = MessageCache(message_cache or MessageCacheLimits())
        self._failed_attempts = 0

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
        return await read_memory(self._require_session().driver, timeout)

    @property
    def message_cache(self) -> MessageCache:
        """How many old messages were unloaded from the page, and the limits (message_cache.py)."""
        return self._message_cache

    async def unload_messages(self) -> UnloadResult:
        """Unload old messages from the page now (it happens by itself every so many messages)."""
        return await self._message_cache.unload(self._page_call)

    def status(self) -> ClientStatus:
        """A snapshot of the connection."""
        return ClientStatus(
            state=self._state,
            whatsapp_state=self._whatsapp_state,
            me=self._me,
            version=self._version,
            error=self._error,
            connected_since=self._connected_since,
            capabilities=dict(self._capabilities.table),
        )

    def _set_capabilities(self, table: object) -> None:
        if self._capabilities.update(table):
            self._listeners.emit(CapabilitiesProbed(dict(self._capabilities.table)))

    async def probe_capabilities(self) -> dict[str, str | None]:
        """Ask the page again which call shape each operation can use (no side effects)."""
        self._set_capabilities(await self._page_call("capabilities", {}))
        return dict(self._capabilities.table)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` with every event, in order; returns a function that removes it."""
        return self._listeners.add_event_listener(listener)

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns a function that removes it."""
        return self._listeners.add_state_listener(listener)

    def add_qr_listener(self, listener: QrListener) -> Callable[[], None]:
        """Call ``listener`` with each new QR string (None when linking finished)."""
        return self._listeners.add_qr_listener(listener)

    async def wait_for_state(
        self, *states: ClientState, timeout: float | None = None
    ) -> ClientState:
        """Wait until the client is in one of ``states``; raise Timeout otherwise."""
        if self._state in states:
            return self._state
        return await self._listeners.next_state(states, timeout)

    # -----------------------------------------------------------------------------------------
    # Life cycle

    async def start(self) -> None:
        """Start the browser in the background; returns at once. Watch the state to know more."""
        if self._supervisor is not None:
            return
        await self._delivered.load()
        self._set_state(ClientState.STARTING)
        self._consumer = asyncio.create_task(self._consume(), name="whatsapp_web events")
        self._supervisor = asyncio.create_task(self._supervise(), name="whatsapp_web supervisor")

    async def stop(self) -> None:
        """Close the browser and every task; the state becomes ``stopped``. Safe to call twice."""
        # Without a supervisor the client is stopping: nothing starts a new page from here on.
        supervisor, self._supervisor = self._supervisor, None
        tasks = [task for task in (supervisor, self._consumer, *self._side_tasks) if task]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._consumer = None
        self._side_tasks.clear()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        await self._delivered.close()
        self._set_state(ClientState.STOPPED)

    async def restart_browser(self, reason: str = "RESTART") -> None:
        """End the current page and browser; the supervisor starts a new one."""
        if self._session is not None:
            self._session.end(reason)

    # -----------------------------------------------------------------------------------------
    # Supervision

    async def _supervise(self) -> None:
        while not self._stop_requested():
            session = PageSession.new(self._driver_factory())
            self._session = session
            try:
                reason = await session.run(
                    self._url,
                    on_event=lambda page, event: self._inbox.put_nowait((page, event)),
                    timing=self._timing,
                )
            except DriverError as error:
                reason = "BROWSER_FAILED"
                self._error = str(error)
                _LOGGER.warning("The browser for WhatsApp Web could not start: %s", error)
            finally:
                if self._session is session:
                    self._session = None
                await session.close()
            if self._stop_requested():
                return
            self._connected_since = None
            if reason == "BROWSER_FAILED":
                self._set_state(ClientState.FAILED)
            elif self._state != ClientState.LOGGED_OUT:
                self._set_state(ClientState.RECONNECTING)
                self._listeners.emit(Disconnected(reason))
            delay = self._timing.backoff(self._failed_attempts)
            self._failed_attempts += 1
            _LOGGER.info("Restarting the WhatsApp Web browser in %.1f s (%s)", delay, reason)
            await asyncio.sleep(delay)

    def _stop_requested(self) -> bool:
        # Read anew after every await: stop() lets go of the supervisor before cancelling it.
        return self._supervisor is None

    # -----------------------------------------------------------------------------------------
    # Events from the page

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

    async def _handle(self, session: PageSession, event: dict[str, Any]) -> None:
        match event.get("type"):
            case "boot":
                await self._on_boot(session, event)
            case "state":
                await self._on_whatsapp_state(session, str(event.get("state")))
            case "synced":
                await self._on_synced(session, event.get("me"))
            case "qr":
                self._on_qr(event.get("qr"))
            case "logout":
                self._on_logout(session)
            case "message" | "group_notification" as kind:
                self._message_events.from_page(
                    event,
                    group_notification=kind == "group_notification",
                    offline=bool(event.get("offline")),
                )
                if self._message_cache.note_message():
                    self._spawn(self.unload_messages(), "whatsapp_web unload messages")
            case "capabilities":
                self._set_capabilities(event.get("table"))
            case _:
                if (translated := page_events.client_event(event)) is not None:
                    self._listeners.emit(translated)

    async def _on_boot(self, session: PageSession, event: dict[str, Any]) -> None:
        self._version = event.get("version")
        url = str(event.get("url") or "")
        if "post_logout=1" in url:
            self._on_logout(session)
        state = event.get("state")
        if isinstance(state, str):
            session.synced = bool(event.get("synced"))
            await self._on_whatsapp_state(session, state)

    async def _on_whatsapp_state(self, session: PageSession, state: str) -> None:
        previous, self._whatsapp_state = self._whatsapp_state, state
        if previous is not None and previous != state:
            self._listeners.emit(StateChanged(state))
        if state == "CONNECTED":
            if session.synced:
                await self._on_connected()
            elif self._state not in (ClientState.CONNECTED, ClientState.RECONNECTING):
                self._set_state(ClientState.PAIRING if self._qr else ClientState.STARTING)
            else:
                # Back after a drop in the same document: WhatsApp Web does not sync again.
                await self._on_connected()
        elif state in _UNPAIRED_STATES:
            if self._state in (ClientState.CONNECTED, ClientState.LOGGED_OUT):
                self._on_logout(session)
            else:
                self._set_state(ClientState.NEEDS_PAIRING)
        elif state in _BLOCKED_STATES:
            self._error = f"WhatsApp Web refuses to work: {state}"
            if previous != state:
                _LOGGER.warning("WhatsApp Web refuses to work (%s); a repair is needed", state)
            self._set_state(ClientState.FAILED)
            self._listeners.emit(Disconnected(state))
        elif state in _LINKING_STATES and self._state in (
            ClientState.NEEDS_PAIRING,
            ClientState.LOGGED_OUT,
        ):
            self._set_state(ClientState.PAIRING)
        elif state in _RECOVERING_STATES and self._state == ClientState.CONNECTED:
            self._set_state(ClientState.RECONNECTING)
            self._listeners.emit(Disconnected(state))
            if state == "CONFLICT":
                self._spawn(self._take_over(), "whatsapp_web takeover")

    async def _take_over(self) -> None:
        """WhatsApp Web was opened elsewhere: take the session back, with backoff, until it sticks."""
        delay = self._timing.takeover_delay
        while self._whatsapp_state == "CONFLICT" and not self._stop_requested():
            await asyncio.sleep(delay)
            if self._whatsapp_state != "CONFLICT":
                return
            with contextlib.suppress(WhatsAppWebError):
                await self._page_call("takeover", {}, require_connected=False)
            delay = min(delay * 2, self._timing.backoff_max)

    async def _on_synced(self, session: PageSession, me: Any) -> None:
        session.synced = True
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
        self._error = None
        self._failed_attempts = 0
        self._connected_since = time.time()
        was_pairing = self._qr is not None
        if self._qr is not None:
            self._qr = None
            self._listeners.qr_changed(None)
        self._set_state(ClientState.CONNECTED)
        if self._me is not None:
            self._listeners.emit(Authenticated(self._me))
        if not was_pairing:
            await self._message_events.catch_up(self._messages_since)
        else:
            self._delivered.start_now()

    def _on_qr(self, qr: Any) -> None:
        if not isinstance(qr, str) or not qr or qr == self._qr:
            return
        self._qr = qr
        if not self._state.unlinked:
            self._set_state(ClientState.NEEDS_PAIRING)
        self._listeners.qr_changed(qr)

    def _on_logout(self, session: PageSession) -> None:
        if self._state == ClientState.LOGGED_OUT:
            return
        session.synced = False
        self._connected_since = None
        self._set_state(ClientState.LOGGED_OUT)
        self._listeners.emit(Disconnected("LOGOUT"))

    def pair_again(self) -> None:
        """After a logout: show QR codes again (the reauthentication flow starts this)."""
        if self._state == ClientState.LOGGED_OUT:
            self._set_state(ClientState.NEEDS_PAIRING)
            if self._qr:
                self._listeners.qr_changed(self._qr)

    async def _messages_since(self, since: int, limit: int) -> Any:
        return await self._page_call("messagesSince", {"since": since, "limit": limit})

    # -----------------------------------------------------------------------------------------
    # Telling the listeners

    def _set_state(self, state: ClientState) -> None:
        if state == self._state:
            return
        _LOGGER.debug("Client state %s -> %s", self._state.value, state.value)
        self._state = state
        self._listeners.state_changed(state)

    def _spawn(self, coroutine: Awaitable[Any], name: str) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        task.set_name(name)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
