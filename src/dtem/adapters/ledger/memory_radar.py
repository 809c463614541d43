"""In-memory implementation of the signal and scoring ports for unit tests.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from typing import Any

from dtem.adapters.ledger.memory_privacy import PrivacyMemory
from dtem.adapters.ledger.memory_retention import RetentionMemory
from dtem.adapters.ledger.memory_scores import ScoresMemory
from dtem.adapters.ledger.memory_signals import SignalsMemory


# ingestion: memory_signals; scoring: memory_scores;
# retention: memory_retention; erasure: memory_privacy
class RadarMemory(SignalsMemory, ScoresMemory, PrivacyMemory, RetentionMemory):
    """Mixed into `MemoryTx`; `self.s.extra` holds this feature's rows by table name."""

    s: Any
