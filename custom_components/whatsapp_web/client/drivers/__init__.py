"""Browser drivers: each gives the client one Chromium page (contract in ``base``).

``cdp`` needs only aiohttp. ``playwright`` imports Playwright, which the integration may install
only when a local browser is chosen, so it is imported from its module, never from here.
"""

from .base import (
    BrowserDriver,
    DisconnectReason,
    DriverClosed,
    DriverError,
    DriverTimeout,
    PageError,
)

__all__ = [
    "BrowserDriver",
    "DisconnectReason",
    "DriverClosed",
    "DriverError",
    "DriverTimeout",
    "PageError",
]
