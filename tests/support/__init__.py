"""Helpers shared by the test directories: a linked client on the simulator, in-memory stores."""
