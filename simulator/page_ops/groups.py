"""Page operations on groups: create, read, change, manage participants, leave, invite and join.

Each change is stored on the account, recorded in the outbox and announced to the pages with its
`gp2` notification (`AccountChanges.gp2`, `push_group`), as WhatsApp does.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from ..account import Chat, Group, JSONDict, Participant, new_incoming_id, new_invite_code
from ..args import InputError, forbidden, not_found
from ..part import ServerPart

if TYPE_CHECKING:
    from ..args import Args
    from ..pages import OpHandler, PageSession


class GroupOps(ServerPart):
    """The page's calls about groups."""

    def ops(self) -> dict[str, OpHandler]:
        """The page ops of this family, by name."""
        return {
            "group_create": self.op_group_create,
            "group_metadata": self.op_group_metadata,
            "group_subject": self.op_group_subject,
            "group_description": self.op_group_description,
            "group_property": self.op_group_property,
            "group_participants": self.op_group_participants,
            "group_leave": self.op_group_leave,
            "group_invite_code": self.op_group_invite_code,
            "group_revoke_invite": self.op_group_revoke_invite,
            "group_join": self.op_group_join,
        }

    async def op_group_create(self, page: PageSession, args: Args) -> JSONDict:
        """Create a group."""
        title = args.text("title")
        if not title.strip() or len(title) > 100:
            raise InputError(args.name("title"), "must be 1 to 100 characters")
        participants = args.id_list("participants")
        options = args.optional_obj("options")
        gid = f"120363{secrets.randbelow(10**12):012d}@g.us"
        now = self.server.now()
        # `addressingModeOverride: 'lid'` makes a LID-addressed group: participants keyed by LID
        # (docs/whatsapp-web-surface.md §8.1 C41).
        lid_mode = options is not None and options.data.get("addressingModeOverride") == "lid"
        me_id = self.account.me.lid if lid_mode else self.account.me.id
        group = Group(
            id=gid,
            subject=title,
            owner=me_id,
            creation=now,
            is_lid_addressing_mode=lid_mode,
            participants=[
                Participant(
                    id=me_id,
                    is_admin=True,
                    is_super_admin=True,
                    phone_number=self.account.me.id if lid_mode else None,
                )
            ],
            invite_code=new_invite_code(),
        )
        if options is not None:
            # Settings the client passes along; anything not a boolean keeps the default.
            settings = {k: v for k, v in options.data.items() if isinstance(v, bool)}
            if "memberAddMode" in settings:
                group.member_add_mode = (
                    "all_member_add" if settings["memberAddMode"] else "admin_add"
                )
            group.announce = settings.get("announce", False)
            group.restrict = settings.get("restrict", False)
        results = []
        for user_id in participants:
            code = self._add_code(user_id, group)
            member = self._new_member(group, user_id)
            if code == 200:
                group.participants.append(member)
            result: JSONDict = {"id": member.id, "code": code}
            if member.phone_number:
                result["phoneNumber"] = member.phone_number
            results.append(result)
        self.account.groups[gid] = group
        chat = Chat(id=gid, name=title, t=now)
        self.account.chats[gid] = chat
        self.account.chat_messages[gid] = []
        self.account.record(
            "group",
            page.page_id,
            action="create",
            group=gid,
            participants=participants,
            value=title,
        )
        await self.hub.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        notification = self.changes.gp2(group, "create", me_id, [], title)
        await self.changes.push_group(group, notification)
        return {"gid": gid, "participants": results}

    def _new_member(self, group: Group, user_id: str) -> Participant:
        """A participant for a user: by LID (with the phone number) in a LID-addressed group."""
        if not group.is_lid_addressing_mode:
            return Participant(id=user_id)
        lid = self.account.lid_of(user_id)
        if lid is None:
            return Participant(id=user_id)
        return Participant(id=lid, phone_number=self.account.phone_of(user_id))

    def _add_code(self, user_id: str, group: Group | None) -> int:
        """200 added, 404 not on WhatsApp, 403 privacy settings, 409 already a member."""
        contact = self.account.registered(user_id)
        if contact is None:
            return 404
        if contact.group_add_privacy:
            return 403
        if group is not None and any(user_id in (p.id, p.phone_number) for p in group.participants):
            return 409
        return 200

    async def op_group_metadata(self, _page: PageSession, args: Args) -> JSONDict:
        """A group's metadata."""
        group_id = args.wid("group", kind="group")
        return {"group": self.server.get_group(group_id, args.name("group")).wire()}

    def _my_group(self, args: Args) -> Group:
        group_id = args.wid("group", kind="group")
        group = self.server.get_group(group_id, args.name("group"))
        if self.server.me_in(group) is None:
            raise forbidden(args.name("group"), "not a participant")
        return group

    async def op_group_subject(self, page: PageSession, args: Args) -> JSONDict:
        """Change the subject."""
        group = self._my_group(args)
        value = args.text("value")
        if not value.strip() or len(value) > 100:
            raise InputError(args.name("value"), "must be 1 to 100 characters")
        if group.restrict:
            self.server.require_admin(group, args.name("group"))
        group.subject = value
        self.account.record(
            "group", page.page_id, action="subject", group=group.id, participants=[], value=value
        )
        await self.changes.push_group(
            group, self.changes.gp2(group, "subject", self.server.my_group_id(group), [], value)
        )
        return {}

    async def op_group_description(self, page: PageSession, args: Args) -> JSONDict:
        """Change the description."""
        group = self._my_group(args)
        value = args.text("value")
        if len(value) > 2048:
            raise InputError(args.name("value"), "must be at most 2048 characters")
        if group.restrict:
            self.server.require_admin(group, args.name("group"))
        group.desc = value
        group.desc_id = new_incoming_id()
        self.account.record(
            "group",
            page.page_id,
            action="description",
            group=group.id,
            participants=[],
            value=value,
        )
        await self.changes.push_group(
            group, self.changes.gp2(group, "description", self.server.my_group_id(group), [], value)
        )
        return {}

    async def op_group_property(self, page: PageSession, args: Args) -> JSONDict:
        """Announcement-only, restrict (admins edit info), member add mode."""
        group = self._my_group(args)
        prop = args.choice("property", ("announcement", "restrict", "member_add_mode"))
        value = args.data.get("value")
        self.server.require_admin(group, args.name("group"))
        if prop == "member_add_mode":
            if value not in ("admin_add", "all_member_add") and not isinstance(value, bool):
                raise InputError(
                    args.name("value"), "must be a boolean or admin_add/all_member_add"
                )
            group.member_add_mode = (
                value if isinstance(value, str) else ("all_member_add" if value else "admin_add")
            )
        else:
            if not isinstance(value, bool):
                raise InputError(args.name("value"), "must be a boolean")
            if prop == "announcement":
                group.announce = value
            else:
                group.restrict = value
        self.account.record(
            "group",
            page.page_id,
            action="property",
            group=group.id,
            participants=[],
            value={"property": prop, "value": value},
        )
        subtype = {"announcement": "announce", "restrict": "restrict"}.get(prop)
        notification = (
            self.changes.gp2(
                group, subtype, self.server.my_group_id(group), [], "on" if value else "off"
            )
            if subtype
            else None
        )
        await self.changes.push_group(group, notification)
        return {}

    async def op_group_participants(self, page: PageSession, args: Args) -> JSONDict:
        """Add, remove, promote or demote participants."""
        group = self._my_group(args)
        action = args.choice("action", ("add", "remove", "promote", "demote"))
        participants = args.id_list("participants")
        if not participants:
            raise InputError(args.name("participants"), "must not be empty")
        if not (action == "add" and group.member_add_mode == "all_member_add"):
            self.server.require_admin(group, args.name("group"))
        results = []
        done = []
        for user_id in participants:
            member = group.participant(user_id)
            if action == "add":
                code = self._add_code(user_id, group)
                if code == 200:
                    group.participants.append(self._new_member(group, user_id))
            elif member is None:
                code = 404
            elif action == "remove":
                group.participants.remove(member)
                code = 200
            else:
                member.is_admin = action == "promote"
                if action == "demote":
                    member.is_super_admin = False
                code = 200
            if code == 200:
                done.append(user_id)
            results.append({"id": user_id, "code": code})
        self.account.record(
            "group",
            page.page_id,
            action=action,
            group=group.id,
            participants=participants,
            value=None,
        )
        notification = (
            self.changes.gp2(group, action, self.server.my_group_id(group), done) if done else None
        )
        await self.changes.push_group(group, notification)
        return {"results": results}

    async def op_group_leave(self, page: PageSession, args: Args) -> JSONDict:
        """Leave a group."""
        group = self._my_group(args)
        me_id = self.server.my_group_id(group)
        group.participants = [p for p in group.participants if not self.account.is_me(p.id)]
        self.account.record(
            "group", page.page_id, action="leave", group=group.id, participants=[me_id], value=None
        )
        await self.changes.push_group(group, self.changes.gp2(group, "leave", me_id, [me_id]))
        return {}

    async def op_group_invite_code(self, page: PageSession, args: Args) -> JSONDict:
        """The group's invite code (admins)."""
        group = self._my_group(args)
        self.server.require_admin(group, args.name("group"))
        if not group.invite_code:
            group.invite_code = new_invite_code()
        return self._invite_code_answer(page, group, "invite_code")

    async def op_group_revoke_invite(self, page: PageSession, args: Args) -> JSONDict:
        """A new invite code; the old one stops working."""
        group = self._my_group(args)
        self.server.require_admin(group, args.name("group"))
        group.invite_code = new_invite_code()
        return self._invite_code_answer(page, group, "revoke_invite")

    def _invite_code_answer(self, page: PageSession, group: Group, action: str) -> JSONDict:
        """Record which invite code the page got (outbox entry `group`), and answer it."""
        self.account.record(
            "group",
            page.page_id,
            action=action,
            group=group.id,
            participants=[],
            value=group.invite_code,
        )
        self.server.changed()
        return {"code": group.invite_code}

    async def op_group_join(self, page: PageSession, args: Args) -> JSONDict:
        """Join by invite code."""
        code = args.text("code").rsplit("/", 1)[-1]
        group = next((g for g in self.account.groups.values() if g.invite_code == code), None)
        if group is None:
            raise not_found(args.name("code"), "unknown invite code")
        me_id = self.server.my_group_id(group)
        if self.server.me_in(group) is None:
            group.participants.append(Participant(id=me_id))
        chat = self.account.chats.get(group.id)
        if chat is None:
            chat = Chat(id=group.id, name=group.subject, t=self.server.now())
            self.account.chats[group.id] = chat
            self.account.chat_messages[group.id] = []
        self.account.record(
            "group", page.page_id, action="join", group=group.id, participants=[me_id], value=code
        )
        await self.hub.broadcast({"t": "chat_upsert", "chat": chat.wire()})
        notification = self.changes.gp2(group, "invite", me_id, [me_id])
        await self.changes.push_group(group, notification)
        return {"gid": group.id}
