"""Every generated file matches its source (script/regenerate --check)."""

from __future__ import annotations

from script import regenerate


def test_no_generated_file_is_stale() -> None:
    assert regenerate.regenerate(check=True) == [], "run script/regenerate"
