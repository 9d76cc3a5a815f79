"""The page's operations: what a `call` frame on the page's WebSocket runs, by family.

`op_table` gathers every family's ops by name; `PageHub.on_call` looks an op up there and answers
with its result (`simulator/PROTOCOL.md`, "Operations").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .account import AccountOps
from .groups import GroupOps
from .messages import MessageOps

if TYPE_CHECKING:
    from ..pages import OpHandler
    from ..server import SimulatorServer


def op_table(server: SimulatorServer) -> dict[str, OpHandler]:
    """Every page op of the server, by name (the message kinds' own ops included)."""
    return {
        **AccountOps(server).ops(),
        **MessageOps(server).ops(),
        **GroupOps(server).ops(),
        **server.message_kinds.ops(),
    }


__all__ = ["AccountOps", "GroupOps", "MessageOps", "op_table"]
