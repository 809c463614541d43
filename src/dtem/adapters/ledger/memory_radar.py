"""In-memory implementation of `RadarStore` for unit tests.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from typing import Any


class RadarMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds this feature's rows by table name."""

    s: Any
