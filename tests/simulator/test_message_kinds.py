"""The control routes of polls, edits and profile pictures: bad input names the field.

A poll and its votes, edits and pictures seen by a page are tested with a real client in
tests/client/test_message_kinds.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simulator.testing import ControlError, Simulator

if TYPE_CHECKING:
    import aiohttp


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
