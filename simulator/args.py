"""What the simulator accepts: typed fields of a request body or a page's `call`, and its refusals.

Every refusal is an `InputError` naming the field; the HTTP routes answer it as
`{"error": {"field", "message"}}` and the page ops as a failed `reply` (docs/internals.md §1).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from .account import ANY_ID_RE, JSONDict, is_group_id, is_user_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiohttp import web

#: What each `kind` of id field accepts, and how an error names it.
ID_KINDS: dict[str, tuple[Callable[[str], bool], str]] = {
    "any": (lambda value: ANY_ID_RE.match(value) is not None, "a WhatsApp id"),
    "user": (is_user_id, "a user id"),
    "group": (is_group_id, "a group id"),
}


class InputError(Exception):
    """A request the simulator refuses; `status` 400 (bad input), 403 or 404."""

    def __init__(self, field_name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
        self.status = status


def not_found(field_name: str, message: str) -> InputError:
    """A 404 naming the field that held the unknown id."""
    return InputError(field_name, message, 404)


def forbidden(field_name: str, message: str) -> InputError:
    """A 403: the account may not do that (e.g. not an admin)."""
    return InputError(field_name, message, 403)


class Args:
    """Typed access to a JSON object from a request or a `call`; wrong types raise InputError.

    A required field has a plain accessor that returns its value (`text`, `wid`, `obj`) and raises
    "is required" when it is missing or null; its `optional_` twin returns None (or a default).
    """

    def __init__(self, data: object, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise InputError(prefix.rstrip(".") or "body", "must be a JSON object")
        self.data: JSONDict = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        """The field's name as reported in errors."""
        return self.prefix + key

    def has(self, key: str) -> bool:
        """Whether the field is present and not null."""
        return self.data.get(key) is not None

    def _required(self, key: str) -> object:
        value = self.data.get(key)
        if value is None:
            raise InputError(self.name(key), "is required")
        return value

    def text(self, key: str) -> str:
        """A required string field."""
        value = self._required(key)
        if not isinstance(value, str):
            raise InputError(self.name(key), "must be a string")
        return value

    def optional_text(self, key: str, default: str | None = None) -> str | None:
        """A string field that may be missing (then ``default``)."""
        return self.text(key) if self.has(key) else default

    def boolean(self, key: str, default: bool = False) -> bool:
        """A boolean field."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InputError(self.name(key), "must be a boolean")
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = True,
        default: int = 0,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        """An integer field (booleans refused)."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise InputError(self.name(key), "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(self.name(key), "must be an integer")
        if minimum is not None and value < minimum:
            raise InputError(self.name(key), f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise InputError(self.name(key), f"must be at most {maximum}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        """A string field from a fixed set."""
        value = self.text(key)
        if value not in choices:
            raise InputError(self.name(key), f"must be one of {', '.join(choices)}")
        return value

    def wid(self, key: str, *, kind: str = "any") -> str:
        """A required id field: `kind` is `any`, `user` (@c.us/@lid) or `group` (@g.us)."""
        value = self.text(key)
        matches, wanted = ID_KINDS[kind]
        if not matches(value):
            raise InputError(self.name(key), f"must be {wanted} (got {value[:60]!r})")
        return value

    def optional_wid(self, key: str, *, kind: str = "any") -> str | None:
        """An id field that may be missing."""
        return self.wid(key, kind=kind) if self.has(key) else None

    def id_list(self, key: str, *, required: bool = True) -> list[str]:
        """A list of user ids."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise InputError(self.name(key), "is required")
            return []
        if not isinstance(value, list) or not all(is_user_id(v) for v in value):
            raise InputError(self.name(key), "must be a list of user ids")
        return list(value)

    def string_list(self, key: str) -> list[str]:
        """A required list of strings."""
        value = self.data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(self.name(key), "must be a list of strings")
        return list(value)

    def obj(self, key: str) -> Args:
        """A required nested object field."""
        value = self._required(key)
        if not isinstance(value, dict):
            raise InputError(self.name(key), "must be an object")
        return Args(value, self.name(key) + ".")

    def optional_obj(self, key: str) -> Args | None:
        """A nested object field that may be missing."""
        return self.obj(key) if self.has(key) else None


def decode_b64(value: str, field_name: str) -> bytes:
    """Base64 bytes, or a 400 naming the field."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(field_name, "must be base64") from None


async def read_json(request: web.Request, *, allow_empty: bool = False) -> Args:
    """The request body as an object, or a 400."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return Args({})
        raise InputError("body", "a JSON object is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InputError("body", "is not valid JSON") from None
    return Args(data)
