"""Ids and phone numbers, the way people and WhatsApp write them."""

import pytest

from custom_components.whatsapp_web.client.errors import InvalidId
from custom_components.whatsapp_web.client.ids import (
    MessageKey,
    chat_kind,
    normalize_chat_id,
    normalize_group_id,
    normalize_invite_code,
    normalize_phone_number,
    normalize_user_id,
    parse_message_id,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+34 600 11 22 33", "34600112233@c.us"),
        ("0034600112233", "34600112233@c.us"),
        ("34600112233", "34600112233@c.us"),
        ("34-600-112-233", "34600112233@c.us"),
        ("(+1) 202.555.0108", "12025550108@c.us"),
        ("\u202a+44 7700 900123\u202c", "447700900123@c.us"),
        ("34600112233@c.us", "34600112233@c.us"),
        ("34600112233@C.US", "34600112233@c.us"),
        ("34600112233@s.whatsapp.net", "34600112233@c.us"),
        ("34600112233:12@s.whatsapp.net", "34600112233@c.us"),
        ("123456789012345@lid", "123456789012345@lid"),
        ("120363042000000001@g.us", "120363042000000001@g.us"),
        ("34600112233-1600000000@g.us", "34600112233-1600000000@g.us"),
        ("status@broadcast", "status@broadcast"),
        ("  34600112233@c.us  ", "34600112233@c.us"),
    ],
)
def test_normalize_chat_id_accepts_usual_forms(given: str, expected: str) -> None:
    assert normalize_chat_id(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0600112233", "country code"),
        ("+34 600 ABC", "only digits"),
        ("123", "7 to 15 digits"),
        ("+1234567890123456", "7 to 15 digits"),
        ("34600112233@example.com", "@c.us"),
        ("abc@c.us", "@c.us"),
        ("'; alert(1); //", "only digits"),
        ("34600112233@c.us\x00", "@c.us"),
    ],
)
def test_normalize_chat_id_refuses_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(InvalidId) as error:
        normalize_chat_id(given)
    assert reason in str(error.value)
    assert error.value.field == "id"


def test_non_string_ids_are_refused() -> None:
    with pytest.raises(InvalidId):
        normalize_chat_id(34600112233)  # type: ignore[arg-type]


def test_phone_number_digits() -> None:
    assert normalize_phone_number("+34 600-11-22-33") == "34600112233"


def test_user_and_group_ids_are_told_apart() -> None:
    assert normalize_user_id("+34 600 11 22 33") == "34600112233@c.us"
    assert normalize_user_id("99999999999@lid") == "99999999999@lid"
    with pytest.raises(InvalidId, match="not a group"):
        normalize_user_id("120363042000000001@g.us")
    assert normalize_group_id("120363042000000001@g.us") == "120363042000000001@g.us"
    assert normalize_group_id("34600112233-1600000000") == "34600112233-1600000000@g.us"
    with pytest.raises(InvalidId, match="group id"):
        normalize_group_id("34600112233")


def test_chat_kind() -> None:
    assert chat_kind("1@c.us") == "user"
    assert chat_kind("1@lid") == "lid"
    assert chat_kind("1@g.us") == "group"
    assert chat_kind("status@broadcast") == "broadcast"


def test_message_ids_round_trip() -> None:
    one_to_one = parse_message_id("true_34600112233@c.us_3EB0C0FFEE0123456789")
    assert one_to_one == MessageKey(True, "34600112233@c.us", "3EB0C0FFEE0123456789")
    assert one_to_one.serialized == "true_34600112233@c.us_3EB0C0FFEE0123456789"
    in_group = parse_message_id("false_120363042000000001@g.us_ABCDEF123456_34600112233@c.us")
    assert in_group.participant == "34600112233@c.us"
    assert in_group.serialized == "false_120363042000000001@g.us_ABCDEF123456_34600112233@c.us"


@pytest.mark.parametrize(
    "given",
    [
        "",
        "3EB0C0FFEE",
        "maybe_34600112233@c.us_3EB0",
        "true_34600112233_3EB0C0FFEE",
        "true_34600112233@c.us_<script>",
        "true_34600112233@c.us_3EB0_x_y",
    ],
)
def test_bad_message_ids_are_refused(given: str) -> None:
    with pytest.raises(InvalidId):
        parse_message_id(given)


def test_invite_codes_and_links() -> None:
    assert normalize_invite_code("https://chat.whatsapp.com/AbCdEf123456") == "AbCdEf123456"
    assert normalize_invite_code(" AbCdEf123456 ") == "AbCdEf123456"
    with pytest.raises(InvalidId):
        normalize_invite_code("https://evil.example/AbCdEf123456")
