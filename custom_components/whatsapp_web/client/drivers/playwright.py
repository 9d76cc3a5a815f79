"""A driver that launches a local Chromium through Playwright, with a persistent profile.

The profile directory holds the linked WhatsApp session (IndexedDB, localStorage), so it lives as
long as the account and is private to the user running Home Assistant (mode 0700).

Playwright is imported inside :meth:`PlaywrightDriver.start`: the integration may install it only
when a local browser is chosen, after this module was imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import TYPE_CHECKING, Any, Final, Unpack

from .base import (
    BindingHandler,
    DisconnectHandler,
    DisconnectReason,
    DriverClosed,
    DriverError,
    DriverTimeout,
    PageError,
    desktop_user_agent,
    first_line_of_error,
)
from .chromium import (
    LOW_MEMORY_ARGS,
    LaunchingDriver,
    LaunchSettings,
    launch_with_sandbox_fallback,
)

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, CDPSession, Page, Playwright

_LOGGER = logging.getLogger(__name__)

CLOSE_TIMEOUT: Final = 10.0
STOP_LOADING_TIMEOUT: Final = 2.0
# A page "close" that is really the whole browser going away is followed by the context's
# "close" within milliseconds; wait this long before calling it a closed tab.
_CLOSE_GRACE: Final = 0.5
_EVALUATE_PREFIX: Final = "Page.evaluate: "


def _error_message(error: Exception) -> str:
    """A Playwright error's own message (its str() adds a call log); other errors' str()."""
    return str(getattr(error, "message", None) or error)


class PlaywrightDriver(LaunchingDriver):
    """A local headless Chromium with a persistent profile, launched through Playwright."""

    def __init__(self, **settings: Unpack[LaunchSettings]) -> None:
        """Remember how to launch (:class:`LaunchSettings`); nothing starts before :meth:`start`."""
        super().__init__(**settings)
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._devtools: CDPSession | None = None
        self._on_disconnect: DisconnectHandler | None = None
        self._gone_detail: str | None = None
        self._stopping = False
        self._stopped = False
        self._close_timer: asyncio.TimerHandle | None = None
        # The main frame's own execution context: the only one whose binding calls count.
        self._main_frame_id: str | None = None
        self._main_context_id: int | None = None

    # -----------------------------------------------------------------------------------------
    # Contract

    async def start(self) -> None:
        """Launch Chromium with the persistent profile."""
        if self._playwright is not None or self._stopped:
            raise DriverError("this driver was already started")
        executable = self._prepare_launch()
        try:
            from playwright.async_api import async_playwright  # noqa: PLC0415
        except ImportError as error:
            raise DriverError("Playwright is not installed") from error
        try:
            self._playwright = await async_playwright().start()
        except Exception as error:
            raise DriverError(f"could not start Playwright: {error}") from error
        self._context = await launch_with_sandbox_fallback(
            lambda sandbox: self._launch(executable, sandbox=sandbox)
        )
        self._context.on("close", self._on_context_close)

    async def open_page(
        self,
        *,
        init_script: str,
        binding_name: str,
        on_binding: BindingHandler,
        on_disconnect: DisconnectHandler,
    ) -> None:
        """Use the profile's first tab, with the binding and the init script installed."""
        context = self._context
        if context is None or self._stopping:
            raise DriverClosed("the browser is not running")
        if self._page is not None:
            raise DriverError("this driver already has a page")
        self._on_disconnect = on_disconnect
        page = context.pages[0] if context.pages else await context.new_page()
        self._page = page
        page.on("crash", self._on_page_crash)
        page.on("close", self._on_page_close)

        def binding_called(params: dict[str, Any]) -> None:
            # Only the main frame's own document may call Python: not an iframe, not another world
            # (Playwright's expose_binding would take calls from both).
            if (
                params.get("name") != binding_name
                or self._main_context_id is None
                or params.get("executionContextId") != self._main_context_id
            ):
                return
            try:
                on_binding(str(params.get("payload", "")))
            except Exception:
                _LOGGER.exception("The page binding handler failed")

        try:
            # A DevTools session of our own, for the binding (its calls name their context) and
            # for what Playwright does not offer: stopping a navigation that timed out, and
            # presenting the browser as the desktop Chrome it is rather than "HeadlessChrome".
            devtools = await context.new_cdp_session(page)
            self._devtools = devtools
            devtools.on("Runtime.executionContextCreated", self._on_context_created)
            devtools.on("Runtime.executionContextDestroyed", self._on_context_destroyed)
            devtools.on("Runtime.executionContextsCleared", self._on_contexts_cleared)
            devtools.on("Runtime.bindingCalled", binding_called)
            tree = await devtools.send("Page.getFrameTree")
            self._main_frame_id = str(tree["frameTree"]["frame"]["id"])
            # The binding first: the init script may call it as soon as a document starts.
            await devtools.send("Runtime.addBinding", {"name": binding_name})
            await devtools.send("Runtime.enable")
            await page.add_init_script(script=init_script)
            version = await devtools.send("Browser.getVersion")
            user_agent = desktop_user_agent(str(version.get("userAgent", "")))
            if user_agent is not None:
                await self._devtools.send(
                    "Emulation.setUserAgentOverride", {"userAgent": user_agent}
                )
        except Exception as error:
            raise self._translate(error, "opening the page") from error

    async def navigate(self, url: str, *, timeout: float) -> None:
        """Load ``url`` and wait for its ``load`` event."""
        page = self._require_page()
        try:
            # Playwright's own timeout stops its waiting too; ours is a backstop.
            async with asyncio.timeout(timeout + 5):
                await page.goto(url, wait_until="load", timeout=max(timeout, 0.001) * 1000)
        except Exception as error:
            # Ours is the built-in TimeoutError, Playwright's its own class of the same name.
            if isinstance(error, TimeoutError) or type(error).__name__ == "TimeoutError":
                await self._stop_loading()
                raise DriverTimeout(f"loading {url.split('?', 1)[0]}", timeout) from error
            raise self._translate(error, "loading the page") from error

    async def _stop_loading(self) -> None:
        """Abandon a navigation that timed out, so the current document answers evaluate() again.

        Playwright waits for a pending navigation before it evaluates anything in the frame.
        """
        if self._devtools is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(STOP_LOADING_TIMEOUT):
                await self._devtools.send("Page.stopLoading")

    async def evaluate(self, function_source: str, *args: Any, timeout: float) -> Any:
        """Call ``function_source`` with JSON ``args`` in the page's current document."""
        page = self._require_page()
        # Only the trusted function source is pasted (on its own lines, so a trailing comment
        # cannot swallow the call); the user's data travels as Playwright's serialised argument.
        wrapper = f"(args) => (\n{function_source}\n)(...args)"
        try:
            async with asyncio.timeout(timeout):
                return await page.evaluate(wrapper, list(args))
        except TimeoutError as error:
            raise DriverTimeout("evaluating in the page", timeout) from error
        except Exception as error:
            closed = self._translate_closed(error)
            if closed is not None:
                raise closed from error
            message = _error_message(error).removeprefix(_EVALUATE_PREFIX)
            raise PageError(first_line_of_error(message)) from error

    async def js_heap(self, *, timeout: float) -> tuple[int, int]:
        """(used, total) bytes of the page's JavaScript heap, from DevTools."""
        self._require_page()
        if self._devtools is None:
            return await super().js_heap(timeout=timeout)
        try:
            async with asyncio.timeout(timeout):
                usage = await self._devtools.send("Runtime.getHeapUsage")
        except TimeoutError as error:
            raise DriverTimeout("reading the page's heap", timeout) from error
        except Exception as error:
            raise self._translate(error, "reading the page's heap") from error
        return int(usage.get("usedSize", 0)), int(usage.get("totalSize", 0))

    async def stop(self) -> None:
        """Close the browser and Playwright; kill whatever Chromium process is left."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        # Reading /proc blocks; keep it off the event loop (Home Assistant flags it otherwise).
        pids = await asyncio.to_thread(self.browser_pids)
        context, self._context = self._context, None
        self._page = None
        self._devtools = None
        if context is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await context.close()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await playwright.stop()
        # A hung browser survives a polite close; it must not keep the profile locked.
        for pid in set(pids) & set(await asyncio.to_thread(self.browser_pids)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    # -----------------------------------------------------------------------------------------
    # Internals

    async def _launch(self, executable: str, *, sandbox: bool) -> BrowserContext:
        assert self._playwright is not None
        try:
            return await self._playwright.chromium.launch_persistent_context(
                self._profile_dir,
                executable_path=executable,
                headless=self._headless,
                args=[*LOW_MEMORY_ARGS, *self._extra_args],
                chromium_sandbox=sandbox,
                timeout=self._launch_timeout * 1000,
            )
        except Exception as error:
            detail = first_line_of_error(_error_message(error))
            raise DriverError(f"could not start Chromium ({executable}): {detail}") from error

    def _require_page(self) -> Page:
        if self._stopping:
            raise DriverClosed("the driver was stopped")
        if self._page is None:
            raise DriverError("open_page() has not been called")
        if self._gone_detail is not None:
            raise DriverClosed(self._gone_detail)
        return self._page

    def _translate_closed(self, error: Exception) -> DriverClosed | None:
        """A :class:`DriverClosed` when ``error`` means the page or browser is gone."""
        if self._gone_detail is not None:
            return DriverClosed(self._gone_detail)
        page = self._page
        if (
            type(error).__name__ == "TargetClosedError"
            or page is None
            or page.is_closed()
            or "Target crashed" in str(error)
        ):
            return DriverClosed(f"the page is closed: {first_line_of_error(str(error))}")
        return None

    def _translate(self, error: Exception, doing: str) -> DriverError:
        closed = self._translate_closed(error)
        if closed is not None:
            return closed
        return DriverError(f"{doing} failed: {first_line_of_error(_error_message(error))}")

    def _report(self, reason: DisconnectReason, detail: str) -> None:
        """Mark the page gone and tell the client, once, unless we are stopping on purpose."""
        if self._gone_detail is not None:
            return
        self._gone_detail = detail
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._stopping or self._on_disconnect is None:
            return
        try:
            self._on_disconnect(reason, detail)
        except Exception:
            _LOGGER.exception("The disconnect handler failed")

    def _on_context_created(self, params: dict[str, Any]) -> None:
        context = params.get("context") or {}
        aux = context.get("auxData") or {}
        if aux.get("isDefault") and aux.get("frameId") == self._main_frame_id:
            self._main_context_id = int(context["id"])

    def _on_context_destroyed(self, params: dict[str, Any]) -> None:
        if params.get("executionContextId") == self._main_context_id:
            self._main_context_id = None

    def _on_contexts_cleared(self, _params: dict[str, Any]) -> None:
        self._main_context_id = None

    def _on_context_close(self, *_: Any) -> None:
        self._report("browser_closed", "the browser exited")

    def _on_page_crash(self, *_: Any) -> None:
        self._report("page_crashed", "the page's renderer crashed")

    def _on_page_close(self, *_: Any) -> None:
        if self._gone_detail is not None or self._stopping:
            return
        # When the browser dies the page closes first and the context a moment later.
        loop = asyncio.get_running_loop()
        self._close_timer = loop.call_later(
            _CLOSE_GRACE, self._report, "target_closed", "the tab was closed"
        )
