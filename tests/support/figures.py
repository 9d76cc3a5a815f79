"""Figures the tests measure (times, sizes, counts), printed as one table at the end of the run.

A figure is for the notes and the README, never a bound: a test that measures does not fail on a slow
machine. The table is printed by ``tests/conftest.py``.
"""

from __future__ import annotations

from typing import Any

FIGURES: list[tuple[str, str, str]] = []


def record_figure(case: str, measure: str, value: Any) -> None:
    """Keep one measured figure for the end-of-run table."""
    FIGURES.append((case, measure, str(value)))
