"""The bridge uses only WhatsApp Web's documented surface and never turns data into code."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

BRIDGE_SOURCE = (
    Path(__file__).parents[2] / "custom_components/whatsapp_web/client/bridge.js"
).read_text(encoding="utf-8")
REFERENCE = Path(__file__).parents[2] / "docs" / "whatsapp-web-surface.md"
MODULE_ACCESS = re.compile(
    r"\b(mod|optionalMod|member|invoke)\('([A-Za-z0-9_]+)'(?:,\s*'([A-Za-z0-9_.]+)')?"
)
COLLECTION_ACCESS = re.compile(r"\bcollection\('([A-Za-z0-9_]+)'\)")


@pytest.fixture(scope="module")
def reference() -> str:
    assert REFERENCE.is_file(), f"the project's reference is missing: {REFERENCE}"
    return REFERENCE.read_text(encoding="utf-8")


def documented(reference: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", reference) is not None


def test_every_module_the_bridge_requires_is_documented(reference: str) -> None:
    modules = {match.group(2) for match in MODULE_ACCESS.finditer(BRIDGE_SOURCE)}
    assert len(modules) > 40, "the extraction found too little; did the access helpers change?"
    missing = sorted(name for name in modules if not documented(reference, name))
    assert not missing, f"modules not in the reference: {missing}"


def test_every_member_path_is_documented(reference: str) -> None:
    members = {
        part
        for match in MODULE_ACCESS.finditer(BRIDGE_SOURCE)
        if match.group(3)
        for part in match.group(3).split(".")
    }
    members |= {match.group(1) for match in COLLECTION_ACCESS.finditer(BRIDGE_SOURCE)}
    missing = sorted(name for name in members if not documented(reference, name))
    assert not missing, f"members not in the reference: {missing}"


def test_every_capability_shape_is_documented(reference: str) -> None:
    """The members each known call shape needs (the capability table) are in the reference."""
    table = BRIDGE_SOURCE.split("const CAPABILITIES = {", 1)[1].split("\n    };", 1)[0]
    paths = re.findall(r"'(WA[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)'", table)
    assert len(paths) > 10, "the extraction found too little; did the table change?"
    names = {part for path in paths for part in path.split(".")}
    missing = sorted(name for name in names if not documented(reference, name))
    assert not missing, f"capability members not in the reference: {missing}"


def test_modules_are_only_reached_through_the_access_helpers() -> None:
    direct = [line for line in BRIDGE_SOURCE.splitlines() if "window.require(" in line]
    # The two helpers themselves are the only places that call WhatsApp Web's require.
    assert len(direct) == 2, direct


@pytest.mark.parametrize(
    "construct",
    [
        "eval(",
        "new Function",
        "Function(",
        "setTimeout('",
        'setTimeout("',
        "innerHTML",
        "document.write",
    ],
)
def test_no_code_is_built_from_strings(construct: str) -> None:
    assert construct not in BRIDGE_SOURCE
