"""The services of the operations table without a browser: accounts, schemas, translated errors, outbox, files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
import pytest
import voluptuous as vol

from custom_components.whatsapp_web import services
from custom_components.whatsapp_web.client.models import ClientState, MediaFile
from custom_components.whatsapp_web.const import DOMAIN
from custom_components.whatsapp_web.operations import OPERATIONS, DownloadedMedia, Face, Operation

from .operations_support import add_account

if TYPE_CHECKING:
    from pathlib import Path

    from homeassistant.auth.models import User


@pytest.fixture(autouse=True)
def registered(hass: HomeAssistant) -> None:
    """Every service of the table."""
    services.async_setup_services(hass)


async def test_no_account(hass: HomeAssistant) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "get_status", {}, blocking=True, return_response=True
        )
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == "no_accounts"


async def test_unknown_and_unloaded_entries(hass: HomeAssistant) -> None:
    entry = add_account(hass, loaded=False)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "get_status", {"config_entry_id": "nope"}, blocking=True, return_response=True
        )
    assert caught.value.translation_key == "entry_not_found"
    assert caught.value.translation_placeholders == {"config_entry_id": "nope"}
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "get_status",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_key == "entry_not_loaded"


async def test_config_entry_id_needed_only_with_several_accounts(hass: HomeAssistant) -> None:
    first = add_account(hass, "34600000001")
    response = await hass.services.async_call(
        DOMAIN, "get_status", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["config_entry_id"] == first.entry_id
    assert response["status"] == "INITIALIZING"
    assert response["state"] == "stopped"
    second = add_account(hass, "34600000009")
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "get_status", {}, blocking=True, return_response=True
        )
    assert caught.value.translation_key == "account_required"
    assert caught.value.translation_placeholders == {"field": "config_entry_id"}
    response = await hass.services.async_call(
        DOMAIN,
        "get_status",
        {"config_entry_id": second.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["account"] == "34600000009@c.us"


@pytest.mark.parametrize(
    "operation", [op for op in OPERATIONS if op.name != "get_status"], ids=lambda op: op.name
)
async def test_not_connected_is_a_translated_error(
    hass: HomeAssistant, operation: Operation
) -> None:
    """Every operation on an account whose browser is not connected fails with not_connected."""
    add_account(hass)
    data = {item.key: item.example for item in operation.fields_for(Face.SERVICE) if item.required}
    if operation.name == "send_message":
        data["msg"] = "hello"
    if operation.name == "update_group":
        data["name"] = "Family"
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN,
            operation.service,
            data,
            blocking=True,
            return_response=operation.supports_response is not SupportsResponse.NONE,
        )
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_key == "not_connected"
    assert caught.value.translation_placeholders == {"state": "stopped"}


async def test_schema_rejects_bad_ids_before_the_handler(hass: HomeAssistant) -> None:
    add_account(hass)
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "archive_chat", {"chat_id": "not a number"}, blocking=True
        )
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "get_messages",
            {"chat_id": "34600000002", "limit": 0},
            blocking=True,
            return_response=True,
        )
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "archive_chat", {"chat_id": "34600000002", "bogus": 1}, blocking=True
        )


async def test_caller_mistakes_are_validation_errors(hass: HomeAssistant) -> None:
    add_account(hass)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "send_message", {"chat_id": "34600000002"}, blocking=True
        )
    assert caught.value.translation_key == "invalid_argument"
    assert caught.value.translation_placeholders["field"] == "msg"
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "send_message", {"chat_id": "34600000002", "media_base64": "%%%"}, blocking=True
        )
    assert caught.value.translation_placeholders["field"] == "media_base64"
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "update_group", {"group_id": "120363012345678901@g.us"}, blocking=True
        )
    assert caught.value.translation_placeholders["field"] == "name"


async def test_local_files_need_an_administrator_and_the_allowlist(
    hass: HomeAssistant, hass_read_only_user: User, hass_admin_user: User, tmp_path: Path
) -> None:
    add_account(hass)
    picture = tmp_path / "picture.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 64)
    data = {"chat_id": "34600000002", "media_path": str(picture)}
    # Users who are not administrators may not send at all.
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            data,
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "send_message", data, blocking=True, context=Context(user_id=hass_admin_user.id)
        )
    assert caught.value.translation_key == "path_not_allowed"
    assert caught.value.translation_placeholders == {"path": str(picture)}
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    # Allowed: the file is read, and the account's state decides (automations have no user: trusted).
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(DOMAIN, "send_message", data, blocking=True)
    assert caught.value.translation_key == "not_connected"


async def test_unknown_user_is_not_trusted(hass: HomeAssistant, tmp_path: Path) -> None:
    """A context naming a user that does not exist (any more) is no administrator."""
    add_account(hass)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": "34600000002", "media_path": str(tmp_path / "x.jpg")},
            blocking=True,
            context=Context(user_id="0123456789abcdef0123456789abcdef"),
        )


async def test_send_while_reconnecting_goes_to_the_outbox(hass: HomeAssistant) -> None:
    entry = add_account(hass)
    account = entry.runtime_data
    # No browser here: the client is put in the state it has while its browser restarts.
    account.client._state = ClientState.RECONNECTING
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"chat_id": "+34 600 00 00 02", "msg": "while away", "options": {"linkPreview": False}},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["queued"] is True
    assert account.outbox.pending == 1
    assert account.outbox.snapshot()[0]["id"] == response["outbox_id"]
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": "34600000002", "msg": "now or never", "fail_fast": True},
            blocking=True,
        )
    assert caught.value.translation_key == "not_connected"
    assert account.outbox.pending == 1


async def test_send_while_logged_out_is_refused(hass: HomeAssistant) -> None:
    entry = add_account(hass)
    entry.runtime_data.client._state = ClientState.LOGGED_OUT
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN, "send_message", {"chat_id": "34600000002", "msg": "hi"}, blocking=True
        )
    assert caught.value.translation_key == "logged_out"
    assert entry.runtime_data.outbox.pending == 0


def test_service_schemas_take_config_entry_id() -> None:
    for operation in OPERATIONS:
        schema = services.service_schema(operation)
        assert "config_entry_id" in {str(key) for key in schema.schema}
        # No REST-only field leaks into a service.
        assert "to" not in {str(key) for key in schema.schema}


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("folder\\note.txt", "note.txt"),
        ("..", "34600000002@c.us_3EB0AB.ogg"),
        (None, "34600000002@c.us_3EB0AB.ogg"),
    ],
)
def test_download_file_names_stay_in_their_folder(reported: str | None, expected: str) -> None:
    """WhatsApp's own name without its folders, else the add-on's ``<chat>_<message>.<subtype>``."""
    media = MediaFile(data=b"x", mimetype="audio/ogg; codecs=opus", filename=reported)
    assert DownloadedMedia(media, "34600000002@c.us", "3EB0AB").filename == expected
