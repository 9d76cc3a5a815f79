"""An asyncio client for WhatsApp Web that drives a real Chromium page.

This package imports nothing from Home Assistant: it could be published on its own.
"""

from .client import (
    WHATSAPP_WEB_URL,
    ClientStatus,
    EventCursor,
    EventCursorStore,
    Location,
    MessageCacheLimits,
    SendOptions,
    WhatsAppWebClient,
)
from .models import ClientState

__all__ = [
    "WHATSAPP_WEB_URL",
    "ClientState",
    "ClientStatus",
    "EventCursor",
    "EventCursorStore",
    "Location",
    "MessageCacheLimits",
    "SendOptions",
    "WhatsAppWebClient",
]
