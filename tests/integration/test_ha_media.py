"""What Home Assistant has, sent through WhatsApp: camera snapshots, media sources, spoken text.

End to end against the simulator and a real Chromium: Home Assistant's own camera, media_source and
TTS (the ``demo`` engine) set up in the harness, a local media folder in the test's configuration
folder, and Debian's ffmpeg. What reached WhatsApp is read from the simulator (``/_sim/sent`` and the
bytes it stored), never from the integration. Refusals need no browser: the account's client is never
started, since media is read before a send looks at the connection.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from pathlib import Path
import shutil
import struct
from typing import TYPE_CHECKING, Any
import wave

import aiohttp
from homeassistant.components.camera import Camera
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockUser, setup_test_component_platform

from custom_components.whatsapp_web import http, services
from custom_components.whatsapp_web.const import API_BASE, DOMAIN
from custom_components.whatsapp_web.ha_media import (
    VOICE_NOTE_MIMETYPE,
    convert_to_ogg_opus,
    ffmpeg_binary,
)
from custom_components.whatsapp_web.operations import (
    OPERATIONS_BY_NAME,
    OperationContext,
    OperationError,
)
from simulator.testing import Simulator

from .linking import add_linked_entry
from .operations_support import add_account

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp.test_utils import TestClient
    from homeassistant.core import HomeAssistant

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
DOORBELL_IMAGE = PNG + b"doorbell"
CHAT = "34600000002@c.us"
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None, reason="Debian's ffmpeg (script/setup installs it)"
)


def tone_wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A 440 Hz tone as 16-bit mono WAV."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * index / rate)))
        for index in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return buffer.getvalue()


class DoorbellCamera(Camera):
    """A camera whose snapshot is known; ``is_on`` False makes it unavailable."""

    def __init__(self, name: str, *, on: bool = True) -> None:
        super().__init__()
        self._attr_name = name
        self._attr_unique_id = name
        self._attr_is_on = on
        self.content_type = "image/png"

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return DOORBELL_IMAGE


async def setup_home_assistant_media(hass: HomeAssistant, config_dir: Path) -> Path:
    """Cameras, a local media folder and the demo TTS engine, as a user would set them up."""
    media = config_dir / "media"
    media.mkdir()
    (media / "doorbell.png").write_bytes(PNG)
    (media / "chime.wav").write_bytes(tone_wav())
    hass.config.media_dirs = {"local": str(media)}
    setup_test_component_platform(
        hass,
        "camera",
        [DoorbellCamera("Front door"), DoorbellCamera("Garage", on=False)],
    )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    assert await async_setup_component(hass, "media_source", {})
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    await hass.async_block_till_done()
    assert hass.states.get("camera.front_door") is not None
    return media


async def stored_bytes(sim: Simulator, message_id: str) -> tuple[dict[str, Any], bytes]:
    """The message as the simulator stored it, and the media bytes WhatsApp would deliver."""
    truth = await sim.control.request("GET", f"_sim/messages/{message_id}")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.url.rstrip('/')}/_sim/mms{truth['directPath']}") as response,
    ):
        assert response.status == 200
        return truth, await response.read()


async def last_seq(sim: Simulator) -> int:
    entries = await sim.control.sent()
    return entries[-1]["seq"] if entries else 0


async def one_sent(sim: Simulator, seq: int) -> dict[str, Any]:
    [entry] = [
        item for item in await sim.control.sent() if item["seq"] > seq and item["kind"] == "message"
    ]
    return entry


def assert_voice_note(entry: dict[str, Any], data: bytes) -> None:
    assert entry["type"] == "ptt"
    assert entry["media"]["mimetype"] == VOICE_NOTE_MIMETYPE
    assert data[:4] == b"OggS"
    assert b"OpusHead" in data[:128]
    assert entry["media"]["sha256"] == hashlib.sha256(data).hexdigest()


@needs_ffmpeg
async def test_camera_media_source_and_spoken_text_reach_whatsapp(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client: Any,
    config_dir: Path,
) -> None:
    await setup_home_assistant_media(hass, config_dir)
    await add_linked_entry(hass, simulator)
    client: TestClient = await hass_client()
    private = next(chat["id"] for chat in await simulator.control.chats() if not chat["is_group"])
    url = f"{API_BASE}/chats/{private}/messages"

    # A camera's snapshot, as an image with its caption.
    seq = await last_seq(simulator)
    response = await client.post(
        url, json={"camera_entity_id": "camera.front_door", "msg": "Someone at the door"}
    )
    assert response.status == 200, await response.text()
    entry = await one_sent(simulator, seq)
    assert entry["type"] == "image"
    assert entry["caption"] == "Someone at the door"
    assert entry["media"]["sha256"] == hashlib.sha256(DOORBELL_IMAGE).hexdigest()

    # Local media through media_source.
    seq = await last_seq(simulator)
    response = await client.post(
        url, json={"media_content_id": "media-source://media_source/local/doorbell.png"}
    )
    assert response.status == 200, await response.text()
    entry = await one_sent(simulator, seq)
    assert entry["type"] == "image"
    assert entry["media"]["sha256"] == hashlib.sha256(PNG).hexdigest()

    # A camera named by its media source id: its snapshot.
    seq = await last_seq(simulator)
    response = await client.post(
        url, json={"media_content_id": "media-source://camera/camera.front_door"}
    )
    assert response.status == 200, await response.text()
    entry = await one_sent(simulator, seq)
    assert entry["media"]["sha256"] == hashlib.sha256(DOORBELL_IMAGE).hexdigest()

    # Spoken text, through the service: the demo engine's MP3 becomes an OGG/Opus voice note.
    seq = await last_seq(simulator)
    answer = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"chat_id": private, "tts_message": "The alarm is on", "tts_engine": "demo"},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    assert answer["queued"] is False
    entry = await one_sent(simulator, seq)
    truth, data = await stored_bytes(simulator, str(answer["id"]))
    assert truth["type"] == "ptt"
    assert_voice_note(entry, data)

    # A WAV file sent with sendAudioAsVoice is converted the same way.
    seq = await last_seq(simulator)
    response = await client.post(
        url,
        json={
            "media_content_id": "media-source://media_source/local/chime.wav",
            "options": {"sendAudioAsVoice": True},
        },
    )
    assert response.status == 200, await response.text()
    entry = await one_sent(simulator, seq)
    _truth, data = await stored_bytes(simulator, (await response.json())["id"]["_serialized"])
    assert_voice_note(entry, data)

    # A TTS result named by its media source id, as a voice note.
    seq = await last_seq(simulator)
    response = await client.post(
        url,
        json={
            "media_content_id": "media-source://tts/demo?message=Hello",
            "options": {"sendAudioAsVoice": True},
        },
    )
    assert response.status == 200, await response.text()
    entry = await one_sent(simulator, seq)
    _truth, data = await stored_bytes(simulator, (await response.json())["id"]["_serialized"])
    assert_voice_note(entry, data)

    # Without sendAudioAsVoice, audio goes as it is.
    seq = await last_seq(simulator)
    response = await client.post(
        url, json={"media_content_id": "media-source://media_source/local/chime.wav"}
    )
    assert response.status == 200, await response.text()
    entry = await one_sent(simulator, seq)
    assert entry["type"] == "audio"
    assert entry["media"]["sha256"] == hashlib.sha256(tone_wav()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Refusals: each names its field, over REST (status and body) and through the service (translated).


@pytest.fixture
async def admin(
    hass: HomeAssistant, hass_client: Any, config_dir: Path
) -> AsyncIterator[TestClient]:
    await setup_home_assistant_media(hass, config_dir)
    http.async_register_views(hass)
    services.async_setup_services(hass)
    entry = add_account(hass)
    client: TestClient = await hass_client()
    yield client
    # The account never set its platforms up: nothing is there to unload when Home Assistant stops.
    entry.mock_state(hass, ConfigEntryState.NOT_LOADED)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"camera_entity_id": "camera.front_door", "url": "https://example.com/a.jpg"},
            400,
            "invalid_argument",
            "camera_entity_id",
        ),
        (
            {"tts_message": "hi", "media_content_id": "media-source://media_source/local/x.png"},
            400,
            "invalid_argument",
            "tts_message",
        ),
        ({"tts_engine": "demo", "msg": "hi"}, 400, "invalid_argument", "tts_engine"),
        ({"camera_entity_id": "light.kitchen"}, 400, "invalid_argument", "camera_entity_id"),
        ({"camera_entity_id": "camera.back_door"}, 404, "camera_not_found", "camera_entity_id"),
        ({"camera_entity_id": "camera.garage"}, 409, "camera_unavailable", "camera_entity_id"),
        (
            {"media_content_id": "https://example.com/a.png"},
            400,
            "invalid_argument",
            "media_content_id",
        ),
        (
            {"media_content_id": "media-source://media_source/local/missing.png"},
            404,
            "media_source_not_found",
            "media_content_id",
        ),
        (
            {"media_content_id": "media-source://media_source/local/../secrets.yaml"},
            404,
            "media_source_not_found",
            "media_content_id",
        ),
        (
            {"media_content_id": "media-source://no_such_source/item"},
            404,
            "media_source_not_found",
            "media_content_id",
        ),
        ({"tts_message": "hi", "tts_engine": "no_such_engine"}, 409, "tts_failed", "tts_engine"),
    ],
)
async def test_bad_sources_answer_4xx_naming_the_field(
    admin: TestClient,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    response = await admin.post(f"{API_BASE}/chats/{CHAT}/messages", json=body)
    assert response.status == status, await response.text()
    error = (await response.json())["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert field in error["message"]


async def test_service_errors_are_translated(hass: HomeAssistant, admin: TestClient) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": CHAT, "camera_entity_id": "camera.back_door"},
            blocking=True,
        )
    assert caught.value.translation_key == "camera_not_found"
    assert caught.value.translation_placeholders == {"entity_id": "camera.back_door"}
    with pytest.raises(HomeAssistantError) as failed:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": CHAT, "tts_message": "hi", "tts_engine": "no_such_engine"},
            blocking=True,
        )
    assert failed.value.translation_key == "tts_failed"
    assert failed.value.translation_placeholders is not None
    assert failed.value.translation_placeholders["field"] == "tts_engine"


async def test_without_ffmpeg_a_voice_note_is_refused_naming_the_field(
    hass: HomeAssistant,
    admin: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    response = await admin.post(
        f"{API_BASE}/chats/{CHAT}/messages", json={"tts_message": "hi", "tts_engine": "demo"}
    )
    assert response.status == 409, await response.text()
    error = (await response.json())["error"]
    assert (error["code"], error["field"]) == ("ffmpeg_missing", "tts_message")
    response = await admin.post(
        f"{API_BASE}/chats/{CHAT}/messages",
        json={
            "media_content_id": "media-source://media_source/local/chime.wav",
            "options": {"sendAudioAsVoice": True},
        },
    )
    assert response.status == 409, await response.text()
    assert (await response.json())["error"]["field"] == "options"


@needs_ffmpeg
async def test_the_ffmpeg_integrations_binary_is_used(
    hass: HomeAssistant, config_dir: Path
) -> None:
    assert ffmpeg_binary(hass) == FFMPEG
    assert await async_setup_component(
        hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": str(config_dir / "no-ffmpeg-here")}}
    )
    assert ffmpeg_binary(hass) == str(config_dir / "no-ffmpeg-here")


@needs_ffmpeg
async def test_conversion_is_capped_and_refuses_what_is_not_audio() -> None:
    voice = await convert_to_ogg_opus(FFMPEG or "", tone_wav(), field="f", max_bytes=1_000_000)
    assert voice[:4] == b"OggS"
    with pytest.raises(OperationError) as caught:
        await convert_to_ogg_opus(FFMPEG or "", b"not audio at all", field="f", max_bytes=1000)
    assert caught.value.code == "audio_conversion_failed"
    assert caught.value.field == "f"
    with pytest.raises(Exception, match="larger than the limit of 100 bytes"):
        await convert_to_ogg_opus(FFMPEG or "", tone_wav(seconds=3), field="f", max_bytes=100)


async def test_a_user_reads_only_the_cameras_their_policy_allows(
    hass: HomeAssistant, admin: TestClient
) -> None:
    user = MockUser().add_to_hass(hass)
    user.mock_policy({"entities": {"entity_ids": {"camera.garage": True}}})
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    context = OperationContext(
        hass=hass, account=entry.runtime_data, trusted=False, user_id=user.id
    )
    send = OPERATIONS_BY_NAME["send_message"].handler
    for body, field in (
        ({"camera_entity_id": "camera.front_door"}, "camera_entity_id"),
        ({"media_content_id": "media-source://camera/camera.front_door"}, "media_content_id"),
    ):
        with pytest.raises(OperationError) as caught:
            await send(context, {"chat_id": CHAT, "fail_fast": True, **body})
        assert (caught.value.code, caught.value.status, caught.value.field) == (
            "media_not_allowed",
            403,
            field,
        )
    # The camera the policy allows is read (it is off, which is the next thing said).
    with pytest.raises(OperationError) as caught:
        await send(
            context, {"chat_id": CHAT, "fail_fast": True, "camera_entity_id": "camera.garage"}
        )
    assert caught.value.code == "camera_unavailable"
    # Through the service such a user is refused before any camera is read: sending needs an
    # administrator (the camera rule above is the second line of defence).
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": CHAT, "camera_entity_id": "camera.garage"},
            blocking=True,
            context=Context(user_id=user.id),
        )
