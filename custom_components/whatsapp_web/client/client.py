"""WhatsAppWebClient: one linked WhatsApp account, driven through a real Chromium page.

The client owns a supervisor task that launches (or connects to) the browser through a driver, opens
WhatsApp Web with the bridge installed, and keeps it alive: a crashed browser, a closed page or a page
that stops answering the watchdog is replaced, with exponential backoff, and the saved session resumes
from the browser profile without a new QR code. Everything the page reports arrives through one
ordered queue; operations are calls into the bridge with JSON arguments and a timeout each.

Where the parts live: one page's life (open, watchdog, calls, answers in parts) in page_session.py;
the exactly-once bookkeeping of message events in exactly_once.py; the operations, one family per
module (chats.py, messages.py, groups.py, contacts.py). This module keeps the public state, the
state machine (``_state`` is its one field) and the fan-out to listeners.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import logging
import time
from typing import Any, Final

from . import ids
from .chats import ChatCalls
from .contacts import ContactCalls
from .drivers.base import BrowserDriver, DriverError
from .errors import (
    BrowserError,
    NotConnected,
    PairingError,
    Timeout,
    WhatsAppWebChanged,
    WhatsAppWebError,
)
from .exactly_once import DeliveryLedger, EventCursor, EventCursorStore
from .groups import GroupCalls
from .media import DEFAULT_MAX_MEDIA_BYTES
from .memory import MemoryReading, processes_pss
from .messages import Location, MessageCalls, SendOptions, new_message_key_id
from .models import (
    GROUP_NOTIFICATION_KINDS,
    Authenticated,
    Call,
    CapabilitiesProbed,
    CapabilityMissing,
    ClientEvent,
    ClientState,
    Disconnected,
    GroupChanged,
    GroupNotification,
    IncomingCall,
    Me,
    Message,
    MessageAcknowledged,
    MessageEdited,
    MessageReaction,
    MessageReceived,
    MessageRevokedForEveryone,
    MessageRevokedForMe,
    MessageSent,
    PollVote,
    PollVoted,
    Reaction,
    StateChanged,
    as_json_object,
    serialized_id,
)
from .page_calls import Timing
from .page_session import PageSession

__all__ = [
    "WHATSAPP_WEB_URL",
    "ClientStatus",
    "EventCursor",
    "EventCursorStore",
    "Location",
    "SendOptions",
    "WhatsAppWebClient",
    "new_message_key_id",
]

_LOGGER = logging.getLogger(__name__)

WHATSAPP_WEB_URL: Final = "https://web.whatsapp.com/"
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


class WhatsAppWebClient(ChatCalls, MessageCalls, GroupCalls, ContactCalls):
    """A linked WhatsApp account, through WhatsApp Web in a real Chromium.

    The operations come from one mixin per family (chats, messages, groups, contacts); this class
    keeps the state machine, the supervisor of the page session and the events' fan-out.
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
        self._capabilities: dict[str, str | None] = {}
        self._session: PageSession | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._inbox: asyncio.Queue[tuple[PageSession, dict[str, Any]]] = asyncio.Queue()
        self._event_listeners: list[EventListener] = []
        self._state_listeners: list[StateListener] = []
        self._qr_listeners: list[QrListener] = []
        self._state_waiters: list[tuple[frozenset[ClientState], asyncio.Future[ClientState]]] = []
        self._delivered = DeliveryLedger(cursor_store, save_delay=self._timing.cursor_save_delay)
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
        while not self._stop_requested():
            session = PageSession.new(self._driver_factory())
            self._session = session
            reason = "STOPPED"
            try:
                await session.open(
                    self._url,
                    on_event=lambda page, event: self._inbox.put_nowait((page, event)),
                    navigation_timeout=self._timing.navigation_timeout,
                )
                watchdog = asyncio.create_task(
                    session.watchdog(self._timing.watchdog_interval, self._timing.watchdog_timeout),
                    name="whatsapp_web watchdog",
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
                await session.close()
            if self._stop_requested():
                return
            self._connected_since = None
            if reason == "BROWSER_FAILED":
                self._set_state(ClientState.FAILED)
            elif self._state != ClientState.LOGGED_OUT:
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
            case "offline_progress":
                _LOGGER.debug("Offline sync at %s %%", event.get("percent"))
            case "message":
                self._on_message(
                    Message.from_page(event["message"]),
                    offline=bool(event.get("offline")),
                    sender_alternate_id=serialized_id(event.get("senderAlternateId")) or None,
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
            case "poll_vote":
                self._emit(PollVoted(PollVote(data=event["vote"])))
            case "message_edit":
                previous = event.get("prevBody")
                self._emit(
                    MessageEdited(
                        Message.from_page(event["message"]),
                        str(event.get("newBody") or ""),
                        previous if isinstance(previous, str) else None,
                    )
                )
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
            self._emit(StateChanged(state))
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
            self._notify_qr(None)
        self._set_state(ClientState.CONNECTED)
        if self._me is not None:
            self._emit(Authenticated(self._me))
        if not was_pairing:
            await self._catch_up()
        else:
            self._delivered.start_now()

    def _on_qr(self, qr: Any) -> None:
        if not isinstance(qr, str) or not qr or qr == self._qr:
            return
        self._qr = qr
        if not self._state.unlinked:
            self._set_state(ClientState.NEEDS_PAIRING)
        self._notify_qr(qr)

    def _on_logout(self, session: PageSession) -> None:
        if self._state == ClientState.LOGGED_OUT:
            return
        session.synced = False
        self._connected_since = None
        self._set_state(ClientState.LOGGED_OUT)
        self._emit(Disconnected("LOGOUT"))

    def pair_again(self) -> None:
        """After a logout: show QR codes again (the reauthentication flow starts this)."""
        if self._state == ClientState.LOGGED_OUT:
            self._set_state(ClientState.NEEDS_PAIRING)
            if self._qr:
                self._notify_qr(self._qr)

    # -----------------------------------------------------------------------------------------
    # Message events, exactly once

    def _on_message(
        self, message: Message, *, offline: bool, sender_alternate_id: str | None = None
    ) -> None:
        if not self._delivered.first_time(message):
            return
        self._emit(
            MessageSent(message, offline)
            if message.from_me
            else MessageReceived(message, offline, sender_alternate_id)
        )

    def _on_group_notification(self, message: Message, *, offline: bool) -> None:
        if not self._delivered.first_time(message):
            return
        notification = GroupNotification(message)
        kind = GROUP_NOTIFICATION_KINDS.get(notification.type, "update")
        self._emit(GroupChanged(kind, notification, offline))

    async def _catch_up(self) -> None:
        """After a (re)start, hand over what arrived while this client was away, once."""
        newest = self._delivered.timestamp
        if newest is None:
            self._delivered.start_now()
            self._delivered.schedule_save()
            return
        since = newest - _CATCH_UP_WINDOW
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
                    sender_alternate_id=serialized_id(item.get("senderAlternateId")) or None,
                )

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
        if require_connected and self._state != ClientState.CONNECTED:
            raise self._state.not_connected()
        session = self._require_session()
        try:
            return await session.call(operation, args, timeout or self._timing.call_timeout)
        except WhatsAppWebChanged as failure:
            if (operation, failure.missing) not in self._reported_missing:
                # One clear line per change, not one per call that meets it.
                self._reported_missing.add((operation, failure.missing))
                _LOGGER.warning(
                    "WhatsApp Web changed: %s is missing; %s fails until it is back",
                    failure.missing,
                    operation,
                )
            self._emit(CapabilityMissing(operation, failure.missing))
            raise
