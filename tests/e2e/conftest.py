"""One real Home Assistant for the end-to-end tests: a ``hass`` process, a simulator process, linked.

The stack starts once for this folder's tests (about 10 s) and is stopped after the last of them, with
a check that no process it started is left (hass, the simulator, the browsers hass launched). Tests
talk to it over HTTP and WebSocket from their own event loop, so they request ``socket_enabled`` (the
Home Assistant test harness blocks sockets otherwise).
"""

from __future__ import annotations

from pathlib import Path
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
import pytest_socket

from tests.e2e.harness import (
    Stack,
    StackSettings,
    browsers_using,
    free_port,
    process_group_alive,
    run_in_thread,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

# A YAML automation: the reply bot of the README, answering "ping ..." with "pong: ...".
REPLY_AUTOMATION: dict[str, Any] = {
    "id": "e2e_reply_bot",
    "alias": "e2e reply bot",
    "mode": "queued",
    "triggers": [{"trigger": "event", "event_type": "whatsapp_message_received"}],
    "conditions": [
        {
            "condition": "template",
            "value_template": "{{ trigger.event.data.body.startswith('ping') }}",
        },
    ],
    "actions": [
        {
            "action": "whatsapp_web.send_message",
            "data": {
                "chat_id": "{{ trigger.event.data.from._serialized }}",
                "msg": "pong: {{ trigger.event.data.body }}",
            },
        }
    ],
}


# The reply-bot blueprint of blueprints/, used as a person would from the UI.
BLUEPRINT_AUTOMATION: dict[str, Any] = {
    "id": "e2e_blueprint_reply_bot",
    "alias": "e2e blueprint reply bot",
    "use_blueprint": {
        "path": "whatsapp_web/reply_bot.yaml",
        "input": {"keyword": "marco", "reply": "polo, {{ trigger.event.data.body }}"},
    },
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process Home Assistant here: the tests drive a real ``hass`` process."""


@pytest.fixture(scope="package")
def e2e_stack() -> Iterator[Stack]:
    """Simulator + hass, onboarded, with a long-lived token, the simulator's account linked."""
    if shutil.which("/usr/bin/chromium") is None:
        pytest.fail(
            "the end-to-end tests need Debian's Chromium at /usr/bin/chromium (script/setup)"
        )
    # The harness disables sockets before each test; this set-up, shared by the tests, needs them.
    pytest_socket.enable_socket()
    directory = Path(tempfile.mkdtemp(prefix="wa-e2e-"))
    stack = Stack(
        StackSettings(
            directory=directory,
            ha_port=free_port(),
            simulator_port=free_port(),
            username="e2e",
            password="e2e-password-not-secret",
            seed=7,
            chats=6,
            messages=5,
            automations=[REPLY_AUTOMATION, BLUEPRINT_AUTOMATION],
        )
    )
    try:

        async def bring_up() -> None:
            async with aiohttp.ClientSession() as session:
                await stack.bring_up(session)
                await stack.ensure_linked(session)

        run_in_thread(bring_up)
        yield stack
    finally:
        stack.stop()
        leftovers = []
        if stack.hass is not None and stack.hass.pgid and process_group_alive(stack.hass.pgid):
            leftovers.append(f"hass group {stack.hass.pgid}")
        if stack.simulator is not None and process_group_alive(stack.simulator.process.pid):
            leftovers.append(f"simulator group {stack.simulator.process.pid}")
        browsers = browsers_using(directory)
        if browsers:
            leftovers.append(f"browsers {browsers}")
        shutil.rmtree(directory, ignore_errors=True)
        assert not leftovers, f"processes left after the end-to-end tests: {leftovers}"


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session for one test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def stack(e2e_stack: Stack, http: aiohttp.ClientSession) -> Stack:
    """The running stack, with hass up and the account connected (a test may have restarted it)."""
    assert e2e_stack.hass is not None
    if not e2e_stack.hass.running():
        e2e_stack.hass.start()
        await e2e_stack.hass.wait_until_serving(http)
        await e2e_stack.hass.wait_until_running(http, e2e_stack.token)
    await e2e_stack.ensure_linked(http)
    return e2e_stack
