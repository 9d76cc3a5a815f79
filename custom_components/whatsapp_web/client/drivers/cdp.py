"""A driver that speaks the Chrome DevTools protocol to a Chromium running elsewhere.

Only aiohttp is needed: the browser may be a container (browserless and the like), another
machine, or a desktop Chromium started with ``--remote-debugging-port``. The driver opens one tab of
its own in that browser and closes only that tab when it stops; the browser keeps running. The
socket itself (discovery, commands, answers) is ``cdp_connection.CdpConnection``; this module is the
page: its tab, session, documents, binding and lifecycle.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
import json
import logging
import math
from typing import TYPE_CHECKING, Any, Final

from .base import (
    BindingHandler,
    BrowserDriver,
    DisconnectHandler,
    DisconnectReason,
    DriverClosed,
    DriverError,
    DriverTimeout,
    PageError,
    desktop_user_agent,
    first_line_of_error,
)
from .cdp_connection import (
    COMMAND_TIMEOUT,
    CdpCommandError,
    CdpConnection,
    CdpSocketConnection,
    ClosedHandler,
    EventHandler,
    redact,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import aiohttp

__all__ = ["CdpCommandError", "CdpDriver", "DevToolsPageDriver"]

_LOGGER = logging.getLogger(__name__)

# Closing our tab at stop() must not hold the client up when the browser is already unwell.
CLOSE_TIMEOUT: Final = 5.0
# Load events of navigations nobody waits for (yet) are kept this long to close a race.
_RECENT_LOADS: Final = 32


def _remote_value(remote: dict[str, Any]) -> Any:
    """The Python value of a ``Runtime.RemoteObject`` returned by value."""
    if "value" in remote:
        return remote["value"]
    special = remote.get("unserializableValue")
    if special is None:
        return None  # undefined, or a value that has no JSON form (a function, a symbol)
    if isinstance(special, str) and special.endswith("n"):
        with contextlib.suppress(ValueError):
            return int(special[:-1])  # a BigInt
    specials: dict[str, float] = {
        "NaN": math.nan,
        "Infinity": math.inf,
        "-Infinity": -math.inf,
        "-0": -0.0,
    }
    return specials.get(str(special))


def _exception_message(details: dict[str, Any]) -> str:
    """The message of a thrown JavaScript value, from ``Runtime.ExceptionDetails``."""
    exception = details.get("exception") or {}
    description = exception.get("description")
    if isinstance(description, str) and description:
        return first_line_of_error(description)
    if "value" in exception:
        value = exception["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return str(details.get("text") or "JavaScript exception")


type ConnectionFactory = Callable[[EventHandler, ClosedHandler], CdpConnection]
"""Builds the driver's connection, given the handlers for its events and for its closing."""


class DevToolsPageDriver(BrowserDriver):
    """One tab driven over the DevTools protocol; subclasses say how the browser is reached."""

    # What it means for the page when the DevTools channel closes.
    _channel_closed_reason: DisconnectReason = "connection_lost"

    def __init__(self, connection_factory: ConnectionFactory) -> None:
        """Build the connection (not opened before :meth:`start`)."""
        self._connection_factory = connection_factory
        self._connection = self._new_connection()
        self._stopping = False
        self._stopped = False
        # The page.
        self._target_id: str | None = None
        self._session_id: str | None = None
        self._main_frame_id: str | None = None
        self._page_alive = False
        self._page_gone_reason: str | None = None
        self._binding_name = ""
        self._on_binding: BindingHandler | None = None
        self._on_disconnect: DisconnectHandler | None = None
        self._context_id: int | None = None
        self._context_ready = asyncio.Event()
        self._load_waiters: dict[str, asyncio.Future[None]] = {}
        self._recent_loads: deque[str] = deque(maxlen=_RECENT_LOADS)

    # -----------------------------------------------------------------------------------------
    # Contract

    async def start(self) -> None:
        """Connect to the browser's DevTools socket."""
        if self._connection.started or self._stopped:
            raise DriverError("this driver was already started")
        await self._connection.connect()
        # Lets the browser socket report that our tab was destroyed or crashed.
        await self._command("Target.setDiscoverTargets", {"discover": True})

    async def open_page(
        self,
        *,
        init_script: str,
        binding_name: str,
        on_binding: BindingHandler,
        on_disconnect: DisconnectHandler,
    ) -> None:
        """Open a tab of our own, with the init script and the binding installed before any load."""
        if not self._connection.started or self._stopping:
            raise DriverClosed("the driver is not connected to a browser")
        if self._target_id is not None:
            raise DriverError("this driver already has a page")
        self._binding_name = binding_name
        self._on_binding = on_binding
        self._on_disconnect = on_disconnect
        self._target_id = await self._page_target()
        attached = await self._command(
            "Target.attachToTarget", {"targetId": self._target_id, "flatten": True}
        )
        self._session_id = str(attached["sessionId"])
        self._page_alive = True
        await self._page_command("Page.enable")
        tree = await self._page_command("Page.getFrameTree")
        self._main_frame_id = str(tree["frameTree"]["frame"]["id"])
        await self._page_command("Page.setLifecycleEventsEnabled", {"enabled": True})
        await self._page_command("Inspector.enable")
        version = await self._command("Browser.getVersion")
        user_agent = desktop_user_agent(str(version.get("userAgent", "")))
        if user_agent is not None:
            await self._page_command("Emulation.setUserAgentOverride", {"userAgent": user_agent})
        # The binding first: it exists in each new document before the init script runs.
        await self._page_command("Runtime.addBinding", {"name": binding_name})
        await self._page_command("Page.addScriptToEvaluateOnNewDocument", {"source": init_script})
        await self._page_command("Runtime.enable")

    async def navigate(self, url: str, *, timeout: float) -> None:
        """Load ``url`` in our tab and wait for that document's ``load`` lifecycle event."""
        self._require_page()
        try:
            async with asyncio.timeout(timeout):
                answer = await self._page_command("Page.navigate", {"url": url}, timeout=None)
                error_text = answer.get("errorText")
                if error_text:
                    raise DriverError(f"could not load {redact(url)}: {error_text}")
                loader_id = answer.get("loaderId")
                if not loader_id:
                    return  # a same-document navigation (only the fragment changed): no load event
                await self._wait_for_load(str(loader_id))
        except TimeoutError as error:
            # Abandon the navigation so the current document stays usable.
            with contextlib.suppress(DriverError):
                await self._page_command("Page.stopLoading", timeout=CLOSE_TIMEOUT)
            raise DriverTimeout(f"loading {redact(url)}", timeout) from error

    async def evaluate(self, function_source: str, *args: Any, timeout: float) -> Any:
        """Call ``function_source`` in the main frame's current document with JSON ``args``."""
        self._require_page()
        arguments = [{"value": value} for value in args]
        try:
            async with asyncio.timeout(timeout):
                context_id = await self._current_context()
                answer = await self._page_command(
                    "Runtime.callFunctionOn",
                    {
                        "functionDeclaration": function_source,
                        "executionContextId": context_id,
                        "arguments": arguments,
                        "awaitPromise": True,
                        "returnByValue": True,
                    },
                    timeout=None,
                )
        except TimeoutError as error:
            raise DriverTimeout("evaluating in the page", timeout) from error
        except CdpCommandError as error:
            if not self._page_alive:
                raise DriverClosed(self._gone_message()) from error
            # e.g. "Execution context was destroyed." when a navigation replaced the document.
            raise PageError(error.reason) from error
        details = answer.get("exceptionDetails")
        if details:
            raise PageError(_exception_message(details))
        return _remote_value(answer.get("result") or {})

    async def js_heap(self, *, timeout: float) -> tuple[int, int]:
        """(used, total) bytes of the page's JavaScript heap, from DevTools."""
        try:
            usage = await self._page_command("Runtime.getHeapUsage", timeout=timeout)
        except CdpCommandError as error:
            if not self._page_alive:
                raise DriverClosed(self._gone_message()) from error
            raise PageError(error.reason) from error
        return int(usage.get("usedSize", 0)), int(usage.get("totalSize", 0))

    def _new_connection(self) -> CdpConnection:
        """A connection (not yet open) whose events and closing reach this driver."""
        return self._connection_factory(
            self._on_event,
            lambda detail: self._page_gone(self._channel_closed_reason, detail),
        )

    async def _page_target(self) -> str:
        """The target id of the tab to drive: a new one of our own."""
        created = await self._command("Target.createTarget", {"url": "about:blank"})
        return str(created["targetId"])

    async def _close_channel(self) -> None:
        """The end of :meth:`stop`: the page is no longer usable and the channel is closed."""
        self._page_alive = False
        await self._connection.close("the driver was stopped")
        self._context_ready.set()

    # -----------------------------------------------------------------------------------------
    # Commands and events

    async def _command(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float | None = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        return await self._connection.command(
            method, params, session_id=session_id, timeout=timeout
        )

    async def _page_command(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        self._require_page()
        return await self._command(method, params, session_id=self._session_id, timeout=timeout)

    def _on_event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        if session_id is not None:
            if session_id == self._session_id:
                self._on_page_event(method, params)
            return
        if method == "Target.detachedFromTarget":
            if params.get("sessionId") == self._session_id and self._session_id is not None:
                self._page_gone("target_closed", "the tab was closed")
        elif method == "Target.targetDestroyed":
            if params.get("targetId") == self._target_id and self._target_id is not None:
                self._page_gone("target_closed", "the tab was closed")
        elif (
            method == "Target.targetCrashed"
            and params.get("targetId") == self._target_id
            and self._target_id is not None
        ):
            self._page_gone("page_crashed", f"the page's renderer crashed ({params.get('status')})")

    def _on_page_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.bindingCalled":
            # Only the main frame's own document may call Python: not an iframe (its document is
            # anyone's), not another world on the main frame (an extension, another DevTools client).
            if (
                params.get("name") == self._binding_name
                and self._context_id is not None
                and params.get("executionContextId") == self._context_id
                and self._on_binding is not None
            ):
                try:
                    self._on_binding(str(params.get("payload", "")))
                except Exception:
                    _LOGGER.exception("The page binding handler failed")
        elif method == "Runtime.executionContextCreated":
            context = params.get("context") or {}
            aux = context.get("auxData") or {}
            if aux.get("isDefault") and aux.get("frameId") == self._main_frame_id:
                self._context_id = int(context["id"])
                self._context_ready.set()
        elif method == "Runtime.executionContextDestroyed":
            if params.get("executionContextId") == self._context_id:
                self._forget_context()
        elif method == "Runtime.executionContextsCleared":
            self._forget_context()
        elif method == "Page.lifecycleEvent":
            if params.get("name") == "load" and params.get("frameId") == self._main_frame_id:
                loader_id = str(params.get("loaderId"))
                waiter = self._load_waiters.pop(loader_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                else:
                    self._recent_loads.append(loader_id)
        elif method == "Inspector.targetCrashed":
            self._page_gone("page_crashed", "the page's renderer crashed")
        # Not "Inspector.detached": it says "Render process gone." for a tab that was merely
        # closed; Target.detachedFromTarget follows it at once and tells the truth.

    def _forget_context(self) -> None:
        self._context_id = None
        self._context_ready.clear()

    def _page_gone(self, reason: DisconnectReason, detail: str) -> None:
        """The page can no longer be used; tell the client once (unless we are stopping)."""
        if not self._page_alive:
            return
        self._page_alive = False
        self._page_gone_reason = detail
        self._connection.fail_pending(self._session_id, detail)
        self._context_ready.set()  # wake evaluate() calls waiting for a document
        for waiter in self._load_waiters.values():
            if not waiter.done():
                waiter.set_exception(DriverClosed(detail))
        self._load_waiters.clear()
        if self._stopping or self._on_disconnect is None:
            return
        _LOGGER.debug("The page went away: %s (%s)", reason, detail)
        try:
            self._on_disconnect(reason, detail)
        except Exception:
            _LOGGER.exception("The disconnect handler failed")

    # -----------------------------------------------------------------------------------------
    # Page state

    def _gone_message(self) -> str:
        return self._page_gone_reason or "the page is closed"

    def _require_page(self) -> None:
        if self._stopping:
            raise DriverClosed("the driver was stopped")
        if self._session_id is None:
            raise DriverError("open_page() has not been called")
        if not self._page_alive:
            raise DriverClosed(self._gone_message())

    async def _current_context(self) -> int:
        """The id of the main frame's current document, waiting while a navigation swaps it."""
        while True:
            self._require_page()
            if self._context_id is not None:
                return self._context_id
            await self._context_ready.wait()

    async def _wait_for_load(self, loader_id: str) -> None:
        if loader_id in self._recent_loads:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._load_waiters[loader_id] = waiter
        try:
            await waiter
        finally:
            self._load_waiters.pop(loader_id, None)


class CdpDriver(DevToolsPageDriver):
    """One tab in a remote Chromium, driven over the DevTools protocol."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        connect_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        """Remember where the browser is.

        ``url`` is either ``http(s)://host:port`` (the WebSocket address is discovered from
        ``/json/version``) or the browser's ``ws(s)://`` address. ``token`` is sent both as a bearer
        header and as a ``token`` query parameter. ``session`` is used as is and never closed; without
        one the driver makes its own and closes it in :meth:`stop`.
        """
        super().__init__(
            lambda on_event, on_closed: CdpSocketConnection(
                url,
                token=token,
                session=session,
                connect_timeout=connect_timeout,
                on_event=on_event,
                on_closed=on_closed,
            )
        )

    async def stop(self) -> None:
        """Close our tab and the socket; the remote browser keeps running."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        # Also a tab that was created but never fully set up (open_page failed half way).
        tab_open = self._target_id is not None and self._page_gone_reason is None
        if self._connection.open and tab_open:
            with contextlib.suppress(DriverError, TimeoutError):
                await self._command(
                    "Target.closeTarget", {"targetId": self._target_id}, timeout=CLOSE_TIMEOUT
                )
        await self._close_channel()

    def browser_pids(self) -> list[int]:
        """A remote browser's processes are not ours to count or kill."""
        return []
