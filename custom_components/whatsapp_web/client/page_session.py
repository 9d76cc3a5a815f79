"""One browser page's life: open WhatsApp Web with the bridge, watch it, call into it.

A session is replaced on every restart of the browser. It opens the page with bridge.js installed
under a binding name no page script can guess, pings it so a page that stops answering is replaced,
and carries calls into the bridge: JSON arguments in, JSON text back, a long answer in parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import secrets
from typing import TYPE_CHECKING, Any, Final

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
    MessageNotFound,
    NotConnected,
    NotFound,
    OperationFailed,
    Timeout,
    WhatsAppWebChanged,
    WhatsAppWebError,
)
from .models import ClientState
from .page_json import parse_page_json, unpack_records

if TYPE_CHECKING:
    from .page_calls import Timing

_LOGGER = logging.getLogger(__name__)

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

type EventReceiver = Callable[[PageSession, dict[str, Any]], None]


def new_binding_name() -> str:
    """A binding name no page script can guess."""
    return f"__{secrets.token_hex(16)}"


def bridge_script(binding_name: str) -> str:
    """bridge.js for a page whose binding is ``binding_name`` (our own random name, not user data)."""
    if BRIDGE_SOURCE.count(_BINDING_NAME_SLOT) != 1:
        raise RuntimeError("bridge.js must name the binding exactly once")
    return BRIDGE_SOURCE.replace(_BINDING_NAME_SLOT, json.dumps(binding_name))


def _parse_answer(encoded: Any) -> Any:
    """The page's answer from its JSON text; ``None`` for anything else."""
    if not isinstance(encoded, str):
        return None
    try:
        return parse_page_json(encoded)
    except ValueError:
        return None


def _records_part(encoded: Any) -> Any:
    """A part of a long list: its answer, with packed records unpacked; ``None`` if malformed."""
    answer = _parse_answer(encoded)
    if isinstance(answer, dict) and answer.get("ok") and isinstance(answer.get("result"), dict):
        try:
            answer["result"] = unpack_records(answer["result"])
        except ValueError:
            return None
    return answer


@dataclass(slots=True)
class PageSession:
    """One browser page's life; the client replaces it on every restart."""

    driver: BrowserDriver
    ended: asyncio.Future[str]
    #: WhatsApp Web finished its first sync in this page's current document.
    synced: bool = field(default=False)

    @classmethod
    def new(cls, driver: BrowserDriver) -> PageSession:
        """A session for a driver that has not started yet."""
        return cls(driver=driver, ended=asyncio.get_running_loop().create_future())

    def end(self, reason: str) -> None:
        """End this page's life (the first reason wins); the supervisor starts the next one."""
        if not self.ended.done():
            self.ended.set_result(reason)

    async def open(self, url: str, *, on_event: EventReceiver, navigation_timeout: float) -> None:
        """Start the browser, install the bridge for every document and load ``url``.

        The bridge reports in batches; ``on_event`` gets each event of a batch, in order.
        """

        def on_binding(payload: str) -> None:
            try:
                batch = parse_page_json(payload)
                events = batch["events"]
            except (ValueError, KeyError, TypeError):
                _LOGGER.warning("Ignoring a malformed event batch from the page")
                return
            for event in events:
                if isinstance(event, dict):
                    on_event(self, event)

        def on_disconnect(reason: DisconnectReason, detail: str) -> None:
            _LOGGER.warning("WhatsApp Web's browser went away: %s (%s)", reason, detail)
            self.end("BROWSER_CRASHED" if reason != "target_closed" else "PAGE_CLOSED")

        # A fresh name per page: a script that learnt an earlier one cannot use it.
        binding_name = new_binding_name()
        await self.driver.start()
        await self.driver.open_page(
            init_script=bridge_script(binding_name),
            binding_name=binding_name,
            on_binding=on_binding,
            on_disconnect=on_disconnect,
        )
        await self.driver.navigate(url, timeout=navigation_timeout)

    async def run(self, url: str, *, on_event: EventReceiver, timing: Timing) -> str:
        """Open the page and watch it until its life ends; returns why it ended.

        Raises :class:`DriverError` when the browser or the page could not start.
        """
        await self.open(url, on_event=on_event, navigation_timeout=timing.navigation_timeout)
        watchdog = asyncio.create_task(
            self.watchdog(timing.watchdog_interval, timing.watchdog_timeout),
            name="whatsapp_web watchdog",
        )
        try:
            return await self.ended
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def watchdog(self, interval: float, timeout: float) -> None:
        """Replace a page that stops answering (an endless loop, a frozen renderer)."""
        while not self.ended.done():
            await asyncio.sleep(interval)
            try:
                await self.driver.evaluate(_PING_FUNCTION, timeout=timeout)
            except DriverTimeout:
                _LOGGER.warning(
                    "WhatsApp Web did not answer within %.0f s; restarting the browser", timeout
                )
                self.end("BROWSER_HUNG")
            except DriverClosed:
                self.end("BROWSER_CRASHED")
            except (DriverError, PageError):
                # A navigation in progress destroys the context; the next round will tell.
                continue

    async def close(self) -> None:
        """Stop the browser (or leave the remote one); a failure here is only logged."""
        try:
            await self.driver.stop()
        except Exception:
            _LOGGER.debug("Stopping the browser driver failed", exc_info=True)

    async def call(self, operation: str, args: dict[str, Any], timeout: float) -> Any:
        """The bridge's result for ``operation``; its error answer raised as this package's error."""
        try:
            async with asyncio.timeout(timeout):
                encoded = await self.driver.evaluate(
                    _CALL_FUNCTION, operation, args, timeout=timeout
                )
                if isinstance(encoded, dict):
                    answer = await self.answer_in_parts(encoded, timeout)
                else:
                    answer = _parse_answer(encoded)
        except (DriverTimeout, TimeoutError) as error:
            raise Timeout(operation, timeout) from error
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
        raise _page_error(operation, answer.get("error") or {})

    async def answer_in_parts(self, announced: dict[str, Any], timeout: float) -> Any:
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
                part = await self.driver.evaluate(
                    _ANSWER_PART_FUNCTION, handle, index, timeout=timeout
                )
            return _records_part(part) if of_records else part

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
