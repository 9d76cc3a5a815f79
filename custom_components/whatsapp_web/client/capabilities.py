"""What the page can do: the WhatsApp Web call shape each operation uses, and what went missing.

The bridge probes WhatsApp Web's modules at page load and on request; an operation without a known
shape fails with :class:`~.errors.WhatsAppWebChanged`. Each missing member is logged once per
client, not once per call that meets it.
"""

from __future__ import annotations

import logging

_LOGGER = logging.getLogger(__name__)


class Capabilities:
    """The last capability table the page sent, and the changes already logged."""

    def __init__(self) -> None:
        """Nothing known before the page's first table."""
        #: Operation -> the WhatsApp Web call shape in use, or None when the page has none it knows.
        self.table: dict[str, str | None] = {}
        self._reported_missing: set[tuple[str, str]] = set()

    def update(self, table: object) -> bool:
        """Take the page's table; False (and no change) when it is not one."""
        if not isinstance(table, dict):
            return False
        self.table = {
            str(name): (str(shape) if shape is not None else None) for name, shape in table.items()
        }
        return True

    def report_missing(self, operation: str, missing: str) -> None:
        """Log that ``operation`` failed for want of ``missing``, the first time only."""
        if (operation, missing) in self._reported_missing:
            return
        self._reported_missing.add((operation, missing))
        _LOGGER.warning(
            "WhatsApp Web changed: %s is missing; %s fails until it is back", missing, operation
        )
