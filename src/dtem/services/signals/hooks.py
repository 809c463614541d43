"""What runs after signals are stored, in the same transaction: incremental scoring.

The webhook, the worker and file imports all take their hook from here, so the scorer
is wired once: new signals are folded into their accounts' decayed state (and may
trigger routing), and intent rows a newer weekly snapshot replaced are taken back out.
"""

from __future__ import annotations

from dtem.domain.ports import LedgerTx
from dtem.services.governance import active_policy
from dtem.services.scoring import apply_signals, retract_signals
from dtem.services.signals.ingest import Committed


def on_signals_committed(tx: LedgerTx, batch: Committed) -> None:
    """Score what was stored, then retract what was superseded (a late old week nets 0)."""
    if not batch.stored and not batch.superseded:
        return
    active = active_policy(tx)
    if batch.stored:
        apply_signals(tx, batch.stored, active, batch.now)
    if batch.superseded:
        retract_signals(tx, batch.superseded, active, batch.now)
