"""Differential test: the same scenario through whatsapp-web.js 1.34.7 and through this client.

Both run against their own simulator, seeded alike and started with `--record-calls`, so the page
records every module member a client calls and the shape of the arguments (types and object keys,
never values). Operation by operation, the two sets of call signatures are compared. Every difference
is explained in `call_differences.json`: an entry names the side that made the call, a pattern of
signatures, the operations (or "*") and the reason. A difference no entry explains fails the test, and
so does an entry that explains nothing any more (the list must stay true).

whatsapp-web.js is the peer used by thousands against the real WhatsApp Web: where it calls a member
with another shape than we do, either we are behind a WhatsApp Web change or the difference is
deliberate. The reason says which.

`UPDATE_CALL_DIFFERENCES=1` rewrites the file with today's differences, keeping the reasons already
written and leaving new ones empty (the test fails until each has its reason).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import re
import shutil
from typing import Any

import pytest

from custom_components.whatsapp_web.client import WhatsAppWebClient
from custom_components.whatsapp_web.client.models import MediaFile
from simulator.seed import make_png
from simulator.testing import Simulator
from tests.support.clients import browser_for, link, new_client, short_tmp

from .conftest import SEED, CompatHarness, WwebjsRunner, running_harness, seeded_account
from .test_whatsapp_web_js import link_by_qr

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(600)]

DIFFERENCES_FILE = Path(__file__).with_name("call_differences.json")
PEER = "only_whatsapp_web_js"
OURS = "only_ours"
#: Calls that arrive after an operation answered (event handlers) belong to it: collect until quiet.
QUIET_ROUNDS = 6
QUIET_PAUSE = 0.3


@dataclass(frozen=True)
class Ids:
    """Ids of the seeded account the scenario works on."""

    chat: str
    message: str
    media_message: str
    contact: str
    group: str
    member: str


def scenario_ids() -> Ids:
    """Pick the scenario's chats, messages and people from the seeded data set."""
    account = seeded_account()
    me = account.me.id

    def incoming_text(chat_id: str) -> Any:
        return next(
            (
                account.messages[message_id]
                for message_id in account.chat_messages[chat_id]
                if message_id.startswith("false_")
                and account.messages[message_id].wire["type"] == "chat"
            ),
            None,
        )

    chat = next(
        chat_id
        for chat_id in account.chat_messages
        if chat_id.endswith("@c.us") and incoming_text(chat_id) is not None
    )
    text = incoming_text(chat)
    media = next(
        message
        for messages in account.chat_messages.values()
        for message_id in messages
        if (message := account.messages[message_id]).wire["type"] == "image"
    )
    group = next(group for group in account.groups.values() if group.owner == me)
    member = next(
        participant.id
        for participant in group.participants
        if not participant.is_admin and participant.id.endswith("@c.us")
    )
    return Ids(
        chat=chat,
        message=text.wire["id"]["_serialized"],
        media_message=media.wire["id"]["_serialized"],
        contact=chat,
        group=group.id,
        member=member,
    )


type PeerStep = Callable[[WwebjsRunner, Ids], Awaitable[Any]]
type OurStep = Callable[[WhatsAppWebClient, Ids], Awaitable[Any]]

PNG = make_png(8, 8)


def _chat_call(method: str, *args: Any) -> PeerStep:
    return lambda runner, ids: runner.command("chatCall", chat=ids.chat, method=method, args=args)


def _group_call(method: str, *args: Any) -> PeerStep:
    return lambda runner, ids: runner.command("chatCall", chat=ids.group, method=method, args=args)


def _member_call(method: str) -> PeerStep:
    return lambda runner, ids: runner.command(
        "chatCall", chat=ids.group, method=method, args=[[ids.member]]
    )


def _contact_call(method: str) -> PeerStep:
    return lambda runner, ids: runner.command("contactCall", contact=ids.contact, method=method)


def _client_call(method: str, *args: Any) -> PeerStep:
    return lambda runner, _ids: runner.command("call", method=method, args=list(args))


def _client_call_with_contact(method: str) -> PeerStep:
    return lambda runner, ids: runner.command("call", method=method, args=[ids.contact])


#: The scenario, in order: operation -> (whatsapp-web.js, this client). Changes come after reads,
#: and leaving the group comes last.
STEPS: dict[str, tuple[PeerStep, OurStep]] = {
    "get_chats": (lambda r, _: r.command("getChats"), lambda c, _: c.get_chats()),
    "get_chat": (
        lambda r, i: r.command("getChatById", chat=i.chat),
        lambda c, i: c.get_chat(i.chat),
    ),
    "get_contacts": (lambda r, _: r.command("getContacts"), lambda c, _: c.get_contacts()),
    "get_contact": (
        lambda r, i: r.command("getContactById", contact=i.contact),
        lambda c, i: c.get_contact(i.contact),
    ),
    "get_messages": (
        lambda r, i: r.command("fetchMessages", chat=i.chat, limit=5),
        lambda c, i: c.get_messages(i.chat, limit=5),
    ),
    "get_message": (
        lambda r, i: r.command("getMessageById", message_id=i.message),
        lambda c, i: c.get_message(i.message),
    ),
    "is_registered_user": (
        lambda r, i: r.command("call", method="isRegisteredUser", args=[i.contact]),
        lambda c, i: c.is_registered_user(i.contact),
    ),
    "get_common_groups": (
        _contact_call("getCommonGroups"),
        lambda c, i: c.get_common_groups(i.contact),
    ),
    "send_text": (
        lambda r, i: r.command("sendMessage", chat=i.chat, text="differential"),
        lambda c, i: c.send_message(i.chat, "differential"),
    ),
    "send_image": (
        lambda r, i: r.command(
            "sendMedia",
            chat=i.chat,
            mimetype="image/png",
            data_b64=base64.b64encode(PNG).decode(),
            filename="dot.png",
            caption="a dot",
        ),
        lambda c, i: c.send_message(i.chat, "a dot", media=MediaFile(PNG, "image/png", "dot.png")),
    ),
    "download_media": (
        lambda r, i: r.command("downloadMedia", message_id=i.media_message),
        lambda c, i: c.download_media(i.media_message),
    ),
    "react_message": (
        lambda r, i: r.command("react", message_id=i.message, emoji="👍"),
        lambda c, i: c.react_message(i.message, "👍"),
    ),
    "star_message": (
        lambda r, i: r.command("star", message_id=i.message),
        lambda c, i: c.star_message(i.message, True),
    ),
    "unstar_message": (
        lambda r, i: r.command("unstar", message_id=i.message),
        lambda c, i: c.star_message(i.message, False),
    ),
    "search_messages": (
        lambda r, _: r.command(
            "call", method="searchMessages", args=["differential", {"limit": 20}]
        ),
        lambda c, _: c.search_messages("differential", limit=20),
    ),
    "get_profile_picture": (
        _client_call_with_contact("getProfilePicUrl"),
        lambda c, i: c.profile_picture_url(i.contact),
    ),
    "forward_message": (
        lambda r, i: r.command(
            "messageCall", message_id=i.message, method="forward", args=[i.chat]
        ),
        lambda c, i: c.forward_message(i.message, i.chat),
    ),
    "archive_chat": (
        lambda r, i: r.command("archiveChat", chat=i.chat),
        lambda c, i: c.archive_chat(i.chat, True),
    ),
    "unarchive_chat": (
        lambda r, i: r.command("unarchiveChat", chat=i.chat),
        lambda c, i: c.archive_chat(i.chat, False),
    ),
    "pin_chat": (
        lambda r, i: r.command("pinChat", chat=i.chat),
        lambda c, i: c.pin_chat(i.chat, True),
    ),
    "unpin_chat": (
        lambda r, i: r.command("unpinChat", chat=i.chat),
        lambda c, i: c.pin_chat(i.chat, False),
    ),
    "mark_chat_unread": (
        lambda r, i: r.command("markChatUnread", chat=i.chat),
        lambda c, i: c.mark_chat_unread(i.chat),
    ),
    "mark_chat_read": (
        lambda r, i: r.command("sendSeen", chat=i.chat),
        lambda c, i: c.mark_chat_read(i.chat),
    ),
    "typing": (
        _chat_call("sendStateTyping"),
        lambda c, i: c.send_chat_state(i.chat, "composing"),
    ),
    "mute_chat": (_chat_call("mute"), lambda c, i: c.mute_chat(i.chat)),
    "unmute_chat": (_chat_call("unmute"), lambda c, i: c.unmute_chat(i.chat)),
    "block_contact": (_contact_call("block"), lambda c, i: c.block_contact(i.contact, True)),
    "unblock_contact": (_contact_call("unblock"), lambda c, i: c.block_contact(i.contact, False)),
    "set_group_subject": (
        _group_call("setSubject", "Renamed"),
        lambda c, i: c.set_group_subject(i.group, "Renamed"),
    ),
    "set_group_description": (
        _group_call("setDescription", "About us"),
        lambda c, i: c.set_group_description(i.group, "About us"),
    ),
    "get_invite_code": (_group_call("getInviteCode"), lambda c, i: c.get_invite_code(i.group)),
    "revoke_invite_code": (
        _group_call("revokeInvite"),
        lambda c, i: c.revoke_invite_code(i.group),
    ),
    "promote_participant": (
        _member_call("promoteParticipants"),
        lambda c, i: c.change_participants(i.group, [i.member], "promote"),
    ),
    "demote_participant": (
        _member_call("demoteParticipants"),
        lambda c, i: c.change_participants(i.group, [i.member], "demote"),
    ),
    "create_group": (
        lambda r, i: r.command("createGroup", title="Differential", participants=[i.contact]),
        lambda c, i: c.create_group("Differential", [i.contact]),
    ),
    "set_text_status": (
        _client_call("setStatus", "Testing"),
        lambda c, _: c.set_text_status("Testing"),
    ),
    "set_display_name": (
        _client_call("setDisplayName", "Sam"),
        lambda c, _: c.set_display_name("Sam"),
    ),
    "set_presence_available": (
        _client_call("sendPresenceAvailable"),
        lambda c, _: c.set_presence(available=True),
    ),
    "delete_message": (
        lambda r, i: r.command("delete", message_id=i.message, everyone=False),
        lambda c, i: c.delete_message(i.message),
    ),
    "leave_group": (_group_call("leave"), lambda c, i: c.leave_group(i.group)),
}


async def collect_until_quiet(simulator_collect: Callable[[], Awaitable[list[str]]]) -> set[str]:
    """Every call recorded so far, waiting for late ones (event handlers) to stop coming."""
    calls = set(await simulator_collect())
    for _ in range(QUIET_ROUNDS):
        await asyncio.sleep(QUIET_PAUSE)
        late = await simulator_collect()
        if not late:
            break
        calls.update(late)
    return calls


async def run_step(step: Callable[[], Awaitable[Any]]) -> str | None:
    """Run one side of a step; the error's first line when it failed."""
    try:
        await step()
    except Exception as error:
        return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    return None


@contextlib.asynccontextmanager
async def recording_peer(work_dir: Path) -> Any:
    """whatsapp-web.js 1.34.7, linked, on a recording simulator."""
    async with running_harness(work_dir, "--qr-interval", "60", record_calls=True) as harness:
        runner = await harness.start_runner("differential", work_dir / "auth")
        await link_by_qr(harness, runner)
        yield harness, runner


def difference_table(
    peer: dict[str, set[str]], ours: dict[str, set[str]]
) -> dict[str, dict[str, list[str]]]:
    """Per operation, the signatures only one side made."""
    table: dict[str, dict[str, list[str]]] = {}
    for name in STEPS:
        only_peer = sorted(peer[name] - ours[name])
        only_ours = sorted(ours[name] - peer[name])
        if only_peer or only_ours:
            table[name] = {PEER: only_peer, OURS: only_ours}
    return table


@dataclass(frozen=True)
class Explained:
    """A listed difference: signatures matching ``match`` made by one side only, and why."""

    side: str
    match: str
    operations: tuple[str, ...]
    reason: str

    def covers(self, operation: str, side: str, signature: str) -> bool:
        """Whether this entry explains one observed difference."""
        return (
            side == self.side
            and ("*" in self.operations or operation in self.operations)
            and re.fullmatch(self.match, signature) is not None
        )


def listed_differences() -> list[Explained]:
    """The checked-in list."""
    data = json.loads(DIFFERENCES_FILE.read_text(encoding="utf-8"))
    return [
        Explained(
            side=item["side"],
            match=item["match"],
            operations=tuple(item["operations"]),
            reason=item["reason"],
        )
        for item in data["explained"]
    ]


def observed(table: dict[str, dict[str, list[str]]]) -> list[tuple[str, str, str]]:
    """Every difference as (operation, side, signature)."""
    return [
        (name, side, signature)
        for name, sides in table.items()
        for side, signatures in sides.items()
        for signature in signatures
    ]


def check_against_file(table: dict[str, dict[str, list[str]]]) -> list[str]:
    """Problems with the listed differences: unlisted, unexplained or stale entries."""
    listed = listed_differences()
    differences = observed(table)
    problems = [
        f"{name}: new difference ({side}) {signature}"
        for name, side, signature in differences
        if not any(entry.covers(name, side, signature) for entry in listed)
    ]
    for entry in listed:
        if not entry.reason.strip():
            problems.append(f"no reason given for ({entry.side}) {entry.match}")
        if not any(entry.covers(*difference) for difference in differences):
            problems.append(f"listed difference no longer seen ({entry.side}) {entry.match}")
    return problems


def rewrite_file(table: dict[str, dict[str, list[str]]]) -> None:
    """Keep the entries still seen; add an entry (without a reason) per unexplained difference."""
    listed = listed_differences() if DIFFERENCES_FILE.is_file() else []
    differences = observed(table)
    kept = [entry for entry in listed if any(entry.covers(*d) for d in differences)]
    added = [
        Explained(side=side, match=re.escape(signature), operations=(name,), reason="")
        for name, side, signature in differences
        if not any(entry.covers(name, side, signature) for entry in kept)
    ]
    document = {
        "explained": [
            {
                "side": entry.side,
                "match": entry.match,
                "operations": list(entry.operations),
                "reason": entry.reason,
            }
            for entry in kept + added
        ]
    }
    DIFFERENCES_FILE.write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


async def test_module_calls_match_whatsapp_web_js_or_are_listed(tmp_path: Path) -> None:
    ids = scenario_ids()
    peer_calls: dict[str, set[str]] = {}
    our_calls: dict[str, set[str]] = {}
    outcomes: dict[str, tuple[str | None, str | None]] = {}
    root = short_tmp()
    try:
        async with (
            recording_peer(tmp_path) as (harness, runner),
            Simulator(record_calls=True, qr_interval=60, **SEED) as simulator,
            browser_for("local", root) as (factory, _remote),
        ):
            client = new_client(simulator, factory)
            try:
                await link(client, simulator)
                peer_collect = harness_collector(harness)
                # Start-up (injection, listeners) is not an operation.
                await collect_until_quiet(peer_collect)
                await collect_until_quiet(simulator.control.collect_calls)
                for name, (peer_step, our_step) in STEPS.items():
                    peer_error, our_error = await asyncio.gather(
                        run_step(lambda step=peer_step: step(runner, ids)),
                        run_step(lambda step=our_step: step(client, ids)),
                    )
                    outcomes[name] = (peer_error, our_error)
                    peer_calls[name], our_calls[name] = await asyncio.gather(
                        collect_until_quiet(peer_collect),
                        collect_until_quiet(simulator.control.collect_calls),
                    )
            finally:
                await client.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    table = difference_table(peer_calls, our_calls)
    # Whether each side succeeded is part of the comparison.
    for name, (peer_error, our_error) in outcomes.items():
        if (peer_error is None) != (our_error is None):
            side = OURS if our_error else PEER
            table.setdefault(name, {PEER: [], OURS: []})[side].append(
                f"failed: {our_error or peer_error}"
            )
    if os.environ.get("UPDATE_CALL_DIFFERENCES"):
        rewrite_file(table)
    compared = len(STEPS)
    differing = len(table)
    problems = check_against_file(table)
    assert not problems, (
        f"{compared} operations compared, {differing} differ; problems:\n" + "\n".join(problems)
    )
    # The scenario must have exercised both clients for real.
    assert all(peer_calls[name] for name in ("get_chats", "send_text"))
    assert all(our_calls[name] for name in ("get_chats", "send_text"))


def harness_collector(harness: CompatHarness) -> Callable[[], Awaitable[list[str]]]:
    """`POST /_sim/calls/collect` on the peer's simulator (a separate process)."""

    async def collect() -> list[str]:
        status, body = await harness.simulator.post("/_sim/calls/collect", {})
        assert status == 200, body
        return [str(call) for call in body["calls"]]

    return collect
