"""Offline versions of hassfest's and HACS's checks, as far as they can run without their tools.

hassfest lives in Home Assistant's source repository (not in the pip package) and HACS validates on
GitHub, so the rules they apply to a custom integration are checked here from the files themselves,
with Home Assistant's own types and selector validation where the package offers them.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
from typing import Any, get_type_hints

from awesomeversion import AwesomeVersion
from homeassistant import components
from homeassistant.const import __version__ as ha_version
from homeassistant.helpers import selector
from homeassistant.loader import Manifest
import pytest
import yaml

from custom_components.whatsapp_web.operations import OPERATIONS, Face

ROOT = Path(__file__).resolve().parents[1]
COMPONENT = ROOT / "custom_components" / "whatsapp_web"
SOURCES = sorted(COMPONENT.glob("*.py"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return read_json(COMPONENT / "manifest.json")


@pytest.fixture(scope="module")
def strings() -> dict[str, Any]:
    return read_json(COMPONENT / "strings.json")


@pytest.fixture(scope="module")
def services_yaml() -> dict[str, Any]:
    return yaml.safe_load((COMPONENT / "services.yaml").read_text(encoding="utf-8"))


# --- manifest.json (hassfest: manifest, custom integration rules)


def test_manifest_required_keys_for_a_custom_integration(manifest: dict[str, Any]) -> None:
    for key in (
        "domain",
        "name",
        "codeowners",
        "documentation",
        "version",
        "iot_class",
        "issue_tracker",
    ):
        assert manifest.get(key), f"manifest.json needs {key}"
    assert manifest["domain"] == COMPONENT.name
    assert not manifest["documentation"].startswith("https://www.home-assistant.io")
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert all(owner.startswith("@") for owner in manifest["codeowners"])


def test_manifest_has_only_known_keys_in_hassfest_order(manifest: dict[str, Any]) -> None:
    known = set(get_type_hints(Manifest))
    assert set(manifest) <= known, set(manifest) - known
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_values(manifest: dict[str, Any]) -> None:
    version = AwesomeVersion(manifest["version"])
    assert version.valid
    assert manifest["iot_class"] in {
        "assumed_state",
        "calculated",
        "cloud_polling",
        "cloud_push",
        "local_polling",
        "local_push",
    }
    assert manifest.get("integration_type", "hub") in {
        "device",
        "entity",
        "hardware",
        "helper",
        "hub",
        "service",
        "system",
        "virtual",
    }
    for requirement in manifest.get("requirements", []):
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.\-+]*", requirement), (
            requirement
        )
    core_components = Path(components.__file__).parent
    for dependency in manifest.get("dependencies", []) + manifest.get("after_dependencies", []):
        assert (core_components / dependency / "manifest.json").exists(), dependency
    if manifest.get("config_flow"):
        assert (COMPONENT / "config_flow.py").exists()


# --- hacs.json and the repository (HACS's integration checks)

HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "persistent_directory",
    "hacs",
}


def test_hacs_json() -> None:
    hacs = read_json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["name"]
    assert not hacs.get("content_in_root", False)
    if "homeassistant" in hacs:
        minimum = AwesomeVersion(hacs["homeassistant"])
        assert minimum.valid
        assert minimum <= AwesomeVersion(ha_version), "hacs.json asks for a newer Home Assistant"
    if hacs.get("zip_release"):
        assert hacs.get("filename", "").endswith(".zip")


def test_repository_layout_for_hacs() -> None:
    integrations = [
        path.name
        for path in (ROOT / "custom_components").iterdir()
        if path.is_dir() and not path.name.startswith("__")
    ]
    assert integrations == ["whatsapp_web"], "HACS installs exactly one integration per repository"
    assert (ROOT / "README.md").is_file()
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]


# --- translations (hassfest: translations; a custom integration ships translations/en.json)


def test_translations_en_is_strings_json(strings: dict[str, Any]) -> None:
    assert read_json(COMPONENT / "translations" / "en.json") == strings
    assert "[%key:" not in json.dumps(strings), (
        "custom integrations cannot use [%key:...%] references"
    )


def _flow_keys(source: str) -> dict[str, set[str]]:
    """Step ids, progress actions, abort reasons and error keys a flow module uses."""
    tree = ast.parse(source)
    found: dict[str, set[str]] = {
        "step": set(),
        "progress": set(),
        "abort": set(),
        "error": set(),
        "menu": set(),
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    value = keyword.value.value
                    if keyword.arg == "step_id":
                        found["step"].add(value)
                    elif keyword.arg == "progress_action":
                        found["progress"].add(value)
                    elif keyword.arg == "reason":
                        found["abort"].add(value)
                    elif keyword.arg == "next_step_id":
                        found["step"].add(value)
        # errors["base"] = "x" / errors[FIELD] = "x" / {"base": "x"}
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and getattr(target.value, "id", "") in (
                    "errors",
                    "_errors",
                ):
                    found["error"].add(node.value.value)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "base"
                    and isinstance(value, ast.Constant)
                ):
                    found["error"].add(value.value)
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "base"
                    and isinstance(value, ast.IfExp)
                ):
                    for branch in (value.body, value.orelse):
                        if isinstance(branch, ast.Constant):
                            found["error"].add(branch.value)
    return found


def test_every_config_flow_text_is_translated(strings: dict[str, Any]) -> None:
    used = _flow_keys((COMPONENT / "config_flow.py").read_text(encoding="utf-8"))
    for kind in ("step", "progress", "abort", "error"):
        assert used[kind], f"no {kind} found in config_flow.py: the scan is broken"
    config = strings["config"]
    options = strings.get("options", {})
    steps = set(config["step"]) | set(options.get("step", {}))
    # Steps without their own screen (they only route) need no text.
    routing_only = {"finish", "link_failed", "reload"}
    assert used["step"] - routing_only - steps == set()
    assert used["progress"] - set(config.get("progress", {})) == set()
    assert used["abort"] - set(config.get("abort", {})) == set()
    # ConfigFlow's own aborts (async_update_reload_and_abort, _abort_if_unique_id_configured).
    errors = set(config.get("error", {})) | set(options.get("error", {}))
    assert used["error"] - errors == set()
    for step_id, step in config["step"].items():
        assert step.get("title"), f"config step {step_id} has no title"


def test_every_entity_translation_key_is_translated(strings: dict[str, Any]) -> None:
    for path in SOURCES:
        match = re.search(r'_attr_translation_key = "([a-z_]+)"', path.read_text(encoding="utf-8"))
        if match:
            platform = path.stem
            assert match.group(1) in strings["entity"].get(platform, {}), (platform, match.group(1))


def test_exception_translation_keys_exist(strings: dict[str, Any]) -> None:
    literal_keys = set()
    for path in SOURCES:
        literal_keys |= set(
            re.findall(r'translation_key="([a-z_]+)"', path.read_text(encoding="utf-8"))
        )
    # Selectors' translation keys live under "selector", the rest under "exceptions".
    selector_keys = set(strings.get("selector", {}))
    assert literal_keys - selector_keys - set(strings.get("exceptions", {})) == set()


# --- services.yaml (hassfest: services) against the operations table


def test_services_yaml_matches_the_operations(services_yaml: dict[str, Any]) -> None:
    assert set(services_yaml) == {operation.service for operation in OPERATIONS}
    for operation in OPERATIONS:
        fields = services_yaml[operation.service].get("fields", {})
        service_fields = {field.key for field in operation.fields_for(Face.SERVICE)}
        assert set(fields) - {"config_entry_id"} == service_fields, operation.service
        for field in operation.fields:
            if field.key in fields and field.required:
                assert fields[field.key].get("required") is True, (operation.service, field.key)


def test_services_yaml_selectors_are_valid(services_yaml: dict[str, Any]) -> None:
    for service, description in services_yaml.items():
        for name, field in description.get("fields", {}).items():
            if "selector" in field:
                selector.validate_selector(field["selector"])
            assert set(field) <= {
                "selector",
                "required",
                "example",
                "default",
                "advanced",
                "filter",
            }, (service, name)


def test_services_are_translated_and_have_icons(
    services_yaml: dict[str, Any], strings: dict[str, Any]
) -> None:
    icons = read_json(COMPONENT / "icons.json")
    for service, description in services_yaml.items():
        text = strings["services"][service]
        assert text["name"], service
        assert text["description"], service
        for name in description.get("fields", {}):
            assert text["fields"][name]["name"], (service, name)
            assert text["fields"][name]["description"], (service, name)
        assert icons["services"][service]["service"].startswith("mdi:"), service


# --- quality_scale.yaml (hassfest skips it for custom integrations; keep it honest anyway)


def test_quality_scale_rules_have_a_valid_status() -> None:
    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    for rule, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] in {"exempt", "todo", "done"}, rule
            if status["status"] != "done":
                assert status.get("comment"), f"{rule} needs a comment saying why"
        else:
            assert status == "done", rule
