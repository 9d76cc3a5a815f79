"""Draw the integration's brand images (the project's own design, not WhatsApp's trademark).

A white speech bubble holding a house, on a rounded teal square: "messages for your home". Home
Assistant 2026.x serves images from ``custom_components/whatsapp_web/brand/`` for the integration tile
and dialogs; where ``logo.png`` is missing it falls back to ``icon.png``. Run ``script/regenerate`` (or
this script) after changing the drawing; a test checks that the checked-in files match it.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw

BRAND_DIR = Path(__file__).resolve().parents[1] / "custom_components" / "whatsapp_web" / "brand"
TEAL = (18, 140, 126, 255)
WHITE = (255, 255, 255, 255)
# Drawn this many times larger, then scaled down: smooth edges without an anti-aliasing library.
SUPERSAMPLE = 4
SIZES = {"icon.png": 256, "icon@2x.png": 512}


def draw_icon(size: int) -> Image.Image:
    """The icon at ``size`` x ``size`` pixels."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def at(fraction: float) -> int:
        return round(fraction * big)

    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=at(0.22), fill=TEAL)
    # The bubble: a rounded body with a tail at the lower left.
    draw.rounded_rectangle((at(0.16), at(0.16), at(0.84), at(0.72)), radius=at(0.16), fill=WHITE)
    draw.polygon([(at(0.24), at(0.64)), (at(0.20), at(0.86)), (at(0.44), at(0.70))], fill=WHITE)
    # The house inside it: roof and walls in the background colour, a white door.
    draw.polygon([(at(0.50), at(0.25)), (at(0.30), at(0.44)), (at(0.70), at(0.44))], fill=TEAL)
    draw.rectangle((at(0.35), at(0.43), at(0.65), at(0.63)), fill=TEAL)
    draw.rectangle((at(0.46), at(0.51), at(0.54), at(0.63)), fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def rendered() -> dict[str, bytes]:
    """Every brand file's PNG bytes, by file name."""
    files: dict[str, bytes] = {}
    for name, size in SIZES.items():
        buffer = io.BytesIO()
        # No timestamps or text chunks: the same drawing gives the same bytes.
        draw_icon(size).save(buffer, format="PNG", optimize=True)
        files[name] = buffer.getvalue()
    return files


def main() -> None:
    """Write the images, or with ``--check`` fail when the checked-in ones differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    stale = [
        name
        for name, data in rendered().items()
        if not (BRAND_DIR / name).is_file() or (BRAND_DIR / name).read_bytes() != data
    ]
    if args.check:
        if stale:
            raise SystemExit(f"stale brand images: {', '.join(stale)} (run script/brand.py)")
        return
    BRAND_DIR.mkdir(exist_ok=True)
    for name, data in rendered().items():
        (BRAND_DIR / name).write_bytes(data)


if __name__ == "__main__":
    main()
