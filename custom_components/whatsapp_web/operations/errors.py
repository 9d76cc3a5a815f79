"""How a failed operation is reported: one description per failure, read by both faces.

Services raise it as a translated exception, REST answers it as JSON with its HTTP status. The
integration's own failures (``OperationError``) carry their description; the client's errors carry
their translation key (``code``) and the values of its placeholders, and ``_REPORTS`` adds what only
the integration decides: the HTTP status, whether the caller was wrong, when to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol

from ..client.errors import (
    BrowserError,
    InvalidArgument,
    LoggedOut,
    MediaError,
    MediaFetchFailed,
    MediaFetchTimeout,
    MediaTooLarge,
    NotConnected,
    NotFound,
    OperationFailed,
    PairingError,
    Timeout,
    WhatsAppWebChanged,
    WhatsAppWebError,
)
from ..const import RETRY_AFTER_NOT_CONNECTED
from ..rate_limit import RateLimitExceeded

if TYPE_CHECKING:
    from collections.abc import Mapping


class OperationError(Exception):
    """A failure found by the integration itself (not by the client): wrong account, file not allowed, ..."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        *,
        field: str | None = None,
        placeholders: Mapping[str, str] | None = None,
        caller_mistake: bool = True,
        retry_after: int | None = None,
    ) -> None:
        """``code`` is the translation key under ``exceptions`` and the REST error code."""
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.field = field
        self.placeholders = dict(placeholders or {})
        self.caller_mistake = caller_mistake
        self.retry_after = retry_after

    def info(self) -> ErrorInfo:
        """The report of this failure."""
        return ErrorInfo(
            code=self.code,
            status=self.status,
            message=self.message,
            placeholders=self.placeholders,
            field=self.field,
            caller_mistake=self.caller_mistake,
            retry_after=self.retry_after,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """How one failure is reported: translation key and placeholders, HTTP status, JSON message."""

    code: str
    status: int
    message: str
    placeholders: dict[str, str]
    field: str | None = None
    caller_mistake: bool = True
    retry_after: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The REST error body: ``{"error": {"code", "message", "field"?}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


# Every translation key an ErrorInfo can carry, with its placeholders (strings.json must agree).
ERROR_PLACEHOLDERS: Final[dict[str, tuple[str, ...]]] = {
    "invalid_argument": ("field", "reason"),
    "invalid_id": ("field", "value", "reason"),
    "invalid_json": (),
    "not_connected": ("state",),
    "logged_out": (),
    "not_found": ("id",),
    "chat_not_found": ("id",),
    "message_not_found": ("id",),
    "contact_not_found": ("id",),
    "group_not_found": ("id",),
    "media_not_found": ("id",),
    "profile_picture_not_found": ("id",),
    "media_error": ("error",),
    "media_too_large": ("limit",),
    "media_fetch_failed": ("reason",),
    "media_fetch_timeout": ("reason",),
    "timeout": ("operation", "seconds"),
    "whatsapp_web_changed": ("missing",),
    "operation_failed": ("operation", "reason"),
    "browser_error": ("error",),
    "pairing_error": ("error",),
    "whatsapp_web_error": ("error",),
    "unexpected_error": ("error",),
    "entry_not_found": ("config_entry_id",),
    "entry_not_loaded": ("config_entry_id",),
    "no_accounts": (),
    "account_required": ("field",),
    "account_not_found": ("account",),
    "admin_required": (),
    "path_not_allowed": ("path",),
    "local_files_admin_only": ("field",),
    "url_not_allowed": ("url",),
    "file_exists": ("path",),
    "file_write_failed": ("path", "error"),
    "request_too_large": ("limit",),
    "active_content_refused": ("mimetype", "path"),
    "outbox_write_failed": ("error",),
    "send_rate_limited": ("limit", "retry_after"),
    "lookup_rate_limited": ("limit", "retry_after"),
    "camera_not_found": ("entity_id",),
    "camera_unavailable": ("entity_id", "reason"),
    "media_not_allowed": ("field", "media"),
    "media_source_not_found": ("field", "media", "reason"),
    "media_source_not_supported": ("media",),
    "tts_failed": ("field", "reason"),
    "ffmpeg_missing": ("field",),
    "audio_conversion_failed": ("field", "reason"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Report:
    """What the integration adds to a client error's own code and placeholders."""

    status: int
    caller_mistake: bool = False
    # Seconds after which trying again may work; an error's own ``retry_after`` wins.
    retry_after: int | None = None
    # The field to blame; an error's own ``field`` wins.
    field: str | None = None


# Looked up along the error's class hierarchy, so the nearest class decides (LoggedOut before
# NotConnected, MediaFetchTimeout before MediaFetchFailed before MediaError).
_REPORTS: Final[Mapping[type[BaseException], _Report]] = {
    RateLimitExceeded: _Report(status=429),
    InvalidArgument: _Report(status=400, caller_mistake=True),
    # Logging out needs the phone: asking again soon is pointless.
    LoggedOut: _Report(status=503, retry_after=RETRY_AFTER_NOT_CONNECTED * 20),
    NotConnected: _Report(status=503, retry_after=RETRY_AFTER_NOT_CONNECTED),
    NotFound: _Report(status=404, caller_mistake=True),
    MediaTooLarge: _Report(status=413, caller_mistake=True),
    MediaFetchTimeout: _Report(status=504, field="url"),
    MediaFetchFailed: _Report(status=502, field="url"),
    MediaError: _Report(status=400, caller_mistake=True),
    Timeout: _Report(status=504),
    WhatsAppWebChanged: _Report(status=502),
    OperationFailed: _Report(status=409),
    BrowserError: _Report(status=503, retry_after=RETRY_AFTER_NOT_CONNECTED),
    PairingError: _Report(status=409),
    WhatsAppWebError: _Report(status=502),
}

# Placeholders whose value an error keeps under another name.
_ATTRIBUTE_OF_PLACEHOLDER: Final = {"id": "identifier"}


def describe_error(error: BaseException) -> ErrorInfo:
    """Map any failure of an operation to its report; unknown failures are the page's fault (502)."""
    if isinstance(error, OperationError):
        return error.info()
    if isinstance(error, vol.Invalid):
        return _invalid_value(error)
    for kind in type(error).__mro__:
        if (report := _REPORTS.get(kind)) is not None:
            code = _translation_key(error)
            return ErrorInfo(
                code=code,
                status=report.status,
                message=str(error),
                placeholders={name: _placeholder(error, name) for name in ERROR_PLACEHOLDERS[code]},
                field=getattr(error, "field", report.field),
                caller_mistake=report.caller_mistake,
                retry_after=getattr(error, "retry_after", report.retry_after),
            )
    name = type(error).__name__
    return ErrorInfo(
        code="unexpected_error",
        status=502,
        message=f"unexpected answer from WhatsApp Web ({name})",
        placeholders={"error": name},
        caller_mistake=False,
    )


def _invalid_value(error: vol.Invalid) -> ErrorInfo:
    """A value the schema refused, named by its path in the call's data."""
    path = ".".join(str(part) for part in error.path) or "body"
    reason = str(error.msg)
    return ErrorInfo(
        code="invalid_argument",
        status=400,
        message=f"{path}: {reason}",
        placeholders={"field": path, "reason": reason},
        field=path,
    )


def _translation_key(error: BaseException) -> str:
    """The error's code, else the nearest class's that has a translation (page errors have none)."""
    codes = (
        getattr(error, "code", None),
        *(vars(kind).get("code") for kind in type(error).__mro__),
    )
    return next(code for code in codes if isinstance(code, str) and code in ERROR_PLACEHOLDERS)


def _placeholder(error: BaseException, name: str) -> str:
    """One placeholder's value, read from the error (``error`` is its message)."""
    if name == "error":
        return str(error)
    value = getattr(error, _ATTRIBUTE_OF_PLACEHOLDER.get(name, name))
    return f"{value:g}" if isinstance(value, float) else str(value)
