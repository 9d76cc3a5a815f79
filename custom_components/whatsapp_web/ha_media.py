"""Media Home Assistant already has: a camera's snapshot, a media source item, a spoken text.

Everything is read with Home Assistant's own means (the camera entity, the local media folders, the TTS
manager), never fetched back through Home Assistant's own URLs. A media source that resolves to an
outside URL is fetched with the same rules as ``url`` (for users who are not administrators:
``allowlist_external_urls`` at every hop). Voice notes must be OGG/Opus: other audio is converted with
ffmpeg, run without a shell, with a time limit and a cap on what it may write.

The camera, media source, TTS and ffmpeg integrations are imported only when a send uses them: this
integration does not need them to be set up.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
import logging
import mimetypes
from pathlib import Path
import shutil
import tempfile
from typing import TYPE_CHECKING, Final

from homeassistant.auth.permissions.const import POLICY_READ
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .client.errors import MediaTooLarge
from .client.media import UrlPolicy, media_from_bytes, media_from_file, media_from_url
from .client.models import MediaFile
from .const import MEDIA_URL_MAX_BYTES, MEDIA_URL_TIMEOUT
from .operations.errors import OperationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .operations.model import OperationContext

_LOGGER = logging.getLogger(__name__)

VOICE_NOTE_MIMETYPE: Final = "audio/ogg; codecs=opus"
# Long enough for minutes of speech on a busy two-core machine; a hung ffmpeg is killed after it.
FFMPEG_TIMEOUT: Final = 120.0
CAMERA_TIMEOUT: Final = 10
# How much of ffmpeg's complaint is kept for the error.
_STDERR_TAIL: Final = 300
_MEDIA_SOURCE_PREFIX: Final = "media-source://"


def is_ogg_opus(data: bytes) -> bool:
    """Whether the bytes are an OGG stream whose first packet is an Opus head."""
    return data[:4] == b"OggS" and b"OpusHead" in data[:128]


def _not_allowed(field: str, what: str) -> OperationError:
    return OperationError(
        "media_not_allowed",
        403,
        f"{field}: {what} may not be read by this user",
        field=field,
        placeholders={"field": field, "media": what},
    )


def _not_found(field: str, what: str, reason: str) -> OperationError:
    return OperationError(
        "media_source_not_found",
        404,
        f"{field}: {what} was not found: {reason}",
        field=field,
        placeholders={"field": field, "media": what, "reason": reason},
    )


async def _may_read_entity(ctx: OperationContext, entity_id: str) -> bool:
    """Administrators and Home Assistant itself read everything; other users as their policy says."""
    if ctx.trusted or ctx.user_id is None:
        return True
    user = await ctx.hass.auth.async_get_user(ctx.user_id)
    return user is not None and user.permissions.check_entity(entity_id, POLICY_READ)


# ---------------------------------------------------------------------------------------------
# Cameras


async def media_from_camera(
    ctx: OperationContext, entity_id: str, field: str, max_bytes: int
) -> MediaFile:
    """A snapshot of a camera entity, as an image."""
    hass = ctx.hass
    if not await _may_read_entity(ctx, entity_id):
        raise _not_allowed(field, entity_id)
    if "camera" not in hass.config.components or hass.states.get(entity_id) is None:
        raise OperationError(
            "camera_not_found",
            404,
            f"{field}: there is no camera {entity_id}",
            field=field,
            placeholders={"entity_id": entity_id},
        )
    from homeassistant.components import camera  # noqa: PLC0415 - only when a send uses a camera

    try:
        image = await camera.async_get_image(hass, entity_id, timeout=CAMERA_TIMEOUT)
    except HomeAssistantError as error:
        if str(error) == "Camera not found":
            raise OperationError(
                "camera_not_found",
                404,
                f"{field}: there is no camera {entity_id}",
                field=field,
                placeholders={"entity_id": entity_id},
            ) from error
        raise OperationError(
            "camera_unavailable",
            409,
            f"{field}: the camera {entity_id} gave no image: {error}",
            field=field,
            placeholders={"entity_id": entity_id, "reason": str(error)},
            caller_mistake=False,
        ) from error
    stem = entity_id.partition(".")[2] or "camera"
    return media_from_bytes(
        image.content,
        mimetype=image.content_type,
        filename=f"{stem}{_extension(image.content_type, '.jpg')}",
        max_bytes=max_bytes,
    )


def _extension(mimetype: str, fallback: str) -> str:
    guessed = mimetypes.guess_extension(mimetype.split(";", 1)[0].strip())
    if guessed in (".jpe", ".jpeg"):
        return ".jpg"
    return guessed or fallback


# ---------------------------------------------------------------------------------------------
# Media sources


async def media_from_media_source(
    ctx: OperationContext, media_content_id: str, field: str, max_bytes: int
) -> MediaFile:
    """The file behind a ``media-source://`` id, read as this user may."""
    hass = ctx.hass
    if "media_source" not in hass.config.components:
        raise _not_found(field, media_content_id, "the media source integration is not set up")
    from homeassistant.components import media_source  # noqa: PLC0415 - only when a send uses one

    try:
        item = media_source.MediaSourceItem.from_uri(hass, media_content_id, None)
    except ValueError as error:
        raise _not_found(field, media_content_id, str(error)) from error
    if item.domain == "camera" and item.identifier:
        # A camera's media source plays its live stream; a message carries a snapshot.
        return await media_from_camera(ctx, item.identifier, field, max_bytes)
    if item.domain == "tts":
        return await _tts_audio(ctx.hass, media_content_id, field, max_bytes)
    try:
        play = await media_source.async_resolve_media(hass, media_content_id, None)
    except HomeAssistantError as error:
        raise _not_found(field, media_content_id, str(error)) from error
    path: Path | None = getattr(play, "path", None)
    if path is None and item.domain == "media_source":
        path = _local_media_path(hass, item.identifier)
    if path is not None:
        return await _local_file(path, play.mime_type, field, media_content_id, max_bytes)
    url = play.url
    if url.startswith(("http://", "https://")):
        return await _outside_url(ctx, url, field, max_bytes)
    raise OperationError(
        "media_source_not_supported",
        400,
        f"{field}: {media_content_id} resolves to {url}, which this integration cannot read",
        field=field,
        placeholders={"media": media_content_id},
    )


def _local_media_path(hass: HomeAssistant, identifier: str) -> Path:
    """Where a local media item lives (Home Assistant 2025.x does not say; it checked the id)."""
    source_dir_id, _, location = identifier.partition("/")
    base = Path(hass.config.media_dirs[source_dir_id])
    path = base / location
    path.relative_to(base)
    return path


async def _local_file(
    path: Path, mime_type: str, field: str, media_content_id: str, max_bytes: int
) -> MediaFile:
    try:
        media = await media_from_file(path, max_bytes=max_bytes)
    except MediaTooLarge:
        raise
    except Exception as error:
        raise _not_found(field, media_content_id, "the file does not exist") from error
    if media.mimetype == "application/octet-stream" and mime_type:
        return MediaFile(data=media.data, mimetype=mime_type, filename=media.filename)
    return media


async def _outside_url(ctx: OperationContext, url: str, field: str, max_bytes: int) -> MediaFile:
    """A media source's outside URL, under the rules of ``url``."""
    hass = ctx.hass
    if not ctx.trusted and not hass.config.is_allowed_external_url(url):
        raise _not_allowed(field, url)
    policy = (
        None
        if ctx.trusted
        else UrlPolicy(allowlist=tuple(sorted(hass.config.allowlist_external_urls)))
    )
    return await media_from_url(
        async_get_clientsession(hass),
        url,
        max_bytes=min(max_bytes, MEDIA_URL_MAX_BYTES),
        timeout=MEDIA_URL_TIMEOUT,
        policy=policy,
    )


# ---------------------------------------------------------------------------------------------
# Text to speech


def _tts_failed(field: str, reason: str) -> OperationError:
    return OperationError(
        "tts_failed",
        409,
        f"{field}: text to speech failed: {reason}",
        field=field,
        placeholders={"field": field, "reason": reason},
        caller_mistake=False,
    )


async def media_from_tts(
    hass: HomeAssistant,
    message: str,
    *,
    engine: str | None,
    language: str | None,
    max_bytes: int,
) -> MediaFile:
    """The text spoken by a TTS engine (the default one without ``engine``), as audio."""
    if "tts" not in hass.config.components:
        raise _tts_failed("tts_engine", "no text-to-speech engine is set up")
    from homeassistant.components import tts  # noqa: PLC0415 - only when a send speaks

    try:
        media_content_id = tts.generate_media_source_id(
            hass, message, engine=engine, language=language
        )
    except HomeAssistantError as error:
        field = "tts_language" if language and "language" in str(error).lower() else "tts_engine"
        raise _tts_failed(field, str(error) or type(error).__name__) from error
    return await _tts_audio(hass, media_content_id, "tts_message", max_bytes)


async def _tts_audio(
    hass: HomeAssistant, media_content_id: str, field: str, max_bytes: int
) -> MediaFile:
    from homeassistant.components import tts  # noqa: PLC0415 - only when a send speaks

    try:
        extension, data = await tts.async_get_media_source_audio(hass, media_content_id)
    except Exception as error:
        raise _tts_failed(field, str(error) or type(error).__name__) from error
    if not data:
        raise _tts_failed(field, "the engine returned no audio")
    filename = f"speech.{extension or 'mp3'}"
    guessed, _ = mimetypes.guess_type(filename)
    return media_from_bytes(data, mimetype=guessed, filename=filename, max_bytes=max_bytes)


# ---------------------------------------------------------------------------------------------
# Voice notes (OGG/Opus) with ffmpeg


def ffmpeg_binary(hass: HomeAssistant) -> str | None:
    """The ffmpeg integration's binary when it is set up, else ``ffmpeg`` on PATH."""
    if "ffmpeg" in hass.config.components:
        from homeassistant.components.ffmpeg import (  # noqa: PLC0415 - only when converting
            get_ffmpeg_manager,
        )

        with suppress(ValueError):
            binary: str = get_ffmpeg_manager(hass).binary
            return binary
    return shutil.which("ffmpeg")


def _ffmpeg_missing(field: str) -> OperationError:
    return OperationError(
        "ffmpeg_missing",
        409,
        f"{field}: ffmpeg is needed to make a voice note: set up the ffmpeg integration or install "
        "ffmpeg",
        field=field,
        placeholders={"field": field},
        caller_mistake=False,
    )


def _conversion_failed(field: str, reason: str) -> OperationError:
    return OperationError(
        "audio_conversion_failed",
        400,
        f"{field}: the audio could not be converted to a voice note: {reason}",
        field=field,
        placeholders={"field": field, "reason": reason},
    )


async def as_voice_note(
    hass: HomeAssistant, media: MediaFile, field: str, max_bytes: int
) -> MediaFile:
    """The media as an OGG/Opus voice note: unchanged when it already is one, else converted."""
    if is_ogg_opus(media.data):
        return MediaFile(data=media.data, mimetype=VOICE_NOTE_MIMETYPE, filename=media.filename)
    binary = ffmpeg_binary(hass)
    if binary is None:
        raise _ffmpeg_missing(field)
    data = await convert_to_ogg_opus(binary, media.data, field=field, max_bytes=max_bytes)
    stem = Path(media.filename or "voice").stem or "voice"
    return MediaFile(data=data, mimetype=VOICE_NOTE_MIMETYPE, filename=f"{stem}.ogg")


async def convert_to_ogg_opus(
    binary: str,
    audio: bytes,
    *,
    field: str,
    max_bytes: int,
    timeout: float = FFMPEG_TIMEOUT,
) -> bytes:
    """Audio of any format ffmpeg reads, as mono OGG/Opus (see ``convert_audio``)."""
    output = [
        "-ar",
        "48000",
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        "-application",
        "voip",
        "-f",
        "ogg",
    ]
    return await convert_audio(
        binary,
        audio,
        output,
        field=field,
        max_bytes=max_bytes,
        timeout=timeout,
        valid=is_ogg_opus,
    )


async def convert_audio(
    binary: str,
    audio: bytes,
    output_arguments: list[str],
    *,
    field: str,
    max_bytes: int,
    timeout: float = FFMPEG_TIMEOUT,
    valid: Callable[[bytes], bool] = bool,
) -> bytes:
    """The first audio stream of ``audio`` as mono, in the format ``output_arguments`` name.

    The input goes through a private temporary file (formats such as M4A need to seek), the output
    through a pipe that is read up to ``max_bytes``: past that, or past ``timeout``, ffmpeg is killed.
    ``valid`` tells whether what ffmpeg wrote is usable.
    """
    folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="whatsapp-voice-")
    source = Path(folder) / "input"
    try:
        await asyncio.to_thread(source.write_bytes, audio)
        arguments = [
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-map",
            "0:a:0",
            "-map_metadata",
            "-1",
            "-ac",
            "1",
            *output_arguments,
            "pipe:1",
        ]
        try:
            process = await asyncio.create_subprocess_exec(
                binary,
                *arguments,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            _LOGGER.warning("ffmpeg (%s) could not be started: %s", binary, error)
            raise _ffmpeg_missing(field) from error
        return await _collect(
            process, field=field, max_bytes=max_bytes, timeout=timeout, valid=valid
        )
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _collect(
    process: asyncio.subprocess.Process,
    *,
    field: str,
    max_bytes: int,
    timeout: float,
    valid: Callable[[bytes], bool],
) -> bytes:
    """What ffmpeg writes, up to the cap, within the time limit; the process never outlives this."""
    assert process.stdout is not None
    assert process.stderr is not None
    stdout = process.stdout
    output = bytearray()
    complaint_reader = asyncio.ensure_future(process.stderr.read())
    try:
        async with asyncio.timeout(timeout):
            while chunk := await stdout.read(65536):
                output.extend(chunk)
                if len(output) > max_bytes:
                    raise MediaTooLarge(max_bytes)
            complaint = await complaint_reader
            code = await process.wait()
    except TimeoutError as error:
        raise _conversion_failed(field, f"ffmpeg took longer than {timeout:g} s") from error
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if not complaint_reader.done():
            complaint_reader.cancel()
            with suppress(asyncio.CancelledError):
                await complaint_reader
    if code != 0 or not valid(bytes(output)):
        reason = complaint.decode(errors="replace").strip()[-_STDERR_TAIL:] or f"exit code {code}"
        raise _conversion_failed(field, reason)
    return bytes(output)


__all__ = [
    "VOICE_NOTE_MIMETYPE",
    "as_voice_note",
    "convert_audio",
    "convert_to_ogg_opus",
    "ffmpeg_binary",
    "is_ogg_opus",
    "media_from_camera",
    "media_from_media_source",
    "media_from_tts",
]
