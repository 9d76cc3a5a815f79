"""Fixtures of the reliability suite: every test's log is scanned for secrets; figures are printed.

``leak_guard`` (autouse) raises the log level to INFO for the test, and after it fails the test when a
record at INFO or above contains anything registered as secret: Home Assistant tokens, QR strings,
pairing codes, the simulator's device secrets, message bodies the test sent or received.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from homeassistant.setup import async_setup_component
import pytest

from simulator.testing import Simulator
from tests.integration.linking import add_linked_entry, close_everything, config_dir  # noqa: F401 - fixture

from .ha_support import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant

# Shorter strings match too much by chance ("ok", digits of a timestamp).
MIN_SECRET_LENGTH = 6


class _RememberingList(list[Any]):
    """A list that also keeps everything ever appended to it (the simulator's open pages)."""

    def __init__(self, items: list[Any], seen: list[Any]) -> None:
        super().__init__(items)
        self._seen = seen
        seen.extend(items)

    def append(self, item: Any) -> None:
        self._seen.append(item)
        super().append(item)


class Secrets:
    """What must never appear in a log record at INFO or above."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._simulators: list[Simulator] = []
        self._pages: list[Any] = []

    def add(self, kind: str, value: Any) -> None:
        """Register one secret (ignored when too short to be specific)."""
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            self.values[value] = kind

    def watch(self, simulator: Simulator) -> None:
        """At the end, also treat this simulator's QR strings, pairing codes and device keys as secret.

        The simulator forgets a page when it closes, so every page it opens is remembered here.
        """
        self._simulators.append(simulator)
        server = simulator.server
        if server is not None and not isinstance(server.pages, _RememberingList):
            server.pages = _RememberingList(server.pages, self._pages)

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
            for page in [*server.pages, *self._pages]:
                # A QR string is `ref,noise,identity,adv,platform`: any of its parts is a leak.
                self.add("QR ref", page.ref)
                for key in page.keys.values():
                    self.add("device key", key)

    def find_in(self, records: list[logging.LogRecord]) -> list[str]:
        """Every (level, logger, kind) where a secret shows up in a record at INFO+."""
        found = []
        for record in records:
            # The simulator plays WhatsApp's servers and the phone: it knows the secrets by design.
            if record.levelno < logging.INFO or record.name.split(".")[0] == "simulator":
                continue
            try:
                text = record.getMessage()
            except Exception:  # a broken record is still scanned by its format
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


@pytest.fixture
async def big_simulator(
    hass: HomeAssistant,
    socket_enabled: None,
    config_dir: Path,  # noqa: F811 - the fixture imported above
    leak_guard: Secrets,
) -> AsyncIterator[Simulator]:
    """A simulator with enough private chats for bursts; every entry is unloaded after the test."""
    async with Simulator(chats=8, messages=2, contacts=8, groups=1, seed=21) as sim:
        leak_guard.watch(sim)
        try:
            yield sim
        finally:
            await close_everything(hass)


@pytest.fixture
async def api(  # noqa: PLR0917 - pytest passes fixtures by name
    hass: HomeAssistant,
    big_simulator: Simulator,
    hass_client: Any,
    hass_client_no_auth: Any,
    hass_access_token: str,
    hass_read_only_access_token: str,
    leak_guard: Secrets,
) -> Api:
    """HTTP, a linked entry, and REST clients: administrator, non-administrator, no token."""
    leak_guard.add("HA token", hass_access_token)
    leak_guard.add("HA token", hass_read_only_access_token)
    assert await async_setup_component(hass, "http", {})
    # Home Assistant's own REST and WebSocket APIs (services), before any client freezes the routes.
    assert await async_setup_component(hass, "api", {})
    assert await async_setup_component(hass, "websocket_api", {})
    entry = await add_linked_entry(hass, big_simulator)
    return Api(
        hass=hass,
        sim=big_simulator,
        entry=entry,
        admin=await hass_client(),
        reader=await hass_client(hass_read_only_access_token),
        anonymous=await hass_client_no_auth(),
    )
