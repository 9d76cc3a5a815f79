"""People and Talk to Assist, end to end: the simulated phone writes, Home Assistant recognises the
person and, when the options allow it, Home Assistant's own conversation agent answers in the chat.

Real parts only: the simulator, Chromium, Home Assistant's ``person``, ``conversation`` and
``homeassistant`` intents, and a template light that the built-in agent turns on by name.
"""

from __future__ import annotations

import base64
import shutil
import struct
from typing import TYPE_CHECKING, Any

from awesomeversion import AwesomeVersion
from homeassistant.components import automation, stt
from homeassistant.components.stt.const import DATA_COMPONENT as STT_COMPONENT
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import (
    CONF_ASSIST_AGENT,
    CONF_ASSIST_PEOPLE,
    CONF_ASSIST_STT,
    CONF_PEOPLE,
    CONF_SEND_LIMIT,
    DEFAULT_ASSIST_AGENT,
    DOMAIN,
    EVENT_CALL,
    EVENT_MESSAGE_EDIT,
    EVENT_MESSAGE_RECEIVED,
    EVENT_POLL_VOTE,
)
from custom_components.whatsapp_web.ha_media import convert_to_ogg_opus
from simulator.account import lid_for_number

from .linking import add_linked_entry, wait_until
from .test_events import BusRecorder
from .test_ha_media import tone_wav

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(240)

ALICE = "person.alice"
BOB = "person.bob"
KITCHEN_LIGHT = "light.kitchen_light"
FFMPEG = shutil.which("ffmpeg")


class Received(BusRecorder):
    """The bus's whatsapp_* events; message events found by their text."""

    async def body(self, body: str) -> dict[str, Any]:
        def arrived(events: list[dict[str, Any]]) -> bool:
            return any(event.get("body") == body for event in events)

        events = await self.wait_for(EVENT_MESSAGE_RECEIVED, arrived, timeout=30)
        return next(event for event in events if event.get("body") == body)


@pytest.fixture
def received(hass: HomeAssistant):
    recorder = Received(hass)
    yield recorder
    recorder.close()


async def _people(hass: HomeAssistant) -> dict[str, str]:
    """Two persons, each with a Home Assistant user (not an administrator): person -> user id."""
    alice = await hass.auth.async_create_user("Alice", group_ids=["system-users"])
    bob = await hass.auth.async_create_user("Bob", group_ids=["system-users"])
    assert await async_setup_component(
        hass,
        "person",
        {
            "person": [
                {"id": "alice", "name": "Alice", "user_id": alice.id},
                {"id": "bob", "name": "Bob", "user_id": bob.id},
            ]
        },
    )
    await hass.async_block_till_done()
    return {ALICE: alice.id, BOB: bob.id}


async def _direct_chats(sim: Simulator) -> list[str]:
    """1:1 chats with someone known by phone number (who has a LID too)."""
    return [
        chat["id"]
        for chat in await sim.control.chats()
        if not chat["is_group"] and chat["id"].endswith("@c.us")
    ]


async def test_a_mapped_sender_is_the_person_under_either_id_and_after_a_reload(
    hass: HomeAssistant, simulator: Simulator, received: Received, hass_storage: dict[str, Any]
) -> None:
    await _people(hass)
    alice_phone, bob_phone = (await _direct_chats(simulator))[:2]
    alice_lid = lid_for_number(alice_phone)
    entry = await add_linked_entry(hass, simulator, options={CONF_PEOPLE: {ALICE: [alice_phone]}})

    await simulator.control.incoming(alice_phone, "by phone number")
    assert (await received.body("by phone number"))["person_entity_id"] == ALICE
    # The same person writing under her LID: WhatsApp Web knows the pair and says so.
    await simulator.control.incoming(alice_lid, "by lid")
    assert (await received.body("by lid"))["person_entity_id"] == ALICE
    # Someone who is not mapped carries no person.
    await simulator.control.incoming(bob_phone, "from bob")
    assert "person_entity_id" not in await received.body("from bob")
    await simulator.control.call(alice_phone)

    # The pair is kept: after a reload, with WhatsApp Web unable to tell LIDs and phone numbers apart,
    # a message under the LID is still Alice's.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    # Home Assistant's Store, as the test harness keeps it: the pair, and nobody else's.
    stored = hass_storage[f"whatsapp_web.people.{entry.entry_id}"]
    assert stored["data"]["pairs"] == [[alice_lid, alice_phone]]
    for member in ("getAlternateUserWid", "getPhoneNumber", "getCurrentLid"):
        await simulator.control.fault(missing_member=f"WAWebApiContact.{member}")
    await simulator.control.incoming(alice_lid, "by lid after the reload")
    assert (await received.body("by lid after the reload"))["person_entity_id"] == ALICE
    await simulator.control.fault()


async def test_a_call_from_a_mapped_person_carries_the_person(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await _people(hass)
    [alice_phone, *_] = await _direct_chats(simulator)
    calls: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_CALL, lambda event: calls.append(dict(event.data)))
    await add_linked_entry(hass, simulator, options={CONF_PEOPLE: {ALICE: [alice_phone]}})
    await simulator.control.call(alice_phone)
    await wait_until(lambda: bool(calls))
    assert calls[0]["person_entity_id"] == ALICE


async def test_the_device_trigger_waits_for_one_person(
    hass: HomeAssistant, simulator: Simulator, device_registry: dr.DeviceRegistry
) -> None:
    await _people(hass)
    alice_phone, bob_phone = (await _direct_chats(simulator))[:2]
    entry = await add_linked_entry(
        hass, simulator, options={CONF_PEOPLE: {ALICE: [alice_phone], BOB: [bob_phone]}}
    )
    (device,) = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "trigger": {
                    "platform": "device",
                    "domain": DOMAIN,
                    "device_id": device.id,
                    "type": "message_received",
                    "person_entity_id": BOB,
                },
                "action": {
                    "service": "test.automation",
                    "data": {"body": "{{ trigger.event.data.body }}"},
                },
            }
        },
    )
    await simulator.control.incoming(alice_phone, "from alice")
    await simulator.control.incoming(lid_for_number(bob_phone), "from bob under his lid")
    await wait_until(lambda: bool(calls))
    await simulator.control.incoming(bob_phone, "from bob")
    await wait_until(lambda: len(calls) >= 2)
    assert [call.data["body"] for call in calls] == ["from bob under his lid", "from bob"]


# ---------------------------------------------------------------------------------------------
# Talk to Assist


async def _kitchen_light(hass: HomeAssistant) -> None:
    """Home Assistant's built-in agent, its intents, and a light called "kitchen light"."""
    assert await async_setup_component(hass, "homeassistant", {})
    switched = [{"event": "kitchen_light_switched", "event_data": {}}]
    if AwesomeVersion(ha_version) >= AwesomeVersion("2025.5.0"):
        # Newer releases take template lights only under the template integration's own key.
        light = {"name": "Kitchen light", "turn_on": switched, "turn_off": switched}
        assert await async_setup_component(hass, "template", {"template": [{"light": [light]}]})
    else:
        legacy = {"friendly_name": "Kitchen light", "turn_on": switched, "turn_off": switched}
        assert await async_setup_component(
            hass,
            "light",
            {"light": [{"platform": "template", "lights": {"kitchen_light": legacy}}]},
        )
    assert await async_setup_component(hass, "conversation", {})
    await hass.async_block_till_done()
    # Off, or unknown for an optimistic light of the newer template form.
    assert hass.states.get(KITCHEN_LIGHT).state in ("off", "unknown")


async def _assist_entry(hass: HomeAssistant, sim: Simulator) -> tuple[Any, list[str]]:
    await _people(hass)
    await _kitchen_light(hass)
    chats = await _direct_chats(sim)
    entry = await add_linked_entry(
        hass,
        sim,
        options={
            CONF_PEOPLE: {ALICE: [chats[0]], BOB: [chats[1]]},
            CONF_ASSIST_PEOPLE: [ALICE],
            CONF_ASSIST_AGENT: DEFAULT_ASSIST_AGENT,
        },
    )
    return entry, chats


def _answers(sent: list[dict[str, Any]], chat: str) -> list[dict[str, Any]]:
    return [entry for entry in sent if entry["kind"] == "message" and entry["chat"] == chat]


async def test_an_allowed_person_turns_the_light_on_and_gets_the_answer_in_the_chat(
    hass: HomeAssistant, simulator: Simulator, received: Received
) -> None:
    entry, chats = await _assist_entry(hass, simulator)
    alice = chats[0]
    question = await simulator.control.incoming(alice, "turn on the kitchen light")
    await received.body("turn on the kitchen light")
    answer = await simulator.control.wait_sent(
        lambda sent: sent["kind"] == "message" and sent["chat"] == alice, timeout=30
    )
    assert hass.states.get(KITCHEN_LIGHT).state == "on"
    assert answer["type"] == "chat"
    assert answer["body"]
    assert answer["quoted_id"] == question
    # The turn ran as Alice's user: the light's state change carries her context.
    assert (
        hass.states.get(KITCHEN_LIGHT).context.user_id
        == hass.states.get(ALICE).attributes["user_id"]
    )
    # The same chat keeps one conversation.
    conversation_id = entry.runtime_data.assist._conversation_ids[alice]
    await simulator.control.incoming(alice, "turn off the kitchen light")
    await simulator.control.wait_for(
        simulator.control.sent, lambda sent: len(_answers(sent, alice)) == 2, timeout=30
    )
    # Off, or unknown for an optimistic light of the newer template form.
    assert hass.states.get(KITCHEN_LIGHT).state in ("off", "unknown")
    assert entry.runtime_data.assist._conversation_ids[alice] == conversation_id


async def test_nobody_else_reaches_the_agent(
    hass: HomeAssistant, simulator: Simulator, received: Received
) -> None:
    entry, chats = await _assist_entry(hass, simulator)
    alice, bob, stranger = chats[0], chats[1], chats[2]
    group = next(chat["id"] for chat in await simulator.control.chats() if chat["is_group"])
    # A mapped person without permission, someone not mapped, and Alice herself in a group.
    await simulator.control.incoming(bob, "turn on the kitchen light")
    await simulator.control.incoming(stranger, "turn on the kitchen light please")
    await simulator.control.incoming(group, "turn on the kitchen light now", author=alice)
    for body in (
        "turn on the kitchen light",
        "turn on the kitchen light please",
        "turn on the kitchen light now",
    ):
        await received.body(body)
    # Alice in her own chat afterwards: her answer is the only message the account sends.
    await simulator.control.incoming(alice, "what time is it")
    await simulator.control.wait_sent(
        lambda sent: sent["kind"] == "message" and sent["chat"] == alice, timeout=30
    )
    await hass.async_block_till_done()
    sent = await simulator.control.sent()
    assert [entry["chat"] for entry in sent if entry["kind"] == "message"] == [alice]
    # Off, or unknown for an optimistic light of the newer template form.
    assert hass.states.get(KITCHEN_LIGHT).state in ("off", "unknown")
    assert set(entry.runtime_data.assist._conversation_ids) == {alice}
    assert entry.state is ConfigEntryState.LOADED


class HeardEngine(stt.SpeechToTextEntity):
    """A speech-to-text engine that keeps what it was given and hears one sentence."""

    _attr_name = "Heard"

    def __init__(self) -> None:
        self.heard: list[tuple[stt.SpeechMetadata, bytes]] = []

    @property
    def supported_languages(self) -> list[str]:
        return ["en-US"]

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        return [stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        return [stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        return [stt.AudioSampleRates.SAMPLERATE_16000]

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        return [stt.AudioChannels.CHANNEL_MONO]

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        audio = b"".join([chunk async for chunk in stream])
        self.heard.append((metadata, audio))
        return stt.SpeechResult("turn on the kitchen light", stt.SpeechResultState.SUCCESS)


@pytest.mark.skipif(FFMPEG is None, reason="Debian's ffmpeg (script/setup installs it)")
async def test_a_voice_note_reaches_the_agent_as_text(
    hass: HomeAssistant, simulator: Simulator, received: Received
) -> None:
    await _people(hass)
    await _kitchen_light(hass)
    assert await async_setup_component(hass, "stt", {})
    engine = HeardEngine()
    await hass.data[STT_COMPONENT].async_add_entities([engine])
    [alice, *_] = await _direct_chats(simulator)
    await add_linked_entry(
        hass,
        simulator,
        options={
            CONF_PEOPLE: {ALICE: [alice]},
            CONF_ASSIST_PEOPLE: [ALICE],
            CONF_ASSIST_STT: engine.entity_id,
        },
    )
    voice = await convert_to_ogg_opus(
        FFMPEG or "", tone_wav(seconds=1.0), field="f", max_bytes=1_000_000
    )
    await simulator.control.incoming(
        alice,
        type="ptt",
        media={"mimetype": "audio/ogg; codecs=opus", "data_b64": base64.b64encode(voice).decode()},
    )
    answer = await simulator.control.wait_sent(
        lambda sent: sent["kind"] == "message" and sent["chat"] == alice, timeout=60
    )
    assert answer["body"]
    assert hass.states.get(KITCHEN_LIGHT).state == "on"
    [(metadata, audio)] = engine.heard
    assert metadata.language == "en-US"
    # One second of 16 kHz 16-bit mono PCM (Opus pads a little), and a tone, not silence.
    assert 30_000 <= len(audio) <= 36_000
    assert max(abs(sample) for (sample,) in struct.iter_unpack("<h", audio)) > 4000


async def _options(hass: HomeAssistant, entry: Any, step: str, data: dict[str, Any]) -> None:
    """Change the options through the options flow's menu, as a person does in Settings."""
    menu = await hass.config_entries.options.async_init(entry.entry_id)
    form = await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": step}
    )
    result = await hass.config_entries.options.async_configure(form["flow_id"], data)
    assert result["type"] == "create_entry", result
    await hass.async_block_till_done()


async def test_people_and_assist_options_apply_without_restarting_whatsapp_web(
    hass: HomeAssistant, simulator: Simulator, received: Received
) -> None:
    await _people(hass)
    await _kitchen_light(hass)
    alice, bob = (await _direct_chats(simulator))[:2]
    entry = await add_linked_entry(hass, simulator)
    account = entry.runtime_data
    pids = set(account.client.browser_pids)

    await _options(hass, entry, "people", {"person": ALICE, "ids": [alice]})
    await _options(hass, entry, "assist", {CONF_ASSIST_PEOPLE: [ALICE]})
    # The same account, browser and connection: nothing was reloaded.
    assert entry.runtime_data is account
    assert set(account.client.browser_pids) == pids
    assert account.client.state == ClientState.CONNECTED
    await simulator.control.incoming(alice, "turn on the kitchen light")
    assert (await received.body("turn on the kitchen light"))["person_entity_id"] == ALICE
    await simulator.control.wait_sent(
        lambda sent: sent["kind"] == "message" and sent["chat"] == alice, timeout=30
    )
    assert hass.states.get(KITCHEN_LIGHT).state == "on"

    # Removing the person (no ids) takes them out of Assist too, still without a reload.
    await _options(hass, entry, "people", {"person": ALICE, "ids": []})
    assert entry.runtime_data is account
    await simulator.control.incoming(alice, "turn off the kitchen light")
    assert "person_entity_id" not in await received.body("turn off the kitchen light")
    await simulator.control.incoming(bob, "a later message")
    await received.body("a later message")
    assert len(_answers(await simulator.control.sent(), alice)) == 1

    # Any other option still reloads the account (the outbox and the limits are read once).
    await _options(hass, entry, "settings", {CONF_SEND_LIMIT: 10})
    assert entry.runtime_data is not account


async def test_a_mapped_persons_vote_and_edit_carry_the_person(
    hass: HomeAssistant, simulator: Simulator, received: Received
) -> None:
    await _people(hass)
    alice, bob = (await _direct_chats(simulator))[:2]
    entry = await add_linked_entry(hass, simulator, options={CONF_PEOPLE: {ALICE: [alice]}})
    polls = []
    for chat in (alice, bob):
        poll = await hass.services.async_call(
            DOMAIN,
            "send_poll",
            {
                "config_entry_id": entry.entry_id,
                "chat_id": chat,
                "question": "Pizza tonight?",
                "options": ["Yes", "No"],
            },
            blocking=True,
            return_response=True,
        )
        polls.append(poll["id"])
        await simulator.control.wait_sent(lambda item, poll_id=polls[-1]: item.get("id") == poll_id)
    await simulator.control.vote(polls[0], ["Yes"], sender=alice)
    await simulator.control.vote(polls[1], ["No"], sender=bob)
    votes = await received.wait_for(EVENT_POLL_VOTE, lambda events: len(events) >= 2, timeout=30)
    by_voter = {vote["voter"]: vote for vote in votes}
    assert by_voter[alice]["person_entity_id"] == ALICE
    assert "person_entity_id" not in by_voter[bob]

    for chat in (alice, bob):
        message = await simulator.control.incoming(chat, f"typo from {chat}")
        await received.body(f"typo from {chat}")
        await simulator.control.edit(message, f"fixed from {chat}")
    edits = await received.wait_for(EVENT_MESSAGE_EDIT, lambda events: len(events) >= 2, timeout=30)
    by_chat = {edit["message"]["id"]["remote"]: edit for edit in edits}
    assert by_chat[alice]["person_entity_id"] == ALICE
    assert "person_entity_id" not in by_chat[bob]
