"""Which browser an account uses, and how to get it.

Local: Chromium on the Home Assistant host. By default the integration launches it itself and speaks
DevTools to it over two pipes (``client/drivers/local.py``): nothing to install, no extra process, works
wherever a Chromium runs. Playwright remains a choice (the "Advanced" section of the form): it ships
wheels for glibc Linux (x86_64 and aarch64) and macOS only, so it is never a requirement of the
manifest; it is installed on demand when someone picks it, and where it cannot be (Home Assistant OS,
the Alpine-based container) the form says so.

Remote: any Chromium that exposes the DevTools protocol (the add-on in ``addon/``, a browserless-style
container, a desktop Chromium started with ``--remote-debugging-port``), reached over aiohttp.
"""

from __future__ import annotations

import platform
import shutil
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.importlib import async_import_module
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .client.drivers.cdp import CdpDriver
from .client.drivers.local import LocalChromiumDriver
from .const import (
    BROWSER_LOCAL,
    CONF_BROWSER,
    CONF_CHROMIUM_PATH,
    CONF_EXTRA_ARGS,
    CONF_LOCAL_DRIVER,
    CONF_PROFILE,
    CONF_REMOTE_TOKEN,
    CONF_REMOTE_URL,
    DOMAIN,
    LOCAL_DRIVER_PIPE,
    LOCAL_DRIVER_PLAYWRIGHT,
    PLAYWRIGHT_REQUIREMENT,
    PROFILES_DIRECTORY,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .client.drivers.base import BrowserDriver

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PLAYWRIGHT_MACHINES = frozenset({"x86_64", "amd64", "aarch64", "arm64"})


class LocalBrowserUnavailable(Exception):
    """The local browser cannot work on this installation; ``reason`` is a translation key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        """Keep the reason for the config flow."""
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


def find_chromium() -> str | None:
    """The first Chromium on PATH, or None."""
    for name in _CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    return None


def playwright_platform_supported() -> bool:
    """Whether Playwright publishes wheels for this machine (glibc Linux on x86_64/aarch64, macOS)."""
    system = platform.system()
    if system == "Darwin":
        return True
    libc, _ = platform.libc_ver()
    return (
        system == "Linux" and libc == "glibc" and platform.machine().lower() in _PLAYWRIGHT_MACHINES
    )


async def async_prepare_local_browser(
    hass: HomeAssistant, chromium_path: str, driver: str = LOCAL_DRIVER_PIPE
) -> None:
    """Make sure the local browser can start: Chromium present, and Playwright if it drives it."""
    executable = await hass.async_add_executor_job(shutil.which, chromium_path)
    if executable is None:
        raise LocalBrowserUnavailable("chromium_not_found", chromium_path)
    if driver != LOCAL_DRIVER_PLAYWRIGHT:
        return
    if not playwright_platform_supported():
        raise LocalBrowserUnavailable("playwright_unsupported_platform")
    try:
        await async_process_requirements(hass, DOMAIN, [PLAYWRIGHT_REQUIREMENT])
        await async_import_module(hass, "playwright.async_api")
    except (RequirementsNotFound, ImportError) as error:
        raise LocalBrowserUnavailable("playwright_unavailable", str(error)) from error


def profile_directory(hass: HomeAssistant, profile: str) -> str:
    """Where a local account keeps its browser profile (the linked session)."""
    return hass.config.path(PROFILES_DIRECTORY, profile)


def driver_factory(hass: HomeAssistant, data: dict[str, Any]) -> Callable[[], BrowserDriver]:
    """Build the function the client calls for each (re)start of the browser."""
    if data[CONF_BROWSER] == BROWSER_LOCAL:
        profile = profile_directory(hass, data[CONF_PROFILE])
        chromium = data.get(CONF_CHROMIUM_PATH)
        extra_args = list(data.get(CONF_EXTRA_ARGS, ()))
        if data.get(CONF_LOCAL_DRIVER, LOCAL_DRIVER_PIPE) != LOCAL_DRIVER_PLAYWRIGHT:
            return lambda: LocalChromiumDriver(
                profile_dir=profile, executable_path=chromium, extra_args=extra_args
            )

        def local() -> BrowserDriver:
            # Imported here: Playwright may have been installed only a moment ago.
            from .client.drivers.playwright import PlaywrightDriver  # noqa: PLC0415

            return PlaywrightDriver(
                profile_dir=profile, executable_path=chromium, extra_args=extra_args
            )

        return local

    session = async_get_clientsession(hass)
    url = data[CONF_REMOTE_URL]
    token = data.get(CONF_REMOTE_TOKEN) or None

    def remote() -> BrowserDriver:
        return CdpDriver(url, token=token, session=session)

    return remote
