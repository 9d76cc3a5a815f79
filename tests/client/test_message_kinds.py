"""Polls and votes, edits, forwards, contact cards, search and profile pictures: the client against
the real simulator in a real Chromium (Playwright; the drivers' equivalence is test_client_simulated's).

What the page did is read back from the simulated phone (`/_sim/sent`, `/_sim/messages`); what
others did is acted out through its control routes (`/_sim/vote`, `/_sim/edit`, `/_sim/picture`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
import shutil
from typing import Any

import aiohttp
import pytest

from custom_components.whatsapp_web.client import WhatsAppWebClient
from custom_components.whatsapp_web.client.errors import (
    InvalidArgument,
    OperationFailed,
    ProfilePictureNotFound,
)
from custom_components.whatsapp_web.client.models import MessageEdited, PollVoted
from simulator.testing import Simulator
from tests.support.clients import (
    Recorder,
    browser_for,
    linked_with_recorder,
    short_tmp,
)

from .test_client_simulated import PNG_1X1

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def linked() -> AsyncIterator[tuple[WhatsAppWebClient, Simulator, Recorder]]:
    root = short_tmp()
    try:
        async with (
            Simulator(chats=6, messages=4, contacts=8, groups=1, seed=11) as simulator,
            browser_for("local", root) as (factory, _remote),
            linked_with_recorder(simulator, factory) as (client, recorder),
        ):
            yield client, simulator, recorder
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def private_chats(simulator: Simulator) -> list[str]:
    return [chat["id"] for chat in await simulator.control.chats() if not chat["is_group"]]


async def sent_entry(simulator: Simulator, kind: str, **match: Any) -> dict[str, Any]:
    """The newest outbox entry of a kind with these fields, once the phone has it."""

    def matching(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            entry
            for entry in sent
            if entry["kind"] == kind and all(entry.get(k) == v for k, v in match.items())
        ]

    found = await simulator.control.wait_for(simulator.control.sent, matching, 10)
    return matching(found)[-1]


async def test_poll_is_sent_and_votes_arrive_as_events(linked: Any) -> None:
    client, simulator, recorder = linked
    chat = (await private_chats(simulator))[0]
    poll = await client.send_poll(chat, "Pizza tonight?", ["Yes", "No", "Later"])
    assert poll.type == "poll_creation"
    entry = await sent_entry(simulator, "message", id=poll.id)
    assert entry["type"] == "poll_creation"
    assert entry["poll"] == {
        "name": "Pizza tonight?",
        "options": ["Yes", "No", "Later"],
        "selectable_count": 1,
    }

    await simulator.control.vote(poll.id, ["Later"])
    voted = await recorder.wait_for(PollVoted)
    assert voted.vote.poll_id == poll.id
    assert voted.vote.voter == chat
    assert voted.vote.selected_options == ["Later"]
    payload = voted.vote.as_json()
    assert payload["selectedOptions"] == [{"name": "Later", "localId": 2}]
    assert payload["parentMessage"]["pollName"] == "Pizza tonight?"

    # A single-answer poll refuses two answers, naming the field.
    with pytest.raises(Exception, match="options"):
        await simulator.control.vote(poll.id, ["Yes", "No"])
    multiple = await client.send_poll(
        chat, "Toppings", ["Ham", "Olives"], allow_multiple_answers=True
    )
    assert (await sent_entry(simulator, "message", id=multiple.id))["poll"]["selectable_count"] == 0
    await simulator.control.vote(multiple.id, ["Ham", "Olives"])
    both = await recorder.wait_for(PollVoted, lambda event: event.vote.poll_id == multiple.id)
    assert both.vote.selected_options == ["Ham", "Olives"]
    assert (await simulator.control.message(multiple.id))["votes"] == {chat: [0, 1]}

    for bad, field in (
        ({"question": " ", "options": ["a", "b"]}, "question"),
        ({"question": "q", "options": ["only one"]}, "options"),
        ({"question": "q", "options": ["same", "same"]}, "options"),
    ):
        with pytest.raises(InvalidArgument) as caught:
            await client.send_poll(chat, bad["question"], bad["options"])
        assert caught.value.field == field


async def test_edits_by_this_account_and_by_others(linked: Any) -> None:
    client, simulator, recorder = linked
    chat = (await private_chats(simulator))[0]
    sent = await client.send_message(chat, "See you at 5")
    await sent_entry(simulator, "message", id=sent.id)
    edited = await client.edit_message(sent.id, "See you at 6")
    assert edited.body == "See you at 6"
    assert (await sent_entry(simulator, "edit", message_id=sent.id))["body"] == "See you at 6"
    assert (await simulator.control.message(sent.id))["body"] == "See you at 6"
    own = await recorder.wait_for(MessageEdited, lambda event: event.message.id == sent.id)
    assert (own.new_body, own.previous_body) == ("See you at 6", "See you at 5")

    incoming = await simulator.control.incoming(chat, "I am late")
    await simulator.control.edit(incoming, "I am very late")
    theirs = await recorder.wait_for(MessageEdited, lambda event: event.message.id == incoming)
    assert (theirs.new_body, theirs.previous_body) == ("I am very late", "I am late")
    assert theirs.message.from_me is False

    # Someone else's message cannot be edited here.
    with pytest.raises(OperationFailed):
        await client.edit_message(incoming, "mine now")
    with pytest.raises(InvalidArgument) as caught:
        await client.edit_message(sent.id, "  ")
    assert caught.value.field == "msg"


async def test_forward_contact_cards_and_search(linked: Any) -> None:
    client, simulator, _recorder = linked
    first, second, third = (await private_chats(simulator))[:3]
    original = await client.send_message(first, "The code is 4711")
    await sent_entry(simulator, "message", id=original.id)
    await client.forward_message(original.id, second)
    forwarded = await sent_entry(simulator, "message", chat=second, body="The code is 4711")
    truth = await simulator.control.message(forwarded["id"])
    assert truth["isForwarded"] is True
    assert truth["forwardingScore"] == 1

    card = await client.send_contact_cards(first, [second])
    entry = await sent_entry(simulator, "message", id=card.id)
    assert entry["type"] == "vcard"
    assert entry["vcards"][0].startswith("BEGIN:VCARD")
    assert f"waid={second.split('@')[0]}" in entry["vcards"][0]
    cards = await client.send_contact_cards(first, [second, third])
    entry = await sent_entry(simulator, "message", id=cards.id)
    assert entry["type"] == "multi_vcard"
    assert len(entry["vcards"]) == 2

    found = await client.search_messages("code is 4711")
    assert {message.id for message in found} >= {original.id}
    in_first = await client.search_messages("code is 4711", chat_id=first, limit=5)
    assert [message.id for message in in_first] == [original.id]
    with pytest.raises(InvalidArgument) as caught:
        await client.search_messages("")
    assert caught.value.field == "query"


async def test_profile_picture(linked: Any) -> None:
    client, simulator, _recorder = linked
    chat = (await private_chats(simulator))[0]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ProfilePictureNotFound):
            await client.get_profile_picture(chat, session)
        await simulator.control.picture(chat, PNG_1X1, "image/png")
        picture = await client.get_profile_picture(chat, session)
    assert picture.data == PNG_1X1
    assert picture.mimetype == "image/png"
    url = await client.profile_picture_url(chat)
    assert url is not None
    assert url.startswith(simulator.url.rstrip("/"))


def test_pictures_come_only_from_whatsapp(tmp_path: Path) -> None:
    client = WhatsAppWebClient(lambda: None, url="https://web.whatsapp.com/")  # type: ignore[arg-type,return-value]
    from yarl import URL  # noqa: PLC0415

    assert client._is_picture_server(URL("https://pps.whatsapp.net/v/t61/abc.jpg"))
    assert not client._is_picture_server(URL("http://pps.whatsapp.net/v/t61/abc.jpg"))
    assert not client._is_picture_server(URL("https://whatsapp.net.example.com/a.jpg"))
    assert not client._is_picture_server(URL("http://127.0.0.1:8123/api/"))
