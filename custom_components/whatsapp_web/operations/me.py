"""The account itself as others see it: presence, display name and about text."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import SupportsResponse

from ..values import bounded_text
from .fields import TEXT
from .model import Access, Field, Handler, Method, Operation, OperationContext, Route


def _presence(available: bool) -> Handler:
    async def handler(ctx: OperationContext, data: dict[str, Any]) -> None:
        await ctx.client.set_presence(available=available)

    return handler


SET_AVAILABLE: Final = Operation(
    name="set_available",
    tag="me",
    title="Set available",
    description="Shows this account as online.",
    fields=(),
    routes=(Route(Method.PUT, "/me/available"),),
    handler=_presence(True),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


SET_UNAVAILABLE: Final = Operation(
    name="set_unavailable",
    tag="me",
    title="Set unavailable",
    description="Stops showing this account as online.",
    fields=(),
    routes=(Route(Method.PUT, "/me/unavailable"),),
    handler=_presence(False),
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _set_display_name(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.set_display_name(data["name"])


SET_DISPLAY_NAME: Final = Operation(
    name="set_display_name",
    tag="me",
    title="Set display name",
    description="Changes the name others see for this account.",
    fields=(
        Field(
            "name",
            bounded_text(min_length=1, max_length=25),
            "Name",
            "The new name (1 to 25 characters).",
            TEXT,
            required=True,
            example="Home",
        ),
    ),
    routes=(Route(Method.PUT, "/me/display-name"),),
    handler=_set_display_name,
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
)


async def _set_text_status(ctx: OperationContext, data: dict[str, Any]) -> None:
    await ctx.client.set_text_status(data["status"])


SET_TEXT_STATUS: Final = Operation(
    name="set_text_status",
    tag="me",
    title="Set about text",
    description="Changes this account's about text.",
    fields=(
        Field(
            "status",
            bounded_text(max_length=139),
            "About",
            "The new about text (at most 139 characters).",
            TEXT,
            required=True,
            example="At home",
        ),
    ),
    routes=(Route(Method.PUT, "/me/text-status"),),
    handler=_set_text_status,
    access=Access.WRITE,
    supports_response=SupportsResponse.NONE,
    status=204,
    # The add-on's README documented {"text": ...}; its server read {"status": ...}.
    body_aliases={"text": "status"},
)


OPERATIONS: Final[tuple[Operation, ...]] = (
    SET_AVAILABLE,
    SET_UNAVAILABLE,
    SET_DISPLAY_NAME,
    SET_TEXT_STATUS,
)
