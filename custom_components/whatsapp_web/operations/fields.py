"""Parts several families of operations share: selectors, the chat and message fields, schemas."""

from __future__ import annotations

from typing import Any, Final

from ..values import chat_id, message_id
from .model import Field, Where

# Selectors of services.yaml, by kind.
TEXT: Final[dict[str, Any]] = {"text": None}
MULTILINE: Final[dict[str, Any]] = {"text": {"multiline": True}}
TEXT_LIST: Final[dict[str, Any]] = {"text": {"multiple": True}}
BOOLEAN: Final[dict[str, Any]] = {"boolean": None}
OBJECT: Final[dict[str, Any]] = {"object": None}


def chat_field(
    description: str = "Chat id (123@c.us, 123@g.us, 123@lid) or phone number with country code.",
) -> Field:
    """The chat a route names, with a description of its own where an operation needs one."""
    return Field(
        "chat_id",
        chat_id,
        "Chat",
        description,
        TEXT,
        required=True,
        where=Where.PATH,
        example="+34 600 11 22 33",
    )


CHAT: Final = chat_field()
MESSAGE: Final = Field(
    "message_id",
    message_id,
    "Message",
    "Message id: the serialized id (true_34600112233@c.us_3EB0...) or its last part.",
    TEXT,
    required=True,
    where=Where.PATH,
    example="3EB0C767D26A1D0F5A",
)

# The OpenAPI schema of a list answer.
ARRAY_OF_OBJECTS: Final[dict[str, Any]] = {"type": "array", "items": {"type": "object"}}
