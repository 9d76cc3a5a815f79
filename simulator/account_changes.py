"""Changes that others make to the account: the network's side of messages, reactions and groups.

A message someone sends, a group notification, a reaction or a revoke is stored on the shared account
and then pushed to the pages (`PageHub.deliver`, `broadcast`). The phone's control routes, the page
operations and the traffic generator all go through here, so a change looks the same to a page
whoever caused it.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time

from .account import (
    Chat,
    Contact,
    Group,
    JSONDict,
    MediaBlob,
    StoredMessage,
    make_key,
    new_incoming_id,
    new_own_id,
)
from .args import InputError
from .part import ServerPart

#: How long `/_sim/ack`, `/react` and `/revoke` wait for an own message whose `send_message` is still on its way.
SENT_MESSAGE_GRACE = 3.0


class AccountChanges(ServerPart):
    """Store what others do on the account and tell the pages."""

    def ensure_direct_chat(self, user_id: str) -> tuple[Chat, list[JSONDict]]:
        """The 1:1 chat with a user, created (with a contact) when new; plus the pushes."""
        pushes: list[JSONDict] = []
        chat = self.account.chats.get(user_id)
        if chat is not None:
            return chat, pushes
        contact = self.account.contacts.get(user_id)
        if contact is None:
            contact = Contact(id=user_id, is_my_contact=False)
            self.account.contacts[user_id] = contact
            pushes.append({"t": "contact_upsert", "contact": contact.wire()})
        chat = Chat(id=user_id, name=contact.name or contact.pushname or "", t=self.server.now())
        self.account.chats[user_id] = chat
        self.account.chat_messages[user_id] = []
        return chat, pushes

    def build_incoming(
        self,
        chat: Chat,
        *,
        sender: str | None,
        author: str | None,
        body: str,
        kind: str,
        from_me: bool,
        media: tuple[bytes, str, str | None] | None = None,
        quoted_id: str | None = None,
        mentions: list[str] | None = None,
    ) -> StoredMessage:
        """A message as the phone or another user sends it; stored, chat updated."""
        now = self.server.now()
        group = self.account.groups.get(chat.id)
        my_id = (
            self.server.my_group_id(group)
            if group
            else (self.account.me.lid if chat.id.endswith("@lid") else self.account.me.id)
        )
        if from_me:
            participant = my_id if group else None
            key = make_key(True, chat.id, new_incoming_id(), participant)
            wire_from, wire_to = my_id, chat.id
            author = my_id if group else None
        else:
            if group is not None and group.is_lid_addressing_mode and author:
                # A LID-addressed group names its senders by LID.
                author = self.account.lid_of(author) or author
            key = make_key(False, chat.id, new_incoming_id(), author if group else None)
            wire_from, wire_to = (chat.id if group else (sender or chat.id)), my_id
        wire: JSONDict = {
            "id": key,
            "type": kind,
            "body": body,
            "t": now,
            "from": wire_from,
            "to": wire_to,
            "ack": 1 if from_me else 0,
            "star": False,
            "isForwarded": False,
            "forwardingScore": 0,
            "mentionedJidList": list(mentions or []),
            "isNewMsg": True,
            "hasReaction": False,
        }
        if author and group:
            wire["author"] = author
        if quoted_id:
            wire["quotedMsgId"] = quoted_id
        if media is not None:
            data, mimetype, filename = media
            self.attach_media(wire, data, mimetype, filename)
            if kind in ("image", "video", "document") and body:
                wire["caption"] = body
                wire["body"] = ""
        message = StoredMessage(chat.id, wire)
        self.account.add_message(message)
        chat.t = now
        if from_me:
            chat.unread_count = 0
        else:
            chat.unread_count += 1
        return message

    def attach_media(
        self, wire: JSONDict, data: bytes, mimetype: str, filename: str | None
    ) -> MediaBlob:
        """Store media bytes under a fresh directPath and set the media fields."""
        blob = MediaBlob(data, mimetype, filename)
        direct_path = wire.get("directPath")
        if not isinstance(direct_path, str) or not direct_path:
            direct_path = (
                f"/v/t62.7118-24/{secrets.randbelow(10**8):08d}_{secrets.token_hex(8)}_n.enc"
            )
        self.account.media[direct_path] = blob
        media_key = wire.get("mediaKey") or base64.b64encode(secrets.token_bytes(32)).decode()
        wire.update(
            {
                "mimetype": mimetype,
                "size": len(data),
                "directPath": direct_path,
                "mediaKey": media_key,
                "filehash": blob.filehash,
                "encFilehash": wire.get("encFilehash")
                or base64.b64encode(secrets.token_bytes(32)).decode(),
                "mediaKeyTimestamp": wire.get("mediaKeyTimestamp") or self.server.now(),
            }
        )
        if filename:
            wire["filename"] = filename
        return blob

    def gp2(
        self, group: Group, subtype: str, author: str, recipients: list[str], body: str = ""
    ) -> StoredMessage:
        """A group notification message."""
        key = make_key(False, group.id, new_incoming_id(), author)
        wire: JSONDict = {
            "id": key,
            "type": "gp2",
            "subtype": subtype,
            "body": body,
            "t": self.server.now(),
            "from": group.id,
            "to": self.server.my_group_id(group),
            "author": author,
            "recipients": recipients,
            "ack": 0,
            "star": False,
            "isForwarded": False,
            "forwardingScore": 0,
            "mentionedJidList": [],
            "isNewMsg": True,
            "hasReaction": False,
        }
        message = StoredMessage(group.id, wire)
        self.account.add_message(message)
        chat = self.account.chats.get(group.id)
        if chat is not None:
            chat.t = message.wire["t"]
            chat.name = group.subject
            mine = self.server.me_in(group)
            chat.is_read_only = mine is None or (
                group.announce and not (mine.is_admin or mine.is_super_admin)
            )
        return message

    async def push_group(self, group: Group, notification: StoredMessage | None) -> None:
        """group_upsert (+ chat_upsert) to live pages, and the gp2 as a new message."""
        await self.hub.broadcast({"t": "group_upsert", "group": group.wire()})
        if notification is not None:
            await self.hub.deliver(notification, [])
        else:
            chat = self.account.chats.get(group.id)
            if chat is not None:
                await self.hub.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        self.server.changed()

    async def apply_reaction(
        self, message: StoredMessage, sender: str, emoji: str, *, from_me: bool
    ) -> None:
        """Store a reaction and push its row (and `hasReaction`)."""
        if emoji:
            message.reactions[sender] = emoji
        else:
            message.reactions.pop(sender, None)
        group = message.chat in self.account.groups
        reaction_key = make_key(
            from_me,
            message.chat,
            new_own_id() if from_me else new_incoming_id(),
            sender if group else None,
        )
        row: JSONDict = {
            "id": reaction_key,
            "reactionParentKey": message.wire["id"],
            "reactionText": emoji,
            "reactionTimestamp": int(time.time() * 1000),
            "from": sender,
            "read": False,
            "orphan": 0,
            "ack": 1,
        }
        if group:
            row["author"] = sender
        has_reaction = bool(message.reactions)
        message.wire["hasReaction"] = has_reaction
        await self.hub.broadcast({"t": "reaction", "row": row})
        await self.hub.broadcast(
            {"t": "msg_update", "id": message.key, "changes": {"hasReaction": has_reaction}}
        )
        self.server.changed()

    async def sent_message(self, key: str) -> StoredMessage:
        """A message by key; an own message (`true_...`) the page is still sending is awaited.

        The page shows a sent message before the server has it (the `send_message` call is in
        flight); the phone can only acknowledge it once it arrived, so wait for it briefly.
        """
        deadline = time.monotonic() + SENT_MESSAGE_GRACE
        while key.startswith("true_") and key not in self.account.messages:
            if time.monotonic() >= deadline or self.server.closing:
                break
            await asyncio.sleep(0.02)
        return self.server.get_message(key, "id")

    def default_sender(self, message: StoredMessage, sender: str | None) -> str:
        """Who acts on a message when the control call does not say: the chat, or a group member."""
        if sender is not None:
            return sender
        group = self.account.groups.get(message.chat)
        if group is None:
            return message.chat
        others = [p.id for p in group.participants if not self.account.is_me(p.id)]
        if not others:
            raise InputError("from", "is required (the group has no other member)")
        return others[0]

    async def revoke(self, message: StoredMessage) -> None:
        """Turn a message into `revoked` and tell the pages."""
        message.revoked = True
        message.wire["type"] = "revoked"
        message.wire["body"] = ""
        for attr in ("caption", "directPath", "mediaKey", "filehash", "encFilehash"):
            message.wire.pop(attr, None)
        await self.hub.broadcast(
            {"t": "msg_update", "id": message.key, "changes": {"type": "revoked", "body": ""}}
        )
        self.server.changed()
