"""The client on every dated WhatsApp Web generation the simulator serves, with no code change.

docs/whatsapp-web-surface.md §9 describes the generations. The newest (the default) runs the whole
of test_client_simulated.py; here the older ones run that module's operation tests (every test that
only needs a linked client) in one browser and one simulator per generation, each test a subtest,
and the fictitious generation checks the repair path: what nobody knows yet is reported missing with
a clear error while everything else keeps working.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import inspect
from pathlib import Path
import shutil
import time
from typing import Any

import pytest

from custom_components.whatsapp_web.client.errors import WhatsAppWebChanged
from custom_components.whatsapp_web.client.models import CapabilityMissing
from simulator.generations import DEFAULT_GENERATION, GENERATIONS, UnknownGenerationError
from simulator.server import SimulatorOptions
from simulator.testing import Simulator
from tests.client import test_client_simulated as operations
from tests.support.clients import browser_for, link, new_client, short_tmp

pytestmark = pytest.mark.usefixtures("socket_enabled")

#: Only the newest shape of a few operations is probed by test_client_simulated.py itself.
NOT_PER_GENERATION = {"test_capability_table_names_the_shapes_in_use"}

OLDER_GENERATIONS = [name for name in GENERATIONS if name < DEFAULT_GENERATION]

#: The shape the bridge picks on each older generation, where it differs from the newest.
EXPECTED_SHAPES: dict[str, dict[str, str]] = {
    "2025-07": {
        "incomingCalls": "call-add-event",
        "qrAdvSecretKey": "WAWebAdvSignatureApi",
        "blockContact": "phone-number-list",
    },
    "2025-12": {
        "incomingCalls": "call-add-event",
        "qrAdvSecretKey": "WAWebAdvSignatureApi",
        "blockContact": "phone-number-list",
    },
    "2026-02": {
        "incomingCalls": "add-event",
        "qrAdvSecretKey": "WAWebAdvSignatureApi",
        "blockContact": "phone-number-list",
    },
}


def operation_tests() -> list[tuple[str, Callable[[Any], Awaitable[None]]]]:
    """test_client_simulated.py's tests that take only a linked client, in file order."""
    found = []
    for name, function in vars(operations).items():
        if not name.startswith("test_") or name in NOT_PER_GENERATION:
            continue
        if list(inspect.signature(function).parameters) == ["linked"]:
            found.append((name, function))
    return found


@pytest.fixture
def tmp_root() -> Any:
    root = short_tmp()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_unknown_generation_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(UnknownGenerationError) as raised:
        SimulatorOptions(surface="1999-01")
    for name in GENERATIONS:
        assert name in str(raised.value)


@pytest.mark.parametrize("generation", OLDER_GENERATIONS)
async def test_operations_on_an_older_generation(
    generation: str, tmp_root: Path, subtests: Any
) -> None:
    tests = operation_tests()
    assert len(tests) > 15, "the operation tests were not found"
    async with (
        Simulator(chats=8, messages=6, contacts=10, groups=2, seed=7, surface=generation) as sim,
        browser_for("local", tmp_root) as (factory, _remote),
    ):
        assert (await sim.control.state())["surface"] == generation
        client = new_client(sim, factory)
        recorder = operations.Recorder(client)
        try:
            # Linking by QR reads the ADV key from where this generation keeps it.
            await link(client, sim)
            table = client.status().capabilities
            assert None not in table.values(), table
            for capability, shape in EXPECTED_SHAPES[generation].items():
                assert table[capability] == shape, capability
            for index, (name, operation) in enumerate(tests):
                await sim.control.clear_sent()
                if index:
                    # Each test waits for its own events (the first one for the link's).
                    recorder.events.clear()
                started = time.monotonic()
                with subtests.test(msg=name):
                    await operation((client, sim, recorder))
                    assert time.monotonic() - started < 30
        finally:
            await client.stop()


async def test_fictitious_generation_reports_what_moved_and_the_rest_works(
    tmp_root: Path,
) -> None:
    """2027-01 moved blocking and joining by invite: both are missing, nothing hangs."""
    async with (
        Simulator(chats=6, messages=3, contacts=8, groups=2, seed=7, surface="2027-01") as sim,
        browser_for("local", tmp_root) as (factory, _remote),
    ):
        client = new_client(sim, factory)
        recorder = operations.Recorder(client)
        try:
            await link(client, sim)
            table = client.status().capabilities
            assert table["blockContact"] is None
            assert table["acceptInvite"] is None
            assert [name for name, shape in table.items() if shape is None] == [
                "acceptInvite",
                "blockContact",
            ]
            # Announced once each after the sync, naming what the newest shape needs.
            for capability, member in (
                ("acceptInvite", "WAWebGroupInviteJob.joinGroupViaInvite"),
                ("blockContact", "WAWebBlockContactAction.blockContact"),
            ):
                event = await recorder.wait_for(
                    CapabilityMissing, lambda e, wanted=capability: e.feature == wanted
                )
                assert member in event.missing

            group = next(g for g in sim.account.groups.values() if g.invite_code)
            with pytest.raises(WhatsAppWebChanged) as raised:
                await client.accept_invite(group.invite_code)
            assert "WAWebGroupInviteJob.joinGroupViaInvite" in str(raised.value)
            contact = next(c for c in sim.account.contacts.values() if c.id.endswith("@c.us"))
            with pytest.raises(WhatsAppWebChanged) as raised:
                await client.block_contact(contact.id)
            assert "WAWebBlockContactAction.blockContact" in str(raised.value)

            # Everything else keeps working.
            chat = await operations.first_chat(sim)
            await client.send_message(chat["id"], "the rest keeps working")
            await operations.sent_messages(sim, 1)
            assert await client.get_chats()
            assert (await client.get_contact(contact.id)).id == contact.id
            await client.mark_chat_read(chat["id"])
            assert [entry["kind"] for entry in await sim.control.sent()].count("contact") == 0
        finally:
            await client.stop()
