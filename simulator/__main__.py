"""`python -m simulator --host 127.0.0.1 --port P`: serve one simulated WhatsApp account.

`--surface NAME` serves a dated generation of WhatsApp Web (docs/whatsapp-web-surface.md §9.2).
Prints one JSON line `{"url": "http://HOST:PORT/"}` when ready; SIGINT/SIGTERM stop it (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
from pathlib import Path
import signal
import sys
from typing import TYPE_CHECKING

from .generations import GENERATIONS, generation
from .server import SimulatorOptions, SimulatorServer

if TYPE_CHECKING:
    from aiohttp import web


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="A local WhatsApp Web simulator."
    )
    defaults = SimulatorOptions()
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    parser.add_argument(
        "--chats", type=int, default=defaults.chats, help="seeded chats (groups included)"
    )
    parser.add_argument(
        "--messages", type=int, default=defaults.messages, help="seeded messages per chat"
    )
    parser.add_argument(
        "--long-chat",
        type=int,
        default=defaults.long_chat,
        metavar="MESSAGES",
        help="seeded messages of the first 1:1 chat instead of --messages (0: no such chat)",
    )
    parser.add_argument(
        "--contacts", type=int, default=defaults.contacts, help="seeded address-book contacts"
    )
    parser.add_argument(
        "--groups", type=int, default=defaults.groups, help="how many of the chats are groups"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the data set")
    parser.add_argument(
        "--qr-interval", type=float, default=defaults.qr_interval, help="seconds between QR changes"
    )
    parser.add_argument(
        "--qr-max", type=int, default=defaults.qr_max, help="QR changes before idle"
    )
    parser.add_argument("--version", default=defaults.version, help="the Debug.VERSION string")
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="keep the account here (default: memory)"
    )
    parser.add_argument(
        "--record-calls",
        action="store_true",
        help="record the module calls clients make (POST /_sim/calls/collect)",
    )
    parser.add_argument(
        "--surface",
        default=defaults.surface,
        metavar="NAME",
        help=f"dated WhatsApp Web generation to imitate: {', '.join(GENERATIONS)} "
        f"(default {defaults.surface}, today's)",
    )
    parser.add_argument("--log-level", default="WARNING", help="Python logging level")
    args = parser.parse_args(argv)
    for name in ("chats", "messages", "long_chat", "contacts", "groups", "qr_max"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.qr_interval <= 0:
        parser.error("--qr-interval must be positive")
    try:
        generation(args.surface)
    except ValueError as error:
        parser.error(f"--surface: {error}")
    return args


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    options = SimulatorOptions(
        **{
            option.name: getattr(args, option.name)
            for option in dataclasses.fields(SimulatorOptions)
        }
    )
    server = SimulatorServer(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner: web.AppRunner | None = None
    try:
        runner, url = await server.serve_on(args.host, args.port)
        sys.stdout.write(json.dumps({"url": url}) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await server.close()
        if runner is not None:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
