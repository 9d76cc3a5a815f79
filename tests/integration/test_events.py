"""The 13 ``whatsapp_*`` events on the bus, driven by the simulated phone, with the options' filters."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import (
    ALL_EVENTS,
    CONF_EVENTS,
    CONF_IGNORED_CHATS,
    EVENT_AUTHENTICATED,
    EVENT_CALL,
    EVENT_DISCONNECTED,
    EVENT_GROUP_JOIN,
    EVENT_GROUP_LEAVE,
    EVENT_GROUP_UPDATE,
    EVENT_MESSAGE_ACK,
    EVENT_MESSAGE_REACTION,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_REVOKE_EVERYONE,
    EVENT_MESSAGE_REVOKE_ME,
    EVENT_MESSAGE_SENT,
    EVENT_STATE,
)

from .linking import add_linked_entry

if TYPE_CHECKING:
    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


class BusRecorder:
    """Every whatsapp_* event, in order."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._unsubscribe = [hass.bus.async_listen(kind, self._record) for kind in ALL_EVENTS]

    @callback
    def _record(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [dict(event.data) for event in self.events if event.event_type == event_type]

    async def wait(
        self, event_type: str, count: int = 1, timeout: float = 20
    ) -> list[dict[str, Any]]:
        return await self.wait_for(event_type, lambda events: len(events) >= count, timeout)

    async def wait_for(
        self, event_type: str, predicate: Any, timeout: float = 20
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while not predicate(self.of(event_type)):
                self._changed.clear()
                await self._changed.wait()
        return self.of(event_type)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()


@pytest.fixture
def bus(hass: HomeAssistant):
    recorder = BusRecorder(hass)
    yield recorder
    recorder.close()


async def _chats(sim: Simulator) -> tuple[str, str]:
    chats = await sim.control.chats()
    person = next(chat["id"] for chat in chats if not chat["is_group"])
    group = next(chat["id"] for chat in chats if chat["is_group"])
    return person, group


async def test_every_event_reaches_the_bus_with_the_account(
    hass: HomeAssistant, simulator: Simulator, bus: BusRecorder
) -> None:
    entry = await add_linked_entry(hass, simulator)
    account = {"account": entry.unique_id, "config_entry_id": entry.entry_id}
    person, group = await _chats(simulator)

    [authenticated] = await bus.wait(EVENT_AUTHENTICATED)
    assert authenticated == account

    message_id = await simulator.control.incoming(person, "hello from the phone")
    [received] = await bus.wait(EVENT_MESSAGE_RECEIVED)
    assert received["body"] == "hello from the phone"
    assert received["id"]["_serialized"] == message_id
    assert received["offline"] is False
    assert {key: received[key] for key in account} == account

    await simulator.control.incoming(person, "typed on the phone", from_me=True)
    [sent] = await bus.wait(EVENT_MESSAGE_SENT)
    assert sent["body"] == "typed on the phone"
    assert sent["id"]["fromMe"] is True

    own = await entry.runtime_data.client.send_message(person, "from home assistant")
    await simulator.control.ack(own.id, 3)
    # The server's ack (1) may come in an earlier batch than the read receipt (3).
    await bus.wait_for(
        EVENT_MESSAGE_ACK,
        lambda acks: any(
            ack["ack"] == 3 and ack["message"]["id"]["_serialized"] == own.id for ack in acks
        ),
    )

    await simulator.control.react(own.id, "👍", sender=person)
    [reaction] = await bus.wait(EVENT_MESSAGE_REACTION)
    assert reaction["reaction"] == "👍"
    assert reaction["senderId"] == person

    await simulator.control.revoke(message_id)
    [revoked] = await bus.wait(EVENT_MESSAGE_REVOKE_EVERYONE)
    assert revoked["message"]["type"] == "revoked"
    assert revoked["revokedMessage"]["body"] == "hello from the phone"

    await entry.runtime_data.client.delete_message(own.id, everyone=False)
    [revoked_me] = await bus.wait(EVENT_MESSAGE_REVOKE_ME)
    assert revoked_me["message"]["id"]["_serialized"] == own.id

    other = "351193393106@c.us" if person != "351193393106@c.us" else "318507069464@c.us"
    await simulator.control.group(group, "add", author=person, participants=["34611223344@c.us"])
    [join] = await bus.wait(EVENT_GROUP_JOIN)
    assert join["notification"]["chatId"] == group
    await simulator.control.group(group, "remove", author=person, participants=["34611223344@c.us"])
    await bus.wait(EVENT_GROUP_LEAVE)
    await simulator.control.group(group, "subject", author=other, value="Family & friends")
    [update] = await bus.wait(EVENT_GROUP_UPDATE)
    assert update["notification"]["type"] == "subject"

    await simulator.control.call(person, is_video=True)
    [call] = await bus.wait(EVENT_CALL)
    assert call["call"]["from"] == person
    assert call["call"]["isVideo"] is True

    await simulator.control.connection("conflict")
    await bus.wait_for(
        EVENT_STATE, lambda states: {"state": "CONFLICT"} in [{"state": s["state"]} for s in states]
    )
    disconnected = await bus.wait(EVENT_DISCONNECTED)
    assert disconnected[-1]["reason"] == "CONFLICT"

    for event in bus.events:
        assert event.data["config_entry_id"] == entry.entry_id
        assert event.data["account"] == entry.unique_id


async def test_options_choose_events_and_ignore_chats(
    hass: HomeAssistant, simulator: Simulator, bus: BusRecorder
) -> None:
    person, group = await _chats(simulator)
    entry = await add_linked_entry(
        hass,
        simulator,
        options={CONF_EVENTS: [EVENT_MESSAGE_RECEIVED], CONF_IGNORED_CHATS: [group]},
    )
    await simulator.control.incoming(group, "ignored", author=person)
    await simulator.control.incoming(person, "wanted")
    [received] = await bus.wait(EVENT_MESSAGE_RECEIVED)
    assert received["body"] == "wanted"
    await simulator.control.call(person)
    await simulator.control.incoming(person, "marker")
    await bus.wait(EVENT_MESSAGE_RECEIVED, 2)
    # Only the chosen type, and nothing from the ignored group.
    assert {event.event_type for event in bus.events} == {EVENT_MESSAGE_RECEIVED}
    assert [event["body"] for event in bus.of(EVENT_MESSAGE_RECEIVED)] == ["wanted", "marker"]
    assert entry.runtime_data.client.state is ClientState.CONNECTED


async def test_messages_that_arrived_while_away_fire_once_marked_offline(
    hass: HomeAssistant, simulator: Simulator, bus: BusRecorder
) -> None:
    entry = await add_linked_entry(hass, simulator)
    person, _group = await _chats(simulator)
    await simulator.control.incoming(person, "before")
    await bus.wait(EVENT_MESSAGE_RECEIVED)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await simulator.control.incoming(person, "while away")
    captured = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    await bus.wait(EVENT_MESSAGE_RECEIVED, 2)
    await simulator.control.incoming(person, "after")
    await bus.wait(EVENT_MESSAGE_RECEIVED, 3)
    # Each message once, across the restart; the one that waited is marked offline.
    assert [event.data["body"] for event in captured] == ["while away", "after"]
    assert captured[0].data["offline"] is True
    assert captured[1].data["offline"] is False
