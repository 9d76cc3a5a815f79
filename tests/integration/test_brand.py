"""The integration's own brand images: drawn by script/brand.py, served by Home Assistant 2026.x."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
import sys
from typing import TYPE_CHECKING

from homeassistant.setup import async_setup_component
from PIL import Image, ImageChops

from custom_components.whatsapp_web.const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

ROOT = Path(__file__).parents[2]
BRAND_DIR = ROOT / "custom_components" / "whatsapp_web" / "brand"


def _brand_script():
    spec = importlib.util.spec_from_file_location("brand_script", ROOT / "script" / "brand.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_brand_images_are_the_drawing_at_the_sizes_home_assistant_expects() -> None:
    script = _brand_script()
    assert sorted(path.name for path in BRAND_DIR.iterdir()) == sorted(script.SIZES)
    for name, size in script.SIZES.items():
        with Image.open(BRAND_DIR / name) as stored:
            assert stored.format == "PNG"
            assert stored.size == (size, size)
            assert stored.mode == "RGBA"
            # Rounded corners: the corner pixel is transparent, the centre is not.
            assert stored.getpixel((0, 0))[3] == 0
            assert stored.getpixel((size // 2, size // 2))[3] == 255
            # Pixels, not bytes: another Pillow or zlib may compress the same drawing differently.
            drawn = script.draw_icon(size)
            difference = ImageChops.difference(stored.convert("RGBA"), drawn)
            assert max(high for _, high in difference.getextrema()) <= 2, name


async def test_home_assistant_serves_the_icon(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Home Assistant 2026.x serves a custom integration's brand folder; 2025.4 only had the CDN."""
    if importlib.util.find_spec("homeassistant.components.brands") is None:
        assert (BRAND_DIR / "icon.png").is_file()
        return
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for image, expected in (("icon.png", "icon.png"), ("logo.png", "icon.png")):
        response = await client.get(
            f"/api/brands/integration/{DOMAIN}/{image}", params={"placeholder": "no"}
        )
        assert response.status == 200, image
        served = await response.read()
        assert served == (BRAND_DIR / expected).read_bytes()
        with Image.open(io.BytesIO(served)) as picture:
            assert picture.size == (256, 256)
