"""Home Assistant services (actions), one per operation of the table in ``operations/``.

Registered once from ``async_setup``. Each service takes the operation's fields plus an optional
``config_entry_id`` (required only while several accounts are loaded), runs the operation's handler, and
answers with data where the operation returns some (``SupportsResponse``). Every failure becomes a
translated ``ServiceValidationError`` (the caller's mistake) or ``HomeAssistantError`` (WhatsApp's side).

Services obey the REST mirror's rule (``operations.ensure_allowed``): a call whose context names a user
who may not run the operation raises ``Unauthorized``, as Home Assistant's own admin services do; calls
without a user (automations, scripts Home Assistant runs) may run everything.
"""

from __future__ import annotations

import base64
from functools import partial
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.core import Context, HomeAssistant, ServiceCall, ServiceResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .const import ATTR_CONFIG_ENTRY_ID, DOMAIN
from .files import refuse_active_content, saved_file_name, write_new_file
from .operations import (
    OPERATIONS,
    DownloadedMedia,
    Face,
    Operation,
    OperationContext,
    OperationError,
    ResultKind,
    account_for_entry_id,
    describe_error,
    ensure_allowed,
    ensure_local_file_allowed,
    run_operation,
)
from .outbox import Queued

if TYPE_CHECKING:
    from .account import WhatsAppAccount

_LOGGER = logging.getLogger(__name__)

CONFIG_ENTRY_FIELD_DESCRIPTION = "The WhatsApp account to use; needed only when several are set up."


def service_schema(operation: Operation) -> vol.Schema:
    """The service's schema: the operation's fields plus the account selector."""
    return operation.schema(Face.SERVICE).extend(
        {vol.Optional(ATTR_CONFIG_ENTRY_ID, description=CONFIG_ENTRY_FIELD_DESCRIPTION): cv.string}
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every service of the table (once, from ``async_setup``)."""
    for operation in OPERATIONS:
        hass.services.async_register(
            DOMAIN,
            operation.service,
            partial(_async_handle, hass, operation),
            schema=service_schema(operation),
            supports_response=operation.supports_response,
        )


def raise_translated(error: BaseException) -> NoReturn:
    """Re-raise any failure of an operation as a translated Home Assistant error."""
    info = describe_error(error)
    if info.code == "unexpected_error":
        _LOGGER.error("Unexpected failure of a WhatsApp operation", exc_info=error)
    exception_type = ServiceValidationError if info.caller_mistake else HomeAssistantError
    raise exception_type(
        translation_domain=DOMAIN,
        translation_key=info.code,
        translation_placeholders=info.placeholders,
    ) from error


async def _async_handle(
    hass: HomeAssistant, operation: Operation, call: ServiceCall
) -> ServiceResponse:
    data = dict(call.data)
    entry_id = data.pop(ATTR_CONFIG_ENTRY_ID, None)
    trusted = await async_context_is_trusted(hass, call.context)
    try:
        if not trusted:
            _ensure_allowed(operation, call, None)
        account = account_for_entry_id(hass, entry_id, ATTR_CONFIG_ENTRY_ID)
        if not trusted:
            _ensure_allowed(operation, call, account)
        context = OperationContext(
            hass=hass, account=account, trusted=trusted, user_id=call.context.user_id
        )
        result = await run_operation(operation, context, data)
        response = await _service_response(context, operation, data, result)
    except (HomeAssistantError, vol.Invalid):
        raise
    except Exception as error:  # noqa: BLE001 - every failure is reported, translated
        raise_translated(error)
    return response if call.return_response else None


def _ensure_allowed(
    operation: Operation, call: ServiceCall, account: WhatsAppAccount | None
) -> None:
    """The REST mirror's rule for a user who is not an administrator; ``Unauthorized`` when refused."""
    try:
        ensure_allowed(operation, is_admin=False, account=account)
    except OperationError as error:
        raise Unauthorized(context=call.context, permission=POLICY_CONTROL) from error


async def async_context_is_trusted(hass: HomeAssistant, context: Context | None) -> bool:
    """Calls without a user come from Home Assistant itself; with one, only administrators are trusted."""
    if context is None or context.user_id is None:
        return True
    user = await hass.auth.async_get_user(context.user_id)
    return user is not None and user.is_admin


async def _service_response(
    context: OperationContext, operation: Operation, data: dict[str, Any], result: Any
) -> ServiceResponse:
    """The service's answer for a handler's result."""
    if operation.result is ResultKind.SEND:
        if isinstance(result, Queued):
            return result.as_json()
        return {"queued": False, "id": result.id, "message": result.data}
    if operation.result is ResultKind.FILE:
        return await _media_response(context, data, result)
    if result is None:
        return None
    if isinstance(result, list):
        return {operation.response_key or "items": result}
    response: dict[str, Any] = result
    return response


async def _media_response(
    context: OperationContext, data: dict[str, Any], downloaded: DownloadedMedia
) -> ServiceResponse:
    """Save the file to an allowed path, or hand it back as base64."""
    media = downloaded.media
    answer: dict[str, Any] = {
        "mimetype": media.mimetype,
        "filename": downloaded.filename,
        "size": media.size,
    }
    path = data.get("path")
    if not path:
        answer["data_base64"] = base64.b64encode(media.data).decode()
        return answer
    hass = context.hass
    await ensure_local_file_allowed(context, path, "path")
    target = Path(path)
    if await hass.async_add_executor_job(target.is_dir):
        # The sender chooses the file's name: it does not choose the saved one.
        target = target / saved_file_name(downloaded.message_key, media.mimetype)
        await ensure_local_file_allowed(context, str(target), "path")
    refuse_active_content(str(target), media.mimetype)
    written = await hass.async_add_executor_job(
        partial(
            write_new_file,
            target,
            media.data,
            overwrite=data["overwrite"],
            is_allowed=hass.config.is_allowed_path,
        )
    )
    answer["path"] = str(written)
    return answer


# ---------------------------------------------------------------------------------------------
# services.yaml and the ``services`` translations are written from the table (and a test keeps them so).

CONFIG_ENTRY_FIELD_NAME = "Account"


def services_yaml_content() -> dict[str, Any]:
    """What ``services.yaml`` holds: every service with its fields and selectors."""
    content: dict[str, Any] = {}
    for operation in OPERATIONS:
        fields: dict[str, Any] = {
            ATTR_CONFIG_ENTRY_ID: {"selector": {"config_entry": {"integration": DOMAIN}}},
        }
        for item in operation.fields_for(Face.SERVICE):
            description: dict[str, Any] = {}
            if item.required:
                description["required"] = True
            if item.example is not None:
                description["example"] = item.example
            if item.has_default:
                description["default"] = item.default
            description["selector"] = item.selector
            fields[item.key] = description
        content[operation.service] = {"fields": fields}
    return content


def services_strings() -> dict[str, Any]:
    """The ``services`` section of ``strings.json``: a name and a description for every service and field."""
    strings: dict[str, Any] = {}
    for operation in OPERATIONS:
        fields = {
            ATTR_CONFIG_ENTRY_ID: {
                "name": CONFIG_ENTRY_FIELD_NAME,
                "description": CONFIG_ENTRY_FIELD_DESCRIPTION,
            }
        }
        for item in operation.fields_for(Face.SERVICE):
            fields[item.key] = {"name": item.name, "description": item.description}
        strings[operation.service] = {
            "name": operation.title,
            "description": operation.description,
            "fields": fields,
        }
    return strings
