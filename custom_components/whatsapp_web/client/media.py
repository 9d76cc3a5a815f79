"""Media to send: from an http(s) URL, a file or bytes; its type; sticker metadata.

A URL is streamed and refused as soon as it passes the size cap, so a huge or endless answer costs
at most the cap. The type comes from the bytes first (magic numbers), then the server's
``Content-Type``, then the file name, because servers often answer ``application/octet-stream``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import ipaddress
import json
import logging
import mimetypes
from pathlib import Path, PurePosixPath
import re
import socket
import struct
from typing import Final
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from .errors import InvalidArgument, MediaFetchFailed, MediaFetchTimeout, MediaTooLarge
from .models import MediaFile

_LOGGER = logging.getLogger(__name__)

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


# 0.0.0.0/8 reaches the host itself on Linux, not only 0.0.0.0.
_THIS_HOST_V4: Final = ipaddress.ip_network("0.0.0.0/8")


def is_local_address(address: str) -> bool:
    """Whether an IP address reaches this machine or its link: loopback, link-local, unspecified.

    IPv4 addresses mapped into IPv6 (``::ffff:127.0.0.1``) count as the IPv4 address they carry.
    """
    try:
        parsed: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if isinstance(parsed, ipaddress.IPv4Address) and parsed in _THIS_HOST_V4:
        return True
    return parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What a caller who is not trusted may fetch, checked at every redirect.

    A URL must start with one of ``allowlist`` (Home Assistant's ``allowlist_external_urls``, matched
    the way Home Assistant matches them). A host whose address, or any address its name resolves to, is
    loopback or link-local is refused unless an allowlist entry that matches the URL names that very
    host: an administrator who allowlisted ``http://127.0.0.1:8123/local/`` keeps it, while
    ``http://allowed.example@127.0.0.1/`` (which matches the entry ``http://allowed.example``) does not.
    Every failure is reported with one generic message, so that answers cannot be used to scan ports.
    """

    allowlist: tuple[str, ...]

    def check(self, url: URL) -> bool:
        """Refuse a URL (the first or a redirect) not allowed; whether its host may be local."""
        host = (url.host or "").lower()
        normalized = f"{url}/"
        matching = [entry for entry in self.allowlist if normalized.startswith(entry)]
        if not matching:
            raise _Refused("the URL is not in the allowlist")
        named = any(urlsplit(entry).hostname == host for entry in matching)
        if is_local_address(host) and not named:
            raise _Refused("the URL is a loopback or link-local address")
        return named


FETCH_FAILED_GENERIC: Final = "the media URL did not give a file"
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 5


class _Refused(MediaFetchFailed):
    """A URL the policy does not allow (reported as the generic failure)."""


class _GuardedResolver(AbstractResolver):
    """Resolves names like the default resolver, and refuses loopback and link-local answers.

    The connection is made to the addresses checked here, so a name cannot change between the check
    and the connection. ``local_host`` is the one host the current hop may find local.
    """

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()
        self.local_host: str | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        if host.lower() != self.local_host and any(
            is_local_address(answer["host"]) for answer in answers
        ):
            raise _LocalAddressRefused(host)
        return answers

    async def close(self) -> None:
        await self._resolver.close()


class _LocalAddressRefused(OSError):
    """A name resolved to a loopback or link-local address (aiohttp wraps OSErrors of resolvers)."""


async def media_from_url(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
    timeout: float = DEFAULT_FETCH_TIMEOUT,
    policy: UrlPolicy | None = None,
) -> MediaFile:
    """Download media, stopping at ``max_bytes`` and after ``timeout`` seconds in all.

    Redirects are followed here, at most five, each checked: always for its scheme, and against
    ``policy`` when one is given. With a policy the fetch uses a session of its own whose resolver
    refuses loopback and link-local addresses (``session`` is not used), and every failure of the
    remote side is the same ``MediaFetchFailed``.
    """
    checked = check_media_url(url)
    try:
        async with asyncio.timeout(timeout):
            if policy is None:
                fetched = await _follow(session, checked, max_bytes, None)
            else:
                guard = _Guard(policy, _GuardedResolver())
                connector = aiohttp.TCPConnector(resolver=guard.resolver)
                async with aiohttp.ClientSession(connector=connector) as guarded:
                    fetched = await _follow(guarded, checked, max_bytes, guard)
    except MediaTooLarge:
        raise
    except (TimeoutError, MediaFetchFailed, aiohttp.ClientError, ValueError) as error:
        detail = _failure_detail(error, timeout)
        if policy is not None:
            _LOGGER.debug("A media URL of a caller who is not trusted failed: %s", detail)
            raise MediaFetchFailed(FETCH_FAILED_GENERIC) from None
        if isinstance(error, TimeoutError):
            raise MediaFetchTimeout(detail) from error
        raise MediaFetchFailed(detail) from error
    data, content_type, disposition, final_url = fetched
    filename = _filename_from(disposition, final_url)
    return media_from_bytes(data, mimetype=content_type, filename=filename, max_bytes=max_bytes)


def _failure_detail(error: BaseException, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no complete answer within {timeout:g} s"
    if isinstance(error, MediaFetchFailed):
        return error.reason
    if isinstance(error, ValueError):
        return "the server redirected to an invalid URL"
    return type(error).__name__


@dataclass(frozen=True, slots=True)
class _Guard:
    policy: UrlPolicy
    resolver: _GuardedResolver

    def check(self, url: URL) -> None:
        """Check one hop, and tell the resolver whether this hop's host may be local."""
        may_be_local = self.policy.check(url)
        self.resolver.local_host = (url.host or "").lower() if may_be_local else None


async def _follow(
    session: aiohttp.ClientSession, url: str, max_bytes: int, guard: _Guard | None
) -> tuple[bytes, str | None, str, str]:
    """Follow redirects by hand, checking each one; the body, its type, disposition and final URL."""
    current = URL(url)
    for _ in range(_MAX_REDIRECTS + 1):
        if current.scheme not in ("http", "https") or not current.host:
            raise MediaFetchFailed("the server redirected to a URL that is not http(s)")
        if guard is not None:
            guard.check(current)
        async with session.get(current, allow_redirects=False) as response:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise MediaFetchFailed(f"HTTP {response.status} without a Location")
                current = response.url.join(URL(location))
                continue
            if response.status >= 400:
                raise MediaFetchFailed(f"the server answered HTTP {response.status}")
            data = await _read_capped(response, max_bytes)
            return (
                data,
                response.headers.get("Content-Type"),
                response.headers.get("Content-Disposition", ""),
                str(response.url),
            )
    raise MediaFetchFailed(f"more than {_MAX_REDIRECTS} redirects")


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, refused as soon as it passes the cap (declared or received)."""
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
    return b"".join(chunks)


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
