"""Parts several families of operations share: selectors, the chat and message fields, schemas."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.helpers import config_validation as cv

from ..values import chat_id, message_id
from .model import Face, Field, Where

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


def save_fields(file_name: str) -> tuple[Field, Field]:
    """The service's ``path`` and ``overwrite`` of a file answer; in a folder it is named ``file_name``."""
    return (
        Field(
            "path",
            cv.string,
            "Path",
            "File or folder to save to (under allowlist_external_dirs); in a folder the file is named "
            f"{file_name}.<extension of its type>. Not under www, which anyone can read. Without it "
            "the file is returned as base64.",
            TEXT,
            face=Face.SERVICE,
            example="/media/whatsapp/",
        ),
        Field(
            "overwrite",
            cv.boolean,
            "Overwrite",
            "Replace a file that already exists at the path.",
            BOOLEAN,
            default=False,
            face=Face.SERVICE,
        ),
    )


# The OpenAPI schema of a file answer.
FILE_SCHEMA: Final[dict[str, Any]] = {"type": "string", "format": "binary"}

# The OpenAPI schema of a list answer.
ARRAY_OF_OBJECTS: Final[dict[str, Any]] = {"type": "array", "items": {"type": "object"}}
