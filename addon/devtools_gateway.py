"""The add-on's DevTools gateway: Chromium's DevTools endpoint for Home Assistant, and nobody else.

Chromium listens on the container's loopback (``--remote-debugging-port``), which other containers
cannot reach; this gateway listens on the add-on network and forwards only what the integration's
DevTools driver (``custom_components/whatsapp_web/client/drivers/cdp.py``) needs:

* ``GET /json/version``, answering with the ``ws://`` address rewritten to the address the caller used
  (Chromium names itself ``127.0.0.1:<port>``); every other ``/json`` path (``/json/new`` opens any URL
  in a new tab, ``/json/list`` names every tab) is refused;
* the browser's WebSocket (``/devtools/browser/<id>``), where each command from the caller is checked
  before it reaches Chromium: its method must be one of :data:`ALLOWED_METHODS`, and
  ``Target.createTarget`` and ``Page.navigate`` may only open ``about:blank`` or a page of the
  WhatsApp Web origin. A refused command is answered with a DevTools error and never forwarded.

Every request must come from an address of ``--allow`` (host names resolved again every minute: the
Supervisor's ``homeassistant`` name follows Home Assistant's container) and carry the token, as
``Authorization: Bearer <token>`` or ``?token=<token>`` (the integration's remote browser sends both).
The token is made on the first start and kept in ``--token-file`` (mode 0600); there is no way to run
without one. Anything else gets 403 (or 401 without the right token) and never reaches Chromium.
Chromium itself also refuses ``Host`` headers that are not an address; the gateway always talks to it
as ``127.0.0.1``.

Under the Supervisor (``SUPERVISOR_TOKEN`` set) the gateway announces itself through the Supervisor's
discovery API, so Home Assistant offers to set the integration up with the address and the token.

Runs with the standard library and aiohttp only (Alpine: ``py3-aiohttp``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
from pathlib import Path
import secrets
import signal
import socket
import stat
import time
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from aiohttp import (
    ClientError,
    ClientSession,
    ClientTimeout,
    WSMsgType,
    web,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp.typedefs import Handler

_LOGGER = logging.getLogger("devtools_gateway")
# Media crosses DevTools as base64 inside one message: no size limit on either side.
UNLIMITED = 0
RESOLVE_EVERY = 60.0
WHATSAPP_WEB_URL: Final = "https://web.whatsapp.com/"
# The only page a new tab or a navigation may open besides WhatsApp Web itself.
BLANK_PAGE: Final = "about:blank"
# Every command the integration's DevTools driver sends (tests/addon checks this against cdp.py).
ALLOWED_METHODS: Final = frozenset(
    {
        "Browser.getVersion",
        "Emulation.setUserAgentOverride",
        "Inspector.enable",
        "Page.addScriptToEvaluateOnNewDocument",
        "Page.enable",
        "Page.getFrameTree",
        "Page.navigate",
        "Page.setLifecycleEventsEnabled",
        "Page.stopLoading",
        "Runtime.addBinding",
        "Runtime.callFunctionOn",
        "Runtime.enable",
        # Read-only: the memory guard reads the page's JavaScript heap.
        "Runtime.getHeapUsage",
        "Target.attachToTarget",
        "Target.closeTarget",
        "Target.createTarget",
        "Target.setDiscoverTargets",
    }
)
# Commands whose ``url`` parameter opens a page.
NAVIGATING_METHODS: Final = frozenset({"Target.createTarget", "Page.navigate"})
# The JSON-RPC code Chromium itself uses for a refused command.
REFUSED_CODE: Final = -32000
TOKEN_BYTES: Final = 32
DISCOVERY_SERVICE: Final = "whatsapp_web"
DISCOVERY_TIMEOUT: Final = 30.0


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
    if not token:
        return False  # never an open gateway, whatever the caller set up
    offered = request.query.get("token", "")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        offered = header.removeprefix("Bearer ")
    return hmac.compare_digest(offered.encode(), token.encode())


def load_or_create_token(path: Path) -> str:
    """The gateway's token: read from ``path``, or made and stored there (mode 0600) the first time."""
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        token = ""
    if token:
        # A copy restored or edited by hand may have a looser mode.
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            path.chmod(0o600)
        return token
    token = secrets.token_urlsafe(TOKEN_BYTES)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(token + "\n")
        file.flush()
        os.fsync(file.fileno())
    return token


def origin_of(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL, or None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


class CommandFilter:
    """Which DevTools commands from the caller may reach Chromium."""

    def __init__(self, page_url: str) -> None:
        """``page_url`` is the WhatsApp Web page the integration opens; its origin is allowed."""
        origin = origin_of(page_url)
        if origin is None:
            raise ValueError(f"the page URL {page_url!r} is not an http(s) URL")
        self.page_origin = origin

    def url_allowed(self, url: Any) -> bool:
        """``about:blank`` or a page of the WhatsApp Web origin."""
        if not isinstance(url, str):
            return False
        return url == BLANK_PAGE or origin_of(url) == self.page_origin

    def refusal(self, command: dict[str, Any]) -> str | None:
        """Why ``command`` may not reach Chromium, or None when it may."""
        method = command.get("method")
        if not isinstance(command.get("id"), int) or not isinstance(method, str):
            return "not a DevTools command"
        if method not in ALLOWED_METHODS:
            return f"{method} is not allowed by the gateway"
        params = command.get("params")
        if method in NAVIGATING_METHODS and not (
            isinstance(params, dict) and self.url_allowed(params.get("url"))
        ):
            return f"{method} may only open {BLANK_PAGE} or WhatsApp Web"
        return None


class Gateway:
    """The aiohttp application."""

    def __init__(
        self, upstream: str, allow: AllowList, token: str, commands: CommandFilter
    ) -> None:
        """``upstream`` is Chromium's ``host:port``."""
        self.upstream = upstream
        self.allow = allow
        self.token = token
        self.commands = commands
        self.app = web.Application(middlewares=[self._guard])
        # The driver reads /json/version only; nothing else of Chromium's HTTP API is served.
        self.app.router.add_route("GET", "/json/version", self.json_route)
        self.app.router.add_route("GET", "/devtools/browser/{browser_id}", self.websocket_route)
        self.app.router.add_route("*", "/json{tail:.*}", self.refuse_route)
        self.app.router.add_route("*", "/devtools/{tail:.*}", self.refuse_route)
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
        if not token_matches(request, self.token):
            _LOGGER.warning("refused %s: missing or wrong token", request.remote)
            raise web.HTTPUnauthorized(text="a token is required\n")
        return await handler(request)

    def _upstream_url(self, scheme: str, request: web.Request) -> str:
        # The token is the gateway's business: Chromium never sees it.
        query = "&".join(f"{key}={value}" for key, value in request.query.items() if key != "token")
        path = request.path + (f"?{query}" if query else "")
        return f"{scheme}://{self.upstream}{path}"

    async def refuse_route(self, request: web.Request) -> web.Response:
        """Chromium's other endpoints: new tabs at any URL, every tab's own socket."""
        _LOGGER.warning("refused %s %s: not served by the gateway", request.method, request.path)
        raise web.HTTPForbidden(text="only /json/version and the browser's socket are served\n")

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

        async def commands_to_browser() -> None:
            async for message in downstream:
                if message.type == WSMsgType.TEXT:
                    refusal = self._check(message.data)
                    if refusal is None:
                        await upstream.send_str(message.data)
                    else:
                        await downstream.send_str(refusal)
                elif message.type == WSMsgType.PING:
                    await upstream.ping(message.data)
                elif message.type == WSMsgType.PONG:
                    await upstream.pong(message.data)
                else:
                    break  # DevTools speaks JSON text; a binary frame ends the session

        async def answers_to_caller() -> None:
            async for message in upstream:
                if message.type == WSMsgType.TEXT:
                    await downstream.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await downstream.send_bytes(message.data)
                elif message.type == WSMsgType.PING:
                    await downstream.ping(message.data)
                elif message.type == WSMsgType.PONG:
                    await downstream.pong(message.data)
                else:
                    break

        tasks = [
            asyncio.create_task(commands_to_browser()),
            asyncio.create_task(answers_to_caller()),
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

    def _check(self, text: str) -> str | None:
        """None when the command may pass; else the error answer to send back to the caller."""
        try:
            command = json.loads(text)
        except ValueError:
            command = None
        if not isinstance(command, dict):
            command = {}
        refusal = self.commands.refusal(command)
        if refusal is None:
            return None
        _LOGGER.warning("refused a DevTools command: %s", refusal)
        answer: dict[str, Any] = {
            "id": command.get("id"),
            "error": {"code": REFUSED_CODE, "message": refusal},
        }
        if "sessionId" in command:
            answer["sessionId"] = command["sessionId"]
        return json.dumps(answer)


async def announce(supervisor: str, supervisor_token: str, url: str, token: str) -> None:
    """Tell the Supervisor where the browser is, so Home Assistant offers the integration."""
    body = {"service": DISCOVERY_SERVICE, "config": {"url": url, "token": token}}
    try:
        async with (
            ClientSession(timeout=ClientTimeout(total=DISCOVERY_TIMEOUT)) as session,
            session.post(
                f"{supervisor}/discovery",
                json=body,
                headers={"Authorization": f"Bearer {supervisor_token}"},
            ) as response,
        ):
            if response.status >= 400:
                _LOGGER.warning("the Supervisor refused the discovery (HTTP %s)", response.status)
                return
    except (ClientError, TimeoutError) as error:
        _LOGGER.warning("could not announce the browser to the Supervisor: %s", error)
        return
    _LOGGER.warning("announced %s to Home Assistant (Settings > Devices & services)", url)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGTERM or SIGINT."""
    host, _, port = args.listen.rpartition(":")
    allow = AllowList([entry.strip() for entry in args.allow.split(",") if entry.strip()])
    token = load_or_create_token(Path(args.token_file))
    gateway = Gateway(args.upstream, allow, token, CommandFilter(args.page_url))
    runner = web.AppRunner(gateway.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host or "0.0.0.0", int(port))  # noqa: S104  (the add-on network)
    await site.start()
    _LOGGER.warning("DevTools gateway on %s for %s", args.listen, args.allow)
    # The add-on's own log is where the user copies the token from when discovery is not used;
    # Home Assistant never logs it.
    _LOGGER.warning("access token (the integration's remote browser step): %s", token)
    supervisor_token = os.environ.get("SUPERVISOR_TOKEN", "")
    if supervisor_token:
        advertised = f"http://{args.advertise_host or socket.gethostname()}:{port}"
        await announce(args.supervisor, supervisor_token, advertised, token)
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
    parser.add_argument("--token-file", default="/data/devtools_token")
    parser.add_argument("--page-url", default=WHATSAPP_WEB_URL, help="the origin pages may open")
    parser.add_argument("--supervisor", default="http://supervisor")
    parser.add_argument("--advertise-host", default="", help="host name for discovery")
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="[devtools-gateway] %(levelname)s %(message)s"
    )
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
