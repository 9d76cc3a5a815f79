"""Media: sources, the size cap while streaming, types, sticker metadata."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import socket
import struct
from urllib.parse import quote

from aiohttp import ClientSession, web
import pytest

from custom_components.whatsapp_web.client.errors import (
    InvalidArgument,
    MediaFetchFailed,
    MediaFetchTimeout,
    MediaTooLarge,
)
from custom_components.whatsapp_web.client.media import (
    FETCH_FAILED_GENERIC,
    StickerMetadata,
    UrlPolicy,
    check_media_url,
    is_local_address,
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


# ---------------------------------------------------------------------------------------------
# URLs of callers who are not trusted: the allowlist at every redirect, no loopback or link-local
# address unless the allowlist names that host, one error for every failure.


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("169.254.169.254", True),
        ("::ffff:169.254.1.1", True),
        ("fe80::1", True),
        ("fe80::1%2", True),
        ("0.0.0.0", True),
        ("0.1.2.3", True),
        ("::", True),
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("2001:db8::1", False),
        ("93.184.216.34", False),
        ("camera.example", False),
    ],
)
def test_local_addresses(address: str, local: bool) -> None:
    assert is_local_address(address) is local


class Hits:
    """Requests a server saw, by path."""

    def __init__(self) -> None:
        self.paths: list[str] = []


@pytest.fixture
async def two_servers(socket_enabled: None) -> AsyncIterator[tuple[str, str, Hits]]:
    """``first`` (allowlisted in the tests) redirects; ``second`` records every request it gets."""
    hits = Hits()
    second_app = web.Application()

    async def record(request: web.Request) -> web.Response:
        hits.paths.append(request.path)
        return web.Response(body=TINY_PNG, content_type="image/png")

    second_app.router.add_get("/{tail:.*}", record)
    second = web.AppRunner(second_app, shutdown_timeout=0.1)
    await second.setup()
    second_site = web.TCPSite(second, "127.0.0.1", 0)
    await second_site.start()
    second_port = second_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def redirect(request: web.Request) -> web.Response:
        target = request.query["to"].replace("SECOND", str(second_port))
        raise web.HTTPFound(target)

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=TINY_PNG, content_type="image/png")

    async def unauthorized(request: web.Request) -> web.Response:
        return web.Response(status=401, text="who are you")

    first_app = web.Application()
    first_app.router.add_get("/redirect", redirect)
    first_app.router.add_get("/image.png", image)
    first_app.router.add_get("/private", unauthorized)
    first = web.AppRunner(first_app, shutdown_timeout=0.1)
    await first.setup()
    first_site = web.TCPSite(first, "127.0.0.1", 0)
    await first_site.start()
    first_port = first_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}", hits
    finally:
        await first.cleanup()
        await second.cleanup()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_every_redirect_of_an_untrusted_url_is_checked(
    two_servers: tuple[str, str, Hits],
) -> None:
    first, _, hits = two_servers
    policy = UrlPolicy(allowlist=(f"{first}/", "http://allowed.example"))
    async with ClientSession() as session:
        # Allowed: the allowlist names 127.0.0.1 and this port.
        image = await media_from_url(session, f"{first}/image.png", policy=policy)
        assert image.data == TINY_PNG
        for target in (
            # Another port of this machine, not allowlisted.
            "http://127.0.0.1:SECOND/secret",
            # Matches the allowlist entry "http://allowed.example" as a prefix, but is this machine.
            "http://allowed.example@127.0.0.1:SECOND/secret",
            "http://allowed.example@[::ffff:127.0.0.1]:SECOND/secret",
            # A name that resolves to this machine.
            "http://allowed.example@localhost:SECOND/secret",
            # Link-local: the cloud metadata address, and IPv6.
            "http://allowed.example@169.254.169.254/latest/meta-data/",
            "http://allowed.example@[fe80::1]/",
            # 0.0.0.0 reaches this machine too.
            "http://allowed.example@0.0.0.0:SECOND/secret",
        ):
            with pytest.raises(MediaFetchFailed) as caught:
                await media_from_url(
                    session, f"{first}/redirect?to={quote(target)}", policy=policy, timeout=30
                )
            assert caught.value.reason == FETCH_FAILED_GENERIC, target
        # The same URLs given directly are refused too.
        with pytest.raises(MediaFetchFailed):
            await media_from_url(session, "http://allowed.example@169.254.169.254/", policy=policy)
    assert hits.paths == [], "a refused redirect reached the other server"


async def test_a_trusted_caller_follows_redirects_anywhere_http(
    two_servers: tuple[str, str, Hits],
) -> None:
    first, _, hits = two_servers
    async with ClientSession() as session:
        image = await media_from_url(
            session, f"{first}/redirect?to={quote('http://127.0.0.1:SECOND/picture.png')}"
        )
    assert (image.data, image.filename) == (TINY_PNG, "picture.png")
    assert hits.paths == ["/picture.png"]


async def test_untrusted_failures_all_look_the_same(two_servers: tuple[str, str, Hits]) -> None:
    """A closed port, an HTTP 401 and a refused redirect give the same error: no port scanning."""
    first, _, _ = two_servers
    closed = f"http://127.0.0.1:{closed_port()}"
    policy = UrlPolicy(allowlist=(f"{first}/", f"{closed}/"))
    answers = set()
    async with ClientSession() as session:
        for url in (
            f"{closed}/anything",
            f"{first}/private",
            f"{first}/missing",
            f"{first}/redirect?to={quote('http://127.0.0.1:SECOND/x')}",
        ):
            with pytest.raises(MediaFetchFailed) as caught:
                await media_from_url(session, url, policy=policy, timeout=30)
            answers.add((type(caught.value), caught.value.code, str(caught.value)))
        assert len(answers) == 1, answers
        # A trusted caller still learns what went wrong.
        with pytest.raises(MediaFetchFailed, match="HTTP 401"):
            await media_from_url(session, f"{first}/private")


async def test_an_untrusted_timeout_reads_like_any_other_failure(
    media_server: tuple[str, dict[str, int]],
) -> None:
    base, _ = media_server
    policy = UrlPolicy(allowlist=(f"{base}/",))
    async with ClientSession() as session:
        with pytest.raises(MediaFetchFailed) as caught:
            await media_from_url(session, f"{base}/silent", timeout=0.3, policy=policy)
    assert type(caught.value) is MediaFetchFailed
    assert caught.value.reason == FETCH_FAILED_GENERIC
