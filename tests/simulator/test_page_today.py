"""Today's WhatsApp Web, as the strict simulated page plays it (docs/whatsapp-web-surface.md).

Each test shows the old call shape failing as it fails on the real page (the same exception text
where the real one is known) and the new shape working, in a real Chromium on a linked page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import os
import shutil
from typing import Any

from playwright.async_api import Page, async_playwright
import pytest

from simulator.testing import Simulator
from tests.support.clients import CHROMIUM, short_tmp

pytestmark = pytest.mark.usefixtures("socket_enabled")

type Linked = tuple[Page, Simulator]


@pytest.fixture
async def linked() -> AsyncIterator[Linked]:
    """A page of a seeded simulator, linked and synced."""
    root = short_tmp()
    async with (
        Simulator(chats=6, messages=8, contacts=12, groups=2, seed=5) as simulator,
        async_playwright() as playwright,
    ):
        context = await playwright.chromium.launch_persistent_context(
            str(root / "p"),
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            await page.goto(simulator.url)
            await page.wait_for_function(
                "() => window.require('WAWebSocketModel').Socket.state === 'UNPAIRED'"
            )
            await simulator.control.link(qr=(await simulator.control.state())["qr"])
            await page.wait_for_function(
                "() => window.require('WAWebSocketModel').Socket.hasSynced === true",
                timeout=15_000,
            )
            yield page, simulator
        finally:
            await context.close()
            shutil.rmtree(root, ignore_errors=True)


async def outbox(simulator: Simulator, kind: str) -> list[dict[str, Any]]:
    return [entry for entry in await simulator.control.sent() if entry["kind"] == kind]


async def test_load_earlier_msgs_takes_one_options_object(linked: Linked) -> None:
    """§8.1 C21: positional (chat, msgs) throws the real TypeError; {chat, msgCollection} loads."""
    page, simulator = linked
    chat = next(c for c in await simulator.control.chats() if not c["is_group"])
    answer = await page.evaluate(
        """async (id) => {
            const chat = window.require('WAWebCollections').Chat.get(id);
            const load = window.require('WAWebChatLoadMessages');
            let positional;
            try { await load.loadEarlierMsgs(chat, chat.msgs); } catch (error) { positional = error.message; }
            const before = chat.msgs.getModelsArray().length;
            const earlier = await load.loadEarlierMsgs({ chat, msgCollection: chat.msgs });
            return { positional, before, loaded: earlier.length, after: chat.msgs.getModelsArray().length };
        }""",
        chat["id"],
    )
    assert (
        answer["positional"] == "Cannot read properties of undefined (reading 'waitForChatLoading')"
    )
    assert answer["loaded"] == chat["messages"] - answer["before"] > 0
    assert answer["after"] == chat["messages"]


async def test_join_group_via_invite_lives_in_the_invite_job(linked: Linked) -> None:
    """§8.1 C35: only WAWebGroupInviteJob has joinGroupViaInvite."""
    page, simulator = linked
    group = next(g for g in simulator.account.groups.values() if g.subject == "Open Invite Group")
    answer = await page.evaluate(
        """async (code) => {
            const old = typeof window.require('WAWebGroupQueryJob').joinGroupViaInvite;
            const joined = await window.require('WAWebGroupInviteJob').joinGroupViaInvite(code);
            return { old, gid: joined.gid._serialized };
        }""",
        group.invite_code,
    )
    assert answer == {"old": "undefined", "gid": group.id}
    assert [(e["action"], e["group"]) for e in await outbox(simulator, "group")] == [
        ("join", group.id)
    ]


async def test_block_list_holds_lids(linked: Linked) -> None:
    """§8.1 C33: a phone-number contact without a chat cannot be blocked until resolved to its LID."""
    page, simulator = linked
    account = simulator.account
    contact = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and c.id not in account.chats
    )
    answer = await page.evaluate(
        """async (id) => {
            const { Contact, Blocklist } = window.require('WAWebCollections');
            const action = window.require('WAWebBlockContactAction');
            const found = await Contact.find(id);
            let direct;
            try { await action.blockContact({ contact: found }); } catch (error) { direct = error.message; }
            const resolved = window.require('WAWebBlockContactUtils')
                .getContactToBlockOnlyUseIfNoAssociatedChat(found, 'ChatListBlock');
            await action.blockContact({ contact: resolved, blockEntryPoint: 'ChatListBlock' });
            await new Promise((resolve) => setTimeout(resolve, 200));
            const alternate = window.require('WAWebApiContact').getAlternateUserWid(found.id);
            return {
                direct,
                resolved: resolved.id._serialized,
                ownFlag: Contact.get(id).isContactBlocked,
                byPhone: Boolean(Blocklist.get(id)),
                byLid: Boolean(Blocklist.get(alternate)),
            };
        }""",
        contact.id,
    )
    assert "cannot resolve the account LID" in answer["direct"]
    assert answer["resolved"] == contact.lid
    assert answer["ownFlag"] is False, "a phone-number contact's own flag stays false"
    assert answer["byPhone"] is False
    assert answer["byLid"] is True
    [entry] = await outbox(simulator, "contact")
    assert (entry["action"], entry["contact"], entry["lid"]) == ("block", contact.id, contact.lid)


async def test_incoming_calls_only_write_the_call_map(linked: Linked) -> None:
    """§8.1 C20: a call is set into the collection's Map; `add` never fires."""
    page, simulator = linked
    await page.evaluate(
        """() => {
            const calls = window.require('WAWebCallCollection');
            window.__seen = { added: [], set: [] };
            calls.on('add', (call) => window.__seen.added.push(call.id));
            const map = Object.values(calls).find((value) => value instanceof Map);
            const original = map.set.bind(map);
            map.set = (key, value) => { window.__seen.set.push(value.id); return original(key, value); };
        }"""
    )
    caller = next(c.id for c in simulator.account.contacts.values() if c.id.endswith("@c.us"))
    call_id = await simulator.control.call(caller)
    await page.wait_for_function("() => window.__seen.set.length > 0")
    assert await page.evaluate("() => window.__seen") == {"added": [], "set": [call_id]}


async def test_created_groups_are_lid_addressed(linked: Linked) -> None:
    """§8.1 C41: addressingModeOverride 'lid' keys participants by LID."""
    page, simulator = linked
    person = next(
        c
        for c in simulator.account.contacts.values()
        if c.id.endswith("@c.us")
        and c.is_wa_contact
        and not c.is_blocked
        and not c.group_add_privacy
    )
    answer = await page.evaluate(
        """async (id) => {
            const wid = window.require('WAWebWidFactory').createWid(id);
            const created = await window.require('WAWebGroupCreateJob').createGroup(
                { title: 'LID group', addressingModeOverride: 'lid' }, [{ phoneNumber: wid }]);
            const metadata = window.require('WAWebCollections').GroupMetadata;
            for (let i = 0; i < 50 && !metadata.get(created.wid); i += 1) {
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            const group = metadata.get(created.wid);
            return {
                lidMode: group.isLidAddressingMode,
                added: created.participants.map((p) => p.wid._serialized),
                byPhone: Boolean(group.participants.get(id)),
                keys: group.participants.getModelsArray().map((p) => p.id._serialized),
            };
        }""",
        person.id,
    )
    assert answer["lidMode"] is True
    assert answer["added"] == [person.lid]
    assert answer["byPhone"] is False, "a LID-addressed group is not keyed by phone number"
    assert person.lid in answer["keys"]
    assert simulator.account.me.lid in answer["keys"]


async def test_adv_secret_key_moved_to_user_prefs_multi_device(linked: Linked) -> None:
    """§8.1 C38: the ADV key is read synchronously from WAWebUserPrefsMultiDevice only."""
    page, _simulator = linked
    answer = await page.evaluate(
        """() => ({
            old: typeof window.require('WAWebAdvSignatureApi').getADVSecretKey,
            key: window.require('WAWebUserPrefsMultiDevice').getADVSecretKey(),
        })"""
    )
    assert answer["old"] == "undefined"
    assert isinstance(answer["key"], str)
    assert len(answer["key"]) == 44


SEND_LOCATION = """async (id) => {
    const chat = window.require('WAWebCollections').Chat.get(id);
    const me = window.require('WAWebUserPrefsMeUser').getMaybeMePnUser();
    const MsgKey = window.require('WAWebMsgKey');
    const key = new MsgKey({ from: me, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' });
    const [added, sent] = window.require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {
        id: key, type: 'location', lat: 41.39, lng: 2.17, loc: 'Here', from: me, to: chat.id,
        t: Math.floor(Date.now() / 1000), ack: 0, local: true, self: 'out', isNewMsg: true,
    });
    await added;
    await sent;
    return key._serialized;
}"""

INSTALL_TYPE_HOOKS = """() => {
    const proto = window.require('WAWebE2EProtoUtils');
    const jobs = window.require('WAWebBackendJobsCommon');
    const type = proto.typeAttributeFromProtobuf;
    const media = jobs.mediaTypeFromProtobuf;
    proto.typeAttributeFromProtobuf = (message) => (message.locationMessage ? 'text' : type(message));
    jobs.mediaTypeFromProtobuf = (message) => (message.locationMessage ? null : media(message));
}"""


async def test_location_needs_the_protobuf_type_hooks(linked: Linked) -> None:
    """§8.1 C45: without the two type hooks a location is never delivered."""
    page, simulator = linked
    chat = next(c for c in await simulator.control.chats() if not c["is_group"])
    unhooked = await page.evaluate(SEND_LOCATION, chat["id"])
    assert (await simulator.control.message(unhooked))["undelivered"] is True
    assert await outbox(simulator, "message") == [], "never delivered without the hooks"
    await page.evaluate(INSTALL_TYPE_HOOKS)
    hooked = await page.evaluate(SEND_LOCATION, chat["id"])
    [entry] = await outbox(simulator, "message")
    assert (entry["id"], entry["type"]) == (hooked, "location")


async def test_prepared_media_blob_is_not_yet_opaque_data(linked: Linked) -> None:
    """§8.1 C44: the prepared blob needs wrapping; a document keeps its File name."""
    page, _simulator = linked
    answer = await page.evaluate(
        """async () => {
            const OpaqueData = window.require('WAWebMediaOpaqueData');
            const file = new File([new Uint8Array([37, 80, 68, 70])], 'notes.pdf', { type: 'application/pdf' });
            const opaque = await OpaqueData.createFromData(file, file.type);
            const prepared = await window.require('WAWebPrepRawMedia')
                .prepRawMedia(opaque, { asDocument: true }).waitForPrep();
            let url;
            try { prepared.mediaBlob.url(); } catch (error) { url = error.message; }
            const wrapped = await OpaqueData.createFromData(prepared.mediaBlob, prepared.mediaBlob.type);
            return {
                opaque: prepared.mediaBlob instanceof OpaqueData,
                url,
                wrappedUrl: wrapped.url().startsWith('blob:'),
                filename: prepared.filename,
            };
        }"""
    )
    assert answer["opaque"] is False
    assert answer["url"] == "prepared.mediaBlob.url is not a function"
    assert answer["wrappedUrl"] is True
    assert answer["filename"] == "notes.pdf"


async def test_incoming_key_ids_are_android_length(linked: Linked) -> None:
    """§8.1 C40: an Android sender's key id is longer than 25 characters."""
    page, simulator = linked
    chat = next(c for c in await simulator.control.chats() if not c["is_group"])
    key = await simulator.control.incoming(chat["id"], "a long id")
    await page.wait_for_function(
        "(id) => Boolean(window.require('WAWebCollections').Msg.get(id))", arg=key
    )
    key_id = await page.evaluate(
        "(id) => window.require('WAWebCollections').Msg.get(id).id.id", key
    )
    assert len(key_id) > 25


async def test_phone_number_chat_not_in_memory_needs_find_or_create(linked: Linked) -> None:
    """§8.1 C2: Chat.find of a phone-number chat not in memory throws; findOrCreateLatestChat works."""
    page, simulator = linked
    account = simulator.account
    contact = next(
        c
        for c in account.contacts.values()
        if c.id.endswith("@c.us") and c.is_wa_contact and c.id not in account.chats
    )
    answer = await page.evaluate(
        """async (id) => {
            const wid = window.require('WAWebWidFactory').createWid(id);
            let old;
            try { await window.require('WAWebCollections').Chat.find(wid); } catch (error) { old = error.message; }
            const found = await window.require('WAWebFindChatAction').findOrCreateLatestChat(wid);
            return { old, found: found.chat.id._serialized };
        }""",
        contact.id,
    )
    assert answer == {"old": "Lid is missing in chat table", "found": contact.id}


async def test_uncached_contact_is_found_by_wid_only(linked: Linked) -> None:
    """§8.1 C37: Contact.find of an uncached contact needs a Wid, not a string."""
    page, _simulator = linked
    answer = await page.evaluate(
        """async () => {
            const { Contact } = window.require('WAWebCollections');
            let old;
            try { await Contact.find('15550001111@c.us'); } catch (error) { old = error.message; }
            const wid = window.require('WAWebWidFactory').createWid('15550001111@c.us');
            return { old, found: (await Contact.find(wid)).id._serialized };
        }"""
    )
    assert answer == {"old": "gadd called without an id attr", "found": "15550001111@c.us"}
