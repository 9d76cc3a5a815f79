"""Page operations on the linked device, my profile, contacts and chats.

Pairing codes, logging out and taking the session over; pushname and about text, presence; a
contact's about text, whether a number is on WhatsApp, blocking and common groups; chat actions
(archive, pin, mute, read, clear, delete) and typing states. `simulator/PROTOCOL.md` lists them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from ..args import InputError, forbidden, not_found
from ..part import ServerPart

if TYPE_CHECKING:
    from ..account import JSONDict
    from ..args import Args
    from ..pages import OpHandler, PageSession

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ0123456789"
CHAT_ACTIONS = (
    "archive",
    "unarchive",
    "pin",
    "unpin",
    "seen",
    "mark_unread",
    "delete",
    "clear",
    "mute",
    "unmute",
)


class AccountOps(ServerPart):
    """The page's calls about the device, me, contacts and chats."""

    def ops(self) -> dict[str, OpHandler]:
        """The page ops of this family, by name."""
        return {
            "request_pairing_code": self.op_request_pairing_code,
            "logout": self.op_logout,
            "takeover": self.op_takeover,
            "profile": self.op_profile,
            "presence": self.op_presence,
            "status_get": self.op_status_get,
            "query_exists": self.op_query_exists,
            "contact_block": self.op_contact_block,
            "common_groups": self.op_common_groups,
            "chat_action": self.op_chat_action,
            "chat_state": self.op_chat_state,
        }

    async def op_request_pairing_code(self, page: PageSession, args: Args) -> JSONDict:
        """A pairing code for the phone-number flow."""
        phone = args.text("phone")
        if not phone.isdigit() or not 6 <= len(phone) <= 20:
            raise InputError(args.name("phone"), "must be 6 to 20 digits")
        if page.device_id is not None:
            raise forbidden(args.name("phone"), "the page is already linked")
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
        self.hub.forget_pairing_codes(page)
        self.server.pairing_codes[code] = page
        self.server.last_pairing_code = code
        return {"code": code}

    async def op_logout(self, page: PageSession, _args: Args) -> JSONDict:
        """The page logs itself out."""
        assert page.device_id is not None
        await self.hub.unlink_devices([page.device_id])
        return {}

    async def op_takeover(self, page: PageSession, _args: Args) -> JSONDict:
        """'Use here' after a conflict."""
        if self.server.connection == "conflict":
            self.server.connection = "online"
            for other in self.hub.live_pages():
                if other.state == "CONFLICT":
                    other.state = "CONNECTED"
                    await self.hub.send(other, {"t": "state", "state": "CONNECTED"})
        return {}

    async def op_profile(self, page: PageSession, args: Args) -> JSONDict:
        """Set my pushname or about text."""
        field_name = args.choice("field", ("pushname", "status"))
        value = args.text("value")
        if field_name == "pushname":
            if not value.strip() or len(value) > 25:
                raise InputError(args.name("value"), "must be 1 to 25 characters")
            self.account.me.pushname = value
        else:
            if len(value) > 139:
                raise InputError(args.name("value"), "must be at most 139 characters")
            self.account.me.about = value
        self.account.record("profile", page.page_id, field=field_name, value=value)
        if field_name == "pushname":
            await self.hub.broadcast({"t": "me", "changes": {"pushname": value}})
        self.server.changed()
        return {}

    async def op_presence(self, page: PageSession, args: Args) -> JSONDict:
        """Available / unavailable."""
        available = args.data.get("available")
        if not isinstance(available, bool):
            raise InputError(args.name("available"), "must be a boolean")
        self.account.record("presence", page.page_id, available=available)
        return {}

    async def op_status_get(self, _page: PageSession, args: Args) -> JSONDict:
        """A contact's about text."""
        user_id = args.wid("id", kind="user")
        if self.account.is_me(user_id):
            return {"status": self.account.me.about}
        contact = self.account.registered(user_id)
        if contact is None:
            raise not_found(args.name("id"), "not a WhatsApp user")
        return {"status": contact.about or ""}

    async def op_query_exists(self, _page: PageSession, args: Args) -> JSONDict:
        """Whether a number (or LID) is on WhatsApp."""
        user_id = args.wid("id", kind="user")
        if self.account.is_me(user_id):
            return {"exists": True, "id": self.account.me.id, "lid": self.account.me.lid}
        contact = self.account.registered(user_id)
        if contact is None:
            return {"exists": False}
        phone = contact.phone_id
        lid = contact.account_lid
        result: JSONDict = {"exists": True, "id": phone or contact.id}
        if lid:
            result["lid"] = lid
        return result

    async def op_contact_block(self, page: PageSession, args: Args) -> JSONDict:
        """Block or unblock a contact by its LID (the block list holds LIDs)."""
        user_id = args.wid("contact", kind="user")
        blocked = args.data.get("blocked")
        if not isinstance(blocked, bool):
            raise InputError(args.name("blocked"), "must be a boolean")
        if not user_id.endswith("@lid"):
            raise InputError(args.name("contact"), "the block list holds LIDs: expected an @lid id")
        contact = self.account.contact_for(user_id)
        if contact is None:
            raise not_found(args.name("contact"), "unknown contact")
        contact.is_blocked = blocked
        self.account.record(
            "contact",
            page.page_id,
            action="block" if blocked else "unblock",
            contact=contact.id,
            lid=user_id,
        )
        await self.hub.broadcast({"t": "contact_upsert", "contact": contact.wire()})
        self.server.changed()
        return {}

    async def op_common_groups(self, _page: PageSession, args: Args) -> JSONDict:
        """Groups I share with a contact."""
        user_id = args.wid("contact", kind="user")
        aliases = {user_id}
        contact = self.account.contacts.get(user_id)
        if contact is not None and contact.phone_number:
            aliases.add(contact.phone_number)
        lid = self.account.lid_of(user_id)
        if lid:
            aliases.add(lid)
        groups = [
            g.id
            for g in self.account.groups.values()
            if g.id in self.account.chats
            and self.server.me_in(g) is not None
            and any(p.id in aliases or p.phone_number in aliases for p in g.participants)
        ]
        return {"groups": groups}

    async def op_chat_action(self, page: PageSession, args: Args) -> JSONDict:
        """Archive, pin, mute, mark read/unread, clear or delete a chat."""
        chat_id = args.wid("chat")
        action = args.choice("action", CHAT_ACTIONS)
        chat = self.server.get_chat(chat_id, args.name("chat"))
        expiration: int | None = None
        if action == "mute":
            expiration = args.integer("expiration", required=False, default=-1, minimum=-1)
            if expiration == 0:
                raise InputError(args.name("expiration"), "must be -1 or unix seconds")
            chat.mute_expiration = expiration
        elif action == "unmute":
            chat.mute_expiration = 0
        elif action == "pin":
            chat.pin = self.server.now()
        elif action == "unpin":
            chat.pin = 0
        elif action in ("archive", "unarchive"):
            chat.archive = action == "archive"
            if chat.archive:
                chat.pin = 0
        elif action == "seen":
            chat.unread_count = 0
        elif action == "mark_unread":
            chat.unread_count = -1 if chat.unread_count == 0 else chat.unread_count
        entry: JSONDict = {"chat": chat.id, "action": action}
        if action == "mute":
            entry["expiration"] = expiration
        self.account.record("chat", page.page_id, **entry)
        if action in ("clear", "delete"):
            for key in list(self.account.chat_messages.get(chat.id, [])):
                self.account.remove_message(key)
                await self.hub.broadcast({"t": "msg_remove", "id": key})
        if action == "delete":
            self.account.chats.pop(chat.id, None)
            self.account.chat_messages.pop(chat.id, None)
            await self.hub.broadcast({"t": "chat_remove", "id": chat.id})
        else:
            await self.hub.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        self.server.changed()
        return {}

    async def op_chat_state(self, page: PageSession, args: Args) -> JSONDict:
        """Typing / recording / paused."""
        chat_id = args.wid("chat")
        state = args.choice("state", ("composing", "recording", "paused"))
        if chat_id not in self.account.chats and self.account.registered(chat_id) is None:
            # Any WhatsApp user may be told the user is typing, with or without a chat.
            self.server.get_chat(chat_id, args.name("chat"))
        self.account.record("chat_state", page.page_id, chat=chat_id, state=state)
        return {}
