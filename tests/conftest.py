"""Fixtures shared by every test directory."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.figures import FIGURES


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the tests measured (tests/support/figures.py)."""
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    width = max(len(case) for case, _, _ in FIGURES)
    for case, measure, value in FIGURES:
        terminalreporter.write_line(f"{case:<{width}}  {measure}: {value}")
