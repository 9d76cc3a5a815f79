"""A local stand-in for WhatsApp Web: the page, WhatsApp's servers and the user's phone.

`python -m simulator` serves it; `simulator.testing.Simulator` runs it inside a test. The page talks
to the server over the protocol of `simulator/PROTOCOL.md`; tests drive the phone side through the
control API of `docs/internals.md` §1.
"""

from __future__ import annotations

DEFAULT_VERSION = "2.3000.1017054665"

__all__ = ["DEFAULT_VERSION"]
