"""WhatsApp ids: chats, users, groups and messages, and phone numbers written the way people write them.

WhatsApp addresses a user as ``<digits>@c.us`` (by phone number) or ``<digits>@lid`` (by a linked id that
hides the number), a group as ``<digits>[-<digits>]@g.us``. Callers of this library may pass any of those,
``<digits>@s.whatsapp.net`` (the protocol's spelling of ``@c.us``), or a phone number in an international
form: ``+34 600 11 22 33``, ``0034600112233``, ``34-600-112-233``, ``(+1) 202 555 0108``. A number without
its country code cannot be told apart from one with it, so it is refused rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Final, Literal

from .errors import InvalidId

type ChatKind = Literal["user", "lid", "group", "broadcast", "newsletter"]

USER_SERVER: Final = "c.us"
LID_SERVER: Final = "lid"
GROUP_SERVER: Final = "g.us"
STATUS_BROADCAST: Final = "status@broadcast"

# E.164 allows at most 15 digits; the shortest numbers in use have 7 with the country code.
_MIN_PHONE_DIGITS: Final = 7
_MAX_PHONE_DIGITS: Final = 15
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-./()\u00a0\u200e\u200f\u202a-\u202e]")
_DIGITS: Final = re.compile(r"[0-9]+")
_USER_ID: Final = re.compile(r"([0-9]{5,20})(?::[0-9]+)?@(c\.us|s\.whatsapp\.net)")
_LID_ID: Final = re.compile(r"([0-9]{5,20})(?::[0-9]+)?@lid")
_GROUP_ID: Final = re.compile(r"([0-9]{5,20}(?:-[0-9]{5,20})?)@g\.us")
_BROADCAST_ID: Final = re.compile(r"([0-9]{5,20}|status)@broadcast")
_NEWSLETTER_ID: Final = re.compile(r"([0-9]{5,25})@newsletter")
_MESSAGE_KEY_ID: Final = re.compile(r"[0-9A-Za-z]{4,64}")
_INVITE_CODE: Final = re.compile(r"[0-9A-Za-z]{10,40}")
INVITE_LINK_PREFIX: Final = "https://chat.whatsapp.com/"


def normalize_phone_number(value: str) -> str:
    """Return the digits of an international phone number (country code first), or raise InvalidId."""
    text = _PHONE_SEPARATORS.sub("", value.strip())
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    elif text.startswith("0"):
        raise InvalidId(value, "a phone number needs its country code, e.g. +34 600 11 22 33")
    if not _DIGITS.fullmatch(text):
        raise InvalidId(
            value, "a phone number may contain only digits, spaces, dashes, dots and brackets"
        )
    if not _MIN_PHONE_DIGITS <= len(text) <= _MAX_PHONE_DIGITS:
        raise InvalidId(
            value,
            f"a phone number has {_MIN_PHONE_DIGITS} to {_MAX_PHONE_DIGITS} digits with its country code",
        )
    return text


def normalize_chat_id(value: str) -> str:
    """Return the canonical chat id for an id or phone number, or raise InvalidId."""
    if not isinstance(value, str):
        raise InvalidId(repr(value), "an id must be a string")
    text = value.strip()
    if not text:
        raise InvalidId(value, "the id is empty")
    if "@" not in text:
        return f"{normalize_phone_number(text)}@{USER_SERVER}"
    lowered = text.lower()
    if match := _USER_ID.fullmatch(lowered):
        return f"{match.group(1)}@{USER_SERVER}"
    if match := _LID_ID.fullmatch(lowered):
        return f"{match.group(1)}@{LID_SERVER}"
    if match := _GROUP_ID.fullmatch(lowered):
        return f"{match.group(1)}@{GROUP_SERVER}"
    if _BROADCAST_ID.fullmatch(lowered) or _NEWSLETTER_ID.fullmatch(lowered):
        return lowered
    raise InvalidId(
        value,
        "expected a phone number or an id ending in @c.us, @lid or @g.us",
    )


def normalize_user_id(value: str) -> str:
    """Like normalize_chat_id, for places that need a person (a participant, a contact)."""
    chat_id = normalize_chat_id(value)
    if chat_kind(chat_id) not in ("user", "lid"):
        raise InvalidId(value, "expected a person (a phone number, @c.us or @lid), not a group")
    return chat_id


def normalize_group_id(value: str) -> str:
    """Like normalize_chat_id, for places that need a group."""
    text = value.strip() if isinstance(value, str) else value
    if (
        isinstance(text, str)
        and "@" not in text
        and _GROUP_ID.fullmatch(f"{text}@g.us")
        and "-" in text
    ):
        return f"{text}@{GROUP_SERVER}"
    chat_id = normalize_chat_id(value)
    if chat_kind(chat_id) != "group":
        raise InvalidId(value, "expected a group id ending in @g.us")
    return chat_id


def chat_kind(chat_id: str) -> ChatKind:
    """Tell what a canonical chat id addresses."""
    server = chat_id.rsplit("@", 1)[-1]
    match server:
        case "c.us":
            return "user"
        case "lid":
            return "lid"
        case "g.us":
            return "group"
        case "broadcast":
            return "broadcast"
        case "newsletter":
            return "newsletter"
    raise InvalidId(chat_id, "unknown id server")


def is_message_key_id(text: str) -> bool:
    """A message's own id (the last part of a serialized id, e.g. ``3EB0C7...``)."""
    return _MESSAGE_KEY_ID.fullmatch(text) is not None


def user_part(chat_id: str) -> str:
    """The part before the @: the phone number of a @c.us id."""
    return chat_id.split("@", 1)[0]


@dataclass(frozen=True, slots=True)
class MessageKey:
    """A message id as WhatsApp Web serializes it: ``<fromMe>_<chat>_<id>[_<participant>]``."""

    from_me: bool
    remote: str
    id: str
    participant: str | None = None

    @property
    def serialized(self) -> str:
        """The id in WhatsApp Web's string form."""
        parts = ["true" if self.from_me else "false", self.remote, self.id]
        if self.participant:
            parts.append(self.participant)
        return "_".join(parts)


def parse_message_id(value: str) -> MessageKey:
    """Parse a serialized message id, or raise InvalidId."""
    if not isinstance(value, str):
        raise InvalidId(repr(value), "a message id must be a string")
    parts = value.strip().split("_")
    if len(parts) not in (3, 4) or parts[0] not in ("true", "false"):
        raise InvalidId(value, "expected a message id like true_34600112233@c.us_3EB0C0FFEE")
    remote = normalize_chat_id(parts[1])
    if "@" not in parts[1]:
        raise InvalidId(value, "the chat part of a message id must end in @c.us, @lid or @g.us")
    if not is_message_key_id(parts[2]):
        raise InvalidId(value, "the last part of a message id must be letters and digits")
    participant = normalize_user_id(parts[3]) if len(parts) == 4 else None
    return MessageKey(
        from_me=parts[0] == "true", remote=remote, id=parts[2], participant=participant
    )


def normalize_invite_code(value: str) -> str:
    """Accept an invite code or a ``https://chat.whatsapp.com/<code>`` link; return the code."""
    text = value.strip() if isinstance(value, str) else ""
    text = text.removeprefix(INVITE_LINK_PREFIX)
    if not _INVITE_CODE.fullmatch(text):
        raise InvalidId(value, "expected a group invite code or a chat.whatsapp.com link")
    return text
