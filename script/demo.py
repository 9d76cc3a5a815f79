"""The demo behind ``script/demo``: a seeded simulator and a real Home Assistant, linked, until stopped.

Everything lives under ``.demo/`` (or ``--dir``): Home Assistant's configuration (``config/``), the
simulator's account (``simulator/``), the chosen ports (``ports.json``), the running processes
(``processes.json``) and what clients need (``demo.json``: ``{ha_url, token, simulator_url}``). A second
start on the same directory reuses all of it: the onboarded user, the token, the linked account (no new
QR code). SIGINT or SIGTERM stops every process the demo started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
import signal
import sys
import time
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # script/ is not a package: make the repository importable (tests.e2e.harness, simulator).
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

from tests.e2e.harness import (  # noqa: E402
    HASS_STOP_TIMEOUT,
    HarnessError,
    Stack,
    StackSettings,
    free_port,
    kill_browsers_using,
    port_is_free,
    process_group_alive,
)
from tests.e2e.household import furnish, phone_number  # noqa: E402
from tests.support.processes import process_alive  # noqa: E402

_LOGGER = logging.getLogger("demo")
DEFAULT_HA_PORT = 8123


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="script/demo",
        description="Run the simulator and a real Home Assistant with the integration linked to it.",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="print only one JSON line ({ha_url, token, simulator_url}) and log to stderr",
    )
    parser.add_argument(
        "--dir", type=Path, default=REPO_ROOT / ".demo", help="state directory (default .demo/)"
    )
    parser.add_argument("--ha-port", type=int, default=None, help="Home Assistant's port")
    parser.add_argument("--simulator-port", type=int, default=None, help="the simulator's port")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulator's data set")
    parser.add_argument("--chats", type=int, default=8, help="seeded chats")
    parser.add_argument("--messages", type=int, default=10, help="seeded messages per chat")
    return parser.parse_args(argv)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.chmod(0o600)  # the token is a credential
    temporary.replace(path)


class AlreadyRunning(Exception):
    """Another demo runs on the same directory."""

    def __init__(self, pid: int) -> None:
        """Remember which process."""
        super().__init__(f"a demo is already running (pid {pid})")
        self.pid = pid


def stop_process_group(pgid: int) -> None:
    """SIGTERM a process group, wait for it to end, SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + HASS_STOP_TIMEOUT
    while process_group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def claim_directory(directory: Path) -> None:
    """Refuse a second running demo on the same directory; clear up after one that was killed."""
    processes_file = directory / "processes.json"
    previous = _read_json(processes_file)
    demo_pid = previous.get("demo")
    if isinstance(demo_pid, int) and demo_pid != os.getpid() and process_alive(demo_pid):
        raise AlreadyRunning(demo_pid)
    # A demo killed with SIGKILL could not stop its children: stop the process groups it recorded.
    for name in ("hass", "simulator"):
        pgid = previous.get(name)
        if isinstance(pgid, int) and process_group_alive(pgid):
            _LOGGER.warning(
                "stopping the %s left by an earlier demo (process group %s)", name, pgid
            )
            stop_process_group(pgid)
    kill_browsers_using(directory)
    _write_json(processes_file, {"demo": os.getpid()})


def choose_ports(args: argparse.Namespace) -> tuple[int, int]:
    """The ports of the first start, kept for later starts (the linked session is per origin)."""
    ports_file = args.dir / "ports.json"
    saved = _read_json(ports_file)
    ha_port = args.ha_port or saved.get("ha_port")
    if not ha_port:
        ha_port = DEFAULT_HA_PORT if port_is_free(DEFAULT_HA_PORT) else free_port()
    simulator_port = args.simulator_port or saved.get("simulator_port") or free_port()
    if simulator_port == ha_port:
        simulator_port = free_port()
    _write_json(ports_file, {"ha_port": ha_port, "simulator_port": simulator_port})
    return int(ha_port), int(simulator_port)


def banner(stack: Stack, info: dict[str, str], example_chat: str, assist_number: str) -> str:
    """What a person needs: where to log in, the phone page, a REST call."""
    settings = stack.settings
    assert stack.simulator is not None
    return "\n".join(
        [
            "",
            "WhatsApp Web for Home Assistant: the demo is running.",
            "",
            f"  Home Assistant     {info['ha_url']}  (the WhatsApp dashboard)",
            f"    login            {settings.username} / {settings.password}",
            f"  Phone (simulator)  {stack.simulator.phone_url}",
            f"  State              {settings.directory} (demo.json holds the token)",
            "",
            "  Try it: from the phone page, write ping (the answer is pong) or photo (the demo",
            "  camera's snapshot comes back), or call: the bed light turns on and the logbook says so.",
            "  The dashboard's buttons send a text, a location and a snapshot to the first chat.",
            f"  From {assist_number} (mapped to you) talk to Assist: turn off the kitchen lights.",
            "",
            "  REST mirror:",
            f'    curl -s -H "Authorization: Bearer {info["token"]}" \\',
            f"      {info['ha_url']}/api/whatsapp_web/chats",
            "",
            "  Or send a message to the demo account with:",
            f"    curl -s -X POST {stack.simulator.url}_sim/incoming -H 'Content-Type: application/json' \\",
            f'      -d \'{{"chat": "{example_chat}", "body": "ping"}}\'',
            "",
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


async def run(args: argparse.Namespace, stop: asyncio.Event, stack: Stack) -> int:
    """Bring the stack up, publish its addresses, and wait for a signal or a dead process."""
    demo_file = args.dir / "demo.json"
    saved = _read_json(demo_file)
    async with aiohttp.ClientSession() as session:
        _LOGGER.info("starting the simulator and Home Assistant (first start takes ~20 s)")
        stack.start_processes()
        assert stack.hass is not None
        assert stack.simulator is not None
        _write_json(
            args.dir / "processes.json",
            {
                "demo": os.getpid(),
                "hass": stack.hass.pgid,
                "simulator": stack.simulator.process.pid,
            },
        )
        await stack.bring_up(session, saved_token=saved.get("token"))
        _LOGGER.info("linking the account through the config flow (if not linked yet)")
        await stack.ensure_linked(session)
        _LOGGER.info("adding the demo's automations, scripts and dashboard (if missing)")
        account = await furnish(session, stack.ha_url, stack.token, stack.simulator.url)
    info = {"ha_url": stack.ha_url, "token": stack.token, "simulator_url": stack.simulator.url}
    _write_json(demo_file, info)
    if args.headless:
        sys.stdout.write(json.dumps(info) + "\n")
    else:
        sys.stdout.write(
            banner(stack, info, account.first_chat, phone_number(account.assist_chat)) + "\n"
        )
    sys.stdout.flush()
    while not stop.is_set():
        if not stack.hass.running():
            _LOGGER.error("Home Assistant exited:\n%s", stack.hass.log_tail())
            return 1
        if stack.simulator.process.poll() is not None:
            _LOGGER.error("the simulator exited")
            return 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    return 0


async def main_async(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM; always stop every process."""
    args.dir = args.dir.resolve()
    args.dir.mkdir(parents=True, exist_ok=True)
    try:
        claim_directory(args.dir)
    except AlreadyRunning as running:
        # Not an error: the demo asked for is there. Say where, and leave it alone.
        info = _read_json(args.dir / "demo.json")
        _LOGGER.warning(
            "%s on %s; not starting another. Stop it with: kill %s",
            running,
            args.dir,
            running.pid,
        )
        if info:
            sys.stdout.write(json.dumps(info) + "\n")
        return 0
    ha_port, simulator_port = choose_ports(args)
    stack = Stack(
        StackSettings(
            directory=args.dir,
            ha_port=ha_port,
            simulator_port=simulator_port,
            seed=args.seed,
            chats=args.chats,
            messages=args.messages,
            household=True,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None

    def on_signal() -> None:
        if stop.is_set():
            return
        _LOGGER.info("stopping")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    runner = asyncio.create_task(run(args, stop, stack))
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            return runner.result()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, HarnessError):
            await runner
    except HarnessError as error:
        _LOGGER.error("%s", error)
        return 1
    finally:
        stopper.cancel()
        # Blocking on purpose: nothing else runs any more, and each stop waits for its process.
        await loop.run_in_executor(None, stack.stop)
        with contextlib.suppress(OSError):
            (args.dir / "processes.json").unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``script/demo``."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[demo] %(message)s", stream=sys.stderr)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
