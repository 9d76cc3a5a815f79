"""The rooms of docs/architecture.md import only what that page allows.

Read from the source with ``ast`` (nothing is imported): a new import that crosses a wall fails here
with the file, the line and the rule, before it becomes a cycle or a Home Assistant dependency of the
client library.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = "custom_components.whatsapp_web"


@dataclass(frozen=True)
class Room:
    """Python files under ``folder`` may not import modules starting with any of ``forbidden``."""

    folder: str
    forbidden: tuple[str, ...]
    reason: str


ROOMS = (
    Room(
        "custom_components/whatsapp_web/client",
        ("homeassistant", f"{INTEGRATION}.", "simulator", "tests"),
        "the client library knows nothing of Home Assistant or of the integration around it",
    ),
    Room(
        "custom_components/whatsapp_web/operations",
        (
            *(
                f"{INTEGRATION}.{face}"
                for face in ("http", "services", "notify", "config_flow", "sensor", "event")
            ),
            "simulator",
            "tests",
        ),
        "the operations table is shared by the faces (services, REST, notify); it never imports them",
    ),
    Room(
        "custom_components/whatsapp_web",
        ("simulator", "tests", "benchmarks"),
        "the integration ships alone: nothing of the test tooling goes with it",
    ),
    Room(
        "simulator",
        ("custom_components", "homeassistant", "tests", "benchmarks"),
        "the simulator stands for WhatsApp Web: it knows nothing of its clients",
    ),
)


def module_name(path: Path) -> str:
    """``custom_components/whatsapp_web/client/ids.py`` -> ``custom_components.whatsapp_web.client.ids``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """Every module ``source`` (a module of ``package``) imports, relative ones made absolute."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from . import x`` may import the module x itself.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            found.append((node.lineno, base))
    return found


def is_forbidden(room: Room, module: str) -> bool:
    if room.folder.endswith("/client") and module.startswith(f"{INTEGRATION}.client"):
        return False
    return any(
        module == prefix.rstrip(".") or module.startswith(prefix.rstrip(".") + ".")
        for prefix in room.forbidden
    )


def file_crossings(room: Room, where: str, source: str, package: str) -> list[str]:
    return sorted(
        {
            f"{where}:{line} imports {module}: {room.reason}"
            for line, module in imported_modules(source, package)
            if is_forbidden(room, module)
        }
    )


def crossings() -> list[str]:
    problems = []
    for room in ROOMS:
        for path in sorted((ROOT / room.folder).rglob("*.py")):
            package = module_name(path)
            if path.name != "__init__.py":
                package = package.rpartition(".")[0]
            where = path.relative_to(ROOT).as_posix()
            problems += file_crossings(room, where, path.read_text(encoding="utf-8"), package)
    return problems


def test_every_room_imports_only_what_it_may() -> None:
    assert crossings() == []


def test_the_check_sees_a_crossing() -> None:
    """The rule is not vacuous: the client importing Home Assistant or the integration is reported."""
    client_room = ROOMS[0]
    found = file_crossings(
        client_room,
        "probe.py",
        "from homeassistant.core import HomeAssistant\nfrom ..const import DOMAIN\nfrom . import ids\n",
        f"{INTEGRATION}.client",
    )
    assert sorted(line.split(":", 2)[1] for line in found) == [
        "1 imports homeassistant.core",
        "1 imports homeassistant.core.HomeAssistant",
        "2 imports custom_components.whatsapp_web.const",
        "2 imports custom_components.whatsapp_web.const.DOMAIN",
    ]
