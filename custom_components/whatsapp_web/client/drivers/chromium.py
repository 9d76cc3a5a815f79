"""Facts about launching a local Chromium that both local drivers share.

Where the binary is, the flags that keep one always-open WhatsApp tab cheap, the private profile
directory, the sandbox (refused as root), how to find the browser's processes through ``/proc``, and
the drivers' common base (:class:`LaunchingDriver`: their launch settings, profile and processes).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Final, NamedTuple, Required, TypedDict

from .base import BrowserDriver, DriverError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence

_LOGGER = logging.getLogger(__name__)

DEFAULT_EXECUTABLES: Final = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
PREFERRED_EXECUTABLE: Final = "/usr/bin/chromium"
LAUNCH_TIMEOUT: Final = 60.0

# Flags that keep one always-open WhatsApp tab cheap on a small server (a Raspberry Pi, a VM):
LOW_MEMORY_ARGS: Final = (
    # No GPU on a server; software compositing is enough for a page nobody looks at.
    "--disable-gpu",
    # ...and its thread can live in the browser process: one process fewer, about 20 MiB less PSS
    # (benchmarks/soak_traffic.py; --enable-low-end-device-mode and no spare renderer gave nothing).
    "--in-process-gpu",
    # Docker gives /dev/shm 64 MiB; renderers that run out of it crash. /tmp has room.
    "--disable-dev-shm-usage",
    # No extension processes, no sync, no component/update downloads, no first-run work.
    "--disable-extensions",
    "--disable-component-extensions-with-background-pages",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    # Voice notes and calls must never play on the server.
    "--mute-audio",
    # One site in one tab: one renderer process is enough (site isolation may still add one).
    "--renderer-process-limit=1",
)


def default_executable() -> str | None:
    """Debian's ``/usr/bin/chromium`` if present, else the first Chromium/Chrome on ``PATH``."""
    if os.access(PREFERRED_EXECUTABLE, os.X_OK):
        return PREFERRED_EXECUTABLE
    for name in DEFAULT_EXECUTABLES:
        found = shutil.which(name)
        if found:
            return found
    return None


def prepare_profile_directory(profile_dir: str) -> str:
    """Create the profile directory (and parents) readable only by its owner; return its path."""
    path = Path(profile_dir).expanduser().absolute()
    # Folders created here are private too (mkdir(parents=True) would give parents the umask's mode:
    # other users could list the profile names).
    missing = [directory for directory in (path, *path.parents) if not directory.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)
    # mkdir's mode is filtered by the umask and ignored for an existing directory.
    path.chmod(0o700)
    return str(path)


class ProcessIds(NamedTuple):
    """A process's own id, its parent's and its process group's, from ``/proc/<pid>/stat``."""

    pid: int
    parent: int
    group: int


def live_processes() -> Iterator[ProcessIds]:
    """The processes that have not exited (Linux ``/proc``; none where there is no ``/proc``).

    Zombies are left out: they have exited already and only wait for their parent to reap them.
    """
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return  # not Linux: nothing to report
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            # "pid (name) S ppid pgrp ...": a name may hold ")" too, so the fields follow the last.
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            state, parent, group = fields[0], int(fields[1]), int(fields[2])
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if state != b"Z":
            yield ProcessIds(int(entry.name), parent, group)


def processes_using_profile(profile_dir: str) -> list[int]:
    """Ids of the live processes of the Chromium that uses ``profile_dir`` (Linux ``/proc``).

    The browser process carries ``--user-data-dir=<profile_dir>`` on its command line; its
    zygotes, renderers, GPU and utility processes are its descendants (their command lines are
    rewritten, so they are found through their parents). The crash handler detaches itself and
    exits on its own once the browser is gone.
    """
    wanted = f"--user-data-dir={profile_dir}".encode()
    parents: dict[int, int] = {}
    seeds: list[int] = []
    for process in live_processes():
        try:
            command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        except OSError:
            continue  # the process ended while we looked
        parents[process.pid] = process.parent
        if _names_profile(command_line, wanted):
            seeds.append(process.pid)
    found = set(seeds)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


def _names_profile(command_line: bytes, wanted: bytes) -> bool:
    """Whether a NUL- (or, once rewritten, space-) separated command line has the exact flag."""
    start = command_line.find(wanted)
    while start != -1:
        before = command_line[start - 1 : start] if start else b"\0"
        after = command_line[start + len(wanted) : start + len(wanted) + 1]
        if before in (b"\0", b" ") and after in (b"", b"\0", b" "):
            return True
        start = command_line.find(wanted, start + 1)
    return False


@functools.cache
def warn_without_sandbox(reason: str) -> None:
    """Say once per reason (not at every restart of the browser) why Chromium has no sandbox."""
    _LOGGER.warning("Chromium for WhatsApp Web runs without its sandbox: %s", reason)


def is_sandbox_failure(error: Exception) -> bool:
    """Whether Chromium failed to start because the kernel refused its sandbox."""
    text = str(error).lower()
    return "sandbox" in text and ("no usable" in text or "setuid" in text or "namespace" in text)


def resolve_executable(wanted: str | None) -> str:
    """The Chromium to launch: ``wanted`` (a path or a command name), else the default one."""
    if not wanted:
        found = default_executable()
        if found is None:
            raise DriverError(
                "no Chromium found: install chromium or give the path of a Chromium/Chrome binary"
            )
        return found
    if os.sep in wanted:
        if not os.access(wanted, os.X_OK):
            raise DriverError(f"{wanted} is not an executable Chromium")
        return wanted
    found = shutil.which(wanted)
    if found is None:
        raise DriverError(f"{wanted} was not found on PATH")
    return found


# Why there is no sandbox, said once per reason (the client restarts the browser now and then).
ROOT_NO_SANDBOX: Final = (
    "Home Assistant runs as root, and Chromium cannot sandbox itself as root. Run Home "
    "Assistant as an unprivileged user, or use a remote browser (the WhatsApp Web "
    "browser add-on)"
)
KERNEL_NO_SANDBOX: Final = (
    "this system does not let it create the namespaces its sandbox needs "
    "(a container's seccomp profile, or unprivileged user namespaces switched off)"
)


async def launch_with_sandbox_fallback[T](launch: Callable[[bool], Awaitable[T]]) -> T:
    """``launch(sandbox)``: with Chromium's sandbox where it can have one, without where it cannot.

    Not as root (Chromium refuses it there), and not when the kernel refuses the namespaces it needs
    (the first launch then fails and the second goes without); each reason is logged once.
    """
    sandbox = os.geteuid() != 0 if hasattr(os, "geteuid") else True
    if not sandbox:
        warn_without_sandbox(ROOT_NO_SANDBOX)
    try:
        return await launch(sandbox)
    except DriverError as error:
        if not (sandbox and is_sandbox_failure(error)):
            raise
    warn_without_sandbox(KERNEL_NO_SANDBOX)
    return await launch(False)


class LaunchSettings(TypedDict, total=False):
    """The keyword arguments of both local drivers, passed on to :class:`LaunchingDriver`."""

    profile_dir: Required[str]
    executable_path: str | None
    extra_args: Sequence[str]
    headless: bool
    launch_timeout: float


class LaunchingDriver(BrowserDriver):
    """A driver that launches Chromium on this machine itself, with a persistent profile."""

    def __init__(
        self,
        *,
        profile_dir: str,
        executable_path: str | None = None,
        extra_args: Sequence[str] = (),
        headless: bool = True,
        launch_timeout: float = LAUNCH_TIMEOUT,
    ) -> None:
        """Remember how to launch; nothing starts before :meth:`start`.

        ``executable_path`` is a path or a command name; by default Debian's ``/usr/bin/chromium``
        or the first Chromium/Chrome on ``PATH``. ``extra_args`` are appended to the driver's flags.
        """
        self._profile_dir = str(Path(profile_dir).expanduser().absolute())
        self._executable_path = executable_path
        self._extra_args = list(extra_args)
        self._headless = headless
        self._launch_timeout = launch_timeout

    @property
    def profile_dir(self) -> str:
        """The absolute profile directory."""
        return self._profile_dir

    def browser_pids(self) -> list[int]:
        """Every live Chromium process using this driver's profile."""
        return processes_using_profile(self._profile_dir)

    def _prepare_launch(self) -> str:
        """The Chromium to launch, once its profile directory is ready (both touch the disk)."""
        executable = resolve_executable(self._executable_path)
        try:
            prepare_profile_directory(self._profile_dir)
        except OSError as error:
            raise DriverError(
                f"cannot use {self._profile_dir} as the browser profile: {error.strerror or error}"
            ) from error
        return executable
