"""The control routes of polls, edits and profile pictures: bad input names the field.

A poll and its votes, edits and pictures seen by a page are tested with a real client in
tests/client/test_message_kinds.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.account import StoredMessage, make_key, new_own_id
from simulator.testing import ControlError, Simulator

from .test_server_phone import browser_tab

if TYPE_CHECKING:
    import aiohttp
    from playwright.async_api import Page

__all__ = ["browser_tab"]


async def first_message(sim: Simulator) -> str:
    chat = next(chat["id"] for chat in await sim.control.chats() if not chat["is_group"])
    return await sim.control.incoming(chat, "plain text")


async def test_votes_need_a_poll(sim: Simulator) -> None:
    message = await first_message(sim)
    with pytest.raises(ControlError) as caught:
        await sim.control.vote(message, ["Yes"])
    assert (caught.value.status, caught.value.body["error"]["field"]) == (400, "id")
    with pytest.raises(ControlError) as caught:
        await sim.control.request("POST", "_sim/vote", {"id": message, "options": "Yes"})
    assert caught.value.body["error"]["field"] == "options"


async def test_edits_by_the_sender(sim: Simulator) -> None:
    message = await first_message(sim)
    await sim.control.edit(message, "plain text, edited")
    truth = await sim.control.message(message)
    assert truth["body"] == "plain text, edited"
    assert truth["latestEditSenderTimestampMs"] > 0
    with pytest.raises(ControlError) as caught:
        await sim.control.edit(message, " ")
    assert caught.value.body["error"]["field"] == "body"
    with pytest.raises(ControlError) as caught:
        await sim.control.edit("false_1234567@c.us_3AFFFF", "x")
    assert (caught.value.status, caught.value.body["error"]["field"]) == (404, "id")


async def test_pictures(sim: Simulator, session: aiohttp.ClientSession) -> None:
    with pytest.raises(ControlError) as caught:
        await sim.control.request("POST", "_sim/picture", {"id": "x", "data_b64": "AA=="})
    assert caught.value.body["error"]["field"] == "id"
    contact = next(chat["id"] for chat in await sim.control.chats() if not chat["is_group"])
    with pytest.raises(ControlError) as caught:
        await sim.control.request("POST", "_sim/picture", {"id": contact, "data_b64": "%%"})
    assert caught.value.body["error"]["field"] == "data_b64"
    await sim.control.picture(contact, b"\xff\xd8picture")
    await sim.control.picture(contact, None)
    async with session.get(sim.url + "_sim/pps/unknown") as response:
        assert response.status == 404


async def test_phone_page_votes_and_edits(sim: Simulator, browser_tab: Page) -> None:
    """A person votes on a poll and edits a message from the phone page."""
    chat = next(c.id for c in sim.account.chat_order() if not c.is_group)
    key = make_key(True, chat, new_own_id())
    poll = StoredMessage(
        chat,
        {
            "id": key,
            "type": "poll_creation",
            "pollName": "Lunch?",
            "pollOptions": [{"name": "Soup", "localId": 0}, {"name": "Salad", "localId": 1}],
            "pollSelectableOptionsCount": 1,
            "t": 1,
        },
    )
    sim.account.add_message(poll)
    message = await first_message(sim)
    await browser_tab.goto(sim.url + "_sim/phone")
    await browser_tab.fill("#vote-id", poll.key)
    await browser_tab.fill("#vote-options", "Salad")
    await browser_tab.click("#vote-form button")
    await browser_tab.wait_for_function(
        "document.getElementById('act-result').textContent === 'voted'"
    )
    assert (await sim.control.message(poll.key))["votes"] == {chat: [1]}
    await browser_tab.fill("#edit-id", message)
    await browser_tab.fill("#edit-body", "typed again")
    await browser_tab.click("#edit-form button")
    await browser_tab.wait_for_function(
        "document.getElementById('act-result').textContent === 'edited'"
    )
    assert (await sim.control.message(message))["body"] == "typed again"
