"""The one hierarchy of errors this client raises.

Every error carries a stable ``code`` (used by the integration for translations and REST answers) and a
message written for the person who made the call. Messages never contain message bodies, QR strings or
pairing codes.
"""

from __future__ import annotations


class WhatsAppWebError(Exception):
    """Base of every error raised by this package."""

    code = "whatsapp_web_error"


class InvalidArgument(WhatsAppWebError):
    """A value given by the caller cannot be used; ``field`` names it."""

    code = "invalid_argument"

    def __init__(self, field: str, message: str) -> None:
        """Name the field and say what is wrong with it."""
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class InvalidId(InvalidArgument):
    """A string that cannot be a WhatsApp id or phone number."""

    code = "invalid_id"

    def __init__(self, value: str, reason: str, field: str = "id") -> None:
        """Keep the offending value for the message (ids are not secrets)."""
        super().__init__(field, f"{value!r} is not a valid id: {reason}")
        self.value = value


class NotConnected(WhatsAppWebError):
    """The account is not connected now (starting, pairing, reconnecting, logged out or failed)."""

    code = "not_connected"

    def __init__(self, state: str) -> None:
        """Say which state the client is in."""
        super().__init__(f"WhatsApp is not connected (state: {state})")
        self.state = state


class LoggedOut(NotConnected):
    """The phone unlinked this device; it must be linked again."""

    code = "logged_out"

    def __init__(self) -> None:
        """No details: the phone decided."""
        super().__init__("logged_out")


class NotFound(WhatsAppWebError):
    """Something the caller named does not exist."""

    code = "not_found"
    what = "item"

    def __init__(self, identifier: str) -> None:
        """Name what was looked for."""
        super().__init__(f"{self.what} {identifier!r} not found")
        self.identifier = identifier


class ChatNotFound(NotFound):
    """No chat with that id."""

    code = "chat_not_found"
    what = "chat"


class MessageNotFound(NotFound):
    """No message with that id."""

    code = "message_not_found"
    what = "message"


class ContactNotFound(NotFound):
    """No contact with that id."""

    code = "contact_not_found"
    what = "contact"


class GroupNotFound(NotFound):
    """No group with that id, or the account is not in it."""

    code = "group_not_found"
    what = "group"


class MediaNotFound(NotFound):
    """The message has no media, or WhatsApp no longer has the file."""

    code = "media_not_found"
    what = "media of message"


class ProfilePictureNotFound(NotFound):
    """The contact or group has no profile picture, or does not show it to this account."""

    code = "profile_picture_not_found"
    what = "profile picture of"


class MediaError(WhatsAppWebError):
    """Media could not be used."""

    code = "media_error"


class MediaTooLarge(MediaError):
    """The media is larger than the configured cap; reading stopped at the cap."""

    code = "media_too_large"

    def __init__(self, limit: int) -> None:
        """Say what the cap is."""
        super().__init__(f"the media is larger than the limit of {limit} bytes")
        self.limit = limit


class MediaFetchFailed(MediaError):
    """Downloading media from a URL failed."""

    code = "media_fetch_failed"

    def __init__(self, reason: str) -> None:
        """Say why; URLs may carry credentials, so the caller decides whether to show one."""
        super().__init__(f"could not fetch the media: {reason}")
        self.reason = reason


class MediaFetchTimeout(MediaFetchFailed):
    """The media server did not answer in time."""

    code = "media_fetch_timeout"


class Timeout(WhatsAppWebError):
    """WhatsApp Web did not answer in time."""

    code = "timeout"

    def __init__(self, operation: str, seconds: float) -> None:
        """Name the operation and the time it was given."""
        super().__init__(f"{operation} did not finish within {seconds:g} s")
        self.operation = operation
        self.seconds = seconds


class WhatsAppWebChanged(WhatsAppWebError):
    """WhatsApp Web no longer has a module or member this operation needs (it was updated)."""

    code = "whatsapp_web_changed"

    def __init__(self, missing: str, operation: str | None = None) -> None:
        """Name what is missing: a module (``WAWebCmd``) or a member (``WAWebCmd.Cmd.archiveChat``)."""
        where = f" (needed by {operation})" if operation else ""
        super().__init__(f"WhatsApp Web changed: {missing} is missing{where}")
        self.missing = missing
        self.operation = operation


class OperationFailed(WhatsAppWebError):
    """WhatsApp refused or failed an operation (not an admin, not a member, ...)."""

    code = "operation_failed"

    def __init__(self, operation: str, reason: str) -> None:
        """Name the operation and WhatsApp's reason."""
        super().__init__(f"{operation} failed: {reason}")
        self.operation = operation
        self.reason = reason


class BrowserError(WhatsAppWebError):
    """The browser could not be started, reached or kept alive."""

    code = "browser_error"


class PairingError(WhatsAppWebError):
    """Linking the device could not start or go on (no QR, idle QR, bad phone number)."""

    code = "pairing_error"
