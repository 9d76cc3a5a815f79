"""Every text the set-up side shows exists in strings.json, and translations/en.json is its copy."""

from __future__ import annotations

import json
from pathlib import Path
import re

from custom_components.whatsapp_web import account, outbox
from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import ALL_EVENTS

COMPONENT = Path(__file__).parents[2] / "custom_components" / "whatsapp_web"
STRINGS = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))
FLOW_SOURCE, _, OPTIONS_SOURCE = (
    (COMPONENT / "config_flow.py")
    .read_text(encoding="utf-8")
    .partition("class WhatsAppOptionsFlow")
)


def test_english_translation_is_strings_json() -> None:
    english = json.loads((COMPONENT / "translations" / "en.json").read_text(encoding="utf-8"))
    assert english == STRINGS


def test_every_step_error_abort_and_progress_of_the_flows_has_text() -> None:
    config = STRINGS["config"]
    steps = set(re.findall(r'step_id="(\w+)"', FLOW_SOURCE)) - {"init"}
    assert steps <= set(config["step"]), steps - set(config["step"])
    for menu_step, options in re.findall(
        r'step_id="(\w+)", menu_options=(\[[^\]]*\])', FLOW_SOURCE
    ):
        assert set(config["step"][menu_step]["menu_options"]) == set(json.loads(options))
    progress = set(re.findall(r'progress_action="(\w+)"', FLOW_SOURCE))
    assert progress == set(config["progress"])
    aborts = set(re.findall(r'reason="(\w+)"', FLOW_SOURCE)) | {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
    }
    assert aborts == set(config["abort"])
    errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', FLOW_SOURCE))
    errors |= set(re.findall(r'\{"base": "(\w+)"', FLOW_SOURCE))
    # LocalBrowserUnavailable reasons
    errors |= {"chromium_not_found", "playwright_unavailable", "playwright_unsupported_platform"}
    errors |= set(re.findall(r'"(browser_failed)" if', FLOW_SOURCE)) | {"timeout"}
    assert errors == set(config["error"])
    assert "{qr_code}" in config["progress"]["scan_qr_code"]
    assert "{code}" in config["progress"]["enter_pairing_code"]


def test_every_step_and_error_of_the_options_has_text() -> None:
    options = STRINGS["options"]
    steps = set(re.findall(r'step_id="(\w+)"', OPTIONS_SOURCE))
    assert steps == set(options["step"])
    [menu] = re.findall(r'step_id="init",\s*menu_options=(\[[^\]]*\])', OPTIONS_SOURCE)
    assert set(options["step"]["init"]["menu_options"]) == set(json.loads(menu))
    errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', OPTIONS_SOURCE))
    assert errors == set(options["error"])


def test_entities_issues_selectors_and_triggers_have_text() -> None:
    states = STRINGS["entity"]["sensor"]["connection_state"]["state"]
    assert set(states) == {state.value for state in ClientState}
    assert set(
        STRINGS["entity"]["event"]["incoming"]["state_attributes"]["event_type"]["state"]
    ) == {
        "message_received",
        "call",
    }
    assert "{recipient}" in STRINGS["entity"]["notify"]["recipient"]["name"]
    issues = {
        account.ISSUE_LOGGED_OUT,
        account.ISSUE_WHATSAPP_WEB_CHANGED,
        account.ISSUE_CAPABILITY_MISSING,
        account.ISSUE_BLOCKED,
        account.ISSUE_BROWSER_FAILED,
        outbox.ISSUE_OUTBOX_DAMAGED,
    }
    assert set(STRINGS["issues"]) == issues
    assert set(STRINGS["selector"]["events"]["options"]) == set(ALL_EVENTS)
    assert set(STRINGS["device_automation"]["trigger_type"]) == {"message_received"}


def test_icons_cover_every_entity_translation_key() -> None:
    icons = json.loads((COMPONENT / "icons.json").read_text(encoding="utf-8"))
    for platform, keys in STRINGS["entity"].items():
        assert set(keys) == set(icons["entity"][platform])
    assert set(icons["services"]) == set(STRINGS["services"])
