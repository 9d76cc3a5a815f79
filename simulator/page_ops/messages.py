"""Page operations on messages: send (per kind), fetch, load earlier, react, star, delete.

`send_message` stores what the page sent with `ack: 1` and records it in the outbox; each kind adds
its own checks: media brings its bytes (or names media the server has), a location must go out as
a `text` stanza, polls and contact cards are checked in `simulator/message_kinds.py`.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from ..account import Chat, JSONDict, StoredMessage, is_group_id
from ..args import InputError, decode_b64, forbidden, not_found
from ..message_kinds import MEDIA_TYPES, kind_fields
from ..part import ServerPart

if TYPE_CHECKING:
    from ..args import Args
    from ..pages import OpHandler, PageSession


def sticker_entry(sticker: Args) -> JSONDict:
    """The outbox `media.sticker` of a sent sticker: the pack it names."""
    return {
        "pack_name": sticker.data.get("pack_name"),
        "publisher": sticker.data.get("publisher"),
        "emojis": sticker.data.get("emojis"),
    }


class MessageOps(ServerPart):
    """The page's calls about messages."""

    def ops(self) -> dict[str, OpHandler]:
        """The page ops of this family, by name."""
        return {
            "send_message": self.op_send_message,
            "media_download": self.op_media_download,
            "load_earlier": self.op_load_earlier,
            "get_messages": self.op_get_messages,
            "react": self.op_react,
            "star": self.op_star,
            "delete": self.op_delete,
            "link_preview": self.op_link_preview,
        }

    async def op_send_message(self, page: PageSession, args: Args) -> JSONDict:
        """The user sends a message; stored with `ack: 1` and recorded in the outbox.

        The checks run in WhatsApp's order: the message's own fields (per kind), the chat, the id,
        then the media; a location the page sent with the wrong stanza is stored, never delivered.
        """
        chat_id = args.wid("chat")
        msg_args = args.obj("msg")
        key_args = msg_args.obj("id")
        serialized = key_args.text("_serialized")
        key_args.text("id")
        kind = msg_args.optional_text("type", default="chat") or "chat"
        kind_entry = kind_fields(kind, msg_args)
        chat = await self._chat_to_send_to(chat_id, args.name("chat"))
        if serialized in self.account.messages:
            raise InputError(args.name("msg.id"), "a message with this id exists")
        wire = {k: v for k, v in msg_args.data.items() if k != "extra_attrs"}
        extra = self._extra_attrs(args, msg_args)
        media_entry = self._sent_media(args, msg_args, wire, kind)
        message = self._store_sent(chat, wire, kind)
        if not self._deliverable(kind, args.optional_obj("stanza")):
            # WhatsApp took the stanza but never delivers it: no outbox entry, ack stays 1.
            message.undelivered = True
            self.server.changed()
            return {"msg": wire}
        quoted = msg_args.data.get("quotedMsgId")
        mentions = msg_args.data.get("mentionedJidList") or []
        self.account.record(
            "message",
            page.page_id,
            chat=chat.id,
            id=message.key,
            type=kind,
            body=wire.get("body"),
            caption=wire.get("caption"),
            mentions=mentions if isinstance(mentions, list) else [],
            quoted_id=quoted if isinstance(quoted, str) else None,
            link_preview=args.boolean("link_preview"),
            media=media_entry,
            attrs=extra or {},
            **kind_entry,
        )
        await self.hub.broadcast({"t": "msg_add", "msg": {**wire, "isNewMsg": True}}, skip=page)
        await self.hub.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        self.server.changed()
        return {"msg": wire}

    async def _chat_to_send_to(self, chat_id: str, field_name: str) -> Chat:
        """The chat a message goes to: a group I may write in, or a 1:1 chat (made when new)."""
        if is_group_id(chat_id):
            chat = self.server.get_chat(chat_id, field_name)
            group = self.server.get_group(chat_id, field_name)
            mine = self.server.me_in(group)
            if mine is None:
                raise forbidden(field_name, "not a participant")
            if group.announce and not (mine.is_admin or mine.is_super_admin):
                raise forbidden(field_name, "only admins can send messages")
            return chat
        if chat_id not in self.account.chats and self.account.registered(chat_id) is None:
            raise not_found(field_name, f"{chat_id} is not on WhatsApp")
        chat, pushes = self.changes.ensure_direct_chat(chat_id)
        for frame in pushes:
            await self.hub.broadcast(frame)
        return chat

    @staticmethod
    def _extra_attrs(args: Args, msg_args: Args) -> JSONDict | None:
        """The stanza attributes the page added (on the message or beside it)."""
        extra = msg_args.data.get("extra_attrs")
        if extra is None:
            extra = args.data.get("extra_attrs")
        if extra is not None and not isinstance(extra, dict):
            raise InputError(args.name("msg.extra_attrs"), "must be an object")
        return extra

    def _sent_media(self, args: Args, msg_args: Args, wire: JSONDict, kind: str) -> JSONDict | None:
        """The outbox `media` of a sent message: its uploaded bytes, or media the server has."""
        media_b64 = args.optional_text("media_b64")
        sticker = args.optional_obj("sticker")
        if media_b64 is not None:
            data = decode_b64(media_b64, args.name("media_b64"))
            mimetype = msg_args.optional_text("mimetype") or "application/octet-stream"
            filename = msg_args.optional_text("filename")
            blob = self.changes.attach_media(wire, data, mimetype, filename)
            return {
                "mimetype": mimetype,
                "filename": filename,
                "size": len(data),
                "sha256": blob.sha256_hex,
                "is_gif": bool(wire.get("isGif")),
                "sticker": None if sticker is None else sticker_entry(sticker),
            }
        if kind not in MEDIA_TYPES:
            return None
        # A forward names media the server already has; anything else must bring its bytes.
        media_entry = self.known_media_entry(wire)
        if media_entry is None:
            raise InputError(args.name("media_b64"), f"is required for a {kind} message")
        return media_entry

    def _store_sent(self, chat: Chat, wire: JSONDict, kind: str) -> StoredMessage:
        """Store a sent message with `ack: 1`; the chat moves up and is read."""
        now = self.server.now()
        wire["ack"] = 1
        wire["t"] = now
        wire.setdefault("type", kind)
        message = StoredMessage(chat.id, wire)
        self.account.add_message(message)
        chat.t = now
        chat.unread_count = 0
        return message

    def known_media_entry(self, wire: JSONDict) -> JSONDict | None:
        """The outbox `media` of a message whose `directPath` the server already holds."""
        blob = self.account.media.get(str(wire.get("directPath") or ""))
        if blob is None:
            return None
        return {
            "mimetype": blob.mimetype,
            "filename": blob.filename,
            "size": len(blob.data),
            "sha256": blob.sha256_hex,
            "is_gif": bool(wire.get("isGif")),
            "sticker": None,
        }

    @staticmethod
    def _deliverable(kind: str, stanza: Args | None) -> bool:
        """A location goes out only as a `text` stanza without a media type.

        The page's own type attributes for a location make WhatsApp drop it; whatsapp-web.js
        answers "text" and no media type (docs/whatsapp-web-surface.md §8.1 C45).
        """
        if kind != "location":
            return True
        if stanza is None:
            return False
        return stanza.data.get("type") == "text" and stanza.data.get("mediatype") is None

    async def op_media_download(self, _page: PageSession, args: Args) -> JSONDict:
        """Media bytes by directPath."""
        path = args.text("directPath")
        blob = self.account.media.get(path)
        if blob is None:
            raise not_found(args.name("directPath"), "unknown media")
        return {
            "data_b64": base64.b64encode(blob.data).decode(),
            "mimetype": blob.mimetype,
            "filename": blob.filename,
            "size": len(blob.data),
        }

    async def op_load_earlier(self, _page: PageSession, args: Args) -> JSONDict:
        """Older messages of a chat, oldest first."""
        chat_id = args.wid("chat")
        self.server.get_chat(chat_id, args.name("chat"))
        count = args.integer("count", required=False, default=50, minimum=1, maximum=1000)
        keys = self.account.chat_keys(chat_id)
        before = args.optional_text("before")
        end = len(keys)
        if before is not None:
            if before not in keys:
                raise not_found(args.name("before"), "unknown message in this chat")
            end = keys.index(before)
        chosen = keys[max(0, end - count) : end]
        return {"msgs": [{**self.account.messages[k].wire, "isNewMsg": False} for k in chosen]}

    async def op_get_messages(self, _page: PageSession, args: Args) -> JSONDict:
        """The known messages among `ids`."""
        ids = args.string_list("ids")
        found = [self.account.messages[i] for i in ids if i in self.account.messages]
        return {"msgs": [{**m.wire, "isNewMsg": False} for m in found]}

    async def op_react(self, page: PageSession, args: Args) -> JSONDict:
        """I react to a message."""
        key = args.text("message_id")
        emoji = args.text("emoji")
        message = self.server.get_message(key, args.name("message_id"))
        group = self.account.groups.get(message.chat)
        me = self.server.my_group_id(group) if group else self.account.me.id
        self.account.record("reaction", page.page_id, message_id=message.key, emoji=emoji)
        await self.changes.apply_reaction(message, me, emoji, from_me=True)
        return {}

    async def op_star(self, page: PageSession, args: Args) -> JSONDict:
        """Star or unstar messages."""
        keys = args.string_list("message_ids")
        starred = args.boolean("starred", default=True)
        messages = [self.server.get_message(k, args.name("message_ids")) for k in keys]
        for message in messages:
            message.wire["star"] = starred
            self.account.record("star", page.page_id, message_id=message.key, starred=starred)
            await self.hub.broadcast(
                {"t": "msg_update", "id": message.key, "changes": {"star": starred}}
            )
        self.server.changed()
        return {}

    async def op_delete(self, page: PageSession, args: Args) -> JSONDict:
        """Delete messages for me, or revoke them for everyone."""
        keys = args.string_list("message_ids")
        everyone = args.boolean("everyone")
        messages = [self.server.get_message(k, args.name("message_ids")) for k in keys]
        if everyone:
            for message in messages:
                group = self.account.groups.get(message.chat)
                mine = self.server.me_in(group) if group else None
                admin = mine is not None and (mine.is_admin or mine.is_super_admin)
                if not message.wire["id"]["fromMe"] and not admin:
                    raise forbidden(args.name("message_ids"), "can only revoke own messages")
        for message in messages:
            self.account.record("delete", page.page_id, message_id=message.key, everyone=everyone)
            if everyone:
                await self.changes.revoke(message)
            else:
                self.account.remove_message(message.key)
                await self.hub.broadcast({"t": "msg_remove", "id": message.key})
        self.server.changed()
        return {}

    async def op_link_preview(self, _page: PageSession, args: Args) -> JSONDict:
        """Preview data for a URL (made up from the URL: there is no internet here)."""
        url = args.text("url")
        if not url.startswith(("http://", "https://")):
            raise InputError(args.name("url"), "must be an http(s) URL")
        host = url.split("/", 3)[2]
        return {
            "data": {
                "title": f"{host} - simulated preview",
                "description": f"A page at {html.escape(host)}",
                "canonicalUrl": url,
                "matchedText": url,
            }
        }
