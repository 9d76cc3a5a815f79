"""The account's state: the one operation every signed-in user may run."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import SupportsResponse

from ..client.models import ClientState
from .model import Access, Method, Operation, OperationContext, Route


async def _get_status(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    status = ctx.client.status()
    # The add-on answered whatsapp-web.js's getState(): null (shown as INITIALIZING) before the account
    # was authenticated, else WhatsApp Web's own Socket state.
    whatsapp_state = status.whatsapp_state if status.state != ClientState.NEEDS_PAIRING else None
    return {
        "status": whatsapp_state or "INITIALIZING",
        **status.as_json(),
        "account": ctx.account.account_id,
        "config_entry_id": ctx.account.entry.entry_id,
        "outbox_pending": ctx.account.outbox.pending,
    }


GET_STATUS: Final = Operation(
    name="get_status",
    tag="state",
    title="Get status",
    description="Returns the connection state of the WhatsApp account.",
    fields=(),
    routes=(Route(Method.GET, "/status"),),
    handler=_get_status,
    access=Access.STATUS,
    supports_response=SupportsResponse.ONLY,
    response_schema={
        "type": "object",
        "properties": {
            "status": {
                "type": "string",
                "description": "WhatsApp Web's state, as the add-on reported it.",
            },
            "state": {"type": "string"},
            "account": {"type": "string"},
        },
        "required": ["status", "state"],
    },
)


OPERATIONS: Final[tuple[Operation, ...]] = (GET_STATUS,)
