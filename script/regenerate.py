"""Rewrite every generated file from its source, or check that none is stale.

    script/regenerate            rewrite what is stale
    script/regenerate --check    write nothing; exit 1 and name the stale files

| file | made from |
| --- | --- |
| `custom_components/whatsapp_web/services.yaml` | the operations table (`services.services_yaml_content`) |
| the `services` section of `strings.json` | the operations table (`services.services_strings`) |
| `translations/en.json` | `strings.json` (English is the source text as is) |
| the service and REST reference in `README.md` | the operations table (`script/gen_docs.py`) |
| `brand/icon.png`, `brand/icon@2x.png` | the drawing in `script/brand.py` (compared by pixels) |

After changing the operations table, the strings or the drawing, run this once; the test suite fails
while any file is stale (`tests/test_generated_files.py`).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
import sys
from typing import TYPE_CHECKING, Any, cast

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # script/ is not a package: make the integration importable from the checkout.
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image, ImageChops  # noqa: E402
import yaml  # noqa: E402

from custom_components.whatsapp_web import services  # noqa: E402
from script import brand, gen_docs  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

INTEGRATION = REPO_ROOT / "custom_components" / "whatsapp_web"
SERVICES_YAML = INTEGRATION / "services.yaml"
STRINGS = INTEGRATION / "strings.json"
ENGLISH = INTEGRATION / "translations" / "en.json"
SERVICES_HEADER = (
    "# Written from the operations table (services.services_yaml_content()) by\n"
    "# script/regenerate; tests/test_generated_files.py checks that they agree.\n"
)
# Another Pillow or zlib may compress the same drawing differently; pixels must match.
BRAND_TOLERANCE = 2


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors, empty selectors written as ``text:``."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(
    type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "")
)


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def services_yaml() -> str:
    """services.yaml as the operations table says."""
    content = services.services_yaml_content()
    return SERVICES_HEADER + yaml.dump(
        content, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )


def strings_json() -> str:
    """strings.json with its ``services`` section from the table, every other section kept."""
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    strings["services"] = services.services_strings()
    return _json_text(strings)


def readme() -> str:
    """README.md with its generated reference."""
    return gen_docs.updated_readme(gen_docs.README.read_text(encoding="utf-8"))


def _same_picture(path: Path, wanted: bytes) -> bool:
    if not path.is_file():
        return False
    with Image.open(path) as stored, Image.open(io.BytesIO(wanted)) as drawn:
        if stored.size != drawn.size:
            return False
        difference = ImageChops.difference(stored.convert("RGBA"), drawn.convert("RGBA"))
        # One (low, high) pair per band of an RGBA image.
        extrema = cast("tuple[tuple[int, int], ...]", difference.getextrema())
        return max(high for _, high in extrema) <= BRAND_TOLERANCE


def regenerate(*, check: bool) -> list[str]:
    """Rewrite (or, with ``check``, only compare) every generated file; the stale ones' names."""
    stale: list[str] = []
    # Order matters: en.json is a copy of strings.json as regenerated just before it.
    texts: list[tuple[Path, Callable[[], str]]] = [
        (SERVICES_YAML, services_yaml),
        (STRINGS, strings_json),
        (ENGLISH, lambda: STRINGS.read_text(encoding="utf-8") if not check else strings_json()),
        (gen_docs.README, readme),
    ]
    for path, make in texts:
        wanted = make()
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != wanted:
            stale.append(path.relative_to(REPO_ROOT).as_posix())
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(wanted, encoding="utf-8")
    for name, data in brand.rendered().items():
        path = brand.BRAND_DIR / name
        if not _same_picture(path, data):
            stale.append(path.relative_to(REPO_ROOT).as_posix())
            if not check:
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(data)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Rewrite or check; exit 1 with ``--check`` when something is stale."""
    parser = argparse.ArgumentParser(prog="script/regenerate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when stale")
    args = parser.parse_args(argv)
    stale = regenerate(check=args.check)
    for name in stale:
        sys.stderr.write(f"{'stale' if args.check else 'rewritten'}: {name}\n")
    if args.check and stale:
        sys.stderr.write("run script/regenerate\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
