"""Voice notes for Assist: the note's audio, decoded with ffmpeg, through a speech-to-text engine.

Every speech-to-text engine of Home Assistant takes what the Assist pipeline sends: raw 16-bit PCM,
16 kHz, mono ("wav" with the "pcm" codec). WhatsApp's voice notes are OGG/Opus, so they are decoded with
ffmpeg (the ffmpeg integration's binary, else ``ffmpeg`` on PATH) to exactly that. The engine is an
``stt.*`` entity or a legacy provider; the stt integration is imported only when a note arrives.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from .client.errors import WhatsAppWebError
from .ha_media import convert_audio, ffmpeg_binary
from .operations.errors import OperationError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant

    from .client import WhatsAppWebClient
    from .client.models import Message

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE: Final = 16000
# Ten minutes of 16-bit mono PCM at 16 kHz: longer notes are not turned into text.
MAX_PCM_BYTES: Final = 10 * 60 * SAMPLE_RATE * 2
# The engine gets the audio in parts, as it would from a microphone.
CHUNK_BYTES: Final = 8192


class VoiceTranscriber:
    """Turns a received voice note into text with one speech-to-text engine."""

    def __init__(self, hass: HomeAssistant, client: WhatsAppWebClient, engine_id: str) -> None:
        """Nothing is read before a note arrives."""
        self._hass = hass
        self._client = client
        self._engine_id = engine_id

    async def __call__(self, message: Message) -> str | None:
        """The note's text, or None (logged) when there is none."""
        binary = ffmpeg_binary(self._hass)
        if binary is None:
            _LOGGER.warning("A voice note for Assist needs ffmpeg; it was not given to the agent")
            return None
        try:
            media = await self._client.download_media(message.id)
            pcm = await convert_audio(
                binary,
                media.data,
                ["-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "s16le"],
                field="voice_note",
                max_bytes=MAX_PCM_BYTES,
            )
        except (WhatsAppWebError, OperationError) as error:
            _LOGGER.warning("A voice note for Assist could not be read: %s", error)
            return None
        return await self._speech_to_text(pcm)

    async def _speech_to_text(self, pcm: bytes) -> str | None:
        from homeassistant.components import stt  # noqa: PLC0415 - only when a note arrives

        engine = (
            stt.async_get_speech_to_text_engine(self._hass, self._engine_id)
            if "stt" in self._hass.config.components
            else None
        )
        if engine is None:
            _LOGGER.warning("The speech-to-text engine %s is not there", self._engine_id)
            return None
        metadata = stt.SpeechMetadata(
            language=_language(self._hass.config.language, list(engine.supported_languages)),
            format=stt.AudioFormats.WAV,
            codec=stt.AudioCodecs.PCM,
            bit_rate=stt.AudioBitRates.BITRATE_16,
            sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
            channel=stt.AudioChannels.CHANNEL_MONO,
        )
        if not engine.check_metadata(metadata):
            _LOGGER.warning("%s does not take 16 kHz PCM in %s", self._engine_id, metadata.language)
            return None
        if isinstance(engine, stt.SpeechToTextEntity):
            result = await engine.internal_async_process_audio_stream(metadata, _chunks(pcm))
        else:
            result = await engine.async_process_audio_stream(metadata, _chunks(pcm))
        if result.result != stt.SpeechResultState.SUCCESS or not result.text:
            _LOGGER.info("The speech-to-text engine found no words in a voice note")
            return None
        return result.text


def _language(wanted: str, supported: list[str]) -> str:
    """Home Assistant's language as the engine spells it (``en`` -> ``en-US``), else its first."""
    if wanted in supported:
        return wanted
    prefix = wanted.split("-", 1)[0].lower()
    for language in supported:
        if language.split("-", 1)[0].lower() == prefix:
            return language
    return supported[0] if supported else wanted


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]
