"""The operations table: every WhatsApp operation declared once, with its three faces.

Each ``Operation`` names the Home Assistant service, its fields (from which the voluptuous schema, the
``services.yaml`` selectors, the translations and the OpenAPI request schemas are all derived), the REST
routes under ``/api/whatsapp_web`` (the add-on's paths with ``/api`` replaced; where the add-on's README and
its real routes disagree, both forms), the REST answer (204 for changes, 201 for a created group, 200 with
JSON otherwise), who may call it (``Access``: both faces apply the same rule through ``ensure_allowed``),
which rate limit counts it, whether the service returns data, and the handler that calls the client.
``services.py`` and ``http.py`` only read this table and run operations through ``run_operation``.

One module a family, as the OpenAPI tags group them (``state``, ``chats``, ``messages``, ``groups``,
``contacts``, ``me``), each handler beside its declaration; ``model`` holds what the table is made of,
``errors`` how a failure is reported, ``accounts`` and ``running`` how an operation is run.

Field names follow the add-on's JSON where it had one (``msg``, ``url``, ``options.caption``,
``options.sendMediaAsDocument``, ``participants``, ``name``, ``status``, ``reaction``); path parameters are
named after what they hold (``chat_id``, ``message_id``, ...), which is also their service field name.
"""

from __future__ import annotations

from typing import Final

from . import chats, contacts, groups, me, messages, state
from .accounts import account_for_entry_id, account_for_query, loaded_accounts
from .errors import ERROR_PLACEHOLDERS, ErrorInfo, OperationError, describe_error
from .messages import ensure_local_file_allowed
from .model import (
    Access,
    Answer,
    DownloadedMedia,
    Face,
    Field,
    Handler,
    Method,
    Operation,
    OperationContext,
    ResultKind,
    Route,
    Where,
)
from .running import ensure_allowed, run_counted, run_operation

# In the order services.yaml, the translations, the README and the OpenAPI document list them.
OPERATIONS: Final[tuple[Operation, ...]] = (
    *state.OPERATIONS,
    *chats.OPERATIONS,
    *messages.OPERATIONS,
    *groups.OPERATIONS,
    *contacts.OPERATIONS,
    *me.OPERATIONS,
)

OPERATIONS_BY_NAME: Final[dict[str, Operation]] = {
    operation.name: operation for operation in OPERATIONS
}

__all__ = [
    "ERROR_PLACEHOLDERS",
    "OPERATIONS",
    "OPERATIONS_BY_NAME",
    "Access",
    "Answer",
    "DownloadedMedia",
    "ErrorInfo",
    "Face",
    "Field",
    "Handler",
    "Method",
    "Operation",
    "OperationContext",
    "OperationError",
    "ResultKind",
    "Route",
    "Where",
    "account_for_entry_id",
    "account_for_query",
    "describe_error",
    "ensure_allowed",
    "ensure_local_file_allowed",
    "loaded_accounts",
    "run_counted",
    "run_operation",
]
