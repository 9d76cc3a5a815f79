"""Media to send: from an http(s) URL, a file or bytes; its type; sticker metadata.

A URL is streamed and refused as soon as it passes the size cap, so a huge or endless answer costs
at most the cap. The type comes from the bytes first (magic numbers), then the server's
``Content-Type``, then the file name, because servers often answer ``application/octet-stream``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import json
import mimetypes
from pathlib import Path, PurePosixPath
import re
import struct
from typing import Final
from urllib.parse import unquote, urlsplit

import aiohttp

from .errors import InvalidArgument, MediaFetchFailed, MediaFetchTimeout, MediaTooLarge
from .models import MediaFile

DEFAULT_MAX_MEDIA_BYTES: Final = 64 * 1024 * 1024
DEFAULT_FETCH_TIMEOUT: Final = 60.0
_CHUNK: Final = 64 * 1024
_OCTET_STREAM: Final = "application/octet-stream"
_FILENAME_PARAM: Final = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)

# Magic numbers of the formats people send through WhatsApp, longest prefixes first where they overlap.
_SIGNATURES: Final[tuple[tuple[int, bytes, str], ...]] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"BM", "image/bmp"),
)


def sniff_mimetype(data: bytes, filename: str | None = None, declared: str | None = None) -> str:
    """Tell the media type from the bytes, else the declared type, else the file name."""
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand in (b"qt  ",):
            return "video/quicktime"
        return "video/mp4"
    if head[:2] == b"\xff\xfb" or head[:2] == b"\xff\xf3" or head[:2] == b"\xff\xf2":
        return "audio/mpeg"
    for offset, signature, mimetype in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return mimetype
    if declared:
        cleaned = declared.split(";", 1)[0].strip().lower()
        if cleaned and cleaned != _OCTET_STREAM and "/" in cleaned:
            return cleaned
    if filename:
        guessed, _ = mimetypes.guess_type(filename)
        if guessed:
            return guessed
    return _OCTET_STREAM


def default_filename(mimetype: str, stem: str = "file") -> str:
    """A file name with the usual extension for a type."""
    extension = mimetypes.guess_extension(mimetype) or ""
    if mimetype == "audio/ogg":
        extension = ".ogg"
    elif mimetype == "image/jpeg":
        extension = ".jpg"
    return f"{stem}{extension}"


def media_from_bytes(
    data: bytes,
    *,
    mimetype: str | None = None,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
) -> MediaFile:
    """Media from bytes the caller already has."""
    if len(data) > max_bytes:
        raise MediaTooLarge(max_bytes)
    if not data:
        raise InvalidArgument("media", "the media is empty")
    resolved = sniff_mimetype(data, filename, mimetype)
    return MediaFile(data=data, mimetype=resolved, filename=filename or default_filename(resolved))


async def media_from_file(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES
) -> MediaFile:
    """Media from a local file; the caller decides whether the path is allowed."""
    file_path = Path(path)

    def read() -> bytes:
        if not file_path.is_file():
            raise InvalidArgument("path", f"{file_path} is not a file")
        if file_path.stat().st_size > max_bytes:
            raise MediaTooLarge(max_bytes)
        with file_path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise MediaTooLarge(max_bytes)
        return data

    try:
        data = await asyncio.to_thread(read)
    except OSError as error:
        raise InvalidArgument("path", f"{file_path} cannot be read: {error.strerror}") from error
    return media_from_bytes(data, filename=file_path.name, max_bytes=max_bytes)


def check_media_url(url: str) -> str:
    """Refuse anything but absolute http(s) URLs (no file:, ftp:, data:, ...)."""
    if not isinstance(url, str):
        raise InvalidArgument("url", "the URL must be a string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("url", "only http:// and https:// URLs are allowed")
    return url.strip()


async def media_from_url(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
    timeout: float = DEFAULT_FETCH_TIMEOUT,
) -> MediaFile:
    """Download media, stopping at ``max_bytes`` and after ``timeout`` seconds in all."""
    checked = check_media_url(url)
    try:
        async with asyncio.timeout(timeout):
            async with session.get(checked, allow_redirects=True, max_redirects=5) as response:
                if response.status >= 400:
                    raise MediaFetchFailed(f"the server answered HTTP {response.status}")
                if response.url.scheme not in ("http", "https"):
                    raise MediaFetchFailed("the server redirected to a URL that is not http(s)")
                declared_length = response.content_length
                if declared_length is not None and declared_length > max_bytes:
                    raise MediaTooLarge(max_bytes)
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.content.iter_chunked(_CHUNK):
                    received += len(chunk)
                    if received > max_bytes:
                        raise MediaTooLarge(max_bytes)
                    chunks.append(chunk)
                content_type = response.headers.get("Content-Type")
                disposition = response.headers.get("Content-Disposition", "")
                final_url = str(response.url)
    except TimeoutError as error:
        raise MediaFetchTimeout(f"no complete answer within {timeout:g} s") from error
    except aiohttp.ClientError as error:
        raise MediaFetchFailed(type(error).__name__) from error
    data = b"".join(chunks)
    filename = _filename_from(disposition, final_url)
    return media_from_bytes(data, mimetype=content_type, filename=filename, max_bytes=max_bytes)


def _filename_from(disposition: str, url: str) -> str | None:
    if match := _FILENAME_PARAM.search(disposition):
        name = PurePosixPath(unquote(match.group(1))).name
        if name:
            return name
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or None


# ---------------------------------------------------------------------------------------------
# Sticker metadata: WhatsApp reads the pack name, publisher and emojis from a JSON document kept in
# the WebP file's EXIF chunk, under TIFF tag 0x5741, at the layout sticker makers use.

_EXIF_TAG: Final = 0x5741
_VP8X_EXIF_FLAG: Final = 0x08
_VP8X_ALPHA_FLAG: Final = 0x10


@dataclass(frozen=True, slots=True)
class StickerMetadata:
    """What WhatsApp shows about a sticker."""

    pack_name: str | None = None
    publisher: str | None = None
    emojis: tuple[str, ...] = ()


def _chunks(webp: bytes) -> list[tuple[bytes, bytes]]:
    if len(webp) < 12 or webp[:4] != b"RIFF" or webp[8:12] != b"WEBP":
        raise InvalidArgument("media", "a sticker must be a WebP image")
    chunks: list[tuple[bytes, bytes]] = []
    offset = 12
    while offset + 8 <= len(webp):
        fourcc = webp[offset : offset + 4]
        (size,) = struct.unpack_from("<I", webp, offset + 4)
        data = webp[offset + 8 : offset + 8 + size]
        if len(data) != size:
            raise InvalidArgument("media", "the WebP file is truncated")
        chunks.append((fourcc, data))
        offset += 8 + size + (size & 1)
    return chunks


def _canvas_size(chunks: list[tuple[bytes, bytes]]) -> tuple[int, int, bool]:
    for fourcc, data in chunks:
        if fourcc == b"VP8 " and len(data) >= 10:
            width, height = struct.unpack_from("<HH", data, 6)
            return width & 0x3FFF, height & 0x3FFF, False
        if fourcc == b"VP8L" and len(data) >= 5:
            (bits,) = struct.unpack_from("<I", data, 1)
            width = (bits & 0x3FFF) + 1
            height = ((bits >> 14) & 0x3FFF) + 1
            has_alpha = bool((bits >> 28) & 1)
            return width, height, has_alpha
    raise InvalidArgument("media", "the WebP file has no image data")


def _chunk_bytes(fourcc: bytes, data: bytes) -> bytes:
    padding = b"\x00" if len(data) & 1 else b""
    return fourcc + struct.pack("<I", len(data)) + data + padding


def sticker_exif(metadata: StickerMetadata) -> bytes:
    """The EXIF block carrying the sticker's JSON."""
    document: dict[str, object] = {"sticker-pack-id": "whatsapp_web-home-assistant"}
    if metadata.pack_name:
        document["sticker-pack-name"] = metadata.pack_name
    if metadata.publisher:
        document["sticker-pack-publisher"] = metadata.publisher
    document["emojis"] = list(metadata.emojis)
    payload = json.dumps(document, ensure_ascii=False).encode()
    header = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    entry = struct.pack("<HHII", _EXIF_TAG, 7, len(payload), 22)
    return header + entry + payload


def read_sticker_metadata(webp: bytes) -> StickerMetadata | None:
    """The metadata stored in a WebP sticker, if any."""
    for fourcc, data in _chunks(webp):
        if fourcc != b"EXIF" or len(data) < 22 or data[:4] != b"II*\x00":
            continue
        (ifd,) = struct.unpack_from("<I", data, 4)
        (count,) = struct.unpack_from("<H", data, ifd)
        for index in range(count):
            tag, _kind, length, offset = struct.unpack_from("<HHII", data, ifd + 2 + index * 12)
            if tag == _EXIF_TAG:
                document = json.loads(data[offset : offset + length].decode())
                return StickerMetadata(
                    pack_name=document.get("sticker-pack-name"),
                    publisher=document.get("sticker-pack-publisher"),
                    emojis=tuple(document.get("emojis") or ()),
                )
    return None


def with_sticker_metadata(webp: bytes, metadata: StickerMetadata) -> bytes:
    """The same WebP image with ``metadata`` in its EXIF chunk (an extended WebP)."""
    chunks = [(fourcc, data) for fourcc, data in _chunks(webp) if fourcc != b"EXIF"]
    if chunks and chunks[0][0] == b"VP8X":
        header = bytearray(chunks[0][1])
        header[0] |= _VP8X_EXIF_FLAG
        chunks[0] = (b"VP8X", bytes(header))
    else:
        width, height, has_alpha = _canvas_size(chunks)
        has_alpha = has_alpha or any(fourcc == b"ALPH" for fourcc, _ in chunks)
        flags = _VP8X_EXIF_FLAG | (_VP8X_ALPHA_FLAG if has_alpha else 0)
        vp8x = (
            bytes([flags, 0, 0, 0])
            + (width - 1).to_bytes(3, "little")
            + (height - 1).to_bytes(3, "little")
        )
        chunks.insert(0, (b"VP8X", vp8x))
    chunks.append((b"EXIF", sticker_exif(metadata)))
    body = b"WEBP" + b"".join(_chunk_bytes(fourcc, data) for fourcc, data in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
