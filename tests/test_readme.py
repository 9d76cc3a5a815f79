"""The README stays true: its reference is the operations table's, its examples parse and validate."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import re
from typing import TYPE_CHECKING

from homeassistant.components.automation.config import async_validate_config_item
import pytest
import yaml

from custom_components.whatsapp_web.const import ALL_EVENTS
from custom_components.whatsapp_web.operations import OPERATIONS

if TYPE_CHECKING:
    from types import ModuleType

    from homeassistant.core import HomeAssistant

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "script" / "gen_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def section(title: str) -> str:
    """The text of a ``## title`` section."""
    match = re.search(
        rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL
    )
    assert match, f"README has no section {title!r}"
    return match.group(1)


def code_blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def test_reference_is_generated_from_the_operations_table() -> None:
    gen_docs = load_gen_docs()
    assert gen_docs.updated_readme(README) == README, "README.md is stale: run script/gen_docs"


def test_reference_names_every_service_and_route() -> None:
    reference = README.split(load_gen_docs().BEGIN, 1)[1]
    for operation in OPERATIONS:
        assert f"`{operation.service}`" in reference
        for route in operation.routes:
            assert f"`{route.method.value} {route.path}`" in reference


def test_the_issue_s_documentation_is_there() -> None:
    for title in (
        "Install",
        "Try it in one command",
        "Install types",
        "Linking your phone",
        "Services and REST routes",
        "Events",
        "Automation examples and blueprints",
        "The remote browser add-on",
        "Migrating from the `ha-whatsapp-web-rest-api` add-on",
        "Troubleshooting",
        "Limits",
    ):
        section(title)
    assert "HACS" in section("Install")
    assert "script/demo" in section("Try it in one command")
    assert "script/test" in section("Try it in one command")
    install_types = section("Install types")
    for install in ("**OS**", "**Supervised**", "**Container**", "**Core**"):
        assert install in install_types
    troubleshooting = section("Troubleshooting")
    for problem in ("QR code is not shown", "WhatsApp Web changed", "Memory"):
        assert problem in troubleshooting
    migrating = section("Migrating from the `ha-whatsapp-web-rest-api` add-on")
    assert "/api/whatsapp_web/" in migrating
    assert "SUPERVISOR_TOKEN" in migrating


def test_every_event_has_an_example_payload() -> None:
    events = section("Events")
    examples = "\n".join(code_blocks("json", events))
    for event in ALL_EVENTS:
        assert f"`{event}`" in events, event
    # Each payload kind is shown: message, ack, revoke, reaction, group, call, state, reason, bare.
    decoder = json.JSONDecoder()
    payloads = []
    for block in code_blocks("json", events):
        text = block.strip()
        while text:
            payload, end = decoder.raw_decode(text)
            payloads.append(payload)
            text = text[end:].strip()
    assert all("config_entry_id" in payload for payload in payloads)
    keys = set().union(*(payload.keys() for payload in payloads))
    for key in (
        "body",
        "ack",
        "revokedMessage",
        "reaction",
        "notification",
        "call",
        "state",
        "reason",
    ):
        assert key in keys, key
    assert "offline" in examples


def test_links_to_repository_files_exist() -> None:
    for target in re.findall(r"\]\(((?:blueprints|addon|custom_components)[^)#]*)\)", README):
        assert (ROOT / target).exists(), target


@pytest.mark.parametrize(
    "index", range(len([b for b in code_blocks("yaml") if "automation:" in b]))
)
async def test_automation_examples_are_valid(hass: HomeAssistant, index: int) -> None:
    block = [b for b in code_blocks("yaml") if "automation:" in b][index]
    for automation in yaml.safe_load(block)["automation"]:
        validated = await async_validate_config_item(hass, "readme", automation)
        assert validated is not None
        assert validated.validation_status == "ok", validated.validation_error


def test_yaml_examples_parse() -> None:
    for block in code_blocks("yaml"):
        assert yaml.safe_load(block) is not None
