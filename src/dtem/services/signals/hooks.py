"""What runs after signals are stored, in the same transaction (incremental scoring).

The webhook, the worker and file imports all take their hook from `on_signals_committed`,
so wiring the scorer here wires it everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtem.domain.ports import LedgerTx
from dtem.domain.signals import SignalRecord


def on_signals_committed(tx: LedgerTx, stored: Sequence[SignalRecord]) -> None:
    """Run after each batch of stored signals. Scoring is wired here (no-op until then)."""
