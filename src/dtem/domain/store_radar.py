"""Ledger port.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from typing import Protocol


class RadarStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""
