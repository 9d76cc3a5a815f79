"""A driver that launches a local Chromium itself and speaks DevTools to it over two pipes.

No Playwright and no Node process: the browser is started with ``--remote-debugging-pipe`` and
driven with the same DevTools page code as a remote browser (``cdp.DevToolsPageDriver``). Compared
with the Playwright driver this saves Playwright's Node driver process (about 110 MiB on the
benchmark machine) and one hop for every command and event; see the README's speed section.

Process facts this relies on:

* Chromium reads DevTools commands from file descriptor 3 and writes to file descriptor 4; it exits
  when that pipe closes, so a Home Assistant that dies without stopping us leaves no browser behind.
* The browser runs in a session of its own (``setsid``): a Ctrl-C in the terminal that started Home
  Assistant reaches Home Assistant, which then closes the browser properly, not the browser first.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
import fcntl
import logging
import os
import signal
from typing import TYPE_CHECKING, Final, Unpack

from .base import DriverError, DriverTimeout, first_line_of_error
from .cdp import CLOSE_TIMEOUT, DevToolsPageDriver
from .cdp_pipe import CdpPipeConnection
from .chromium import (
    LOW_MEMORY_ARGS,
    LaunchingDriver,
    LaunchSettings,
    launch_with_sandbox_fallback,
    live_processes,
)

if TYPE_CHECKING:
    from .cdp_connection import ClosedHandler, EventHandler

_LOGGER = logging.getLogger(__name__)

# A tab nobody looks at must keep its timers and its renderer at full speed: WhatsApp Web answers
# the phone's keep-alives from timers, and a throttled page looks offline to the phone.
BACKGROUND_TAB_ARGS: Final = (
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    # No desktop keyring: Chromium would otherwise wait for one to unlock on a desktop session.
    "--password-store=basic",
    "--use-mock-keychain",
    # The same page size as the Playwright driver's, so WhatsApp Web lays itself out the same way.
    "--window-size=1280,720",
)
# Descriptors below this are the child's standard streams and its DevTools pipes.
_FIRST_FREE_FD: Final = 5
# The last lines Chromium wrote to stderr, for the message when it fails to start.
_STDERR_LINES: Final = 20
_EXIT_POLL: Final = 0.2
_GROUP_POLL: Final = 0.05


def _above_child_fds(fd: int) -> int:
    """``fd`` moved above the child's fixed descriptors.

    dup2 onto the same number would leave close-on-exec set, and the child would lose the pipe.
    """
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def _group_alive(group: int) -> bool:
    """Whether a process of process group ``group`` is still running (Linux ``/proc``).

    Without ``/proc`` there is nothing to wait for: the group was killed.
    """
    return any(process.group == group for process in live_processes())


class LaunchedChromium:
    """A Chromium process this driver started: its pipes, its stderr, its exit."""

    def __init__(self, executable: str, argv: list[str]) -> None:
        """Start the process (blocking for a millisecond or two: call it off the event loop)."""
        to_browser_read, self.to_browser_fd = os.pipe()
        self.from_browser_fd, from_browser_write = os.pipe()
        self._stderr_fd, stderr_write = os.pipe()
        child_ends = [
            _above_child_fds(fd) for fd in (to_browser_read, from_browser_write, stderr_write)
        ]
        actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, child_ends[2], 2),
            (os.POSIX_SPAWN_DUP2, child_ends[0], 3),
            (os.POSIX_SPAWN_DUP2, child_ends[1], 4),
        ]
        closefrom = getattr(os, "POSIX_SPAWN_CLOSEFROM", None)
        if closefrom is not None:
            # Home Assistant's own descriptors are none of the browser's business.
            actions.append((closefrom, _FIRST_FREE_FD))
        try:
            self.pid = os.posix_spawn(
                executable, argv, dict(os.environ), file_actions=actions, setsid=True
            )
        except OSError:
            for fd in (self.to_browser_fd, self.from_browser_fd, self._stderr_fd):
                os.close(fd)
            raise
        finally:
            for fd in child_ends:
                os.close(fd)
        self.returncode: int | None = None
        self._exited = asyncio.Event()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_LINES)
        self._watchers: list[asyncio.Task[None]] = []

    def watch(self) -> None:
        """Start reading its stderr and waiting for its exit (on the running loop)."""
        self._watchers = [
            asyncio.create_task(self._read_stderr(), name="whatsapp_web chromium stderr"),
            asyncio.create_task(self._reap(), name="whatsapp_web chromium exit"),
        ]

    @property
    def running(self) -> bool:
        """Whether the browser process has not exited yet."""
        return self.returncode is None

    def last_error(self) -> str:
        """The most telling line Chromium wrote to stderr (an ERROR/FATAL line if any)."""
        lines = list(self._stderr_tail)
        for line in reversed(lines):
            if "ERROR" in line or "FATAL" in line or "sandbox" in line.lower():
                return line
        return lines[-1] if lines else ""

    async def wait(self, timeout: float) -> bool:
        """Whether the process exited within ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._exited.wait()
        return self.returncode is not None

    def kill_group(self) -> None:
        """SIGKILL the browser's whole session (it leads its own process group)."""
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Stop watching; the process must have exited (or been killed) already."""
        for task in self._watchers:
            task.cancel()
        for task in self._watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._watchers = []
        self._collect_exit()

    def _collect_exit(self) -> None:
        if self.returncode is not None:
            return
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                return
            self.returncode = os.waitstatus_to_exitcode(status)
            self._exited.set()
            return
        self.returncode = -1  # somebody else reaped it
        self._exited.set()

    async def _reap(self) -> None:
        """Collect the exit status as soon as the process ends, so it is never a zombie for long."""
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is None:
            while self.returncode is None:
                await asyncio.sleep(_EXIT_POLL)
                self._collect_exit()
            return
        exited = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(pidfd, exited.set)
        try:
            await exited.wait()
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        self._collect_exit()

    async def _read_stderr(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        with os.fdopen(self._stderr_fd, "rb", buffering=0) as stderr:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader, loop=loop), stderr
            )
            try:
                while line := await reader.readline():
                    text = line.decode(errors="replace").rstrip()
                    if text:
                        self._stderr_tail.append(text)
                        _LOGGER.debug("Chromium: %s", text)
            except ValueError:
                pass  # a line longer than the reader's limit: Chromium is dumping something
            finally:
                transport.close()


class LocalChromiumDriver(DevToolsPageDriver, LaunchingDriver):
    """A local headless Chromium with a persistent profile, launched and driven over pipes."""

    _channel_closed_reason = "browser_closed"

    def __init__(self, **settings: Unpack[LaunchSettings]) -> None:
        """Remember how to launch (:class:`LaunchSettings`); nothing starts before :meth:`start`."""
        # Neither base calls the other's __init__: each is given its own arguments here (the
        # settings first, so that a wrong one fails before anything is built).
        LaunchingDriver.__init__(self, **settings)
        DevToolsPageDriver.__init__(self, self._pipe_connection)
        self._process: LaunchedChromium | None = None

    async def start(self) -> None:
        """Launch Chromium with the persistent profile and connect to its pipes."""
        if self._process is not None or self._stopped:
            raise DriverError("this driver was already started")
        await launch_with_sandbox_fallback(lambda sandbox: self._launch(sandbox=sandbox))

    async def stop(self) -> None:
        """Close the browser (politely, then by force) and forget its process."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        process = self._process
        if process is not None and process.running and self._connection.open:
            # A polite close lets Chromium write the profile (the linked session) to disk.
            with contextlib.suppress(DriverError, TimeoutError):
                await self._command("Browser.close", timeout=CLOSE_TIMEOUT)
        await self._close_channel()
        if process is not None:
            await self._end_process(process)

    # -----------------------------------------------------------------------------------------
    # Internals

    async def _page_target(self) -> str:
        """The tab the browser opened at launch (one renderer fewer than a second tab)."""
        targets = await self._command("Target.getTargets")
        for target in targets.get("targetInfos") or []:
            if target.get("type") == "page" and not target.get("attached"):
                return str(target["targetId"])
        return await super()._page_target()

    @staticmethod
    def _pipe_connection(on_event: EventHandler, on_closed: ClosedHandler) -> CdpPipeConnection:
        return CdpPipeConnection(on_event=on_event, on_closed=on_closed)

    def _argv(self, executable: str, *, sandbox: bool) -> list[str]:
        return [
            executable,
            *LOW_MEMORY_ARGS,
            *BACKGROUND_TAB_ARGS,
            *(["--headless"] if self._headless else []),
            *([] if sandbox else ["--no-sandbox"]),
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile_dir}",
            *self._extra_args,
            "about:blank",
        ]

    def _spawn(self, *, sandbox: bool) -> LaunchedChromium:
        executable = self._prepare_launch()
        try:
            return LaunchedChromium(executable, self._argv(executable, sandbox=sandbox))
        except OSError as error:
            raise DriverError(
                f"could not start Chromium ({executable}): {error.strerror or error}"
            ) from error

    async def _launch(self, *, sandbox: bool) -> None:
        if self._connection.started:
            self._connection = self._new_connection()  # the first try's pipes are closed
        # Finding the binary, creating the profile and forking all touch the disk.
        process = await asyncio.to_thread(self._spawn, sandbox=sandbox)
        process.watch()
        self._process = process
        assert isinstance(self._connection, CdpPipeConnection)
        self._connection.use_pipes(process.to_browser_fd, process.from_browser_fd)
        try:
            async with asyncio.timeout(self._launch_timeout):
                await super().start()
        except (DriverError, TimeoutError) as error:
            await self._connection.close("the browser did not start")
            await process.wait(CLOSE_TIMEOUT)
            await self._end_process(process)
            self._process = None
            detail = process.last_error() or first_line_of_error(str(error))
            if isinstance(error, TimeoutError):
                raise DriverTimeout("starting Chromium", self._launch_timeout) from error
            raise DriverError(f"could not start Chromium: {detail}") from error

    async def _end_process(self, process: LaunchedChromium) -> None:
        """Wait for the browser to exit (killing it if it does not), then for all its processes.

        Its zygotes and renderers outlive it by a moment, as orphans of init: they are killed with
        their process group (which keeps the browser's id while any of them lives) and waited for,
        so that a stopped driver has no process left, and the profile is free for the next one.
        """
        leftovers = await asyncio.to_thread(self.browser_pids)
        if not await process.wait(CLOSE_TIMEOUT):
            _LOGGER.debug("Chromium did not close in %g s; killing it", CLOSE_TIMEOUT)
        process.kill_group()
        for pid in leftovers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        await process.wait(CLOSE_TIMEOUT)
        await process.close()
        # Nothing signals the end of processes that are not our children: look, a few times.
        for _ in range(int(CLOSE_TIMEOUT / _GROUP_POLL)):
            if not await asyncio.to_thread(_group_alive, process.pid):
                break
            await asyncio.sleep(_GROUP_POLL)
