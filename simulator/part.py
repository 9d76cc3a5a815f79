"""The base of the server's parts: each works on the state the server shares between them.

The server (`simulator.server.SimulatorServer`) holds the account, the open pages and the connection
state; the parts (pages, control API, phone, page operations, account changes) hold behaviour only,
so one change seen by one part is seen by all. The account is read through the server every time
because `POST /_sim/reset` replaces it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .account import Account
    from .account_changes import AccountChanges
    from .pages import PageHub
    from .server import SimulatorServer


class ServerPart:
    """One part of a simulator, over its server's shared state."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server

    @property
    def account(self) -> Account:
        """The shared account (the current one: `/_sim/reset` replaces it)."""
        return self.server.account

    @property
    def hub(self) -> PageHub:
        """The open pages: their WebSockets and what is pushed to them."""
        return self.server.hub

    @property
    def changes(self) -> AccountChanges:
        """Changes that others make to the account (messages, reactions, group events)."""
        return self.server.changes
