"""Who hears the client: event, state and QR listeners, and the callers waiting for a state.

The client decides what happened; this hands it to everyone who asked, in the order they asked.
A listener that raises is logged and the others still hear about it: one faulty entity must not
silence the rest of the integration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
import logging

from .errors import Timeout
from .models import ClientEvent, ClientState

_LOGGER = logging.getLogger(__name__)

type EventListener = Callable[[ClientEvent], None]
type StateListener = Callable[[ClientState], None]
type QrListener = Callable[[str | None], None]


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


class Listeners:
    """The fan-out of one client's events, state changes and QR codes."""

    def __init__(self) -> None:
        """Nobody listens yet."""
        self._events: list[EventListener] = []
        self._states: list[StateListener] = []
        self._qr_codes: list[QrListener] = []
        self._state_waiters: list[tuple[frozenset[ClientState], asyncio.Future[ClientState]]] = []

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` with every event, in order; returns a function that removes it."""
        return _subscribe(self._events, listener)

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns a function that removes it."""
        return _subscribe(self._states, listener)

    def add_qr_listener(self, listener: QrListener) -> Callable[[], None]:
        """Call ``listener`` with each new QR string (None when linking finished)."""
        return _subscribe(self._qr_codes, listener)

    def emit(self, event: ClientEvent) -> None:
        """Hand ``event`` to every event listener."""
        _call_each(self._events, event, "An event listener failed on %s", type(event).__name__)

    def state_changed(self, state: ClientState) -> None:
        """Tell the state listeners, then wake whoever waits for ``state``."""
        _call_each(self._states, state, "A state listener failed")
        for wanted, waiter in list(self._state_waiters):
            if state in wanted and not waiter.done():
                waiter.set_result(state)

    def qr_changed(self, qr: str | None) -> None:
        """Hand the new QR string (None: linking finished) to every QR listener."""
        _call_each(self._qr_codes, qr, "A QR listener failed")

    async def next_state(
        self, states: tuple[ClientState, ...], timeout: float | None
    ) -> ClientState:
        """Wait for the next change into one of ``states``; raise Timeout otherwise."""
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

    async def qr_codes(self, current: Callable[[], str | None]) -> AsyncGenerator[str]:
        """``current()`` QR string if any, then each new one, until linking finished."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        remove = self.add_qr_listener(queue.put_nowait)
        try:
            if qr := current():
                yield qr
            while True:
                qr = await queue.get()
                if qr is None:
                    return
                yield qr
        finally:
            remove()
