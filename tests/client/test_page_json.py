"""Packed parts of a long list: what the page sends is rebuilt exactly, or refused.

The round trip through the real bridge is in test_long_answers.py; here, the Python side alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.whatsapp_web.client.page_json import unpack_records


def packed(rows: list[Any]) -> dict[str, Any]:
    """A part with two shapes: a chat record with an id and a nested message with a MsgKey."""
    return {
        "shapes": [
            [["id", "body", "from", "star"], [2, 0, 1, 4]],
            [["id", "unreadCount", "lastMessage", "archive"], [1, 0, 3, 4]],
        ],
        "ids": ["1@c.us", "a@b@c.us"],
        "rows": rows,
    }


def test_records_are_rebuilt_with_their_keys_in_order() -> None:
    message = [[0, 0, "A"], "hi", 0, 1, 0]
    records = unpack_records(packed([[0, 2, message, 0, 1]]))

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
                "star": True,
            },
            "archive": False,
        }
    ]
    assert list(records[0]) == ["id", "unreadCount", "lastMessage", "archive"]


@pytest.mark.parametrize(
    "part",
    [
        {"shapes": [], "rows": []},
        packed([[0, 2, 1]]),
        packed([[0, 2, None, 0, 1, 1]]),
        packed([[0, 2, None, 0, 5]]),
        packed([[None, 2, None, 0, 1]]),
        packed([[7, 2, None, 0, 1]]),
        packed([[0, 2, [0, "a", "b", 0, 0], 0, 1]]),
        packed([[0, 2, [[0, 0, "A"], "hi", 0, 2, 0], 0, 1]]),
        {"shapes": [[["id"], [9]]], "ids": [], "rows": [["x", 0]]},
        {"shapes": [[["id", "t"], [0]]], "ids": [], "rows": [["x", 0]]},
        [],
    ],
)
def test_a_malformed_part_is_refused(part: Any) -> None:
    with pytest.raises(ValueError):
        unpack_records(part)
