"""Fixtures of the reliability suite: every test's log is scanned for secrets; figures are printed.

``leak_guard`` (autouse) raises the log level to INFO for the test, and after it fails the test when a
record at INFO or above contains anything registered as secret: Home Assistant tokens, QR strings,
pairing codes, the simulator's device secrets, message bodies the test sent or received.
"""

from __future__ import annotations

from collections.abc import Iterator
import logging
from typing import TYPE_CHECKING, Any

import pytest

from .support import FIGURES

if TYPE_CHECKING:
    from simulator.testing import Simulator

# Shorter strings match too much by chance ("ok", digits of a timestamp).
MIN_SECRET_LENGTH = 6


class Secrets:
    """What must never appear in a log record at INFO or above."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._simulators: list[Simulator] = []

    def add(self, kind: str, value: Any) -> None:
        """Register one secret (ignored when too short to be specific)."""
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            self.values[value] = kind

    def watch(self, simulator: Simulator) -> None:
        """At the end, also treat this simulator's QR strings, pairing codes and device keys as secret."""
        self._simulators.append(simulator)

    def collect_simulators(self) -> None:
        for simulator in self._simulators:
            server = simulator.server
            if server is None:
                continue
            for device in server.account.devices.values():
                self.add("device key", device.secret)
            self.add("pairing code", server.last_pairing_code)
            for code in server.pairing_codes:
                self.add("pairing code", code)
            for page in server.pages:
                # A QR string is `ref,noise,identity,adv,platform`: any of its parts is a leak.
                self.add("QR ref", page.ref)
                for key in page.keys.values():
                    self.add("device key", key)

    def find_in(self, records: list[logging.LogRecord]) -> list[str]:
        """Every (level, logger, kind) where a secret shows up in a record at INFO+."""
        found = []
        for record in records:
            if record.levelno < logging.INFO:
                continue
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken record is still scanned by its format
                text = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + repr(record.exc_info[1])
            for secret, kind in self.values.items():
                if secret in text:
                    found.append(f"{record.levelname} {record.name}: {kind} ({text[:160]!r})")
        return found


@pytest.fixture(autouse=True)
def leak_guard(caplog: pytest.LogCaptureFixture) -> Iterator[Secrets]:
    """Scan the test's log records at INFO and above for every registered secret."""
    caplog.set_level(logging.INFO)
    secrets = Secrets()
    yield secrets
    secrets.collect_simulators()
    leaks = secrets.find_in(caplog.records)
    assert not leaks, "secrets in the log:\n" + "\n".join(leaks)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the reliability tests measured."""
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    width = max(len(case) for case, _, _ in FIGURES)
    for case, measure, value in FIGURES:
        terminalreporter.write_line(f"{case:<{width}}  {measure}: {value}")
