"""One DevTools protocol connection to a browser: commands and their answers, events.

The driver (``cdp.py``) owns the page; this owns the channel. :class:`CdpConnection` is the protocol
itself, whatever carries it; :class:`CdpSocketConnection` carries it over the browser's WebSocket
(a remote browser); ``cdp_pipe.CdpPipeConnection`` over the pipes of a Chromium we launched.
Wire facts it relies on:

* ``GET http://host:port/json/version`` answers ``{"webSocketDebuggerUrl": "ws://.../devtools/browser/<id>"}``.
* Commands are ``{"id", "method", "params", "sessionId"?}``; answers carry the same ``id`` and either
  ``result`` or ``error``; events carry ``method`` and ``params`` (and ``sessionId`` when they come
  from an attached target). With ``Target.attachToTarget(flatten=true)`` every page command travels
  on the browser socket, tagged with the page's ``sessionId``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable
import contextlib
import json
import logging
from typing import Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from ..page_json import parse_page_json
from .base import DriverClosed, DriverError, DriverTimeout

_LOGGER = logging.getLogger(__name__)

# Media crosses the socket as base64 inside one JSON message; the default 4 MiB cap would cut it.
MAX_MESSAGE_SIZE: Final = 256 * 1024 * 1024
# Set-up commands (open a tab, enable domains) answer in milliseconds on a healthy browser.
COMMAND_TIMEOUT: Final = 30.0

# (method, params, session id or None for the browser's own events)
type EventHandler = Callable[[str, dict[str, Any], str | None], None]
# Called once with the reason when the socket closes (not after close()).
type ClosedHandler = Callable[[str], None]


class CdpCommandError(DriverError):
    """The browser answered a DevTools command with an error."""

    def __init__(self, method: str, message: str) -> None:
        """Name the command and the browser's reason."""
        super().__init__(f"{method} failed: {message}")
        self.method = method
        self.reason = message


def redact(url: str) -> str:
    """The URL without its query and credentials, fit for a message (tokens live there)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def with_token(url: str, token: str | None) -> str:
    """Add ``token=...`` to the query, as browserless-style services expect, unless present."""
    if not token:
        return url
    parts = urlsplit(url)
    if "token=" in parts.query:
        return url
    query = (
        f"{parts.query}&{urlencode({'token': token})}"
        if parts.query
        else urlencode({"token": token})
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class CdpConnection(ABC):
    """Send a command, get its answer; events go to a handler. Subclasses carry the messages."""

    def __init__(self, *, on_event: EventHandler, on_closed: ClosedHandler) -> None:
        """Remember whom to tell about events and about the channel closing."""
        self._on_event = on_event
        self._on_closed = on_closed
        self._next_id = 0
        # command id -> (answer, session id it was sent on, method)
        self._pending: dict[int, tuple[asyncio.Future[dict[str, Any]], str | None, str]] = {}

    @property
    @abstractmethod
    def started(self) -> bool:
        """Whether :meth:`connect` succeeded once (the channel may have closed since)."""

    @property
    @abstractmethod
    def open(self) -> bool:
        """Whether the channel is open now."""

    @abstractmethod
    async def connect(self) -> None:
        """Open the channel to the browser."""

    @abstractmethod
    async def close(self, detail: str) -> None:
        """Close the channel; commands still waiting fail with ``detail``."""

    @abstractmethod
    async def _send_text(self, text: str) -> None:
        """Send one message; raise :class:`DriverClosed` when the channel is gone."""

    async def command(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float | None = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        """Send one command and wait for its answer."""
        if not self.open:
            raise DriverClosed("the DevTools connection is closed")
        self._next_id += 1
        command_id = self._next_id
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        # allow_nan=False: NaN is not JSON and the browser would reject the whole message.
        text = json.dumps(message, allow_nan=False)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = (answer, session_id, method)
        try:
            await self._send_text(text)
            if timeout is None:
                return await answer
            try:
                async with asyncio.timeout(timeout):
                    return await answer
            except TimeoutError as error:
                raise DriverTimeout(method, timeout) from error
        finally:
            self._pending.pop(command_id, None)

    def fail_pending(self, session_id: str | None, detail: str) -> None:
        """Fail commands waiting for answers: those of one session, or all (``None``)."""
        for answer, sent_on, _ in list(self._pending.values()):
            if (session_id is None or sent_on == session_id) and not answer.done():
                answer.set_exception(DriverClosed(detail))

    def _receive(self, text: str | bytes) -> None:
        """One message from the browser: an answer to a command, or an event."""
        try:
            data = parse_page_json(text)
        except ValueError:
            _LOGGER.debug("Ignoring a DevTools message that is not JSON")
            return
        if not isinstance(data, dict):
            return
        if "id" not in data:
            session_id = data.get("sessionId")
            self._on_event(
                str(data.get("method")),
                data.get("params") or {},
                None if session_id is None else str(session_id),
            )
            return
        entry = self._pending.get(data["id"])
        if entry is None:
            return  # the caller gave up waiting (timeout) before the answer came
        answer, _, command = entry
        if answer.done():
            return
        if "error" in data:
            error = data["error"] or {}
            answer.set_exception(CdpCommandError(command, str(error.get("message"))))
        else:
            answer.set_result(data.get("result") or {})


class CdpSocketConnection(CdpConnection):
    """The protocol over a browser's DevTools WebSocket (found through ``/json/version``)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        session: aiohttp.ClientSession | None,
        connect_timeout: float,
        on_event: EventHandler,
        on_closed: ClosedHandler,
    ) -> None:
        """Remember where the browser is; ``session`` is used as is and never closed."""
        super().__init__(on_event=on_event, on_closed=on_closed)
        self.url = url.strip()
        self._token = token or None
        self._session = session
        self._owns_session = session is None
        self._connect_timeout = connect_timeout
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        """Whether :meth:`connect` succeeded once (the socket may have closed since)."""
        return self._ws is not None

    @property
    def open(self) -> bool:
        """Whether the socket is open now."""
        return self._ws is not None and not self._ws.closed

    async def connect(self) -> None:
        """Find the browser's socket and connect to it."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        where = redact(self.url)
        try:
            async with asyncio.timeout(self._connect_timeout):
                ws_url = await self._discover()
                self._ws = await self._session.ws_connect(
                    with_token(ws_url, self._token),
                    headers=self._auth_headers(),
                    max_msg_size=MAX_MESSAGE_SIZE,
                    autoping=True,
                )
        except TimeoutError as error:
            raise DriverError(
                f"the browser at {where} did not answer within {self._connect_timeout:g} s"
            ) from error
        except aiohttp.WSServerHandshakeError as error:
            raise DriverError(
                f"the browser at {where} refused the DevTools connection "
                f"(HTTP {error.status}; check the URL and the token)"
            ) from error
        except (aiohttp.ClientError, OSError, ValueError) as error:
            raise DriverError(
                f"could not connect to the browser at {where}: {error or type(error).__name__}"
            ) from error
        self._reader = asyncio.create_task(
            self._read_loop(self._ws), name="whatsapp_web cdp reader"
        )

    async def close(self, detail: str) -> None:
        """Close the socket; commands still waiting fail with ``detail``."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self.fail_pending(None, detail)
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _send_text(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise DriverClosed("the DevTools connection is closed")
        try:
            await ws.send_str(text)
        except (ConnectionError, aiohttp.ClientError) as error:
            raise DriverClosed(f"the DevTools connection is closed: {error}") from error

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def _discover(self) -> str:
        """The browser's WebSocket address: given directly, or read from ``/json/version``."""
        parts = urlsplit(self.url)
        scheme = parts.scheme.lower()
        where = redact(self.url)
        if scheme in ("ws", "wss"):
            if not parts.hostname:
                raise DriverError(f"the browser URL {where} has no host")
            return self.url
        if scheme not in ("http", "https"):
            raise DriverError(
                f"the browser URL {where} must start with http://, https://, ws:// or wss://"
            )
        if not parts.hostname:
            raise DriverError(f"the browser URL {where} has no host")
        base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        version_url = with_token(f"{base}/json/version", self._token)
        assert self._session is not None
        async with self._session.get(version_url, headers=self._auth_headers()) as response:
            body = await response.text()
            if response.status != 200:
                raise DriverError(
                    f"{where}/json/version answered HTTP {response.status}: {body[:200]!r}"
                )
        try:
            ws_url = json.loads(body)["webSocketDebuggerUrl"]
        except (ValueError, KeyError, TypeError) as error:
            raise DriverError(
                f"{where}/json/version did not name a webSocketDebuggerUrl; "
                "is this a Chromium DevTools endpoint?"
            ) from error
        # The browser names itself as it sees itself (often 127.0.0.1 or 0.0.0.0 inside a
        # container); the host and port the user reached it at are the ones that work from here.
        found = urlsplit(str(ws_url))
        ws_scheme = "wss" if scheme == "https" else "ws"
        return urlunsplit((ws_scheme, parts.netloc, found.path, found.query, ""))

    async def _read_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        detail = "the browser closed the DevTools connection"
        try:
            while True:
                message = await ws.receive()
                if message.type is aiohttp.WSMsgType.TEXT:
                    self._receive(message.data)
                elif message.type is aiohttp.WSMsgType.ERROR:
                    detail = f"the DevTools connection failed: {ws.exception()}"
                    break
                elif message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                ):
                    break
        finally:
            self.fail_pending(None, detail)
            self._on_closed(detail)
