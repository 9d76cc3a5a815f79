"""The few places where Home Assistant 2025.4 (the minimum) and 2026.x differ for this integration.

Each helper takes the newer API where it exists and the older one only where it does not, so that neither
version reports a deprecation. The README's "Supported Home Assistant versions" lists the differences.
"""

from __future__ import annotations

from typing import Final

from homeassistant.helpers import device_registry as dr

# 2026.x: a device belongs to exactly one config entry (``config_entry_id``); reading the older
# ``config_entries`` set there is reported as deprecated. 2025.x has only the set.
_DEVICE_HAS_SINGLE_ENTRY: Final = hasattr(dr.DeviceEntry, "config_entry_id")


def device_config_entry_ids(device: dr.DeviceEntry) -> set[str]:
    """The config entries a device belongs to."""
    if _DEVICE_HAS_SINGLE_ENTRY:
        return {device.config_entry_id}  # type: ignore[attr-defined,unused-ignore]
    return set(device.config_entries)
