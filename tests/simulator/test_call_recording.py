"""The page records the module calls clients make (`--record-calls`), for the differential test."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.testing import ControlError, Simulator

from .test_page import browser_page, open_page, wait_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

__all__ = ["browser_page"]


async def test_client_calls_are_recorded_with_argument_shapes_only(browser_page: Any) -> None:
    playwright, root = browser_page
    async with Simulator(chats=3, messages=2, record_calls=True) as simulator:
        context, page = await open_page(playwright, root / "p", simulator.url)
        try:
            await wait_state(page, "UNPAIRED")
            await simulator.control.link(qr=(await simulator.control.state())["qr"])
            await wait_state(page, "CONNECTED")
            await page.wait_for_function(
                "() => window.require('WAWebSocketModel').Socket.hasSynced === true"
            )
            # What the page did by itself (sync, snapshot) and what the test read so far.
            await simulator.control.collect_calls()

            chat_id = (await simulator.control.state())["me"]["id"]
            result = await page.evaluate(
                """async (chatId) => {
                    const collections = window.require('WAWebCollections');
                    const factory = window.require('WAWebWidFactory');
                    const wid = factory.createWid(chatId);
                    const chats = collections.Chat.getModelsArray();
                    const key = new (window.require('WAWebMsgKey'))({
                        fromMe: true, remote: wid, id: 'ABC', participant: undefined,
                    });
                    return {
                        sameModule: window.require('WAWebCollections') === collections,
                        sameMember: collections.Chat === window.require('WAWebCollections').Chat,
                        widIsWid: wid instanceof factory.createWid(chatId).constructor,
                        keyText: key.toString(),
                        chats: chats.length,
                    };
                }""",
                chat_id,
            )
            assert result["sameModule"] is True
            assert result["sameMember"] is True
            assert result["widIsWid"] is True
            assert result["chats"] == 3
            assert chat_id in result["keyText"]

            calls = await simulator.control.collect_calls()
            assert "WAWebWidFactory.createWid(string)" in calls
            assert "WAWebCollections.Chat.getModelsArray()" in calls
            # Object arguments are recorded by their keys and types, undefined keys left out.
            assert "new WAWebMsgKey({fromMe:boolean,id:string,remote:Wid})" in calls
            # Values never reach the record.
            assert not [call for call in calls if chat_id.split("@")[0] in call]
            # Collected calls are handed over once.
            assert await simulator.control.collect_calls() == []
        finally:
            await context.close()


async def test_collecting_without_the_option_is_refused() -> None:
    async with Simulator(chats=1, messages=1) as simulator:
        with pytest.raises(ControlError) as refused:
            await simulator.control.collect_calls()
        assert refused.value.status == 409
        assert refused.value.body["error"]["field"] == "record_calls"
