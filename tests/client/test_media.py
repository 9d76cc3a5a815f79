"""Media: sources, the size cap while streaming, types, sticker metadata."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import struct

from aiohttp import ClientSession, web
import pytest

from custom_components.whatsapp_web.client.errors import (
    InvalidArgument,
    MediaFetchFailed,
    MediaFetchTimeout,
    MediaTooLarge,
)
from custom_components.whatsapp_web.client.media import (
    StickerMetadata,
    check_media_url,
    media_from_bytes,
    media_from_file,
    media_from_url,
    read_sticker_metadata,
    sniff_mimetype,
    with_sticker_metadata,
)
from simulator.seed import make_png

TINY_PNG = make_png(1, 1)


def lossless_webp(width: int, height: int, alpha: bool) -> bytes:
    bits = (width - 1) | ((height - 1) << 14) | (int(alpha) << 28)
    data = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize(
    ("data", "name", "declared", "expected"),
    [
        (TINY_PNG, None, None, "image/png"),
        (b"\xff\xd8\xff\xe0rest", None, "application/octet-stream", "image/jpeg"),
        (b"%PDF-1.4", "x.bin", None, "application/pdf"),
        (b"OggS\x00\x02", None, None, "audio/ogg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None, None, "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None, None, "audio/wav"),
        (b"\x00\x00\x00\x18ftypmp42", None, None, "video/mp4"),
        (b"plain words", "notes.txt", None, "text/plain"),
        (b"plain words", None, "text/csv; charset=utf-8", "text/csv"),
        (b"plain words", None, None, "application/octet-stream"),
    ],
)
def test_sniff_mimetype(data: bytes, name: str | None, declared: str | None, expected: str) -> None:
    assert sniff_mimetype(data, name, declared) == expected


def test_media_from_bytes_names_the_file() -> None:
    media = media_from_bytes(TINY_PNG)
    assert media.mimetype == "image/png"
    assert media.filename == "file.png"
    with pytest.raises(MediaTooLarge):
        media_from_bytes(b"x" * 11, max_bytes=10)
    with pytest.raises(InvalidArgument, match="empty"):
        media_from_bytes(b"")


async def test_media_from_file(tmp_path) -> None:
    path = tmp_path / "door.png"
    path.write_bytes(TINY_PNG)
    media = await media_from_file(path)
    assert (media.filename, media.mimetype, media.data) == ("door.png", "image/png", TINY_PNG)
    with pytest.raises(MediaTooLarge):
        await media_from_file(path, max_bytes=10)
    with pytest.raises(InvalidArgument, match="not a file"):
        await media_from_file(tmp_path / "missing.png")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x.png",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "http://",
        "/relative.png",
    ],
)
def test_only_http_urls(url: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        check_media_url(url)
    assert error.value.field == "url"


@pytest.fixture
async def media_server(socket_enabled: None) -> AsyncIterator[tuple[str, dict[str, int]]]:
    counters = {"huge_bytes_sent": 0}
    release = asyncio.Event()

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=TINY_PNG, content_type="application/octet-stream")

    async def named(request: web.Request) -> web.Response:
        return web.Response(
            body=b"%PDF-1.4 report",
            headers={"Content-Disposition": 'attachment; filename="report 2024.pdf"'},
        )

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"\x00" * 65536
        try:
            for _ in range(16 * 1024):  # 1 GiB if nobody stops reading
                await response.write(chunk)
                counters["huge_bytes_sent"] += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async def declared_huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(1 << 30)})
        await response.prepare(request)
        return response

    async def silent(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=b"late")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def to_ftp(request: web.Request) -> web.Response:
        raise web.HTTPFound("ftp://127.0.0.1/x")

    app = web.Application()
    app.router.add_get("/image", image)
    app.router.add_get("/named", named)
    app.router.add_get("/huge", huge)
    app.router.add_get("/declared-huge", declared_huge)
    app.router.add_get("/silent", silent)
    app.router.add_get("/missing", missing)
    app.router.add_get("/to-ftp", to_ftp)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", counters
    release.set()
    await asyncio.sleep(0.05)
    await runner.cleanup()


async def test_media_from_url(media_server: tuple[str, dict[str, int]]) -> None:
    base, counters = media_server
    async with ClientSession() as session:
        image = await media_from_url(session, f"{base}/image")
        assert (image.mimetype, image.filename, image.data) == ("image/png", "image", TINY_PNG)
        named = await media_from_url(session, f"{base}/named")
        assert (named.mimetype, named.filename) == ("application/pdf", "report 2024.pdf")

        with pytest.raises(MediaTooLarge):
            await media_from_url(session, f"{base}/huge", max_bytes=1024 * 1024)
        # The cap stops the read: far less than the gigabyte the server would send.
        assert counters["huge_bytes_sent"] < 64 * 1024 * 1024
        with pytest.raises(MediaTooLarge):
            await media_from_url(session, f"{base}/declared-huge", max_bytes=1024)
        with pytest.raises(MediaFetchTimeout):
            await media_from_url(session, f"{base}/silent", timeout=0.3)
        with pytest.raises(MediaFetchFailed, match="HTTP 404"):
            await media_from_url(session, f"{base}/missing")
        with pytest.raises(MediaFetchFailed):
            await media_from_url(session, f"{base}/to-ftp")
        with pytest.raises(MediaFetchFailed):
            await media_from_url(session, "http://127.0.0.1:9/unreachable")


@pytest.mark.parametrize("alpha", [False, True])
def test_sticker_metadata_round_trip(alpha: bool) -> None:
    webp = lossless_webp(512, 300, alpha)
    metadata = StickerMetadata(
        pack_name="Casa «€»", publisher="Home Assistant", emojis=("🚪", "🔔")
    )
    tagged = with_sticker_metadata(webp, metadata)
    assert tagged[:4] == b"RIFF"
    assert tagged[8:16] == b"WEBPVP8X"
    assert struct.unpack_from("<I", tagged, 4)[0] == len(tagged) - 8
    flags = tagged[20]
    assert flags & 0x08
    assert bool(flags & 0x10) is alpha
    assert int.from_bytes(tagged[24:27], "little") + 1 == 512
    assert int.from_bytes(tagged[27:30], "little") + 1 == 300
    assert read_sticker_metadata(tagged) == metadata
    # Tagging again replaces the metadata instead of adding a second block.
    again = with_sticker_metadata(tagged, StickerMetadata(pack_name="Other"))
    assert read_sticker_metadata(again) == StickerMetadata(pack_name="Other")
    assert again.count(b"EXIF") == 1
    assert read_sticker_metadata(webp) is None


def test_sticker_needs_webp() -> None:
    with pytest.raises(InvalidArgument):
        with_sticker_metadata(TINY_PNG, StickerMetadata())
