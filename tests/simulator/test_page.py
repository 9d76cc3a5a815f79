"""The simulated WhatsApp Web page in a real Chromium: its module surface, linking and persistence."""

from __future__ import annotations

from collections.abc import AsyncIterator
import os
from pathlib import Path
import re
import shutil
import time
from typing import Any

from playwright.async_api import BrowserContext, Page, async_playwright
import pytest

from simulator.testing import Simulator
from tests.support.clients import CHROMIUM, short_tmp

pytestmark = pytest.mark.usefixtures("socket_enabled")

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "whatsapp-web-surface.md"
BRIDGE_SOURCE = (REPO / "custom_components/whatsapp_web/client/bridge.js").read_text(
    encoding="utf-8"
)
BRIDGE_MODULE = re.compile(r"\b(?:mod|optionalMod|member|invoke)\('([A-Za-z0-9_]+)'")

# whatsapp-web.js 1.34.6 requires these eagerly after authentication (docs/whatsapp-web-surface.md,
# Appendix B).
EAGER_1_34_6 = """WADeprecatedSendIq WALinkify WAMediaCalculateFilehash WAPhoneFindCC WAPhoneUtils
WASmaxGroupsAddParticipantsRPC WASmaxGroupsMembershipRequestsActionRPC WAWap WAWebAddWebpMetadata
WAWebAddonPollVoteTableMode WAWebAddonReactionTableMode WAWebApiContact WAWebApiDeviceList
WAWebApiMembershipApprovalRequestStore WAWebApiMessageInfoStore WAWebBizGatingUtils WAWebBizOrderBridge
WAWebBizProductCatalogBridge WAWebBlockContactAction WAWebBotMessageSecret WAWebBotProfileCollection
WAWebChangeNewsletterOwnerAction WAWebChatClearBridge WAWebChatForwardMessage WAWebChatGetters
WAWebChatLoadMessages WAWebChatMessageSearch WAWebChatSendMessages WAWebChatStateBridge WAWebCmd
WAWebCollections WAWebConnModel WAWebContactCollection WAWebContactGetters WAWebContactProfilePicThumbBridge
WAWebContactStatusBridge WAWebCountriesNativeCountryNames WAWebDBCreateOrUpdateReactions WAWebDeleteChatAction
WAWebDeleteContactAction WAWebDemoteNewsletterAdminAction WAWebDownloadManager WAWebDrawerManager
WAWebEditNewsletterMetadataAction WAWebExitGroupAction WAWebFindChatAction WAWebFindCommonGroupsContactAction
WAWebFrontendContactGetters WAWebFrontendVcardUtils WAWebGenerateEventCallLink
WAWebGetEphemeralFieldsMsgActionsUtils WAWebGroupCreateJob WAWebGroupInviteJob WAWebGroupInviteV4Job
WAWebGroupModifyInfoJob WAWebGroupQueryJob WAWebImageUtils WAWebJidToWid WAWebL10N WAWebLinkPreviewChatAction
WAWebLoadNewsletterPreviewChatAction WAWebMediaDataUtils WAWebMediaInMemoryBlobCache WAWebMediaMmsV4Upload
WAWebMediaOpaqueData WAWebMediaStorage WAWebMediaUpdateMsg WAWebMexAcceptNewsletterAdminInviteJob
WAWebMexFetchGroupInviteCodeJob WAWebMexFetchNewsletterSubscribersJob WAWebMexRevokeNewsletterAdminInviteJob
WAWebMmsMediaTypes WAWebModifyParticipantsGroupAction WAWebMsgActionCapability WAWebMsgDataFromModel WAWebMsgKey
WAWebMsgReply WAWebNewsletterCreateQueryJob WAWebNewsletterDeleteAction WAWebNewsletterDemoteAdminJob
WAWebNewsletterDirectorySearchAction WAWebNewsletterGatingUtils WAWebNewsletterMetadataQueryJob
WAWebNewsletterModelUtils WAWebNewsletterSendMessageJob WAWebNewsletterSendMsgAction
WAWebNewsletterSubscribeAction WAWebNewsletterSubscriberListAction WAWebNewsletterUnsubscribeAction
WAWebNewsletterUpdateMsgsRecordsJob WAWebNoteAction WAWebPinInChatSchema WAWebPollsSendVoteMsgAction
WAWebPollsVotesSchema WAWebPrepRawMedia WAWebPresenceChatAction WAWebQueryExistsJob WAWebQuotedMsgModelUtils
WAWebRevokeStatusAction WAWebSaveContactAction WAWebSendEventEditMsgAction WAWebSendEventResponseMsgAction
WAWebSendMessageEditAction WAWebSendMsgChatAction WAWebSendNonMessageDataRequest WAWebSendPinMessageAction
WAWebSendReactionMsgAction WAWebSendStatusMsgAction WAWebSetPropertyGroupAction WAWebSetPushnameConnAction
WAWebSocketModel WAWebStartMediaUploadQpl WAWebStatusGatingUtils WAWebStreamModel WAWebUpdateUnreadChatAction
WAWebUploadManager WAWebUserPrefsGeneral WAWebUserPrefsMeUser WAWebUserPrefsNotifications
WAWebVcardGetNameFromParsed WAWebVcardParsingUtils WAWebWid WAWebWidFactory WAWebWidToJid""".split()

GLOBALS_OWNED_BY_CLIENTS = """AuthStore WWebJS codeInterval onQRChangedEvent onCodeReceivedEvent
onAuthAppStateChangedEvent onAppStateHasSyncedEvent onOfflineProgressUpdateEvent onLogoutEvent
onAddMessageEvent onChangeMessageTypeEvent onChangeMessageEvent onRemoveMessageEvent onMessageAckEvent
onChatUnreadCountEvent onMessageMediaUploadedEvent onAppStateChangedEvent onBatteryStateChangedEvent
onIncomingCall onReaction onRemoveChatEvent onArchiveChatEvent onEditMessageEvent onAddMessageCiphertextEvent
onPollVoteEvent Store compareWwebVersions injectToFunction originalError mR""".split()


def documented_members() -> dict[str, list[str]]:
    """Appendix A of docs/whatsapp-web-surface.md: module -> members it documents (top-level names)."""
    text = REFERENCE.read_text(encoding="utf-8")
    appendix = text.split("## Appendix A", 1)[1].split("## Appendix B", 1)[0]
    found: dict[str, list[str]] = {}
    for line in appendix.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.match(r"^WA[A-Za-z0-9]+", cells[0]):
            continue
        module = cells[0].split()[0]
        if module.startswith("WAWebNewsletter*"):
            continue
        # "`get`/`setAutoDownload{...}`" is shorthand for getter/setter pairs, not members named get/set.
        members = [
            name.split(".")[0]
            for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)`", cells[1])
            if name not in ("get", "set")
        ]
        found[module] = members
    return found


@pytest.fixture
async def browser_page() -> AsyncIterator[tuple[Any, Path]]:
    root = short_tmp()
    async with async_playwright() as playwright:
        try:
            yield playwright, root
        finally:
            shutil.rmtree(root, ignore_errors=True)


async def open_page(playwright: Any, profile: Path, url: str) -> tuple[BrowserContext, Page]:
    context = await playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox"] if os.geteuid() == 0 else [],
    )
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(url)
    return context, page


async def socket_state(page: Page) -> str:
    return str(await page.evaluate("() => window.require('WAWebSocketModel').Socket.state"))


async def wait_state(page: Page, *states: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await socket_state(page)
        if state in states:
            return state
        await page.wait_for_timeout(50)
    raise AssertionError(f"state stayed {await socket_state(page)}, wanted {states}")


async def test_surface_offers_documented_modules_and_no_client_globals(browser_page: Any) -> None:
    playwright, root = browser_page
    async with Simulator(chats=3) as simulator:
        context, page = await open_page(playwright, root / "p", simulator.url)
        try:
            assert (
                await page.evaluate("() => window.Debug.VERSION")
                == (await simulator.control.state())["version"]
            )
            members = documented_members()
            assert len(members) > 100
            missing = await page.evaluate(
                """(members) => {
                    const missing = [];
                    for (const [name, list] of Object.entries(members)) {
                        let module;
                        try { module = window.require(name); } catch (error) { missing.push(name); continue; }
                        for (const member of list) {
                            if (member === 'whole' || member === 'hook' || member === 'spread') continue;
                            if (module[member] === undefined) missing.push(`${name}.${member}`);
                        }
                    }
                    return missing;
                }""",
                members,
            )
            # Appendix A is today's surface: members WhatsApp Web moved are listed where they are now.
            assert missing == []
            eager = await page.evaluate(
                "(names) => names.filter((name) => { try { return !window.require(name); } catch (e) { return true; } })",
                EAGER_1_34_6,
            )
            assert eager == []
            # Every module the bridge uses and the simulated page offers is in the project's reference.
            used = sorted({match.group(1) for match in BRIDGE_MODULE.finditer(BRIDGE_SOURCE)})
            offered = await page.evaluate(
                "(names) => names.filter((name) => { try { return Boolean(window.require(name)); }"
                " catch (e) { return false; } })",
                used,
            )
            assert len(offered) > 40, (
                "the extraction found too little; did the bridge's helpers change?"
            )
            reference = REFERENCE.read_text(encoding="utf-8")
            undocumented = [
                name
                for name in offered
                if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", reference)
            ]
            assert undocumented == []
            defined = await page.evaluate(
                "(names) => names.filter((name) => name in window)", GLOBALS_OWNED_BY_CLIENTS
            )
            assert defined == []
            with pytest.raises(Exception, match="unknown module"):
                await page.evaluate("() => window.require('WAWebDefinitelyNotAModule')")
            wid = await page.evaluate(
                """() => {
                    const wid = window.require('WAWebWidFactory').createWid('34600112233@c.us');
                    const key = new (window.require('WAWebMsgKey'))({from: wid, to: wid, id: 'ABC', selfDir: 'out'});
                    return {own: Object.keys(wid).sort(), user: wid.isUser(), group: wid.isGroup(), key: key._serialized,
                            parsed: window.require('WAWebMsgKey').fromString(key._serialized).id};
                }"""
            )
            assert wid == {
                "own": ["_serialized", "server", "user"],
                "user": True,
                "group": False,
                "key": "true_34600112233@c.us_ABC",
                "parsed": "ABC",
            }
        finally:
            await context.close()


async def test_qr_rotates_then_goes_idle_and_reload_restarts_it(browser_page: Any) -> None:
    playwright, root = browser_page
    async with Simulator(chats=2, qr_interval=0.3, qr_max=3) as simulator:
        context, page = await open_page(playwright, root / "p", simulator.url)
        try:
            await wait_state(page, "UNPAIRED")
            await page.evaluate(
                """() => { window.__refs = [];
                    window.require('WAWebConnModel').Conn.on('change:ref', (model, ref) => window.__refs.push(ref)); }"""
            )
            started = time.monotonic()
            await wait_state(page, "UNPAIRED_IDLE", timeout=10)
            elapsed = time.monotonic() - started
            refs = await page.evaluate("() => window.__refs")
            assert len(refs) == 3
            assert all(ref.startswith("2@") for ref in refs)
            assert len(set(refs)) == 3
            assert 0.5 < elapsed < 3
            qr = (await simulator.control.state())["qr"]
            fields = qr.split(",")
            assert len(fields) == 5
            import base64  # noqa: PLC0415

            assert [len(base64.b64decode(field)) for field in fields[1:4]] == [32, 32, 32]
            await page.reload()
            await wait_state(page, "UNPAIRED")
        finally:
            await context.close()


async def test_wrong_link_refused_right_one_links_and_profile_keeps_it(browser_page: Any) -> None:
    playwright, root = browser_page
    profile = root / "p"
    async with Simulator(chats=4, messages=2) as simulator:
        context, page = await open_page(playwright, profile, simulator.url)
        try:
            await wait_state(page, "UNPAIRED")
            qr = (await simulator.control.state())["qr"]
            with pytest.raises(Exception, match="qr"):
                await simulator.control.link(qr=qr[:-1] + ("0" if qr[-1] != "0" else "1"))
            with pytest.raises(Exception, match="code"):
                await simulator.control.link(code="ZZZZZZZZ")
            assert (await simulator.control.state())["linked"] is False
            await simulator.control.link(qr=qr)
            await wait_state(page, "CONNECTED")
            await page.wait_for_function(
                "() => window.require('WAWebSocketModel').Socket.hasSynced === true", timeout=10_000
            )
            chats = await page.evaluate(
                "() => window.require('WAWebCollections').Chat.getModelsArray().length"
            )
            assert chats == 4
        finally:
            await context.close()
        context, page = await open_page(playwright, profile, simulator.url)
        try:
            state = await wait_state(page, "CONNECTED", "UNPAIRED")
            assert state == "CONNECTED", "a new browser on the same profile comes back linked"
        finally:
            await context.close()


async def test_logout_from_the_phone_navigates_to_post_logout(browser_page: Any) -> None:
    playwright, root = browser_page
    async with Simulator(chats=2) as simulator:
        context, page = await open_page(playwright, root / "p", simulator.url)
        try:
            await wait_state(page, "UNPAIRED")
            await simulator.control.link(qr=(await simulator.control.state())["qr"])
            await wait_state(page, "CONNECTED")
            await page.evaluate(
                "() => { window.__events = []; const cmd = window.require('WAWebCmd').Cmd;"
                " cmd.on('logout', () => window.__events.push('logout'));"
                " cmd.on('logout_from_bridge', () => window.__events.push('logout_from_bridge')); }"
            )
            async with page.expect_navigation(url=re.compile(r"post_logout=1"), timeout=10_000):
                await simulator.control.connection("logout")
            await wait_state(page, "UNPAIRED")
        finally:
            await context.close()


async def test_five_thousand_chats_load_quickly(browser_page: Any) -> None:
    playwright, root = browser_page
    async with Simulator(chats=5000, messages=3, contacts=200, groups=50, seed=11) as simulator:
        context, page = await open_page(playwright, root / "p", simulator.url)
        try:
            await wait_state(page, "UNPAIRED")
            # A client listens for the sync before it links (the page waits for one, up to 3 s).
            await page.evaluate(
                "() => window.require('WAWebSocketModel').Socket.on('change:hasSynced', () => {})"
            )
            started = time.monotonic()
            await simulator.control.link(qr=(await simulator.control.state())["qr"])
            await page.wait_for_function(
                "() => window.require('WAWebSocketModel').Socket.hasSynced === true", timeout=20_000
            )
            elapsed = time.monotonic() - started
            count = await page.evaluate(
                "() => window.require('WAWebCollections').Chat.getModelsArray().length"
            )
            assert count == 5000
            assert elapsed < 5, f"5,000 chats took {elapsed:.2f} s"
        finally:
            await context.close()


async def test_page_stamps_a_new_message_as_it_hands_it_to_the_store(browser_page: Any) -> None:
    playwright, root = browser_page
    async with Simulator(chats=3, messages=2, groups=1) as simulator:
        context, page = await open_page(playwright, root / "p", simulator.url)
        try:
            await wait_state(page, "UNPAIRED")
            await simulator.control.link(qr=(await simulator.control.state())["qr"])
            await wait_state(page, "CONNECTED")
            # A client's listener on the Store: when it saw the message, on the page's wall clock.
            await page.evaluate(
                "() => { window.__seen = {}; window.require('WAWebCollections').Msg.on('add',"
                " (msg) => { window.__seen[msg.id._serialized] ="
                " performance.timeOrigin + performance.now(); }); }"
            )
            chat = next(c["id"] for c in await simulator.control.chats() if not c["is_group"])
            await simulator.control.stamping(True)
            before = time.time()
            message_id = await simulator.control.incoming(chat, "timed")
            stamp = await simulator.control.message_stamp(message_id)
            seen = await page.evaluate("(id) => window.__seen[id]", message_id) / 1000
            assert before - 0.05 <= stamp <= time.time() + 0.05, "the page's wall clock"
            assert stamp <= seen, "stamped before the Store's listeners ran"
        finally:
            await context.close()
