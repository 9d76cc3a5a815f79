"""Fixtures of the integration tests (the set-up side's live in ``linking.py``)."""

from .linking import config_dir, flows, simulator

__all__ = ["config_dir", "flows", "simulator"]
