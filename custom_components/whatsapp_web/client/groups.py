"""Groups: create, describe, invite, and manage who is in them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ids
from .errors import InvalidArgument
from .models import Chat, GroupCreated, as_json_object, serialized_id
from .page_calls import PageCalls

if TYPE_CHECKING:
    from collections.abc import Iterable


class GroupCalls(PageCalls):
    """Groups of the linked account."""

    async def create_group(self, title: str, participants: Iterable[str]) -> GroupCreated:
        """Create a group with these people; per-person results say who could be added."""
        if not isinstance(title, str) or not title.strip():
            raise InvalidArgument("title", "a group needs a name")
        members = [ids.normalize_user_id(item) for item in participants]
        if not members:
            raise InvalidArgument("participants", "a group needs at least one other person")
        result = as_json_object(
            await self._page_call("createGroup", {"title": title.strip(), "participants": members})
        )
        return GroupCreated(
            gid=str(serialized_id(result["gid"])),
            title=str(result["title"]),
            participants=dict(result["participants"]),
        )

    async def get_group(self, group_id: str) -> Chat:
        """A group with its metadata (participants, description, owner, ...)."""
        result = await self._page_call("getGroup", {"groupId": ids.normalize_group_id(group_id)})
        return Chat.from_page(result)

    async def set_group_subject(self, group_id: str, subject: str) -> None:
        """Rename a group."""
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidArgument("subject", "a group needs a name")
        await self._page_call(
            "setGroupSubject", {"groupId": ids.normalize_group_id(group_id), "subject": subject}
        )

    async def set_group_description(self, group_id: str, description: str) -> None:
        """Change a group's description."""
        if not isinstance(description, str):
            raise InvalidArgument("description", "the description must be text")
        await self._page_call(
            "setGroupDescription",
            {"groupId": ids.normalize_group_id(group_id), "description": description},
        )

    async def leave_group(self, group_id: str) -> None:
        """Leave a group."""
        await self._page_call("leaveGroup", {"groupId": ids.normalize_group_id(group_id)})

    async def get_invite_code(self, group_id: str) -> str:
        """The group's invite code (admins only)."""
        result = as_json_object(
            await self._page_call("getInviteCode", {"groupId": ids.normalize_group_id(group_id)})
        )
        return str(result["code"])

    async def revoke_invite_code(self, group_id: str) -> str:
        """Make the old invite code useless; returns the new one."""
        result = as_json_object(
            await self._page_call("revokeInviteCode", {"groupId": ids.normalize_group_id(group_id)})
        )
        return str(result.get("code") or "")

    async def accept_invite(self, code: str) -> str:
        """Join a group by its invite code or link; returns the group id."""
        result = as_json_object(
            await self._page_call("acceptInvite", {"code": ids.normalize_invite_code(code)})
        )
        return str(result["gid"])

    async def add_participants(self, group_id: str, participants: Iterable[str]) -> dict[str, Any]:
        """Add people to a group; per-person results (code 200, 403, 404, 409, ...)."""
        members = [ids.normalize_user_id(item) for item in participants]
        if not members:
            raise InvalidArgument("participants", "name at least one person")
        result = await self._page_call(
            "addParticipants",
            {"groupId": ids.normalize_group_id(group_id), "participants": members},
        )
        return dict(as_json_object(result))

    async def change_participants(
        self, group_id: str, participants: Iterable[str], action: str
    ) -> None:
        """``remove``, ``promote`` or ``demote`` members of a group."""
        if action not in ("remove", "promote", "demote"):
            raise InvalidArgument("action", "expected remove, promote or demote")
        members = [ids.normalize_user_id(item) for item in participants]
        if not members:
            raise InvalidArgument("participants", "name at least one person")
        await self._page_call(
            "changeParticipants",
            {
                "groupId": ids.normalize_group_id(group_id),
                "participants": members,
                "action": action,
            },
        )
