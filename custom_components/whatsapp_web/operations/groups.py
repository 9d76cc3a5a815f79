"""Groups: creating, reading, renaming, leaving, invite links, and participants."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import SupportsResponse
from homeassistant.helpers import config_validation as cv

from ..client import ids
from ..client.errors import InvalidArgument
from ..values import bounded_text, group_id, invite_code, user_ids
from .fields import MULTILINE, TEXT, TEXT_LIST
from .model import Access, Field, Handler, Method, Operation, OperationContext, Route, Where

GROUP: Final = Field(
    "group_id",
    group_id,
    "Group",
    "Group id (ending in @g.us).",
    TEXT,
    required=True,
    where=Where.PATH,
    example="120363012345678901@g.us",
)
PARTICIPANTS: Final = Field(
    "participants",
    user_ids,
    "Participants",
    "People: ids (123@c.us, 123@lid) or phone numbers with country code.",
    TEXT_LIST,
    required=True,
    example=["34600112233@c.us"],
)


_INVITE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "url": {"type": "string"}},
    "required": ["code", "url"],
}


def _invite(code: str) -> dict[str, Any]:
    return {"code": code, "url": f"{ids.INVITE_LINK_PREFIX}{code}"}


def _change_participants(action: str) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.change_participants(data["group_id"], data["participants"], action)

    return handler


def _participants_operation(
    name: str,
    title: str,
    description: str,
    routes: tuple[Route, ...],
    handler: Handler,
    *,
    returns: bool = False,
) -> Operation:
    return Operation(
        name=name,
        tag="groups",
        title=title,
        description=description,
        fields=(GROUP, PARTICIPANTS),
        routes=routes,
        handler=handler,
        access=Access.WRITE,
        supports_response=SupportsResponse.OPTIONAL if returns else SupportsResponse.NONE,
        status=204,
    )


async def _create_group(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.create_group(data["name"], data["participants"])).as_json()


CREATE_GROUP: Final = Operation(
    name="create_group",
    tag="groups",
    title="Create group",
    description="Creates a group with these people.",
    fields=(
        Field(
            "name",
            bounded_text(min_length=1, max_length=100),
            "Name",
            "The group's name.",
            TEXT,
            required=True,
            example="Family",
        ),
        PARTICIPANTS,
    ),
    routes=(Route(Method.POST, "/chats/groups"),),
    handler=_create_group,
    access=Access.WRITE,
    supports_response=SupportsResponse.OPTIONAL,
    status=201,
    response_schema={
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "gid": {"type": "object"},
            "participants": {"type": "object"},
        },
        "required": ["title", "gid", "participants"],
    },
)


async def _get_group(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.get_group(data["group_id"])).as_json()


GET_GROUP: Final = Operation(
    name="get_group",
    tag="groups",
    title="Get group",
    description="Returns a group with its participants and description.",
    fields=(GROUP,),
    routes=(Route(Method.GET, "/chats/groups/{group_id}"),),
    handler=_get_group,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
)


async def _update_group(ctx: OperationContext, data: dict[str, Any]) -> None:
    if "name" not in data and "description" not in data:
        raise InvalidArgument("name", "give name, description or both")
    if "name" in data:
        await ctx.client.set_group_subject(data["group_id"], data["name"])
    if "description" in data:
        await ctx.client.set_group_description(data["group_id"], data["description"])


UPDATE_GROUP: Final = Operation(
    name="update_group",
    tag="groups",
    title="Update group",
    description="Renames a group and/or changes its description.",
    fields=(
        GROUP,
        Field(
            "name",
            bounded_text(min_length=1, max_length=100),
            "Name",
            "The new name.",
            TEXT,
            example="Family",
        ),
        Field("description", cv.string, "Description", "The new description.", MULTILINE),
    ),
    routes=(Route(Method.PUT, "/chats/groups/{group_id}"),),
    handler=_update_group,
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _leave_group(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.leave_group(data["group_id"])


LEAVE_GROUP: Final = Operation(
    name="leave_group",
    tag="groups",
    title="Leave group",
    description="Leaves a group.",
    fields=(GROUP,),
    routes=(Route(Method.DELETE, "/chats/groups/{group_id}"),),
    handler=_leave_group,
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _get_invite_code(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return _invite(await ctx.client.get_invite_code(data["group_id"]))


GET_INVITE_CODE: Final = Operation(
    name="get_invite_code",
    tag="groups",
    title="Get invite code",
    description="Returns the group's invite code and link (admins only).",
    fields=(GROUP,),
    routes=(Route(Method.GET, "/chats/groups/{group_id}/invite-code"),),
    handler=_get_invite_code,
    access=Access.ADMIN_READ,
    supports_response=SupportsResponse.ONLY,
    response_schema=_INVITE_SCHEMA,
)


async def _revoke_invite_code(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return _invite(await ctx.client.revoke_invite_code(data["group_id"]))


REVOKE_INVITE_CODE: Final = Operation(
    name="revoke_invite_code",
    tag="groups",
    title="Revoke invite code",
    description="Makes the group's invite link useless and creates a new one.",
    fields=(GROUP,),
    routes=(Route(Method.DELETE, "/chats/groups/{group_id}/invite-code"),),
    handler=_revoke_invite_code,
    access=Access.WRITE,
    supports_response=SupportsResponse.OPTIONAL,
    status=204,
)


async def _accept_invite(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return {"groupId": await ctx.client.accept_invite(data["invite_code"])}


ACCEPT_INVITE: Final = Operation(
    name="accept_invite",
    tag="groups",
    title="Accept invite",
    description="Joins a group by its invite code or link.",
    fields=(
        Field(
            "invite_code",
            invite_code,
            "Invite code",
            "The invite code or the https://chat.whatsapp.com/ link.",
            TEXT,
            required=True,
            where=Where.PATH,
            example="AbCdEfGhIjK1234567890",
        ),
    ),
    routes=(Route(Method.POST, "/chats/groups/accept-invite/{invite_code}"),),
    handler=_accept_invite,
    access=Access.WRITE,
    supports_response=SupportsResponse.OPTIONAL,
    response_schema={
        "type": "object",
        "properties": {"groupId": {"type": "string"}},
        "required": ["groupId"],
    },
)


async def _add_participants(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "participants": await ctx.client.add_participants(data["group_id"], data["participants"])
    }


ADD_PARTICIPANTS: Final = _participants_operation(
    "add_participants",
    "Add participants",
    "Adds people to a group.",
    (Route(Method.POST, "/chats/groups/{group_id}/participants"),),
    _add_participants,
    returns=True,
)


REMOVE_PARTICIPANTS: Final = _participants_operation(
    "remove_participants",
    "Remove participants",
    "Removes people from a group.",
    (Route(Method.DELETE, "/chats/groups/{group_id}/participants"),),
    _change_participants("remove"),
)


PROMOTE_PARTICIPANTS: Final = _participants_operation(
    "promote_participants",
    "Promote participants",
    "Makes people admins of a group.",
    (
        Route(Method.PUT, "/chats/groups/{group_id}/participants/promote"),
        # The add-on's README and DOCS; its server only had the form above.
        Route(Method.PUT, "/chats/groups/{group_id}/promote", alias=True),
    ),
    _change_participants("promote"),
)


DEMOTE_PARTICIPANTS: Final = _participants_operation(
    "demote_participants",
    "Demote participants",
    "Takes admin rights from people in a group.",
    (
        Route(Method.PUT, "/chats/groups/{group_id}/participants/demote"),
        Route(Method.PUT, "/chats/groups/{group_id}/demote", alias=True),
    ),
    _change_participants("demote"),
)


OPERATIONS: Final[tuple[Operation, ...]] = (
    CREATE_GROUP,
    GET_GROUP,
    UPDATE_GROUP,
    LEAVE_GROUP,
    GET_INVITE_CODE,
    REVOKE_INVITE_CODE,
    ACCEPT_INVITE,
    ADD_PARTICIPANTS,
    REMOVE_PARTICIPANTS,
    PROMOTE_PARTICIPANTS,
    DEMOTE_PARTICIPANTS,
)
