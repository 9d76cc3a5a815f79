"""The add-on's DevTools gateway: Chromium's DevTools endpoint for Home Assistant, and nobody else.

Chromium listens on the container's loopback (``--remote-debugging-port``), which other containers
cannot reach; this gateway listens on the add-on network and forwards

* ``GET /json/...`` (``/json/version``, ``/json/list``, ...), answering with the ``ws://`` addresses
  rewritten to the address the caller used (Chromium names itself ``127.0.0.1:<port>``), and
* WebSocket connections to ``/devtools/...``, message by message in both directions,

only for callers whose address is one of ``--allow`` (host names resolved again every minute: the
Supervisor's ``homeassistant`` name follows Home Assistant's container) and, when ``GATEWAY_TOKEN`` is
set, only for requests that carry it as ``Authorization: Bearer <token>`` or ``?token=<token>`` (the
integration's remote browser sends both). Anything else gets 403 (or 401 without the token) and never
reaches Chromium. Chromium itself also refuses ``Host`` headers that are not an address; the gateway
always talks to it as ``127.0.0.1``.

Runs with the standard library and aiohttp only (Alpine: ``py3-aiohttp``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import signal
import socket
import time
from typing import TYPE_CHECKING

from aiohttp import ClientSession, ClientTimeout, ClientWebSocketResponse, WSMsgType, web

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp.typedefs import Handler

_LOGGER = logging.getLogger("devtools_gateway")
# Media crosses DevTools as base64 inside one message: no size limit on either side.
UNLIMITED = 0
RESOLVE_EVERY = 60.0

type WebSocket = web.WebSocketResponse | ClientWebSocketResponse


class AllowList:
    """The addresses allowed in: literal IPs, and host names resolved at most once a minute."""

    def __init__(self, entries: list[str]) -> None:
        """``entries`` are IP addresses, networks (``172.30.32.0/23``) or host names."""
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._names: list[str] = []
        for entry in entries:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._names.append(entry)
        self._resolved: set[str] = set()
        self._resolved_at = 0.0

    async def _refresh(self) -> None:
        if not self._names or time.monotonic() - self._resolved_at < RESOLVE_EVERY:
            return
        loop = asyncio.get_running_loop()
        addresses: set[str] = set()
        for name in self._names:
            try:
                infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            except OSError as error:
                _LOGGER.warning("cannot resolve %s: %s", name, error)
                continue
            addresses.update(str(info[4][0]) for info in infos)
        self._resolved = addresses
        self._resolved_at = time.monotonic()

    async def allows(self, address: str | None) -> bool:
        """Whether a caller at ``address`` may use the browser."""
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if any(ip in network for network in self._networks):
            return True
        await self._refresh()
        return address in self._resolved


def token_matches(request: web.Request, token: str) -> bool:
    """The request carries the token (bearer header or query), compared in constant time."""
    offered = request.query.get("token", "")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        offered = header.removeprefix("Bearer ")
    return hmac.compare_digest(offered.encode(), token.encode())


class Gateway:
    """The aiohttp application."""

    def __init__(self, upstream: str, allow: AllowList, token: str) -> None:
        """``upstream`` is Chromium's ``host:port``."""
        self.upstream = upstream
        self.allow = allow
        self.token = token
        self.app = web.Application(middlewares=[self._guard])
        self.app.router.add_route("GET", "/json{tail:.*}", self.json_route)
        self.app.router.add_route("PUT", "/json{tail:.*}", self.json_route)
        self.app.router.add_route("GET", "/devtools/{tail:.*}", self.websocket_route)
        self.app.cleanup_ctx.append(self._client_session)
        self._session: ClientSession | None = None

    async def _client_session(self, _app: web.Application) -> AsyncIterator[None]:
        """One HTTP session to Chromium for the gateway's lifetime."""
        self._session = ClientSession(timeout=ClientTimeout(total=None, connect=10))
        yield
        await self._session.close()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not await self.allow.allows(request.remote):
            _LOGGER.warning("refused %s: address not allowed", request.remote)
            raise web.HTTPForbidden(text="this DevTools endpoint only serves Home Assistant\n")
        if self.token and not token_matches(request, self.token):
            _LOGGER.warning("refused %s: missing or wrong token", request.remote)
            raise web.HTTPUnauthorized(text="a token is required\n")
        return await handler(request)

    def _upstream_url(self, scheme: str, request: web.Request) -> str:
        # The token is the gateway's business: Chromium never sees it.
        query = "&".join(f"{key}={value}" for key, value in request.query.items() if key != "token")
        path = request.path + (f"?{query}" if query else "")
        return f"{scheme}://{self.upstream}{path}"

    async def json_route(self, request: web.Request) -> web.Response:
        """Forward a ``/json`` request and point the answer's addresses at the gateway."""
        assert self._session is not None
        async with self._session.request(
            request.method, self._upstream_url("http", request), headers={"Host": self.upstream}
        ) as response:
            body = await response.text()
            status = response.status
            content_type = response.content_type
        body = body.replace(f"ws://{self.upstream}/", f"ws://{request.host}/")
        body = body.replace(f"ws={self.upstream}/", f"ws={request.host}/")
        return web.Response(text=body, status=status, content_type=content_type)

    async def websocket_route(self, request: web.Request) -> web.WebSocketResponse:
        """Join the caller's WebSocket to Chromium's, message for message."""
        assert self._session is not None
        try:
            upstream = await self._session.ws_connect(
                self._upstream_url("ws", request),
                headers={"Host": self.upstream},
                max_msg_size=UNLIMITED,
                autoping=False,
            )
        except Exception as error:
            _LOGGER.warning("Chromium refused a DevTools connection: %s", error)
            raise web.HTTPBadGateway(text="the browser is not available\n") from error
        downstream = web.WebSocketResponse(max_msg_size=UNLIMITED, autoping=False)
        await downstream.prepare(request)
        _LOGGER.info("DevTools session opened for %s", request.remote)

        async def pump(source: WebSocket, target: WebSocket) -> None:
            async for message in source:
                if message.type == WSMsgType.TEXT:
                    await target.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await target.send_bytes(message.data)
                elif message.type == WSMsgType.PING:
                    await target.ping(message.data)
                elif message.type == WSMsgType.PONG:
                    await target.pong(message.data)
                else:
                    break

        tasks = [
            asyncio.create_task(pump(downstream, upstream)),
            asyncio.create_task(pump(upstream, downstream)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
            await upstream.close()
            await downstream.close()
            _LOGGER.info("DevTools session closed for %s", request.remote)
        return downstream


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGTERM or SIGINT."""
    host, _, port = args.listen.rpartition(":")
    allow = AllowList([entry.strip() for entry in args.allow.split(",") if entry.strip()])
    gateway = Gateway(args.upstream, allow, os.environ.get("GATEWAY_TOKEN", ""))
    runner = web.AppRunner(gateway.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host or "0.0.0.0", int(port))  # noqa: S104  (the add-on network)
    await site.start()
    _LOGGER.warning(
        "DevTools gateway on %s for %s%s",
        args.listen,
        args.allow,
        " (token required)" if gateway.token else "",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Command line (see run.sh)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:9222")
    parser.add_argument("--upstream", default="127.0.0.1:9223")
    parser.add_argument("--allow", default="homeassistant", help="comma-separated names/addresses")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="[devtools-gateway] %(levelname)s %(message)s"
    )
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
