"""Fixtures of the integration tests (the set-up side's live in ``linking.py``)."""

from __future__ import annotations

import pytest

from .linking import config_dir, flows, simulator

__all__ = ["config_dir", "flows", "simulator"]


@pytest.fixture(autouse=True)
def private_config_dir(request: pytest.FixtureRequest) -> None:
    """Tests with Home Assistant write under a configuration folder of their own (the outbox writes
    files), never under the test package's shared one."""
    if "hass" in request.fixturenames:
        request.getfixturevalue("config_dir")
