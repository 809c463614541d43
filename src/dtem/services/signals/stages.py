"""The stages of the signal pipeline after ingest: score what was stored, route on it.

`score_committed` folds stored signals into their accounts' decayed state, takes intent
rows a newer weekly snapshot replaced back out, and appends the new scores with their
triggers; `route_triggered` routes each account that crossed the threshold upward or
raised its hand, at once (the decision is stored; with no eligible rep it waits in the
overflow queue for the next review), and marks those triggers consumed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dtem.domain.ports import EconomicsPort, OutboxPort, ScoresPort
from dtem.domain.routing import TRIGGERS
from dtem.domain.score_records import ScoreRecord
from dtem.domain.store_market import ScoreRow
from dtem.services.governance import ActivePolicy
from dtem.services.routing import RoutingTx, route_in_tx
from dtem.services.scoring import Scored, score_signals
from dtem.services.signals.ingest import Committed


class _ScoreStage(ScoresPort, EconomicsPort, OutboxPort, Protocol):
    """Decayed states and scores, on the newest economics snapshot."""


class _RouteStage(RoutingTx, ScoresPort, Protocol):
    """A routing decision per triggered account, its triggers marked consumed."""


def score_committed(tx: _ScoreStage, batch: Committed, active: ActivePolicy) -> Scored:
    """Score what ingest stored, then retract what it superseded (a late old week nets 0)."""
    return score_signals(tx, batch.stored, batch.superseded, active, batch.now)


def route_triggered(tx: _RouteStage, scored: Scored, active: ActivePolicy, now: datetime) -> None:
    """Route each account that crossed up or raised its hand, once, and mark its triggers."""
    accounts: dict[int, str] = {}
    for e in scored.events:  # a hand-raise outranks a crossing (Tier 3 is routed only on one)
        if e.kind in TRIGGERS and accounts.get(e.account_id) != "hand_raise":
            accounts[e.account_id] = e.kind
    if not accounts:
        return
    by_id = tx.accounts_by_id(list(accounts))
    for account_id, kind in accounts.items():
        latest = _routing_row(scored.scores[account_id])
        route_in_tx(tx, by_id[account_id], kind, now, "router", active, latest=latest)
    done = [e.id for e in scored.events if e.account_id in accounts and e.id is not None]
    tx.consume_score_events(done, now)


def _routing_row(r: ScoreRecord) -> ScoreRow:
    return ScoreRow(r.account_id, r.as_of, r.score, r.propensity, r.velocity, r.policy_version)
