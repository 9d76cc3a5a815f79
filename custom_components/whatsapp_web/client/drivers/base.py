"""The contract every browser driver fulfils (docs/internals.md §2).

A driver gives the client exactly one Chromium page: it starts (launches or connects to) a browser,
opens a page with an init script and a binding, navigates it, calls JavaScript functions in it with
JSON arguments, tells the client once when the page or browser goes away, and stops.

User data only ever travels as JSON arguments of :meth:`BrowserDriver.evaluate`; it is never pasted
into JavaScript source.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal

from ..errors import BrowserError, WhatsAppWebError

type DisconnectReason = Literal[
    "browser_closed", "page_crashed", "target_closed", "connection_lost"
]
"""Why a page went away: the browser exited, the renderer crashed, the tab was closed, or the
DevTools connection to a remote browser dropped."""

type BindingHandler = Callable[[str], None]
"""Receives the string the page passed to ``window[binding_name](text)``."""

type DisconnectHandler = Callable[[DisconnectReason, str], None]
"""Receives why the page went away and a short human-readable detail."""


class DriverError(BrowserError):
    """The browser could not be started, reached or used."""


class DriverTimeout(DriverError):
    """The browser did not finish an operation in the time it was given."""

    def __init__(self, operation: str, seconds: float) -> None:
        """Name the operation and the time it was given."""
        super().__init__(f"{operation} did not finish within {seconds:g} s")
        self.operation = operation
        self.seconds = seconds


class DriverClosed(DriverError):
    """The page, the browser or the connection to it is gone; a new driver is needed."""


class PageError(WhatsAppWebError):
    """JavaScript in the page threw (or the document it ran in went away mid-call).

    Not a :class:`DriverError`: the browser itself is fine, the page's code failed.
    """

    code = "page_error"

    def __init__(self, message: str) -> None:
        """Keep the JavaScript error's message (e.g. ``Error: no such chat``)."""
        super().__init__(message)
        self.message = message


class BrowserDriver(ABC):
    """One Chromium page for the WhatsApp Web client.

    Lifecycle: :meth:`start`, :meth:`open_page` once, then any number of :meth:`navigate` and
    :meth:`evaluate` calls, then :meth:`stop`. A driver is not reused after it stopped or after its
    page went away: the client builds a new one.
    """

    @abstractmethod
    async def start(self) -> None:
        """Launch or connect to the browser; raise :class:`DriverError` with a clear message."""

    @abstractmethod
    async def open_page(
        self,
        *,
        init_script: str,
        binding_name: str,
        on_binding: BindingHandler,
        on_disconnect: DisconnectHandler,
    ) -> None:
        """Open the page.

        ``init_script`` runs in every new document before the document's own scripts;
        ``window[binding_name](text)`` in the main frame's document, from its own (main) world, calls
        ``on_binding(text)``, in order; calls from iframes and from other worlds are dropped.
        ``on_disconnect`` is called at most once, when the browser, the page or the connection goes
        away (never because :meth:`stop` was called).
        """

    @abstractmethod
    async def navigate(self, url: str, *, timeout: float) -> None:
        """Load ``url`` and wait for its ``load`` event; :class:`DriverTimeout` after ``timeout``."""

    @abstractmethod
    async def evaluate(self, function_source: str, *args: Any, timeout: float) -> Any:
        """Call the JavaScript function ``function_source`` with ``args`` (JSON values).

        A returned promise is awaited and the result comes back as JSON. A thrown error raises
        :class:`PageError`, running out of time :class:`DriverTimeout`, a dead page or browser
        :class:`DriverClosed`.
        """

    async def js_heap(self, *, timeout: float) -> tuple[int, int]:
        """(used, total) bytes of the page's JavaScript heap.

        This fallback reads ``performance.memory``, which Chromium rounds; the drivers ask DevTools
        (``Runtime.getHeapUsage``) for the exact figures.
        """
        value = await self.evaluate(
            "() => { const m = performance.memory;"
            " return m ? [m.usedJSHeapSize, m.totalJSHeapSize] : [0, 0]; }",
            timeout=timeout,
        )
        return int(value[0]), int(value[1])

    @abstractmethod
    async def stop(self) -> None:
        """Close the page, and the browser if this driver launched it. Safe to call repeatedly."""

    @abstractmethod
    def browser_pids(self) -> list[int]:
        """Process ids of the browser this driver launched (empty when it only connected)."""


def first_line_of_error(description: str) -> str:
    """Turn a JavaScript error's ``stack``-style description into its message.

    V8 describes an error as ``Name: message`` followed by ``    at ...`` frames; the frames are
    noise for the person who reads the message, while a message may itself span several lines.
    """
    message, _, _ = description.partition("\n    at ")
    return message.strip() or description


def desktop_user_agent(user_agent: str) -> str | None:
    """The user agent a headless Chromium should present instead of its own, or ``None``.

    Headless Chromium calls itself ``HeadlessChrome/<version>``; sites that check for a supported
    browser (WhatsApp Web among them) may turn such a visitor away. The same browser with the
    ordinary product name is what a desktop Chrome of that version sends.
    """
    if "HeadlessChrome/" not in user_agent:
        return None
    return user_agent.replace("HeadlessChrome/", "Chrome/")
