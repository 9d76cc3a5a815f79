"""The page's events that only become a client event (or a log line): no state, no bookkeeping.

The client's state machine handles the events that change what it knows (boot, state, synced, QR,
logout) and the exactly-once ledger the messages; everything else the bridge reports is a plain
translation from the page's JSON to a model, done here.
"""

from __future__ import annotations

import logging
from typing import Any

from .models import (
    Call,
    CapabilityMissing,
    ClientEvent,
    IncomingCall,
    Message,
    MessageAcknowledged,
    MessageEdited,
    MessageReaction,
    MessageRevokedForEveryone,
    MessageRevokedForMe,
    PollVote,
    PollVoted,
    Reaction,
)

_LOGGER = logging.getLogger(__name__)


def client_event(event: dict[str, Any]) -> ClientEvent | None:
    """The client event for a page event of this kind; None when it is only logged (or unknown)."""
    match event.get("type"):
        case "ack":
            return MessageAcknowledged(Message.from_page(event["message"]), int(event["ack"]))
        case "revoke_everyone":
            before = event.get("before")
            return MessageRevokedForEveryone(
                Message.from_page(event["message"]),
                Message.from_page(before) if isinstance(before, dict) else None,
            )
        case "revoke_me":
            return MessageRevokedForMe(Message.from_page(event["message"]))
        case "reaction":
            return MessageReaction(Reaction(data=event["reaction"]))
        case "poll_vote":
            return PollVoted(PollVote(data=event["vote"]))
        case "message_edit":
            previous = event.get("prevBody")
            return MessageEdited(
                Message.from_page(event["message"]),
                str(event.get("newBody") or ""),
                previous if isinstance(previous, str) else None,
            )
        case "call":
            return IncomingCall(Call(data=event["call"]))
        case "capability_missing":
            feature, missing = str(event.get("feature")), str(event.get("missing"))
            _LOGGER.warning(
                "WhatsApp Web changed: %s is missing; %s events are unavailable", missing, feature
            )
            return CapabilityMissing(feature, missing)
        case "offline_progress":
            _LOGGER.debug("Offline sync at %s %%", event.get("percent"))
        case "bridge_error":
            _LOGGER.warning(
                "The WhatsApp Web bridge failed in %s: %s",
                event.get("feature"),
                event.get("message"),
            )
        case other:
            _LOGGER.debug("Ignoring an unknown event from the page: %s", other)
    return None
