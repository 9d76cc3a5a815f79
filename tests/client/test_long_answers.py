"""Answers longer than one part: a chat list of hundreds of chats, a message of 300,000 characters.

The page hands a long list over in parts of 250 records and any other long answer as slices of
256 Ki characters of one JSON text (bridge.js, callEncoded). These tests check that what arrives
is exactly what the phone holds: every chat once, in WhatsApp's order, every character of a text
whatever falls on a part boundary, through both drivers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
import shutil
from typing import Any

import pytest

from custom_components.whatsapp_web.client import WhatsAppWebClient
from simulator.testing import Simulator
from tests.support.clients import DRIVERS, browser_for, link, new_client, short_tmp

pytestmark = pytest.mark.usefixtures("socket_enabled")

# More than two parts of 250 records; group chats among them carry their participants.
CHATS = 610
GROUPS = 12
# More messages than one part of a message list.
LONG_HISTORY = 300
# A text longer than one 256 Ki-character slice of the answer.
LONG_TEXT_PAIRS = 150_000
ONE_SHOT = "(op, args) => globalThis.__whatsappWebBridge.call(op, args).then(JSON.stringify)"
# The first chat's record and last message get values a packed part must not take for ids: a user
# with an "@", a _serialized that is not user@server, a MsgKey whose _serialized disagrees, a MsgKey
# with a participant, undefined and null values, nested and empty objects, odd keys.
ODD_VALUES = """() => {
    const chat = window.require('WAWebCollections').Chat.getModelsArray()[0];
    const serializeChat = chat.serialize.bind(chat);
    chat.serialize = () => Object.assign(serializeChat(), { name: undefined, t: 1.5, isLocked: null });
    const message = chat.msgs.getModelsArray().filter((msg) => !msg.isNotification).pop();
    const serializeMessage = message.serialize.bind(message);
    message.serialize = () => Object.assign(serializeMessage(), {
        author: { server: 'c.us', user: 'a@b', _serialized: 'a@b@c.us' },
        quotedParticipant: { server: 'c.us', user: '1', _serialized: '2@c.us' },
        quotedStanzaID: { fromMe: true, remote: '1@c.us', id: 'X', _serialized: 'false_1@c.us_X' },
        protocolMessageKey: {
            fromMe: false, remote: '1@g.us', id: 'Y',
            participant: { server: 'c.us', user: '2', _serialized: '2@c.us' },
            _serialized: 'false_1@g.us_Y_2@c.us',
        },
        nested: { deeper: { wid: { server: 'c.us', user: '1', _serialized: '1@c.us' } }, empty: {} },
        pollOptions: [{ id: { server: 'c.us', user: '1', _serialized: '1@c.us' } }, null],
        '': 'an empty key', 7: 'a numeric key', 'with space': undefined,
    });
}"""


@pytest.fixture(params=DRIVERS)
async def many_chats(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[WhatsAppWebClient, Simulator]]:
    root = short_tmp()
    try:
        async with (
            Simulator(chats=CHATS, messages=2, contacts=20, groups=GROUPS, seed=11) as simulator,
            browser_for(request.param, root) as (factory, _remote),
        ):
            client = new_client(simulator, factory)
            try:
                await link(client, simulator, timeout=60)
                yield client, simulator
            finally:
                await client.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_long_chat_list_arrives_whole_and_in_order(many_chats: Any) -> None:
    client, simulator = many_chats
    truth = await simulator.control.chats()
    chats = await client.get_chats()

    assert len(truth) > 2 * 250
    assert [chat.id for chat in chats] == [chat["id"] for chat in truth]
    by_id = {chat["id"]: chat for chat in truth}
    for chat in chats:
        expected = by_id[chat.id]
        assert chat.is_group is expected["is_group"]
        assert chat.unread_count == expected["unread_count"]
        assert chat.pinned is expected["pinned"]
        if chat.last_message is not None:
            assert chat.last_message.chat_id == chat.id
        elif not chat.is_group:
            assert expected["messages"] == 0
    assert sum(bool(chat.participants) for chat in chats) == sum(chat["is_group"] for chat in truth)


async def test_long_contact_and_message_lists_arrive_whole(many_chats: Any) -> None:
    client, simulator = many_chats
    contacts = await client.get_contacts()
    assert len(contacts) > 250
    # A contact known by LID is listed under its phone number, as whatsapp-web.js lists it.
    listed_as = {c.phone_id or c.id for c in simulator.account.contacts.values()}
    assert {contact.id for contact in contacts} >= listed_as

    chat = next(chat for chat in await simulator.control.chats() if not chat["is_group"])
    sent = await simulator.control.burst([chat["id"]], LONG_HISTORY)
    await simulator.control.wait_for(
        lambda: client.get_messages(chat["id"], limit=1),
        lambda newest: bool(newest) and newest[0].id == sent[-1],
        10,
    )
    messages = await client.get_messages(chat["id"], limit=LONG_HISTORY)
    # Newest first.
    assert [message.id for message in messages] == sent[::-1]
    assert [message.body for message in messages] == [
        f"burst {n}" for n in reversed(range(LONG_HISTORY))
    ]


async def test_parts_hold_what_one_answer_holds(many_chats: Any) -> None:
    client, _ = many_chats
    driver = client._require_session().driver
    await driver.evaluate(ODD_VALUES, timeout=30)
    whole = await driver.evaluate(ONE_SHOT, "getChats", {}, timeout=30)

    chats = await client.get_chats()

    # Parts are packed (keys once per shape, ids as strings); unpacked, the records are the
    # one answer's to the last key and its order, odd values included.
    records = [chat.data for chat in chats]
    assert records == json.loads(whole)["result"]
    assert json.dumps(records) == json.dumps(json.loads(whole)["result"])
    odd = records[0]["lastMessage"]
    assert odd["author"] == {"server": "c.us", "user": "a@b", "_serialized": "a@b@c.us"}
    assert odd["nested"]["deeper"]["wid"]["_serialized"] == "1@c.us"


async def test_long_text_keeps_every_character_across_part_boundaries(many_chats: Any) -> None:
    client, simulator = many_chats
    chat = next(chat for chat in await simulator.control.chats() if not chat["is_group"])
    # Emoji are two UTF-16 units; with and without one leading character, one of the two texts
    # puts a pair across the boundary between two slices.
    bodies = [
        "\U0001f600" * LONG_TEXT_PAIRS + " end",
        "x" + "\U0001f600" * LONG_TEXT_PAIRS + " end",
        # A lone surrogate is not valid UTF-8; it must come back as it went in.
        "lone \ud800 surrogate " + "\u00e9" * 300_000,
    ]
    for body in bodies:
        message_id = await simulator.control.incoming(chat["id"], body)
        message = await client.get_message(message_id)
        assert message.body == body


async def test_parts_are_handed_over_once(many_chats: Any) -> None:
    client, _ = many_chats
    driver = client._require_session().driver
    announced = await driver.evaluate(
        "(op, args) => globalThis.__whatsappWebBridge.callEncoded(op, args)",
        "getChats",
        {},
        timeout=30,
    )
    assert announced["records"] is True
    assert announced["parts"] == -(-CHATS // 250)

    session = client._require_session()
    first = await session.answer_in_parts(announced, 30)
    again = await session.answer_in_parts(announced, 30)
    unknown = await session.answer_in_parts(announced | {"handle": "another-document.1"}, 30)

    assert len(first["result"]) == CHATS
    assert again is None
    assert unknown is None
