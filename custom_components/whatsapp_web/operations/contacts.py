"""Contacts: listing, reading, blocking, and the groups shared with one."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import SupportsResponse
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..client.models import wid_json
from ..values import user_id
from .fields import ARRAY_OF_OBJECTS, FILE_SCHEMA, TEXT, save_fields
from .model import (
    Access,
    DownloadedMedia,
    Field,
    Handler,
    Method,
    Operation,
    OperationContext,
    ResultKind,
    Route,
    Where,
)

CONTACT: Final = Field(
    "contact_id",
    user_id,
    "Contact",
    "Contact id (123@c.us, 123@lid) or phone number with country code.",
    TEXT,
    required=True,
    where=Where.PATH,
    example="+34 600 11 22 33",
)


def _block(block: bool) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.block_contact(data["contact_id"], block)

    return handler


async def _get_contacts(ctx: OperationContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    return [contact.as_json() for contact in await ctx.client.get_contacts()]


GET_CONTACTS: Final = Operation(
    name="get_contacts",
    tag="contacts",
    title="Get contacts",
    description="Returns every contact WhatsApp knows.",
    fields=(),
    routes=(Route(Method.GET, "/contacts"),),
    handler=_get_contacts,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
    response_key="contacts",
    response_schema=ARRAY_OF_OBJECTS,
)


async def _get_contact(ctx: OperationContext, data: dict[str, Any]) -> dict[str, Any]:
    return (await ctx.client.get_contact(data["contact_id"])).as_json()


GET_CONTACT: Final = Operation(
    name="get_contact",
    tag="contacts",
    title="Get contact",
    description="Returns one contact.",
    fields=(CONTACT,),
    routes=(Route(Method.GET, "/contacts/{contact_id}"),),
    handler=_get_contact,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
)


BLOCK_CONTACT: Final = Operation(
    name="block_contact",
    tag="contacts",
    title="Block contact",
    description="Blocks a contact.",
    fields=(CONTACT,),
    routes=(
        Route(Method.PUT, "/contacts/{contact_id}/block"),
        # The add-on's README said POST; its server only answered PUT.
        Route(Method.POST, "/contacts/{contact_id}/block", alias=True),
    ),
    handler=_block(True),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


UNBLOCK_CONTACT: Final = Operation(
    name="unblock_contact",
    tag="contacts",
    title="Unblock contact",
    description="Unblocks a contact.",
    fields=(CONTACT,),
    routes=(
        Route(Method.PUT, "/contacts/{contact_id}/unblock"),
        Route(Method.POST, "/contacts/{contact_id}/unblock", alias=True),
    ),
    handler=_block(False),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _get_common_groups(
    ctx: OperationContext, data: dict[str, Any]
) -> list[dict[str, Any] | None]:
    # The add-on answered the group ids themselves as id objects ({server, user, _serialized}).
    return [wid_json(item) for item in await ctx.client.get_common_groups(data["contact_id"])]


GET_COMMON_GROUPS: Final = Operation(
    name="get_common_groups",
    tag="contacts",
    title="Get common groups",
    description="Returns the groups this account shares with a contact.",
    fields=(CONTACT,),
    routes=(Route(Method.GET, "/contacts/{contact_id}/common-groups"),),
    handler=_get_common_groups,
    access=Access.READ,
    supports_response=SupportsResponse.ONLY,
    response_key="groups",
    response_schema=ARRAY_OF_OBJECTS,
)


async def _get_profile_picture(ctx: OperationContext, data: dict[str, Any]) -> DownloadedMedia:
    contact = data["contact_id"]
    media = await ctx.client.get_profile_picture(contact, async_get_clientsession(ctx.hass))
    return DownloadedMedia(media=media, chat_id=contact, message_key="profile-picture")


GET_PROFILE_PICTURE: Final = Operation(
    name="get_profile_picture",
    tag="contacts",
    title="Get profile picture",
    description=(
        "Downloads a contact's profile picture: saved under a path allowed by "
        "allowlist_external_dirs, or returned as base64. Not found when the contact shows none."
    ),
    fields=(
        CONTACT,
        *save_fields("profile-picture"),
    ),
    routes=(Route(Method.GET, "/contacts/{contact_id}/profile-picture"),),
    handler=_get_profile_picture,
    access=Access.READ,
    supports_response=SupportsResponse.OPTIONAL,
    result=ResultKind.FILE,
    response_schema=FILE_SCHEMA,
)


OPERATIONS: Final[tuple[Operation, ...]] = (
    GET_CONTACTS,
    GET_CONTACT,
    BLOCK_CONTACT,
    UNBLOCK_CONTACT,
    GET_COMMON_GROUPS,
    GET_PROFILE_PICTURE,
)
