"""Home Assistant side helpers of the reliability suite: a linked entry on a simulator, service sends."""

from __future__ import annotations

from dataclasses import dataclass
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import Event, HomeAssistant, callback

from custom_components.whatsapp_web.const import DOMAIN

if TYPE_CHECKING:
    from simulator.testing import Simulator


INTEGRATION_LOGGER = "custom_components.whatsapp_web"


async def private_chats(sim: Simulator, count: int) -> list[str]:
    """``count`` private chat ids from the simulator's truth."""
    chats = [chat["id"] for chat in await sim.control.chats() if not chat["is_group"]]
    assert len(chats) >= count
    return chats[:count]


async def send_via_service(
    hass: HomeAssistant, chat: str, text: str, **fields: Any
) -> dict[str, Any]:
    """``whatsapp_web.send_message`` as an automation calls it; the service's answer."""
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"chat_id": chat, "msg": text, "options": {"linkPreview": False}, **fields},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


class BusRecorder:
    """Collects bus events of some types."""

    def __init__(self, hass: HomeAssistant, *event_types: str) -> None:
        self.events: list[Event] = []
        self._removers = [hass.bus.async_listen(kind, self._add) for kind in event_types]

    @callback
    def _add(self, event: Event) -> None:
        self.events.append(event)

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [dict(event.data) for event in self.events if event.event_type == event_type]

    def close(self) -> None:
        for remove in self._removers:
            remove()


def integration_records(
    records: list[logging.LogRecord], level: int = logging.WARNING
) -> list[logging.LogRecord]:
    """Records of the integration (and its client) at ``level`` or above."""
    return [r for r in records if r.name.startswith(INTEGRATION_LOGGER) and r.levelno >= level]


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """Every record that carries a traceback, anywhere (no traceback spam under faults)."""
    return [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in records
        if r.exc_info and r.levelno >= logging.WARNING
    ]


@dataclass(kw_only=True)
class Api:
    """A linked account behind Home Assistant's HTTP server, with clients for each kind of caller."""

    hass: HomeAssistant
    sim: Simulator
    entry: Any
    admin: Any
    reader: Any
    anonymous: Any
