"""Polls, edits, forwards, contact cards, search and profile pictures through services and REST.

Each operation runs end to end (face -> operations table -> client -> real Chromium -> simulator);
its effect is read from the simulator's truth (``/_sim/sent``, ``/_sim/messages``), and what others
do (a vote, an edit) is acted out on the simulated phone and must reach the bus.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from homeassistant.setup import async_setup_component
import pytest
import voluptuous as vol

from custom_components.whatsapp_web.const import (
    API_BASE,
    DOMAIN,
    EVENT_MESSAGE_EDIT,
    EVENT_POLL_VOTE,
)

from .linking import add_linked_entry
from .test_events import BusRecorder
from .test_operations_e2e import PNG, last_seq, sent_after

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from simulator.testing import Simulator

pytestmark = pytest.mark.timeout(180)


async def private_chats(sim: Simulator) -> list[str]:
    return [chat["id"] for chat in await sim.control.chats() if not chat["is_group"]]


async def test_polls_edits_and_their_events(
    hass: HomeAssistant, simulator: Simulator, hass_client: Any
) -> None:
    assert await async_setup_component(hass, "http", {})
    await add_linked_entry(hass, simulator)
    client = await hass_client()
    bus = BusRecorder(hass)
    chat = (await private_chats(simulator))[0]
    try:
        # A poll over REST.
        response = await client.post(
            f"{API_BASE}/chats/{chat}/polls",
            json={"question": "Pizza tonight?", "options": ["Yes", "No"]},
        )
        assert response.status == 200, await response.text()
        poll = await response.json()
        assert poll["type"] == "poll_creation"
        entry = await simulator.control.wait_sent(
            lambda item: item.get("id") == poll["id"]["_serialized"]
        )
        assert entry["poll"] == {
            "name": "Pizza tonight?",
            "options": ["Yes", "No"],
            "selectable_count": 1,
        }

        # Someone votes: whatsapp_poll_vote with the voter and the option's name.
        await simulator.control.vote(poll["id"]["_serialized"], ["No"])
        [vote] = await bus.wait(EVENT_POLL_VOTE)
        assert vote["voter"] == chat
        assert vote["selectedOptions"] == [{"name": "No", "localId": 1}]
        assert vote["parentMsgKey"]["_serialized"] == poll["id"]["_serialized"]
        assert "config_entry_id" in vote

        # A poll through the service, several answers allowed.
        answer = await hass.services.async_call(
            DOMAIN,
            "send_poll",
            {
                "chat_id": chat,
                "question": "Toppings",
                "options": ["Ham", "Olives", "Basil"],
                "allow_multiple_answers": True,
            },
            blocking=True,
            return_response=True,
        )
        assert answer is not None
        entry = await simulator.control.wait_sent(lambda item: item.get("id") == answer["id"])
        assert entry["poll"]["selectable_count"] == 0

        # Bad input names the field, on both faces.
        response = await client.post(
            f"{API_BASE}/chats/{chat}/polls", json={"question": "q", "options": ["only"]}
        )
        assert response.status == 400
        assert (await response.json())["error"]["field"] == "options"
        # The service's schema refuses it too, naming the field.
        with pytest.raises(vol.Invalid) as invalid:
            await hass.services.async_call(
                DOMAIN,
                "send_poll",
                {"chat_id": chat, "question": "q", "options": ["a", "a"]},
                blocking=True,
            )
        assert "options" in str(invalid.value)

        # This account edits its message over REST (PUT on the message); the phone sees the edit.
        sent = await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"chat_id": chat, "msg": "See you at 5"},
            blocking=True,
            return_response=True,
        )
        assert sent is not None
        await simulator.control.wait_sent(lambda item: item.get("id") == sent["id"])
        short = sent["id"].rsplit("_", 1)[-1]
        response = await client.put(
            f"{API_BASE}/chats/{chat}/messages/{short}", json={"msg": "See you at 6"}
        )
        assert response.status == 200, await response.text()
        assert (await response.json())["body"] == "See you at 6"
        edit = await simulator.control.wait_sent(lambda item: item["kind"] == "edit")
        assert edit == {**edit, "message_id": sent["id"], "body": "See you at 6"}
        own = await bus.wait_for(
            EVENT_MESSAGE_EDIT, lambda events: any(e["newBody"] == "See you at 6" for e in events)
        )
        assert own[-1]["prevBody"] == "See you at 5"

        # The other person edits theirs on their phone: whatsapp_message_edit.
        incoming = await simulator.control.incoming(chat, "I am late")
        await simulator.control.edit(incoming, "I am very late")
        theirs = await bus.wait_for(
            EVENT_MESSAGE_EDIT,
            lambda events: any(e["message"]["id"]["_serialized"] == incoming for e in events),
        )
        edited = next(e for e in theirs if e["message"]["id"]["_serialized"] == incoming)
        assert (edited["newBody"], edited["prevBody"]) == ("I am very late", "I am late")
        # ... which this account may not edit: a clear error, not a 500.
        response = await client.put(
            f"{API_BASE}/chats/{chat}/messages/{incoming}", json={"msg": "no"}
        )
        assert response.status == 409, await response.text()
        assert (await response.json())["error"]["code"] == "operation_failed"
        response = await client.put(f"{API_BASE}/chats/{chat}/messages/{short}", json={})
        assert response.status == 400
        assert (await response.json())["error"]["field"] == "msg"
    finally:
        bus.close()


async def test_forward_cards_search_and_profile_pictures(
    hass: HomeAssistant, simulator: Simulator, hass_client: Any
) -> None:
    assert await async_setup_component(hass, "http", {})
    await add_linked_entry(hass, simulator)
    client = await hass_client()
    first, second, third = (await private_chats(simulator))[:3]

    sent = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"chat_id": first, "msg": "Gate code 4711"},
        blocking=True,
        return_response=True,
    )
    assert sent is not None
    await simulator.control.wait_sent(lambda item: item.get("id") == sent["id"])

    # Forward over REST (204), then through the service.
    seq = await last_seq(simulator)
    response = await client.post(
        f"{API_BASE}/chats/{first}/messages/{sent['id']}/forward", json={"to_chat_id": second}
    )
    assert response.status == 204, await response.text()
    await hass.services.async_call(
        DOMAIN,
        "forward_message",
        {"chat_id": first, "message_id": sent["id"], "to_chat_id": third},
        blocking=True,
    )
    forwards = [
        item
        for item in await sent_after(simulator, seq)
        if item["kind"] == "message" and item["body"] == "Gate code 4711"
    ]
    assert {item["chat"] for item in forwards} == {second, third}
    for item in forwards:
        assert (await simulator.control.message(item["id"]))["isForwarded"] is True
    response = await client.post(
        f"{API_BASE}/chats/{first}/messages/{sent['id']}/forward", json={"to_chat_id": "not a chat"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "to_chat_id"

    # Contact cards: one over REST, two through the service.
    response = await client.post(
        f"{API_BASE}/chats/{first}/contact-cards", json={"contacts": [second]}
    )
    assert response.status == 200, await response.text()
    card = await response.json()
    entry = await simulator.control.wait_sent(
        lambda item: item.get("id") == card["id"]["_serialized"]
    )
    assert entry["type"] == "vcard"
    assert f"waid={second.split('@')[0]}" in entry["vcards"][0]
    answer = await hass.services.async_call(
        DOMAIN,
        "send_contact_card",
        {"chat_id": first, "contacts": [second, third]},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    entry = await simulator.control.wait_sent(lambda item: item.get("id") == answer["id"])
    assert entry["type"] == "multi_vcard"
    assert len(entry["vcards"]) == 2
    response = await client.post(f"{API_BASE}/chats/{first}/contact-cards", json={"contacts": []})
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "contacts"

    # Search, over REST and through the service.
    response = await client.get(
        f"{API_BASE}/messages/search", params={"query": "code 4711", "chat_id": first}
    )
    assert response.status == 200, await response.text()
    assert [item["id"]["_serialized"] for item in await response.json()] == [sent["id"]]
    found = await hass.services.async_call(
        DOMAIN,
        "search_messages",
        {"query": "Gate code", "limit": 10},
        blocking=True,
        return_response=True,
    )
    assert found is not None
    assert sent["id"] in {item["id"]["_serialized"] for item in found["messages"]}
    response = await client.get(f"{API_BASE}/messages/search", params={"limit": "5"})
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "query"

    # Profile pictures: 404 without one, the image with one.
    url = f"{API_BASE}/contacts/{second}/profile-picture"
    response = await client.get(url)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "profile_picture_not_found"
    await simulator.control.picture(second, PNG, "image/png")
    response = await client.get(url)
    assert response.status == 200, await response.text()
    assert response.content_type == "image/png"
    assert await response.read() == PNG
    picture = await hass.services.async_call(
        DOMAIN,
        "get_profile_picture",
        {"contact_id": second},
        blocking=True,
        return_response=True,
    )
    assert picture is not None
    assert base64.b64decode(picture["data_base64"]) == PNG
