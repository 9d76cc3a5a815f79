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
_BOOLEAN: Final = 4
_KINDS: Final = frozenset((_AS_IS, _WID, _MSG_KEY, _RECORD, _BOOLEAN))
_BOOLEANS: Final = (False, True)


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
    booleans: tuple[int, ...]
    wids: tuple[int, ...]
    msg_keys: tuple[int, ...]
    records: tuple[int, ...]


def _shape(shape: Any) -> _Shape:
    keys, kinds = shape
    if len(keys) != len(kinds) or not all(isinstance(key, str) for key in keys):
        raise ValueError("a shape's keys and kinds differ")
    positions: dict[int, list[int]] = {kind: [] for kind in _KINDS}
    for at, kind in enumerate(kinds):
        if kind not in positions:
            raise ValueError("unknown kind of packed value")
        positions[kind].append(at)
    return _Shape(
        tuple(keys),
        tuple(positions[_BOOLEAN]),
        tuple(positions[_WID]),
        tuple(positions[_MSG_KEY]),
        tuple(positions[_RECORD]),
    )


class _Part(NamedTuple):
    """A part's shapes, and its ids as (user, server, _serialized)."""

    shapes: list[_Shape]
    ids: list[tuple[str, str, str]]


def unpack_records(packed: Any) -> list[dict[str, Any]]:
    """The records of a packed part, ``{shapes, ids, rows}``; ``ValueError`` when it is malformed.

    The rows are taken apart in place: they are the part's own, parsed for this call.
    """
    try:
        part = _Part(
            [_shape(shape) for shape in packed["shapes"]],
            [_split_id(serialized) for serialized in packed["ids"]],
        )
        return [_unpack(row, part) for row in packed["rows"]]
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise ValueError(f"malformed packed records: {error}") from error


def _split_id(serialized: str) -> tuple[str, str, str]:
    user, _, server = serialized.partition("@")
    return user, server, serialized


def _unpack(row: list[Any], part: _Part) -> dict[str, Any]:
    # This runs for every record of a list and every object in one: 10,000 times for 5,000 chats.
    keys, booleans, wids, msg_keys, records = part.shapes[row.pop()]
    if len(row) != len(keys):
        raise ValueError("a packed record's values do not match its shape")
    for at in booleans:
        row[at] = _BOOLEANS[row[at]]
    if wids:
        ids = part.ids
        for at in wids:
            user, server, serialized = ids[row[at]]
            row[at] = {"server": server, "user": user, "_serialized": serialized}
    if msg_keys:
        for at in msg_keys:
            from_me, remote, key_id = row[at]
            remote = part.ids[remote][2]
            row[at] = {
                "fromMe": _BOOLEANS[from_me],
                "remote": remote,
                "id": key_id,
                "_serialized": f"{'true' if from_me else 'false'}_{remote}_{key_id}",
            }
    if records:
        for at in records:
            row[at] = _unpack(row[at], part)
    return dict(zip(keys, row, strict=False))
