"""Field values declared once: the check Home Assistant runs and the JSON schema OpenAPI shows.

The OpenAPI document is built from these declarations, never by converting voluptuous schemas: Home
Assistant 2026.x validates with ``probatio`` (a stand-in installed under the ``voluptuous`` name) and no
longer ships ``voluptuous-openapi``, so a schema's internals are not something this integration may read.
A ``Value`` is an ordinary callable validator, so it goes wherever voluptuous takes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .client import ids
from .client.errors import InvalidId

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

STRING_SCHEMA: Final[Mapping[str, Any]] = {"type": "string"}
BOOLEAN_SCHEMA: Final[Mapping[str, Any]] = {"type": "boolean"}
STRING_LIST_SCHEMA: Final[Mapping[str, Any]] = {"type": "array", "items": {"type": "string"}}


@dataclass(frozen=True, slots=True)
class Value:
    """A validator together with the JSON schema of what it accepts."""

    validate: Callable[[Any], Any]
    json_schema: Mapping[str, Any]

    def __call__(self, value: Any) -> Any:
        """Validate (and normalise) one value; raises ``vol.Invalid``."""
        return self.validate(value)


def declared(json_schema: Mapping[str, Any]) -> Callable[[Callable[[Any], Any]], Value]:
    """Decorate a validator function with the JSON schema of what it accepts."""

    def wrap(validate: Callable[[Any], Any]) -> Value:
        return Value(validate, json_schema)

    return wrap


# Home Assistant's own plain validators, known by identity (they are functions, not schemas).
_PLAIN_SCHEMAS: Final[Mapping[Callable[[Any], Any], Mapping[str, Any]]] = {
    cv.string: STRING_SCHEMA,
    cv.boolean: BOOLEAN_SCHEMA,
}

TEXT_ITEMS: Final = Value(vol.Schema([cv.string]), STRING_LIST_SCHEMA)


def json_schema_of(validator: Callable[[Any], Any]) -> dict[str, Any]:
    """The JSON schema of a declared value or of ``cv.string``/``cv.boolean``."""
    if isinstance(validator, Value):
        return dict(validator.json_schema)
    if (schema := _PLAIN_SCHEMAS.get(validator)) is not None:
        return dict(schema)
    raise TypeError(f"no JSON schema is declared for the validator {validator!r}")


def bounded_text(*, min_length: int | None = None, max_length: int | None = None) -> Value:
    """Text of a bounded length (in characters)."""
    schema: dict[str, Any] = {"type": "string"}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return Value(vol.All(cv.string, vol.Length(min=min_length, max=max_length)), schema)


def whole_number(*, minimum: int, maximum: int | None = None) -> Value:
    """An integer in a range; numeric strings are accepted (query parameters arrive as text)."""
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return Value(vol.All(vol.Coerce(int), vol.Range(min=minimum, max=maximum)), schema)


def decimal_number(*, minimum: float, maximum: float) -> Value:
    """A number in a range; numeric strings are accepted."""
    return Value(
        vol.All(vol.Coerce(float), vol.Range(min=minimum, max=maximum)),
        {"type": "number", "minimum": minimum, "maximum": maximum},
    )


@dataclass(frozen=True, slots=True)
class Member:
    """One key of an object value."""

    key: str
    value: Callable[[Any], Any]
    description: str
    required: bool = False


def object_value(*members: Member, drop_unknown: bool = False) -> Value:
    """A JSON object with known keys; ``drop_unknown`` removes other keys instead of refusing them."""
    schema = vol.Schema(
        {
            (vol.Required(item.key) if item.required else vol.Optional(item.key)): item.value
            for item in members
        },
        extra=vol.REMOVE_EXTRA if drop_unknown else vol.PREVENT_EXTRA,
    )
    json_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            item.key: {**json_schema_of(item.value), "description": item.description}
            for item in members
        },
    }
    if required := [item.key for item in members if item.required]:
        json_schema["required"] = required
    return Value(schema, json_schema)


# WhatsApp ids, normalised here so that a bad one is reported with the field's name.


def _id(normalize: Callable[[str], str], value: Any) -> str:
    try:
        return normalize(cv.string(value))
    except InvalidId as error:
        raise vol.Invalid(error.reason) from error


@declared(STRING_SCHEMA)
def chat_id(value: str) -> str:
    """A chat id or phone number, normalised."""
    return _id(ids.normalize_chat_id, value)


@declared(STRING_SCHEMA)
def user_id(value: str) -> str:
    """A person's id or phone number, normalised."""
    return _id(ids.normalize_user_id, value)


@declared(STRING_LIST_SCHEMA)
def user_ids(value: list[str]) -> list[str]:
    """One or more people; a single string counts as a list of one."""
    return [user_id(item) for item in cv.ensure_list(value)]


@declared(STRING_SCHEMA)
def group_id(value: str) -> str:
    """A group id, normalised."""
    return _id(ids.normalize_group_id, value)


@declared(STRING_SCHEMA)
def invite_code(value: str) -> str:
    """A group invite code or link; the code."""
    return _id(ids.normalize_invite_code, value)


@declared(STRING_SCHEMA)
def message_id(value: str) -> str:
    """A serialized message id (``true_<chat>_<id>``) or the short id the add-on's routes use."""
    text = cv.string(value).strip()
    if ids.is_message_key_id(text):
        return text
    return _id(lambda item: ids.parse_message_id(item).serialized, text)


@declared(STRING_SCHEMA)
def serialized_message_id(value: str) -> str:
    """A serialized message id only (quotes need the chat)."""
    return _id(lambda item: ids.parse_message_id(item).serialized, value)
