"""Packed parts of a long list: what the page sends is rebuilt exactly, or refused.

The round trip through the real bridge is in test_long_answers.py; here, the Python side alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.whatsapp_web.client.page_json import unpack_records


def packed(rows: list[Any]) -> dict[str, Any]:
    """A part with two shapes: a chat record with a wid and a nested message with a MsgKey."""
    return {
        "shapes": [
            [["id", "body", "from"], [2, 0, 1]],
            [["id", "unreadCount", "lastMessage"], [1, 0, 3]],
        ],
        "rows": rows,
    }


def test_records_are_rebuilt_with_their_keys_in_order() -> None:
    message = [[False, "1@c.us", "A"], "hi", "1@c.us", 0]
    records = unpack_records(packed([["1@c.us", 2, message, 1]]))

    assert records == [
        {
            "id": {"server": "c.us", "user": "1", "_serialized": "1@c.us"},
            "unreadCount": 2,
            "lastMessage": {
                "id": {
                    "fromMe": False,
                    "remote": "1@c.us",
                    "id": "A",
                    "_serialized": "false_1@c.us_A",
                },
                "body": "hi",
                "from": {"server": "c.us", "user": "1", "_serialized": "1@c.us"},
            },
        }
    ]
    assert list(records[0]) == ["id", "unreadCount", "lastMessage"]


@pytest.mark.parametrize(
    "part",
    [
        {"rows": []},
        packed([["1@c.us", 2]]),
        packed([["1@c.us", 2, None, 1, 1]]),
        packed([["1@c.us", 2, None, 5]]),
        packed([[None, 2, None, 1]]),
        packed([["1@c.us", 2, [None, "a", "1@c.us", 0], 1]]),
        {"shapes": [[["id"], [9]]], "rows": [["x", 0]]},
        {"shapes": [[["id", "t"], [0]]], "rows": [["x", 0]]},
        [],
    ],
)
def test_a_malformed_part_is_refused(part: Any) -> None:
    with pytest.raises(ValueError):
        unpack_records(part)
