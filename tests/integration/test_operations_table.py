"""The operations table, services.yaml, strings.json and the OpenAPI document agree; every add-on route is served."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string
from typing import Any

from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
import pytest
import schemathesis
import yaml

from custom_components.whatsapp_web import http, services
from custom_components.whatsapp_web.const import API_BASE, DOMAIN
from custom_components.whatsapp_web.operations import (
    ERROR_PLACEHOLDERS,
    OPERATIONS,
    OPERATIONS_BY_NAME,
    Access,
    Face,
    Method,
    ResultKind,
    Where,
)

ROOT = Path(__file__).parents[2]
INTEGRATION = ROOT / "custom_components" / DOMAIN
ADDON_API = ROOT / "docs" / "addon-api.md"

# design.md §3: every service name the integration promises.
DESIGN_SERVICES = {
    "get_status",
    "get_chats",
    "delete_chat",
    "archive_chat",
    "unarchive_chat",
    "pin_chat",
    "unpin_chat",
    "mark_chat_read",
    "mark_chat_unread",
    "send_typing",
    "send_recording",
    "clear_chat_state",
    "mute_chat",
    "unmute_chat",
    "clear_chat_messages",
    "is_registered_user",
    "get_messages",
    "send_message",
    "get_message",
    "delete_message",
    "star_message",
    "unstar_message",
    "react_message",
    "unreact_message",
    "download_media",
    "send_poll",
    "edit_message",
    "forward_message",
    "send_contact_card",
    "search_messages",
    "create_group",
    "get_group",
    "update_group",
    "leave_group",
    "get_invite_code",
    "revoke_invite_code",
    "accept_invite",
    "add_participants",
    "remove_participants",
    "promote_participants",
    "demote_participants",
    "get_contacts",
    "get_contact",
    "block_contact",
    "unblock_contact",
    "get_common_groups",
    "get_profile_picture",
    "set_available",
    "set_unavailable",
    "set_display_name",
    "set_text_status",
}

# docs/addon-api.md §11.1: the forms the add-on's README and DOCS used where its server differed.
DOCUMENTED_FORMS = {
    ("PUT", "/chats/{}/read"),
    ("PUT", "/chats/{}/unread"),
    ("PUT", "/chats/groups/{}/promote"),
    ("PUT", "/chats/groups/{}/demote"),
    ("POST", "/contacts/{}/block"),
}


REGENERATE = "run: script/regenerate"


def _shape(path: str) -> str:
    """A path with every parameter written ``{}`` (``:id`` in the add-on, ``{chat_id}`` here)."""
    return re.sub(r"(:\w+|{\w+})", "{}", path)


def addon_routes() -> set[tuple[str, str]]:
    """The add-on's routes, read from the summary table of docs/addon-api.md §5.1."""
    text = ADDON_API.read_text(encoding="utf-8")
    section = text.split("### 5.1 Summary table", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| \d+ \| (GET|POST|PUT|DELETE) \| `([^`]+)` \|", section, re.MULTILINE)
    return {(method, _shape(path)) for method, path in rows}


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path shape) the table serves under /api/whatsapp_web."""
    return {
        (route.method.value, _shape(route.path))
        for operation in OPERATIONS
        for route in operation.routes
    }


def test_design_services_all_declared() -> None:
    assert set(OPERATIONS_BY_NAME) == DESIGN_SERVICES
    assert len(OPERATIONS) == len(OPERATIONS_BY_NAME)


def test_every_addon_route_is_served() -> None:
    routes = addon_routes()
    assert len(routes) == 42, "docs/addon-api.md §5.1 lists 42 routes"
    missing = routes - served_routes()
    assert not missing, f"add-on routes not served: {sorted(missing)}"


def test_documented_forms_are_served_too() -> None:
    assert served_routes() >= DOCUMENTED_FORMS
    aliases = {
        (route.method.value, _shape(route.path))
        for operation in OPERATIONS
        for route in operation.routes
        if route.alias
    }
    assert aliases >= DOCUMENTED_FORMS
    # An alias is never the only route of an operation.
    for operation in OPERATIONS:
        assert not operation.routes[0].alias


def test_routes_are_unique_and_consistent() -> None:
    table = http.route_table()
    assert sum(len(methods) for methods in table.values()) == sum(
        len(op.routes) for op in OPERATIONS
    )
    for operation in OPERATIONS:
        path_fields = {item.key for item in operation.rest_fields(Where.PATH)}
        for route in operation.routes:
            assert route.url.startswith(f"{API_BASE}/")
            # Every path parameter is a declared path field, and every path field is in every route.
            assert set(route.path_fields) == path_fields, (operation.name, route.path)


def test_status_codes_and_responses() -> None:
    for operation in OPERATIONS:
        if operation.mutating and operation.result is ResultKind.JSON:
            assert operation.status in (201, 204, 200), operation.name
        if operation.status == 204:
            assert operation.mutating, operation.name
        if operation.supports_response is SupportsResponse.ONLY:
            assert not operation.mutating, operation.name
        if operation.response_key is not None:
            assert operation.response_schema["type"] == "array", operation.name
        for route in operation.routes:
            if route.method is Method.GET:
                assert not operation.mutating, operation.name
                assert not operation.rest_fields(Where.BODY), operation.name
    assert OPERATIONS_BY_NAME["create_group"].status == 201
    assert OPERATIONS_BY_NAME["send_message"].result is ResultKind.SEND
    assert OPERATIONS_BY_NAME["download_media"].result is ResultKind.FILE


def test_access_rules_of_the_table() -> None:
    """Only get_status is open to every user; whatever changes WhatsApp is for administrators only."""
    open_to_all = {op.name for op in OPERATIONS if op.access is Access.STATUS}
    assert open_to_all == {"get_status"}
    for operation in OPERATIONS:
        if operation.mutating:
            assert operation.admin_only, operation.name
        if any(route.method is not Method.GET for route in operation.routes):
            assert operation.mutating, operation.name
    assert OPERATIONS_BY_NAME["get_invite_code"].admin_only
    limited = {op.name: op.rate_limit for op in OPERATIONS if op.rate_limit is not None}
    assert limited == {
        "send_message": "send",
        "send_poll": "send",
        "edit_message": "send",
        "forward_message": "send",
        "send_contact_card": "send",
        "is_registered_user": "lookup",
    }


def test_services_yaml_matches_table() -> None:
    on_disk = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    assert on_disk == services.services_yaml_content(), REGENERATE
    for operation in OPERATIONS:
        schema_keys = {str(key) for key in services.service_schema(operation).schema}
        assert set(on_disk[operation.service]["fields"]) == schema_keys, operation.name
        for item in operation.fields_for(Face.SERVICE):
            assert (
                on_disk[operation.service]["fields"][item.key].get("required", False)
                == item.required
            )


def test_strings_match_table() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    assert strings["services"] == services.services_strings(), REGENERATE
    for operation in OPERATIONS:
        described = strings["services"][operation.service]
        assert described["name"]
        assert described["description"]
        expected = {str(key) for key in services.service_schema(operation).schema}
        assert set(described["fields"]) == expected, operation.name
        for text in described["fields"].values():
            assert text["name"]
            assert text["description"]


def test_exception_translations_match_placeholders() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    exceptions = strings["exceptions"]
    assert set(exceptions) == set(ERROR_PLACEHOLDERS)
    for key, placeholders in ERROR_PLACEHOLDERS.items():
        used = {
            name for _, name, _, _ in string.Formatter().parse(exceptions[key]["message"]) if name
        }
        assert used == set(placeholders), key


def test_translations_en_agrees_with_strings_when_present() -> None:
    english = INTEGRATION / "translations" / "en.json"
    if not english.exists():
        pytest.skip("translations/en.json is not written yet")
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    translated = json.loads(english.read_text(encoding="utf-8"))
    assert translated["services"] == strings["services"]
    assert translated["exceptions"] == strings["exceptions"]


def _openapi_operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, methods in document["paths"].items():
        for method, entry in methods.items():
            found[entry["operationId"]] = (method.upper(), path, entry)
    return found


def test_openapi_matches_table() -> None:
    document = http.build_openapi()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": API_BASE}]
    found = _openapi_operations(document)
    assert len(found) == sum(len(op.routes) for op in OPERATIONS)
    for operation in OPERATIONS:
        for index, route in enumerate(operation.routes):
            operation_id = operation.name if index == 0 else f"{operation.name}_{index}"
            method, path, entry = found[operation_id]
            assert (method, path) == (route.method.value, route.path)
            assert entry["x-service"] == f"{DOMAIN}.{operation.service}"
            assert entry["x-admin-required"] is (operation.access is not Access.STATUS)
            assert entry.get("deprecated", False) is route.alias
            parameters = {(item["in"], item["name"]): item for item in entry["parameters"]}
            expected = {("path", key) for key in route.path_fields}
            expected |= {("query", item.key) for item in operation.rest_fields(Where.QUERY)}
            expected.add(("query", "account"))
            assert set(parameters) == expected, operation.name
            body_fields = {item.key for item in operation.rest_fields(Where.BODY)}
            if body_fields:
                schema = entry["requestBody"]["content"]["application/json"]["schema"]
                assert set(schema["properties"]) == body_fields, operation.name
                required = {item.key for item in operation.rest_fields(Where.BODY) if item.required}
                assert set(schema.get("required", [])) == required, operation.name
            else:
                assert "requestBody" not in entry, operation.name
            success = {"204"} if operation.status == 204 else {str(operation.status)}
            if operation.result is ResultKind.SEND:
                success = {"200", "202"}
            assert success <= set(entry["responses"]), operation.name
            assert {"400", "401", "403", "404", "503"} <= set(entry["responses"])


def test_openapi_document_is_valid_openapi_3_1() -> None:
    """The document passes the OpenAPI 3.1 meta-schema (as schemathesis checks it) and every operation loads."""
    schema = schemathesis.openapi.from_dict(http.build_openapi())
    schema.validate()
    loaded = [result.ok() for result in schema.get_all_operations()]
    assert len(loaded) == sum(len(op.routes) for op in OPERATIONS)
    broken = http.build_openapi()
    broken["paths"]["/status"]["get"]["responses"] = "none"
    with pytest.raises(Exception, match="responses"):
        schemathesis.openapi.from_dict(broken).validate()


def test_openapi_request_schema_from_voluptuous() -> None:
    """Nested add-on fields (options.*) and constraints come from the voluptuous schemas."""
    document = http.build_openapi()
    send = document["paths"]["/chats/{chat_id}/messages"]["post"]
    schema = send["requestBody"]["content"]["application/json"]["schema"]
    options = schema["properties"]["options"]["properties"]
    assert options["caption"]["type"] == "string"
    assert options["sendMediaAsDocument"]["type"] == "boolean"
    assert options["mentions"]["type"] == "array"
    messages = document["paths"]["/chats/{chat_id}/messages"]["get"]
    limit = next(item for item in messages["parameters"] if item["name"] == "limit")
    assert limit["schema"]["minimum"] == 1
    assert limit["schema"]["maximum"] == 1000
    assert limit["schema"]["default"] == 100


async def test_services_registered_with_response_support(hass: HomeAssistant) -> None:
    services.async_setup_services(hass)
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == DESIGN_SERVICES
    for operation in OPERATIONS:
        assert registered[operation.service].supports_response is operation.supports_response


async def test_views_registered_for_every_route(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "http", {})
    http.async_register_views(hass)
    router = hass.http.app.router
    registered = set()
    for resource in router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        for route in resource:
            if route.method in ("GET", "POST", "PUT", "DELETE") and path.startswith(API_BASE):
                registered.add((route.method, _shape(path.removeprefix(API_BASE))))
    assert registered >= served_routes()
    assert ("GET", "/openapi.json") in registered


async def test_home_assistant_accepts_services_yaml(hass: HomeAssistant) -> None:
    """Home Assistant's own loader validates services.yaml (selectors included) and describes every field."""
    services.async_setup_services(hass)
    descriptions = await async_get_all_descriptions(hass)
    described = descriptions[DOMAIN]
    assert set(described) == DESIGN_SERVICES
    for operation in OPERATIONS:
        fields = described[operation.service]["fields"]
        assert set(fields) == {str(key) for key in services.service_schema(operation).schema}
    # The frontend names services from the translations (2026.x no longer copies the name into the
    # description), so check that strings.json reached Home Assistant's translation cache.
    translations = await async_get_translations(hass, "en", "services", [DOMAIN])
    for operation in OPERATIONS:
        key = f"component.{DOMAIN}.services.{operation.service}.name"
        assert translations[key] == operation.title
