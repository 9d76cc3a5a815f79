"""The memory guard's decisions: when a reading is too much, and when the reload may happen.

The reload itself, with a real browser and the simulator, is tested in
``tests/reliability/test_memory_guard.py``; here the client and the outbox are stand-ins so the
timing rules can be checked exactly: no reload while a send waits or events flow, and never a wait
without end.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from homeassistant.const import EVENT_LOGBOOK_ENTRY
import pytest

from custom_components.whatsapp_web import memory_guard
from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.client.memory import MIB, MemoryReading
from custom_components.whatsapp_web.client.message_cache import UnloadResult
from custom_components.whatsapp_web.memory_guard import GuardLimits, MemoryGuard

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant


class StandInClient:
    """What the guard uses of the client: its state, a reading, unloading and the restart."""

    def __init__(self, reading: MemoryReading) -> None:
        self.state = ClientState.CONNECTED
        self.reading = reading
        self.restarts: list[tuple[float, str]] = []
        #: What each call of unload_messages() frees, in turn; nothing once they are used up.
        self.unloads: list[int] = []
        self.unload_calls = 0
        self.message_cache = SimpleNamespace(unloaded_total=0)

    async def memory(self) -> MemoryReading:
        return self.reading

    async def unload_messages(self) -> UnloadResult:
        self.unload_calls += 1
        unloaded = self.unloads.pop(0) if self.unloads else 0
        self.message_cache.unloaded_total += unloaded
        return UnloadResult(unloaded, 1000)

    async def restart_browser(self, reason: str) -> None:
        self.restarts.append((time.monotonic(), reason))


class StandInOutbox:
    def __init__(self) -> None:
        self.pending = 0


def reading(browser_mib: float | None, heap_mib: float) -> MemoryReading:
    return MemoryReading(
        js_heap_used=int(heap_mib * MIB),
        js_heap_total=int(heap_mib * MIB * 1.5),
        browser_pss=None if browser_mib is None else int(browser_mib * MIB),
        browser_processes=0 if browser_mib is None else 6,
    )


def make_guard(
    hass: HomeAssistant, client: StandInClient, outbox: StandInOutbox, limits: GuardLimits
) -> tuple[MemoryGuard, list[int]]:
    readings: list[int] = []
    guard = MemoryGuard(
        hass,
        client,  # type: ignore[arg-type]
        outbox,  # type: ignore[arg-type]
        limits,
        on_reading=lambda: readings.append(1),
        logbook_name=lambda: "WhatsApp (+34600000001)",
        logbook_entity=lambda: "sensor.whatsapp_connection",
    )
    return guard, readings


@pytest.mark.parametrize(
    ("browser_mib", "heap_mib", "limits", "reason"),
    [
        (500, 100, GuardLimits(600, 300), None),
        (700, 100, GuardLimits(600, 300), "browser memory 700 MiB above 600 MiB"),
        (500, 350, GuardLimits(600, 300), "page heap 350 MiB above 300 MiB"),
        (None, 350, GuardLimits(600, 300), "page heap 350 MiB above 300 MiB"),
        (None, 100, GuardLimits(50, 300), None),  # a remote browser: its PSS is unknown
        (5000, 5000, GuardLimits(0, 0), None),  # both off
    ],
)
async def test_which_readings_are_too_much(
    hass: HomeAssistant,
    browser_mib: float | None,
    heap_mib: float,
    limits: GuardLimits,
    reason: str | None,
) -> None:
    client = StandInClient(reading(browser_mib, heap_mib))
    guard, readings = make_guard(hass, client, StandInOutbox(), limits)
    assert guard.over_limit(client.reading) == reason
    reloaded = await guard.check()
    assert reloaded == (reason is not None)
    assert readings == [1]
    assert guard.attributes()["js_heap_mib"] == heap_mib
    assert guard.attributes()["browser_memory_mib"] == browser_mib


async def test_reload_waits_for_an_empty_outbox_and_a_quiet_moment(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_guard, "QUIET_SECONDS", 0.5)
    client = StandInClient(reading(900, 10))
    outbox = StandInOutbox()
    outbox.pending = 1
    guard, _ = make_guard(hass, client, outbox, GuardLimits(600, 300))
    logbook: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_LOGBOOK_ENTRY, lambda event: logbook.append(dict(event.data)))
    checking = asyncio.create_task(guard.check())

    # Events keep coming and a send waits: no reload yet.
    for _ in range(6):
        guard.note_event()
        await asyncio.sleep(0.2)
    assert client.restarts == []
    outbox_emptied = time.monotonic()
    outbox.pending = 0
    last_event = time.monotonic()
    guard.note_event()

    assert await checking is True
    await hass.async_block_till_done()
    (restarted, reason), *others = client.restarts
    assert not others
    assert reason == "MEMORY_LIMIT"
    assert restarted >= outbox_emptied
    assert restarted - last_event >= 0.5
    assert guard.reloads == 1
    assert guard.attributes()["memory_reloads"] == 1
    assert logbook == [
        {
            "name": "WhatsApp (+34600000001)",
            "message": "reloaded WhatsApp Web to free memory "
            "(browser memory 900 MiB above 600 MiB)",
            "domain": "whatsapp_web",
            "entity_id": "sensor.whatsapp_connection",
        }
    ]


async def test_a_busy_account_is_still_reloaded_after_the_longest_wait(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_guard, "QUIET_SECONDS", 0.5)
    monkeypatch.setattr(memory_guard, "MAX_QUIET_WAIT", 1.5)
    client = StandInClient(reading(None, 400))
    outbox = StandInOutbox()
    outbox.pending = 3  # never empties
    guard, _ = make_guard(hass, client, outbox, GuardLimits(600, 300))
    started = time.monotonic()
    assert await guard.check() is True
    assert len(client.restarts) == 1
    assert client.restarts[0][0] - started >= 1.5


async def test_no_reading_and_no_reload_unless_connected(hass: HomeAssistant) -> None:
    client = StandInClient(reading(900, 900))
    client.state = ClientState.RECONNECTING
    guard, readings = make_guard(hass, client, StandInOutbox(), GuardLimits(600, 300))
    assert await guard.check() is False
    assert readings == []
    assert client.restarts == []


async def test_unloading_old_messages_comes_before_a_reload(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_guard, "QUIET_SECONDS", 0.1)
    client = StandInClient(reading(None, 400))
    client.unloads = [2500]
    guard, readings = make_guard(hass, client, StandInOutbox(), GuardLimits(600, 300))

    # Over the limit, and unloading freed messages: the next reading decides, no reload yet.
    assert await guard.check() is False
    assert client.unload_calls == 1
    assert client.restarts == []
    assert guard.reloads == 0
    assert guard.attributes()["messages_unloaded"] == 2500

    # Still over, and nothing left to unload: now the page is reloaded.
    assert await guard.check() is True
    assert client.unload_calls == 2
    assert [reason for _, reason in client.restarts] == ["MEMORY_LIMIT"]
    assert readings == [1, 1]


async def test_under_the_limits_nothing_is_unloaded_by_the_guard(hass: HomeAssistant) -> None:
    client = StandInClient(reading(100, 50))
    client.unloads = [2500]
    guard, _ = make_guard(hass, client, StandInOutbox(), GuardLimits(600, 300))
    assert await guard.check() is False
    assert client.unload_calls == 0
