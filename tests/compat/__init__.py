"""Tests: compat."""
