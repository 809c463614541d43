"""The batch run: score every account in one engine pass, append history and crossings.

Three short steps, so SQLite's write lock is never held during the computation:
read the inputs (one transaction), run the engine (no transaction), write the
scores and the crossings versus each account's previous score (one transaction).

Example:

    summary = run_batch(ledger, DuckDbScorer(), clock)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from dtem.domain.batch import BatchScorer, BatchScores, TypeParams, account_params
from dtem.domain.clock import Clock
from dtem.domain.ports import (
    DirectoryPort,
    EconomicsPort,
    LedgerOf,
    OutboxPort,
    PolicyPort,
    ScoresPort,
)
from dtem.domain.score_records import ScoreEvent, ScoreRecord, SignalColumns
from dtem.domain.scoring import crossing
from dtem.domain.segments import Economics
from dtem.services import webhook_events
from dtem.services.governance import ActivePolicy, active_policy
from dtem.services.scoring import current_economics, refresh_economics


class _BatchInputs(PolicyPort, ScoresPort, EconomicsPort, DirectoryPort, OutboxPort, Protocol):
    """The active policy, accounts, signals and economics a run reads; scores it writes."""


class _BatchOutput(ScoresPort, OutboxPort, Protocol):
    """Scores and crossings appended; crossings written to the webhook outbox too."""


@dataclass(frozen=True)
class BatchSummary:
    """What one batch run did."""

    engine: str
    as_of: datetime
    policy_version: int
    economics_version: int | None
    accounts: int
    signals: int | None  # None when read from Parquet (not counted)
    at_or_above_threshold: int
    crossed_up: int
    crossed_down: int
    seconds: float
    top: list[tuple[str, float]]  # (external id, score), best first


def run_batch(
    ledger: LedgerOf[_BatchInputs],
    scorer: BatchScorer,
    clock: Clock,
    as_of: datetime | None = None,
    signals_path: str | None = None,
    refresh: bool = False,
    top: int = 10,
    on_step: Callable[[str], None] = lambda _step: None,
) -> BatchSummary:
    """Score every account as of `as_of` (default now) from the ledger or a Parquet set.

    The first run (or `refresh=True`) freezes a new segment-economics snapshot from the
    won opportunities; later runs reuse the newest one, so scores stay absolute.
    `on_step` hears each phase (for a progress display).
    """
    started = time.perf_counter()
    on_step("reading the ledger")
    now = clock()
    as_of = as_of or now
    with ledger.transaction() as tx:
        active = active_policy(tx)
        eco = current_economics(tx)
        if refresh or eco.version == 0:
            eco = refresh_economics(tx, active.policy, now)
        facts = tx.scoring_accounts()
        signals = signals_path or tx.signal_columns(as_of)
    names = {f.id: f.external_id for f in facts}
    params = account_params(active.policy, eco, facts)
    types = TypeParams.of(active.policy)
    on_step(f"scoring {len(facts)} accounts on {scorer.name}")
    result = scorer.score(signals, params, types, active.policy.e_half, as_of)
    on_step("writing scores and crossings")
    events = _write(ledger, result, active, eco, as_of, names)
    return _summary(scorer.name, result, active, eco, as_of, signals, events, names, top, started)


def _write(
    ledger: LedgerOf[_BatchOutput],
    result: BatchScores,
    active: ActivePolicy,
    eco: Economics,
    as_of: datetime,
    names: dict[int, str],
) -> list[ScoreEvent]:
    version, eco_version = active.version, eco.version or None
    with ledger.transaction() as tx:
        previous = {k: v.score for k, v in tx.latest_scores().items()}
        records = [
            ScoreRecord(int(a), as_of, float(s), float(e), float(p), float(v), float(c),
                        version, "batch", eco_version)
            for a, s, e, p, v, c in zip(
                result.account_id.tolist(), result.score.tolist(), result.equity.tolist(),
                result.propensity.tolist(), result.velocity.tolist(), result.cost.tolist(),
                strict=True,
            )
        ]  # fmt: skip
        events = [
            ScoreEvent(r.account_id, as_of, kind, r.score, version)
            for r in records
            if (kind := crossing(previous.get(r.account_id), r.score, active.policy.threshold))
        ]
        tx.append_scores(records)
        tx.append_score_events(events)
        webhook_events.score_crossings(tx, events, names, active.policy.threshold)
    return events


def _summary(
    engine: str,
    result: BatchScores,
    active: ActivePolicy,
    eco: Economics,
    as_of: datetime,
    signals: SignalColumns | str,
    events: list[ScoreEvent],
    names: dict[int, str],
    top: int,
    started: float,
) -> BatchSummary:
    best = np.argsort(-result.score, kind="stable")[:top]
    return BatchSummary(
        engine=engine,
        as_of=as_of,
        policy_version=active.version,
        economics_version=eco.version or None,
        accounts=len(result),
        signals=None if isinstance(signals, str) else len(signals),
        at_or_above_threshold=int((result.score >= active.policy.threshold).sum()),
        crossed_up=sum(e.kind == "crossed_up" for e in events),
        crossed_down=sum(e.kind == "crossed_down" for e in events),
        seconds=time.perf_counter() - started,
        top=[(names[int(result.account_id[i])], float(result.score[i])) for i in best],
    )
