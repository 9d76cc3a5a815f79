"""Parse the JSON that WhatsApp Web's page and the browser send.

orjson parses a 5 MB chat list about three times faster than the standard library, and ships with
every Home Assistant (it is one of core's own requirements). It refuses lone UTF-16 surrogates,
which JSON.stringify writes for a broken emoji in a message; the standard parser keeps those, so
such a text is parsed again with it rather than lost.

A part of a long list of records comes packed (bridge.js, ``packRecord``): each record is the array
of its values followed by the index of its shape, the record's keys and how each value was packed.
:func:`unpack_records` rebuilds the objects JSON.parse would have given for the records themselves,
keys in the same order.
"""

from __future__ import annotations

import json
from typing import Any, Final, NamedTuple

import orjson

# How a value of a packed record was packed (bridge.js, PACKED_*).
_AS_IS: Final = 0
_WID: Final = 1
_MSG_KEY: Final = 2
_RECORD: Final = 3


def parse_page_json(text: str | bytes) -> Any:
    """The value of one JSON text; ``ValueError`` when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class _Shape(NamedTuple):
    """The keys of a packed record and the positions of the values packed other than as is.

    A tuple, taken apart in one step for every record: faster than reading attributes.
    """

    keys: tuple[str, ...]
    wids: tuple[int, ...]
    msg_keys: tuple[int, ...]
    records: tuple[int, ...]


def _shape(shape: Any) -> _Shape:
    keys, kinds = shape
    if len(keys) != len(kinds) or not all(isinstance(key, str) for key in keys):
        raise ValueError("a shape's keys and kinds differ")
    if any(kind not in (_AS_IS, _WID, _MSG_KEY, _RECORD) for kind in kinds):
        raise ValueError("unknown kind of packed value")
    return _Shape(
        tuple(keys),
        tuple(at for at, kind in enumerate(kinds) if kind == _WID),
        tuple(at for at, kind in enumerate(kinds) if kind == _MSG_KEY),
        tuple(at for at, kind in enumerate(kinds) if kind == _RECORD),
    )


def unpack_records(packed: Any) -> list[dict[str, Any]]:
    """The records of a packed part, ``{shapes, rows}``; ``ValueError`` when it is malformed.

    The rows are taken apart in place: they are the part's own, parsed for this call.
    """
    try:
        shapes = [_shape(shape) for shape in packed["shapes"]]
        return [_unpack(row, shapes) for row in packed["rows"]]
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise ValueError(f"malformed packed records: {error}") from error


def _unpack(row: list[Any], shapes: list[_Shape]) -> dict[str, Any]:
    # This runs for every record of a list and every object in one: 5,000 chats, 10,000 calls.
    keys, wids, msg_keys, records = shapes[row.pop()]
    if len(row) != len(keys):
        raise ValueError("a packed record's values do not match its shape")
    for at in wids:
        serialized = row[at]
        user, _, server = serialized.partition("@")
        row[at] = {"server": server, "user": user, "_serialized": serialized}
    for at in msg_keys:
        from_me, remote, key_id = row[at]
        row[at] = {
            "fromMe": from_me,
            "remote": remote,
            "id": key_id,
            "_serialized": f"{'true' if from_me else 'false'}_{remote}_{key_id}",
        }
    for at in records:
        row[at] = _unpack(row[at], shapes)
    return dict(zip(keys, row, strict=False))
