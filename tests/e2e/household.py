"""The demo's household: automations, scripts and a dashboard that show what the integration does.

``script/demo`` furnishes its Home Assistant with them once the account is linked (their entity ids
exist only then), through the same REST and WebSocket commands the automation, script and dashboard
editors use: they land in ``automations.yaml``, ``scripts.yaml`` and the default dashboard's storage,
where a person can open and edit them. What exists already is left alone, so edits survive a restart.

- ``ping`` in a one-to-one chat is answered with ``pong`` (the project's reply-bot blueprint);
- ``photo`` is answered with the demo camera's snapshot (a plain automation);
- a call turns the demo bed light on and writes a logbook line (the missed-call blueprint);
- the second one-to-one chat's phone number is mapped to the owner's person (the one onboarding made),
  who may talk to Assist: "turn off the kitchen lights" written from there is done and answered;
- the default dashboard, "WhatsApp", shows the account, the last message, the logbook, the camera, and
  buttons that run scripts sending a text, a location and the camera's snapshot to the first chat.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
from typing import TYPE_CHECKING, Any, Final

from tests.e2e.harness import HarnessError, HaWebSocket, api_json, whatsapp_entries

if TYPE_CHECKING:
    import aiohttp

DEMO_CAMERA: Final = "camera.demo_camera"
DEMO_LIGHT: Final = "light.bed_light"
ASSIST_LIGHT: Final = "light.kitchen_lights"
ASSIST_EXAMPLE: Final = "Turn off the kitchen lights"
DASHBOARD_TITLE: Final = "WhatsApp"
DASHBOARD_VIEW: Final = "whatsapp"
PING_REPLY: Final = "pong 🏓 {{ now().strftime('%H:%M:%S') }}"
CALL_LOGBOOK_NAME: Final = "WhatsApp call"

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoAccount:
    """What the household refers to: the linked account's entities and a chat to write to."""

    entry_id: str
    connection_sensor: str
    incoming_event: str
    first_chat: str
    assist_chat: str
    phone_url: str


async def find_account(
    session: aiohttp.ClientSession, base_url: str, token: str, simulator_url: str
) -> DemoAccount:
    """The first linked account, its connection sensor and event entity, the simulator's first chat."""
    entries = await whatsapp_entries(session, base_url, token)
    if not entries:
        raise HarnessError("no WhatsApp account is linked")
    entry_id = entries[0]["entry_id"]
    websocket = await HaWebSocket.connect(session, base_url, token)
    try:
        registry = await websocket.command({"type": "config/entity_registry/list"})
    finally:
        await websocket.close()
    # The integration's unique ids end with the entity's key (entity.py: ``{account}_{key}``).
    own = [item for item in registry if item.get("config_entry_id") == entry_id]

    def entity_with_key(key: str) -> str:
        for item in own:
            if str(item.get("unique_id")).endswith(f"_{key}"):
                return str(item["entity_id"])
        raise HarnessError(f"the account has no {key} entity: {[i['entity_id'] for i in own]}")

    chats = await api_json(session, "GET", f"{simulator_url}_sim/chats")
    # One-to-one chats first (a small seeded data set may hold only groups).
    ordered = sorted(chats["chats"], key=lambda chat: bool(chat["is_group"]))
    if not ordered:
        raise HarnessError("the simulator's account has no chat")
    # Assist gets a chat of its own: in the first one, ping and photo would reach the agent too.
    one_to_one = [str(chat["id"]) for chat in ordered if not chat["is_group"]]
    return DemoAccount(
        entry_id=entry_id,
        connection_sensor=entity_with_key("connection_state"),
        incoming_event=entity_with_key("incoming"),
        first_chat=str(ordered[0]["id"]),
        assist_chat=one_to_one[1] if len(one_to_one) > 1 else str(ordered[0]["id"]),
        phone_url=f"{simulator_url}_sim/phone",
    )


def phone_number(chat_id: str) -> str:
    """``+<digits>`` of a one-to-one chat id, as a person types it into the options."""
    return "+" + chat_id.partition("@")[0]


def automations(account: DemoAccount) -> dict[str, dict[str, Any]]:
    """The demo's automations by id, as the automation editor saves them."""
    return {
        "whatsapp_demo_ping": {
            "alias": "WhatsApp: answer ping with pong",
            "description": "The project's reply-bot blueprint: ping in a one-to-one chat gets a pong.",
            "use_blueprint": {
                "path": "whatsapp_web/reply_bot.yaml",
                "input": {"keyword": "ping", "reply": PING_REPLY},
            },
        },
        "whatsapp_demo_photo": {
            "alias": "WhatsApp: answer photo with the camera's snapshot",
            "description": "A message that says photo gets the demo camera's snapshot back.",
            "mode": "queued",
            "triggers": [{"trigger": "event", "event_type": "whatsapp_message_received"}],
            "conditions": [
                {
                    "condition": "template",
                    "value_template": (
                        "{{ (trigger.event.data.body | default('') | trim | lower) == 'photo'"
                        " and not trigger.event.data.id.remote.endswith('@g.us') }}"
                    ),
                }
            ],
            "actions": [
                {
                    "action": "whatsapp_web.send_message",
                    "data": {
                        "config_entry_id": "{{ trigger.event.data.config_entry_id }}",
                        "chat_id": "{{ trigger.event.data.id.remote }}",
                        "camera_entity_id": DEMO_CAMERA,
                        "msg": "The demo camera at {{ now().strftime('%H:%M:%S') }}",
                    },
                }
            ],
        },
        "whatsapp_demo_call": {
            "alias": "WhatsApp: a call turns the bed light on",
            "description": "The project's missed-call blueprint: light on, a logbook line, an answer.",
            "use_blueprint": {
                "path": "whatsapp_web/notify_missed_call.yaml",
                "input": {
                    "notify_actions": [
                        {"action": "light.turn_on", "target": {"entity_id": DEMO_LIGHT}},
                        {
                            "action": "logbook.log",
                            "data": {
                                "name": CALL_LOGBOOK_NAME,
                                "message": "from +{{ caller }} turned the bed light on",
                                "entity_id": account.incoming_event,
                            },
                        },
                    ],
                    "auto_reply": True,
                    "auto_reply_text": (
                        "Home Assistant does not take calls, but it turned the light on. "
                        "Send ping or photo."
                    ),
                },
            },
        },
    }


def _send(account: DemoAccount, **data: Any) -> list[dict[str, Any]]:
    return [
        {"action": "whatsapp_web.send_message", "data": {"chat_id": account.first_chat, **data}}
    ]


def scripts(account: DemoAccount) -> dict[str, dict[str, Any]]:
    """The dashboard's buttons by script id, as the script editor saves them."""
    return {
        "whatsapp_demo_send_text": {
            "alias": "WhatsApp: send a text",
            "icon": "mdi:message-text",
            "sequence": _send(
                account, msg="Hello from Home Assistant ({{ now().strftime('%H:%M') }})"
            ),
        },
        "whatsapp_demo_send_location": {
            "alias": "WhatsApp: send the home location",
            "icon": "mdi:map-marker",
            "sequence": _send(
                account,
                location={
                    "latitude": "{{ state_attr('zone.home', 'latitude') }}",
                    "longitude": "{{ state_attr('zone.home', 'longitude') }}",
                    "name": "Home",
                },
            ),
        },
        "whatsapp_demo_send_snapshot": {
            "alias": "WhatsApp: send the camera's snapshot",
            "icon": "mdi:cctv",
            "sequence": _send(account, camera_entity_id=DEMO_CAMERA, msg="The demo camera"),
        },
    }


def _button(script_id: str, name: str, icon: str) -> dict[str, Any]:
    return {
        "type": "button",
        "entity": f"script.{script_id}",
        "name": name,
        "icon": icon,
        "tap_action": {"action": "toggle"},
    }


def dashboard(account: DemoAccount) -> dict[str, Any]:
    """The default dashboard's configuration."""
    try_it = (
        f"Open the [simulated phone]({account.phone_url}) and write to Home Assistant:\n\n"
        "- **ping**: it answers *pong*;\n"
        "- **photo**: it sends the demo camera's snapshot;\n"
        "- **call** it: the bed light turns on and the logbook says so.\n\n"
        f"From **{phone_number(account.assist_chat)}** (mapped to you), talk to Assist: "
        f"*{ASSIST_EXAMPLE.lower()}*, *what time is it?*\n\n"
        "The buttons send to the first chat; the phone shows what arrives."
    )
    return {
        "title": DASHBOARD_TITLE,
        "views": [
            {
                "title": DASHBOARD_TITLE,
                "path": DASHBOARD_VIEW,
                "icon": "mdi:whatsapp",
                "cards": [
                    {"type": "markdown", "title": "Try it", "content": try_it},
                    {
                        "type": "entities",
                        "title": "Account",
                        "entities": [
                            {"entity": account.connection_sensor, "name": "Connection"},
                            {"entity": account.incoming_event, "name": "Last message or call"},
                            DEMO_LIGHT,
                            ASSIST_LIGHT,
                        ],
                    },
                    {
                        "type": "horizontal-stack",
                        "cards": [
                            _button("whatsapp_demo_send_text", "Send a text", "mdi:message-text"),
                            _button(
                                "whatsapp_demo_send_location", "Send location", "mdi:map-marker"
                            ),
                            _button("whatsapp_demo_send_snapshot", "Send snapshot", "mdi:cctv"),
                        ],
                    },
                    {
                        "type": "logbook",
                        "title": "WhatsApp logbook",
                        "entities": [account.connection_sensor, account.incoming_event],
                        "hours_to_show": 24,
                    },
                    {"type": "picture-entity", "entity": DEMO_CAMERA, "name": "Demo camera"},
                ],
            }
        ],
    }


async def _create_missing(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    kind: str,
    items: dict[str, dict[str, Any]],
) -> None:
    """Save each item the ``kind`` editor (automation, script) does not have yet."""
    for item_id, config in items.items():
        route = f"{base_url}/api/config/{kind}/config/{item_id}"
        async with session.get(route, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status == 200:
                continue
        await api_json(session, "POST", route, token, config)
        _LOGGER.info("created %s %s", kind, item_id)


async def _create_dashboard(
    session: aiohttp.ClientSession, base_url: str, token: str, config: dict[str, Any]
) -> None:
    """Make ``config`` the default dashboard unless someone saved one already."""
    websocket = await HaWebSocket.connect(session, base_url, token)
    try:
        message_id = await websocket.send({"type": "lovelace/config"})
        answer = await websocket.receive_result(message_id)
        if answer.get("success"):
            return
        if (answer.get("error") or {}).get("code") != "config_not_found":
            raise HarnessError(f"lovelace/config failed: {answer.get('error')}")
        await websocket.command({"type": "lovelace/config/save", "config": config})
        _LOGGER.info("created the %s dashboard", DASHBOARD_TITLE)
    finally:
        await websocket.close()


async def _options_step(
    session: aiohttp.ClientSession, base_url: str, token: str, entry_id: str, step: str
) -> dict[str, Any]:
    """Open the account's options (a menu) and choose ``step``; returns that step's form."""
    flows = f"{base_url}/api/config/config_entries/options/flow"
    menu = await api_json(session, "POST", flows, token, {"handler": entry_id})
    form: dict[str, Any] = await api_json(
        session, "POST", f"{flows}/{menu['flow_id']}", token, {"next_step_id": step}
    )
    return form


async def _submit(
    session: aiohttp.ClientSession, base_url: str, token: str, form: dict[str, Any], data: Any
) -> None:
    flows = f"{base_url}/api/config/config_entries/options/flow"
    result = await api_json(session, "POST", f"{flows}/{form['flow_id']}", token, data)
    if result.get("type") != "create_entry":
        raise HarnessError(
            f"the options' {form.get('step_id')} form refused: {result.get('errors')}"
        )


async def _owner_person(session: aiohttp.ClientSession, base_url: str, token: str) -> str | None:
    """The entity id of the first person with a user (onboarding makes one for the owner)."""
    websocket = await HaWebSocket.connect(session, base_url, token)
    try:
        listed = await websocket.command({"type": "person/list"})
    finally:
        await websocket.close()
    with_user = [item for item in listed.get("storage", []) if item.get("user_id")]
    if not with_user:
        return None
    return f"person.{with_user[0]['id']}"


async def _map_assist_person(
    session: aiohttp.ClientSession, base_url: str, token: str, account: DemoAccount
) -> None:
    """Map the Assist chat's number to the owner and let them talk to Assist, unless people exist.

    The options are changed through the options flow, as a person would in Settings; a mapping saved
    before (by an earlier start or by hand) is left as it is.
    """
    people_form = await _options_step(session, base_url, token, account.entry_id, "people")
    if (people_form.get("description_placeholders") or {}).get("people", "-") != "-":
        await _abort(session, base_url, token, people_form)
        return
    person = await _owner_person(session, base_url, token)
    if person is None:
        await _abort(session, base_url, token, people_form)
        _LOGGER.warning("no person with a user: Assist over WhatsApp is not set up")
        return
    await _submit(
        session,
        base_url,
        token,
        people_form,
        {"person": person, "ids": [phone_number(account.assist_chat)]},
    )
    assist_form = await _options_step(session, base_url, token, account.entry_id, "assist")
    await _submit(session, base_url, token, assist_form, {"assist_people": [person]})
    _LOGGER.info("mapped %s to %s, who may talk to Assist", account.assist_chat, person)


async def _abort(
    session: aiohttp.ClientSession, base_url: str, token: str, form: dict[str, Any]
) -> None:
    flows = f"{base_url}/api/config/config_entries/options/flow"
    await api_json(session, "DELETE", f"{flows}/{form['flow_id']}", token)


async def furnish(
    session: aiohttp.ClientSession, base_url: str, token: str, simulator_url: str
) -> DemoAccount:
    """Create what the household lacks; returns the account it refers to."""
    account = await find_account(session, base_url, token, simulator_url)
    await _create_missing(session, base_url, token, "script", scripts(account))
    await _create_missing(session, base_url, token, "automation", automations(account))
    await _create_dashboard(session, base_url, token, dashboard(account))
    await _map_assist_person(session, base_url, token, account)
    return account
