"""The log guard itself: it must flag a secret at INFO and above, and only there."""

from __future__ import annotations

import logging

from .conftest import Secrets

LOGGER = logging.getLogger("custom_components.whatsapp_web.test_log_guard")


def record(level: int, message: str, *args: object, name: str = LOGGER.name) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_a_secret_at_info_or_above_is_found() -> None:
    secrets = Secrets()
    secrets.add("HA token", "eyJhbGciOiJIUzI1NiJ9.token")
    secrets.add("message body", "the door camera saw someone")
    secrets.add("pairing code", "AB")  # too short to be specific: ignored
    records = [
        record(logging.INFO, "sending %s", "the door camera saw someone"),
        record(logging.WARNING, "auth failed for eyJhbGciOiJIUzI1NiJ9.token"),
        record(logging.DEBUG, "body: the door camera saw someone"),
        record(
            logging.INFO,
            "the simulator may say eyJhbGciOiJIUzI1NiJ9.token",
            name="simulator.server",
        ),
        record(logging.ERROR, "code AB refused"),
    ]
    found = secrets.find_in(records)
    assert len(found) == 2
    assert found[0].startswith("INFO custom_components.whatsapp_web.test_log_guard: message body")
    assert found[1].startswith("WARNING custom_components.whatsapp_web.test_log_guard: HA token")
