"""The DevTools protocol over the pipes of a Chromium started with ``--remote-debugging-pipe``.

Chromium reads commands from its file descriptor 3 and writes answers and events to its file
descriptor 4; every message is one JSON text followed by a NUL byte. Nothing listens on a port, so
no other process on the host can reach the browser, and no WebSocket framing is paid for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Final

from .base import DriverClosed
from .cdp_connection import MAX_MESSAGE_SIZE, CdpConnection, ClosedHandler, EventHandler

_LOGGER = logging.getLogger(__name__)

_SEPARATOR: Final = b"\0"


class _WriteFlow(asyncio.Protocol):
    """Lets the writer wait while the pipe to the browser is full, and learn that it closed."""

    def __init__(self) -> None:
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._can_write.set()

    async def drained(self) -> None:
        await self._can_write.wait()


class CdpPipeConnection(CdpConnection):
    """The protocol over the two pipes of a browser this process launched."""

    def __init__(self, *, on_event: EventHandler, on_closed: ClosedHandler) -> None:
        """No pipes yet: the launcher hands them over with :meth:`use_pipes`."""
        super().__init__(on_event=on_event, on_closed=on_closed)
        self._to_browser_fd: int | None = None
        self._from_browser_fd: int | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._write_flow: _WriteFlow | None = None
        self._reader_transport: asyncio.ReadTransport | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    def use_pipes(self, to_browser_fd: int, from_browser_fd: int) -> None:
        """Take ownership of our ends of the browser's pipes (closed by :meth:`close`)."""
        self._to_browser_fd = to_browser_fd
        self._from_browser_fd = from_browser_fd

    @property
    def started(self) -> bool:
        """Whether :meth:`connect` succeeded once."""
        return self._writer is not None

    @property
    def open(self) -> bool:
        """Whether both pipes are still open."""
        return (
            self._writer is not None
            and not self._closed
            and self._write_flow is not None
            and not self._write_flow.closed
        )

    async def connect(self) -> None:
        """Wrap the pipes in the event loop's transports and start reading."""
        if self._to_browser_fd is None or self._from_browser_fd is None:
            raise DriverClosed("the browser's pipes were never handed over")
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_MESSAGE_SIZE, loop=loop)
        # The transports own the descriptors from here on (closing them closes the files).
        read_file = os.fdopen(self._from_browser_fd, "rb", buffering=0)
        write_file = os.fdopen(self._to_browser_fd, "wb", buffering=0)
        self._from_browser_fd = self._to_browser_fd = None
        try:
            self._reader_transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader, loop=loop), read_file
            )
            self._writer, self._write_flow = await loop.connect_write_pipe(_WriteFlow, write_file)
        except OSError as error:
            read_file.close()
            write_file.close()
            raise DriverClosed(f"could not use the browser's pipes: {error}") from error
        self._reader = asyncio.create_task(
            self._read_loop(reader), name="whatsapp_web cdp pipe reader"
        )

    async def close(self, detail: str) -> None:
        """Close both pipes; commands still waiting fail with ``detail``."""
        self._closed = True
        if self._writer is not None:
            self._writer.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._reader_transport is not None:
            self._reader_transport.close()
        for fd in (self._to_browser_fd, self._from_browser_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_browser_fd = self._from_browser_fd = None
        self.fail_pending(None, detail)

    async def _send_text(self, text: str) -> None:
        writer, flow = self._writer, self._write_flow
        if writer is None or flow is None or flow.closed or self._closed:
            raise DriverClosed("the DevTools connection is closed")
        writer.write(text.encode() + _SEPARATOR)
        await flow.drained()
        if flow.closed:
            raise DriverClosed("the browser closed its DevTools pipe")

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        detail = "the browser exited"
        try:
            while True:
                try:
                    message = await reader.readuntil(_SEPARATOR)
                except asyncio.IncompleteReadError:
                    break  # end of file: the browser closed its end (it exited)
                except asyncio.LimitOverrunError:
                    detail = "the browser sent a message larger than the DevTools limit"
                    break
                self._receive(message[:-1])
        except OSError as error:
            detail = f"the browser's DevTools pipe failed: {error}"
        finally:
            self._closed = True
            self.fail_pending(None, detail)
            if self._writer is not None:
                self._writer.close()
            self._on_closed(detail)
