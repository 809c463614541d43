"""What runs after signals are stored, in the same transaction: scoring, then routing.

The webhook, the worker and file imports all take their hook from here, so the scorer
is wired once: new signals are folded into their accounts' decayed state, intent rows a
newer weekly snapshot replaced are taken back out, and an account that crossed the
threshold or raised its hand is routed to a rep at once (the decision is stored; with
no eligible rep it waits in the overflow queue for the next review).
"""

from __future__ import annotations

from dtem.domain.ports import LedgerTx
from dtem.domain.routing import TRIGGERS
from dtem.domain.score_records import ScoreEvent
from dtem.services.governance import ActivePolicy, active_policy
from dtem.services.routing import route_in_tx
from dtem.services.scoring import apply_signals, retract_signals
from dtem.services.signals.ingest import Committed


def on_signals_committed(tx: LedgerTx, batch: Committed) -> None:
    """Score what was stored, then retract what was superseded (a late old week nets 0)."""
    if not batch.stored and not batch.superseded:
        return
    active = active_policy(tx)
    triggers: list[ScoreEvent] = []
    if batch.stored:
        triggers += apply_signals(tx, batch.stored, active, batch.now)
    if batch.superseded:
        triggers += retract_signals(tx, batch.superseded, active, batch.now)
    route_triggered(tx, triggers, active, batch)


def route_triggered(
    tx: LedgerTx, triggers: list[ScoreEvent], active: ActivePolicy, batch: Committed
) -> None:
    """Route each account that crossed up or raised its hand, once, and mark its triggers."""
    accounts: dict[int, str] = {}
    for e in triggers:  # a hand-raise outranks a crossing (Tier 3 is routed only on one)
        if e.kind in TRIGGERS and accounts.get(e.account_id) != "hand_raise":
            accounts[e.account_id] = e.kind
    if not accounts:
        return
    pending = [e for e in tx.score_events(unconsumed=True) if e.account_id in accounts]
    by_id = tx.accounts_by_id(list(accounts))
    for account_id, kind in accounts.items():
        route_in_tx(tx, by_id[account_id], kind, batch.now, "router", active)
    tx.consume_score_events([e.id for e in pending if e.id is not None], batch.now)
