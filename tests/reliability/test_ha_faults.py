"""Faults through Home Assistant: the service, the outbox, repairs and the log, on the simulator.

- kill -9 of every Chromium process during a burst of 200 sends through ``whatsapp_web.send_message``:
  every accepted send reaches WhatsApp exactly once, in order per chat; events of the same period are
  fired once each.
- conflict, logout, deprecate and a missing module: a repair issue names what changed, the rest keeps
  working, and the log has one clear line and no traceback.
- Home Assistant stopped in the middle of sending: after the restart the outbox delivers what was
  accepted, exactly once, in order.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.whatsapp_web.client import ClientState
from custom_components.whatsapp_web.const import DOMAIN
from custom_components.whatsapp_web.outbox import outbox_file
from tests.integration.linking import add_linked_entry

from .ha_support import (
    BusRecorder,
    integration_records,
    private_chats,
    send_via_service,
    tracebacks,
)
from .support import browser_processes, kill_all, record_figure, wait_until

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from simulator.testing import Simulator

    from .conftest import Secrets

BURST = 200
BURST_CHATS = 4
KILL_AFTER_ACCEPTED = 60
INCOMING_DURING_BURST = 40


async def stored_outbox(hass: HomeAssistant, entry_id: str) -> list[dict[str, Any]]:
    """The items of an account's outbox file, as they are on disk."""
    text = await hass.async_add_executor_job(outbox_file(hass, entry_id).read_text)
    items: list[dict[str, Any]] = json.loads(text)["data"]["items"]
    return items


def message_entries(sent: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [
        e for e in sent if e["kind"] == "message" and str(e.get("body") or "").startswith(prefix)
    ]


async def test_kill_9_during_a_burst_of_200_sends(
    hass: HomeAssistant,
    big_simulator: Simulator,
    leak_guard: Secrets,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    client = entry.runtime_data.client
    chats = await private_chats(sim, BURST_CHATS + 1)
    senders, incoming_chat = chats[:BURST_CHATS], chats[BURST_CHATS]
    bus = BusRecorder(hass, "whatsapp_message_received", "whatsapp_message_sent")
    accepted: dict[str, list[str]] = defaultdict(list)
    refused: list[str] = []
    queued = 0
    injected: list[str] = []
    killed: list[int] = []
    kill_time = 0.0
    lock_step = asyncio.Event()

    outbox = entry.runtime_data.outbox
    calls: list[tuple[str, str, asyncio.Task[dict[str, Any]]]] = []

    async def sender(chat: str, index: int) -> None:
        # Pipelined like a burst of automations: the next send starts once this one is accepted
        # (in the outbox, in order), not once WhatsApp has it.
        for n in range(BURST // BURST_CHATS):
            body = f"burst {index}-{n:03d} \u2713"
            leak_guard.add("message body", body)
            call = asyncio.create_task(send_via_service(hass, chat, body))
            calls.append((chat, body, call))
            while not call.done() and body not in {item.text for item in outbox._items}:
                await asyncio.sleep(0.002)
            if not call.done() or call.exception() is None:
                accepted[chat].append(body)
            if sum(map(len, accepted.values())) >= KILL_AFTER_ACCEPTED:
                lock_step.set()
            # About 100 sends a second in all: the burst spans the browser's restart.
            await asyncio.sleep(BURST_CHATS / 100)

    async def killer() -> None:
        nonlocal kill_time
        await lock_step.wait()
        kill_time = time.monotonic()
        killed.extend(kill_all(browser_processes()))

    async def phone() -> None:
        for n in range(INCOMING_DURING_BURST):
            body = f"incoming {n:03d}"
            leak_guard.add("message body", body)
            injected.append(await sim.control.incoming(incoming_chat, body))
            await asyncio.sleep(0.05)

    started = time.monotonic()
    try:
        await asyncio.gather(
            *(sender(chat, i) for i, chat in enumerate(senders)), killer(), phone()
        )
        burst_done = time.monotonic()
        for chat, body, call in calls:
            try:
                answer = await call
            except HomeAssistantError:
                refused.append(body)
                if body in accepted[chat]:
                    accepted[chat].remove(body)
                continue
            queued += bool(answer.get("queued"))
        await client.wait_for_state(ClientState.CONNECTED, timeout=60)
        total = sum(map(len, accepted.values()))
        await wait_until(lambda: entry.runtime_data.outbox.pending == 0, timeout=90)
        sent = message_entries(await sim.control.sent(), "burst ")
        delivered = time.monotonic()
        assert killed, "Chromium processes were killed"
        bodies = [e["body"] for e in sent]
        duplicates = {body for body in bodies if bodies.count(body) > 1}
        assert not duplicates, f"sent twice: {sorted(duplicates)[:5]}"
        missing = {b for chat in accepted for b in accepted[chat]} - set(bodies)
        assert not missing, f"accepted but never sent: {sorted(missing)[:5]}"
        for chat in senders:
            in_chat = [e["body"] for e in sent if e["chat"] == chat]
            assert in_chat == accepted[chat], f"order in {chat}"
        # Events of the same period: each incoming message fired once; each sent message fired once.
        sent_ids = [e["id"] for e in sent]
        await wait_until(
            lambda: (
                set(injected)
                <= {e["id"]["_serialized"] for e in bus.of("whatsapp_message_received")}
                and set(sent_ids)
                <= {e["id"]["_serialized"] for e in bus.of("whatsapp_message_sent")}
            ),
            timeout=30,
        )
        await asyncio.sleep(1)
        received = [e["id"]["_serialized"] for e in bus.of("whatsapp_message_received")]
        echoed = [e["id"]["_serialized"] for e in bus.of("whatsapp_message_sent")]
        assert all(received.count(i) == 1 for i in injected), "incoming events fired once each"
        assert all(echoed.count(i) == 1 for i in sent_ids), "sent events fired once each"
        assert not tracebacks(caplog.records)
    finally:
        bus.close()
    record_figure(
        "kill -9 during 200 sends (service)",
        "accepted / queued / refused / sent / duplicates / lost",
        f"{total} / {queued} / {len(refused)} / {len(sent)} / 0 / 0",
    )
    record_figure(
        "kill -9 during 200 sends (service)",
        "processes killed; burst; all delivered after kill",
        f"{len(killed)}; {burst_done - started:.1f} s; {delivered - kill_time:.1f} s",
    )
    record_figure(
        "kill -9 during 200 sends (service)",
        "events in the period",
        f"{len(injected)} incoming fired once each, {len(sent_ids)} sent fired once each",
    )
    assert total + len(refused) == BURST


async def issue_placeholders(hass: HomeAssistant, issue_id: str) -> dict[str, str]:
    """Wait for a repair issue of the integration; its placeholders."""
    registry = ir.async_get(hass)
    await wait_until(lambda: registry.async_get_issue(DOMAIN, issue_id) is not None, timeout=30)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    return dict(issue.translation_placeholders or {})


def lines_about(caplog: pytest.LogCaptureFixture, since: int, *words: str) -> list[str]:
    """Integration records at WARNING+ after index ``since`` that mention every word."""
    return [
        r.getMessage()
        for r in integration_records(caplog.records[since:])
        if all(word in r.getMessage() for word in words)
    ]


async def test_missing_module_is_a_repair_issue_and_the_rest_works(
    hass: HomeAssistant,
    big_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    [chat] = await private_chats(sim, 1)
    mark = len(caplog.records)
    await sim.control.fault(missing_module="WAWebChatStateBridge")
    for _ in range(3):
        with pytest.raises(HomeAssistantError) as raised:
            await hass.services.async_call(DOMAIN, "send_typing", {"chat_id": chat}, blocking=True)
        assert (
            "WAWebChatStateBridge" in str(raised.value)
            or raised.value.translation_placeholders.get("missing") == "WAWebChatStateBridge"
        )
    placeholders = await issue_placeholders(hass, f"whatsapp_web_changed_{entry.entry_id}")
    assert "WAWebChatStateBridge" in placeholders["missing"]
    # Unaffected operations keep working.
    answer = await send_via_service(hass, chat, "still works")
    assert answer["queued"] is False
    chats = await hass.services.async_call(
        DOMAIN, "get_chats", {}, blocking=True, return_response=True
    )
    assert chats
    assert chats["chats"]
    lines = lines_about(caplog, mark, "WAWebChatStateBridge")
    assert len(lines) == 1, f"one clear line for the change, not {lines}"
    assert not tracebacks(caplog.records[mark:])
    record_figure(
        "fault: missing module",
        "repair issue / log lines / tracebacks",
        f"missing={placeholders['missing']} / {len(lines)} / 0",
    )


async def test_missing_member_is_a_repair_issue(
    hass: HomeAssistant,
    big_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    [chat] = await private_chats(sim, 1)
    mark = len(caplog.records)
    await sim.control.fault(missing_member="WAWebCmd.Cmd.archiveChat")
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "archive_chat", {"chat_id": chat}, blocking=True)
    placeholders = await issue_placeholders(hass, f"whatsapp_web_changed_{entry.entry_id}")
    assert "archiveChat" in placeholders["missing"]
    await hass.services.async_call(DOMAIN, "mark_chat_unread", {"chat_id": chat}, blocking=True)
    assert any(
        e["kind"] == "chat" and e["action"] == "mark_unread" for e in await sim.control.sent()
    )
    lines = lines_about(caplog, mark, "archiveChat")
    assert len(lines) == 1, f"one clear line for the change, not {lines}"
    assert not tracebacks(caplog.records[mark:])
    record_figure(
        "fault: missing member",
        "repair issue / log lines / tracebacks",
        f"missing={placeholders['missing']} / {len(lines)} / 0",
    )


async def test_module_missing_at_page_load_is_a_repair_issue(
    hass: HomeAssistant,
    big_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An update that removed a module before the page loaded: the listeners that need it fail."""
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    [chat] = await private_chats(sim, 1)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await sim.control.fault(missing_module="WAWebAddonReactionTableMode")
    mark = len(caplog.records)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    placeholders = await issue_placeholders(hass, f"whatsapp_web_changed_{entry.entry_id}")
    assert "WAWebAddonReactionTableMode" in placeholders["missing"]
    # Everything that does not need the reaction table keeps working.
    answer = await send_via_service(hass, chat, "sent without the reaction table")
    assert answer["queued"] is False
    lines = lines_about(caplog, mark, "WAWebAddonReactionTableMode")
    assert len(lines) == 1, f"one clear line for the change, not {lines}"
    assert not tracebacks(caplog.records[mark:])


async def test_logout_starts_reauth_with_a_repair_issue(
    hass: HomeAssistant,
    big_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    client = entry.runtime_data.client
    [chat] = await private_chats(sim, 1)
    mark = len(caplog.records)
    await sim.control.connection("logout")
    await client.wait_for_state(ClientState.LOGGED_OUT, timeout=30)
    await hass.async_block_till_done()
    placeholders = await issue_placeholders(hass, f"logged_out_{entry.entry_id}")
    assert placeholders["account"] == entry.runtime_data.number
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    # Reading the state still works and says why; a send is refused clearly (not queued forever).
    status = await hass.services.async_call(
        DOMAIN, "get_status", {}, blocking=True, return_response=True
    )
    assert status is not None
    assert "logged" in str(status).lower()
    with pytest.raises(HomeAssistantError) as raised:
        await send_via_service(hass, chat, "after logout")
    assert raised.value.translation_key == "logged_out"
    lines = [
        line
        for line in (r.getMessage() for r in integration_records(caplog.records[mark:]))
        if "unlink" in line
    ]
    assert len(lines) == 1, lines
    assert not tracebacks(caplog.records[mark:])
    record_figure(
        "logout from the phone",
        "repair issue / reauth flow / log lines",
        f"logged_out / {len(flows)} / {len(lines)}",
    )


async def test_deprecated_version_is_a_repair_issue(
    hass: HomeAssistant,
    big_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    client = entry.runtime_data.client
    mark = len(caplog.records)
    await sim.control.connection("deprecate")
    await client.wait_for_state(ClientState.FAILED, timeout=30)
    await hass.async_block_till_done()
    placeholders = await issue_placeholders(hass, f"blocked_{entry.entry_id}")
    assert placeholders["state"] == "DEPRECATED_VERSION"
    status = await hass.services.async_call(
        DOMAIN, "get_status", {}, blocking=True, return_response=True
    )
    assert status is not None
    lines = [r.getMessage() for r in integration_records(caplog.records[mark:])]
    assert any("DEPRECATED_VERSION" in line for line in lines), lines
    assert len(lines) <= 2, f"no log spam: {lines}"
    assert not tracebacks(caplog.records[mark:])
    record_figure(
        "deprecated WhatsApp Web",
        "repair issue / log lines",
        f"blocked state={placeholders['state']} / {len(lines)}",
    )


async def test_conflict_takes_the_session_back(
    hass: HomeAssistant,
    big_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    client = entry.runtime_data.client
    [chat] = await private_chats(sim, 1)
    mark = len(caplog.records)
    started = time.monotonic()
    await sim.control.connection("conflict")
    await client.wait_for_state(ClientState.RECONNECTING, timeout=20)
    # A send meanwhile is accepted into the outbox and leaves once the session is back.
    answer = await send_via_service(hass, chat, "during the conflict")
    await client.wait_for_state(ClientState.CONNECTED, timeout=40)
    back = time.monotonic() - started
    await wait_until(lambda: entry.runtime_data.outbox.pending == 0, timeout=30)
    bodies = [e["body"] for e in message_entries(await sim.control.sent(), "during the conflict")]
    assert bodies == ["during the conflict"]
    assert not tracebacks(caplog.records[mark:])
    lines = [r.getMessage() for r in integration_records(caplog.records[mark:], logging.WARNING)]
    assert len(lines) <= 2, f"no log spam: {lines}"
    record_figure(
        "conflict",
        "queued send / back connected / warning lines",
        f"queued={answer['queued']} / {back:.1f} s / {len(lines)}",
    )


async def test_home_assistant_stopped_while_sending(
    hass: HomeAssistant,
    big_simulator: Simulator,
    leak_guard: Secrets,
) -> None:
    """Sends accepted while reconnecting; HA stops mid-delivery (browser killed, entry unloaded); restart."""
    sim = big_simulator
    entry = await add_linked_entry(hass, sim)
    chats = await private_chats(sim, 2)
    await sim.control.connection("drop")
    await entry.runtime_data.client.wait_for_state(ClientState.RECONNECTING, timeout=20)
    bodies = [f"accepted before the stop {n:02d}" for n in range(20)]
    for body in bodies:
        leak_guard.add("message body", body)
    answers = await asyncio.gather(
        *(send_via_service(hass, chats[n % 2], body) for n, body in enumerate(bodies))
    )
    assert all(answer["queued"] for answer in answers)
    stored = await stored_outbox(hass, entry.entry_id)
    order = [item["text"] for item in stored]
    assert sorted(order) == sorted(bodies)
    # Back online: delivery starts; HA stops after the first few left (browser gone with it).
    await sim.control.connection("restore")

    async def some_left() -> bool:
        return len(message_entries(await sim.control.sent(), "accepted before")) >= 3

    await wait_until(some_left, timeout=30, interval=0.01)
    kill_all(browser_processes())
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    left_before_restart = len(message_entries(await sim.control.sent(), "accepted before"))
    still_stored = len(await stored_outbox(hass, entry.entry_id))
    assert left_before_restart + still_stored >= len(bodies) - 1
    # Restart: the outbox loads from storage and delivers the rest.
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    await entry.runtime_data.client.wait_for_state(ClientState.CONNECTED, timeout=60)
    await wait_until(lambda: entry.runtime_data.outbox.pending == 0, timeout=60)
    sent = [e["body"] for e in message_entries(await sim.control.sent(), "accepted before")]
    assert sorted(sent) == sorted(bodies), "every accepted send left exactly once"
    for chat in chats:
        in_chat = [
            e["body"]
            for e in message_entries(await sim.control.sent(), "accepted before")
            if e["chat"] == chat
        ]
        assert in_chat == [body for body in order if body in in_chat], f"order in {chat}"
    record_figure(
        "HA stopped while sending",
        "accepted / reached WhatsApp before the stop / still stored at the stop (in flight included) / after restart: sent, duplicates",
        f"{len(bodies)} / {left_before_restart} / {still_stored} / {len(sent)}, 0",
    )
