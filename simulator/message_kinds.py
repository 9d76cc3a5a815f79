"""Polls, edits, contact cards and profile pictures: the server's and the phone's side of them.

A part of the server (`simulator/part.py`): `MessageKinds` adds its control
routes (`/_sim/vote`, `/_sim/edit`, `/_sim/picture`, `/_sim/pps/...`) and page ops (`edit`,
`profile_picture`) to a server, and `kind_fields` checks what the page sent for a poll or a
contact card (docs/internals.md §1; simulator/PROTOCOL.md).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .account import JSONDict, MediaBlob, StoredMessage, make_key, new_incoming_id
from .args import InputError, decode_b64, read_json
from .part import ServerPart

if TYPE_CHECKING:
    from .args import Args
    from .pages import OpHandler, PageSession
    from .server import SimulatorServer

#: Every message type the server knows; `POST /_sim/incoming` accepts these.
MESSAGE_TYPES = {
    "chat",
    "image",
    "video",
    "audio",
    "ptt",
    "document",
    "sticker",
    "location",
    "vcard",
    "multi_vcard",
    "poll_creation",
    "groups_v4_invite",
}
#: The types that carry media bytes.
MEDIA_TYPES = {"image", "video", "audio", "ptt", "document", "sticker"}

#: Types whose text is the caption (an edit changes it); `chat` messages change their body.
CAPTIONED_TYPES = {"image", "video", "document"}
#: WhatsApp lets the sender edit a message for 15 minutes.
EDIT_WINDOW_SECONDS = 15 * 60
#: A poll has 2 to 12 options.
POLL_OPTIONS_MIN = 2
POLL_OPTIONS_MAX = 12
MAX_PICTURE_BYTES = 5 * 1024 * 1024


def kind_fields(kind: str, msg: Args) -> JSONDict:
    """Outbox fields of a poll or a contact card, checked as WhatsApp's server checks them."""
    if kind == "poll_creation":
        return {"poll": _poll_of(msg)}
    if kind == "vcard":
        body = msg.optional_text("body")
        if not body or not body.startswith("BEGIN:VCARD"):
            raise InputError(msg.name("body"), "a vcard message's body must be a vCard")
        return {"vcards": [body]}
    if kind == "multi_vcard":
        cards = msg.data.get("vcardList")
        if not isinstance(cards, list) or not cards:
            raise InputError(msg.name("vcardList"), "must be a non-empty list of vCards")
        texts = [card.get("vcard") if isinstance(card, dict) else None for card in cards]
        if not all(isinstance(text, str) and text.startswith("BEGIN:VCARD") for text in texts):
            raise InputError(msg.name("vcardList"), "each entry must be {vcard: 'BEGIN:VCARD...'}")
        return {"vcards": texts}
    return {}


def _poll_of(msg: Args) -> JSONDict:
    """The poll a `poll_creation` message carries."""
    name = msg.optional_text("pollName")
    if not name or not name.strip():
        raise InputError(msg.name("pollName"), "is required")
    options = msg.data.get("pollOptions")
    if (
        not isinstance(options, list)
        or not POLL_OPTIONS_MIN <= len(options) <= POLL_OPTIONS_MAX
        or not all(
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("localId"), int)
            for item in options
        )
    ):
        raise InputError(
            msg.name("pollOptions"),
            f"must be {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} objects {{name, localId}}",
        )
    names = [item["name"] for item in options]
    if len(set(names)) != len(names):
        raise InputError(msg.name("pollOptions"), "option names must differ")
    count = msg.integer("pollSelectableOptionsCount", minimum=0, maximum=len(options))
    return {"name": name, "options": names, "selectable_count": count}


def text_field(message: StoredMessage) -> str | None:
    """The attribute an edit changes (`body` or `caption`), or None when it cannot be edited."""
    kind = message.wire.get("type")
    if message.revoked or kind not in ("chat", *CAPTIONED_TYPES):
        return None
    return "caption" if kind in CAPTIONED_TYPES else "body"


class MessageKinds(ServerPart):
    """Polls, edits and profile pictures of one simulated account."""

    def __init__(self, server: SimulatorServer) -> None:
        super().__init__(server)
        #: user or group id -> picture; kept in memory only.
        self.pictures: dict[str, MediaBlob] = {}
        #: picture token (in the eurl) -> id.
        self.picture_tokens: dict[str, str] = {}

    def routes(self) -> list[web.RouteDef]:
        """The control routes this part adds."""
        return [
            web.post("/_sim/vote", self.handle_vote),
            web.post("/_sim/edit", self.handle_edit),
            web.post("/_sim/picture", self.handle_picture),
            web.get("/_sim/pps/{token}", self.handle_pps),
        ]

    def ops(self) -> dict[str, OpHandler]:
        """The page ops this part adds."""
        return {"edit": self.op_edit, "profile_picture": self.op_profile_picture}

    def reset(self) -> None:
        """Forget every picture (`/_sim/reset`)."""
        self.pictures.clear()
        self.picture_tokens.clear()

    # ----- polls ---------------------------------------------------------------------------

    async def handle_vote(self, request: web.Request) -> web.Response:
        """`POST /_sim/vote {id, options, from?}`: someone votes on a poll (`[]` withdraws)."""
        server = self.server
        args = await read_json(request)
        chosen = args.string_list("options")
        message = await server.changes.sent_message(args.text("id"))
        poll_options = message.wire.get("pollOptions")
        if message.wire.get("type") != "poll_creation" or not isinstance(poll_options, list):
            raise InputError("id", "is not a poll")
        by_name = {item["name"]: item["localId"] for item in poll_options}
        unknown = [name for name in chosen if name not in by_name]
        if unknown:
            raise InputError("options", f"not an option of the poll: {unknown[0]!r}")
        if message.wire.get("pollSelectableOptionsCount") == 1 and len(set(chosen)) > 1:
            raise InputError("options", "this poll allows one answer")
        sender = server.changes.default_sender(message, args.optional_wid("from", kind="user"))
        local_ids = sorted({by_name[name] for name in chosen})
        message.votes[sender] = local_ids
        await self._push_vote(message, sender, local_ids)
        return web.Response(status=204)

    async def _push_vote(self, message: StoredMessage, sender: str, local_ids: list[int]) -> None:
        group = message.chat in self.account.groups
        now_ms = int(time.time() * 1000)
        row: JSONDict = {
            "id": make_key(False, message.chat, new_incoming_id(), sender if group else None),
            "pollUpdateParentKey": message.wire["id"],
            "t": now_ms,
            "from": sender,
            "selectedOptionLocalIds": local_ids,
            "senderTimestampMs": now_ms,
            "read": False,
            "ack": 1,
        }
        if group:
            row["author"] = sender
        await self.hub.broadcast({"t": "poll_vote", "row": row})
        self.server.changed()

    # ----- edits ---------------------------------------------------------------------------

    async def handle_edit(self, request: web.Request) -> web.Response:
        """`POST /_sim/edit {id, body}`: the sender edited a message (on their phone)."""
        args = await read_json(request)
        message = await self.server.changes.sent_message(args.text("id"))
        await self._apply_edit(message, args.text("body"), "id", "body")
        return web.Response(status=204)

    async def op_edit(self, page: PageSession, args: Args) -> JSONDict:
        """I edit my own message."""
        field_name = args.name("message_id")
        message = self.server.get_message(args.text("message_id"), field_name)
        if not message.wire["id"].get("fromMe"):
            raise InputError(field_name, "only the sender can edit a message", 403)
        if self.server.now() - int(message.wire.get("t") or 0) > EDIT_WINDOW_SECONDS:
            raise InputError(field_name, "can no longer be edited", 403)
        text = args.text("text")
        await self._apply_edit(message, text, field_name, args.name("text"))
        self.account.record("edit", page.page_id, message_id=message.key, body=text)
        return {}

    async def _apply_edit(
        self, message: StoredMessage, text: str, id_field: str, text_field_name: str
    ) -> None:
        attribute = text_field(message)
        if attribute is None:
            raise InputError(id_field, f"a {message.wire.get('type')} message cannot be edited")
        if not text.strip():
            raise InputError(text_field_name, "must not be empty")
        message.wire[attribute] = text
        message.wire["latestEditSenderTimestampMs"] = int(time.time() * 1000)
        changes: dict[str, Any] = {
            attribute: text,
            "latestEditSenderTimestampMs": message.wire["latestEditSenderTimestampMs"],
        }
        await self.hub.broadcast({"t": "msg_update", "id": message.key, "changes": changes})
        self.server.changed()

    # ----- profile pictures ----------------------------------------------------------------

    async def handle_picture(self, request: web.Request) -> web.Response:
        """`POST /_sim/picture {id, data_b64?, mimetype?}`: set (or, without data, remove) a picture."""
        args = await read_json(request)
        owner = args.wid("id")
        encoded = args.optional_text("data_b64")
        for known in self._ids_of(owner):
            self.pictures.pop(known, None)
        if encoded is not None:
            data = decode_b64(encoded, "data_b64")
            if not data or len(data) > MAX_PICTURE_BYTES:
                raise InputError("data_b64", f"must be 1 byte to {MAX_PICTURE_BYTES} bytes")
            mimetype = args.optional_text("mimetype") or "image/jpeg"
            self.pictures[owner] = MediaBlob(data, mimetype)
        return web.Response(status=204)

    def _ids_of(self, user_or_group: str) -> list[str]:
        """The id and, for a user, their other id (phone number or LID)."""
        account = self.account
        found = [user_or_group, account.lid_of(user_or_group), account.phone_of(user_or_group)]
        return [item for index, item in enumerate(found) if item and item not in found[:index]]

    async def op_profile_picture(self, _page: PageSession, args: Args) -> JSONDict:
        """The picture's URL (`eurl`, relative to the server), or 404 without a picture."""
        owner = args.wid("id")
        for known in self._ids_of(owner):
            if known in self.pictures:
                token = secrets.token_hex(12)
                self.picture_tokens[token] = known
                return {"eurl": f"/_sim/pps/{token}"}
        raise InputError(args.name("id"), "no profile picture", 404)

    async def handle_pps(self, request: web.Request) -> web.Response:
        """`GET /_sim/pps/{token}`: a picture's bytes, as WhatsApp's picture server answers."""
        owner = self.picture_tokens.get(request.match_info["token"])
        blob = self.pictures.get(owner) if owner else None
        if blob is None:
            raise InputError("token", "unknown picture", 404)
        return web.Response(body=blob.data, content_type=blob.mimetype)
