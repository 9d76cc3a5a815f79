"""Files and URLs of hostile senders and callers, without a browser.

- A media URL of a user who is not an administrator is checked at every redirect: a redirect to this
  machine or to a link-local address is refused before anything connects there, and every failure
  reads the same (no port scanning).
- ``download_media`` into a folder saves ``<message id>.<extension of the type>`` whatever the sender
  called the file, refuses types a browser runs, and a symlink planted under the target's name never
  carries the write outside the folder.
- A request body that is not UTF-8 answers 400 naming the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest

from custom_components.whatsapp_web import http, services
from custom_components.whatsapp_web.client.errors import MediaFetchFailed
from custom_components.whatsapp_web.client.models import MediaFile
from custom_components.whatsapp_web.const import API_BASE, DOMAIN
from custom_components.whatsapp_web.files import extension_for, saved_file_name
from custom_components.whatsapp_web.operations import OperationContext, describe_error, messages
from simulator.seed import make_png

from .operations_support import add_account

if TYPE_CHECKING:
    from pathlib import Path

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

PNG = make_png(2, 2)
CHAT = "34600000002@c.us"
MESSAGE_ID = "3EB0C767D26A1D0F5A"
SERIALIZED = f"false_{CHAT}_{MESSAGE_ID}"


# ---------------------------------------------------------------------------------------------
# Media URLs of users who are not administrators


class Servers:
    """``allowed`` (on the allowlist) redirects to ``?to=``; ``other`` records every request."""

    def __init__(self, allowed: str, other_port: int) -> None:
        self.allowed = allowed
        self.other_port = other_port
        self.other_hits: list[str] = []


@pytest.fixture
async def servers(socket_enabled: None) -> AsyncIterator[Servers]:
    runners: list[web.AppRunner] = []

    async def serve(app: web.Application) -> int:
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def record(request: web.Request) -> web.Response:
        found.other_hits.append(request.path)
        return web.Response(body=PNG, content_type="image/png")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"].replace("OTHER", str(found.other_port)))

    async def unauthorized(request: web.Request) -> web.Response:
        return web.Response(status=401)

    other = web.Application()
    other.router.add_get("/{tail:.*}", record)
    other_port = await serve(other)
    allowed = web.Application()
    allowed.router.add_get("/redirect", redirect)
    allowed.router.add_get("/private", unauthorized)
    allowed_port = await serve(allowed)
    found = Servers(f"http://127.0.0.1:{allowed_port}", other_port)
    try:
        yield found
    finally:
        for runner in runners:
            await runner.cleanup()


def untrusted(entry: MockConfigEntry, hass: HomeAssistant) -> OperationContext:
    """A user who is not an administrator, as operations see one."""
    return OperationContext(hass=hass, account=entry.runtime_data, trusted=False)


async def test_redirects_to_this_machine_or_link_local_are_refused(
    hass: HomeAssistant, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Generous: a refused hop must fail at once, not by timing out.
    monkeypatch.setattr(messages, "MEDIA_URL_TIMEOUT", 30.0)
    entry = add_account(hass)
    hass.config.allowlist_external_urls = {f"{servers.allowed}/", "http://media.example"}
    context = untrusted(entry, hass)
    for target in (
        "http://127.0.0.1:OTHER/secret",
        "http://media.example@127.0.0.1:OTHER/secret",
        "http://media.example@localhost:OTHER/secret",
        "http://media.example@169.254.169.254/latest/meta-data/",
        "http://media.example@[fe80::1]/",
    ):
        with pytest.raises(MediaFetchFailed) as caught:
            await messages._media_for_send(
                context, {"url": f"{servers.allowed}/redirect?to={quote(target)}"}
            )
        assert caught.value.code == "media_fetch_failed", target
        assert caught.value.reason == "the media URL did not give a file", target
    assert servers.other_hits == [], "a refused redirect reached the other server"


async def test_failures_of_untrusted_urls_all_read_the_same(
    hass: HomeAssistant, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed port and an HTTP 401 give the same answer, so nobody can scan ports with them."""
    monkeypatch.setattr(messages, "MEDIA_URL_TIMEOUT", 30.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    entry = add_account(hass)
    hass.config.allowlist_external_urls = {f"{servers.allowed}/", f"{closed}/"}
    reports = set()
    for url in (f"{closed}/x.png", f"{servers.allowed}/private", f"{servers.allowed}/missing"):
        with pytest.raises(MediaFetchFailed) as caught:
            await messages._media_for_send(untrusted(entry, hass), {"url": url})
        info = describe_error(caught.value)
        reports.add((info.code, info.status, info.message, tuple(info.placeholders.items())))
    assert len(reports) == 1, reports


# ---------------------------------------------------------------------------------------------
# download_media into a folder


@pytest.fixture
def registered(hass: HomeAssistant) -> None:
    services.async_setup_services(hass)


def sender_file(
    entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch, filename: str | None, mimetype: str
) -> None:
    """The message's file as WhatsApp reports it (the sender chose its name and type)."""

    async def download_media(message_id: str) -> MediaFile:
        assert message_id == SERIALIZED
        return MediaFile(data=PNG, mimetype=mimetype, filename=filename)

    monkeypatch.setattr(entry.runtime_data.client, "download_media", download_media)


async def download(hass: HomeAssistant, path: str, **extra: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "download_media",
        {"chat_id": CHAT, "message_id": SERIALIZED, "path": path, **extra},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    "reported",
    ["../x", "../../outside.png", "x.html", "a/b", "x\x00.png", "..", "", None, "photo.png"],
)
async def test_a_sender_does_not_choose_the_saved_name(
    hass: HomeAssistant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reported: str | None,
) -> None:
    entry = add_account(hass)
    folder = tmp_path / "allowed"
    folder.mkdir()
    hass.config.allowlist_external_dirs = {str(folder)}
    sender_file(entry, monkeypatch, reported, "image/png")
    answer = await download(hass, str(folder))
    assert answer["path"] == str(folder.resolve() / f"{MESSAGE_ID}.png")
    assert tree(tmp_path) == {"allowed", f"allowed/{MESSAGE_ID}.png"}
    assert (folder / f"{MESSAGE_ID}.png").read_bytes() == PNG


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("mimetype", "target"),
    [
        ("text/html", None),
        ("text/html; charset=utf-8", None),
        ("TEXT/HTML", None),
        ("image/svg+xml", None),
        ("application/xhtml+xml", None),
        ("text/javascript", None),
        ("application/xml", None),
        ("image/png", "page.html"),
        ("image/png", "drawing.SVG"),
    ],
)
async def test_files_a_browser_would_run_are_not_saved(
    hass: HomeAssistant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mimetype: str,
    target: str | None,
) -> None:
    entry = add_account(hass)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    sender_file(entry, monkeypatch, "x.html", mimetype)
    with pytest.raises(ServiceValidationError) as caught:
        await download(hass, str(tmp_path / target) if target else str(tmp_path))
    assert caught.value.translation_key == "active_content_refused"
    assert tree(tmp_path) == set()


@pytest.mark.usefixtures("registered")
async def test_a_planted_symlink_does_not_carry_the_write_outside(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dangling symlink named like the target file, pointing out of the allowed folder."""
    entry = add_account(hass)
    folder = tmp_path / "allowed"
    folder.mkdir()
    outside = tmp_path / "outside" / "planted.png"
    outside.parent.mkdir()
    hass.config.allowlist_external_dirs = {str(folder)}
    sender_file(entry, monkeypatch, "photo.png", "image/png")
    for name in ("chosen.png", f"{MESSAGE_ID}.png"):
        (folder / name).symlink_to(outside)
    # An explicit file name, and the folder (the saved name), both refuse to follow the link ...
    for path in (str(folder / "chosen.png"), str(folder)):
        with pytest.raises(ServiceValidationError) as caught:
            await download(hass, path)
        assert caught.value.translation_key == "file_exists"
        assert not outside.exists()
    # ... and replacing the name replaces the link itself.
    answer = await download(hass, str(folder / "chosen.png"), overwrite=True)
    assert answer["path"] == str(folder.resolve() / "chosen.png")
    assert not (folder / "chosen.png").is_symlink()
    assert (folder / "chosen.png").read_bytes() == PNG
    assert not outside.exists()
    assert tree(tmp_path) == {
        "allowed",
        "allowed/chosen.png",
        f"allowed/{MESSAGE_ID}.png",
        "outside",
    }


@pytest.mark.usefixtures("registered")
async def test_a_nul_in_the_path_is_refused_naming_it(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = add_account(hass)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    sender_file(entry, monkeypatch, "photo.png", "image/png")
    with pytest.raises(ServiceValidationError) as caught:
        await download(hass, f"{tmp_path}/x\x00.png")
    assert caught.value.translation_key == "invalid_argument"
    assert caught.value.translation_placeholders["field"] == "path"
    assert tree(tmp_path) == set()


@pytest.mark.parametrize(
    ("message_id", "mimetype", "expected"),
    [
        ("3EB0AB", "image/jpeg", "3EB0AB.jpg"),
        ("3EB0AB", "audio/ogg; codecs=opus", "3EB0AB.ogg"),
        ("../../etc/passwd", "text/plain", "______etc_passwd.txt"),
        ("a/b\x00c", "application/pdf", "a_b_c.pdf"),
        ("", "image/png", "media.png"),
        ("3EB0AB", "application/x-unknown-thing", "3EB0AB.bin"),
        ("3EB0AB", "text/html", "3EB0AB.bin"),
    ],
)
def test_saved_names(message_id: str, mimetype: str, expected: str) -> None:
    assert saved_file_name(message_id, mimetype) == expected


def test_no_extension_a_browser_runs() -> None:
    for mimetype in ("text/html", "image/svg+xml", "application/javascript", "text/xml"):
        assert extension_for(mimetype) == ".bin"


# ---------------------------------------------------------------------------------------------
# Request bodies


@pytest.fixture
async def admin(
    hass: HomeAssistant, hass_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    assert await async_setup_component(hass, "http", {})
    http.async_register_views(hass)
    return await hass_client()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"msg": "caf\xe9"}', "application/json"),
        (b"\xff\xfe\x00{", "application/json"),
        (b'{"msg": "hi"}', "application/json; charset=no-such-charset"),
    ],
)
async def test_a_body_that_is_not_text_answers_400_naming_the_body(
    hass: HomeAssistant,
    admin: TestClient,
    body: bytes,
    content_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_account(hass)
    response = await admin.post(
        f"{API_BASE}/chats/{CHAT}/messages", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["field"] == "body"
    assert error["code"] == "invalid_json"
    assert "Traceback" not in caplog.text
