"""What runs after signals are stored, in the same transaction (incremental scoring).

The webhook, the worker and file imports all take their hook from `on_signals_committed`,
so wiring the scorer here wires it everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtem.domain.ports import LedgerTx
from dtem.domain.signals import SignalRecord
from dtem.services.governance import active_policy
from dtem.services.scoring import apply_signals


def on_signals_committed(tx: LedgerTx, stored: Sequence[SignalRecord]) -> None:
    """Run after each batch of stored signals: update decayed state, re-score, emit triggers.

    The batch's receive time is its `now` (every record of one delivery shares it).
    """
    if stored:
        apply_signals(tx, stored, active_policy(tx), max(r.received_at for r in stored))
