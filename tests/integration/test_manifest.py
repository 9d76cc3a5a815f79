"""The harness loads the integration from this checkout."""

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

from custom_components.whatsapp_web.const import DOMAIN


async def test_integration_is_found(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.domain == DOMAIN
    assert integration.config_flow is True
    assert "http" in integration.dependencies
    assert integration.version is not None
