"""Constants of the WhatsApp Web integration."""

from typing import Final

DOMAIN: Final = "whatsapp_web"
