"""Scoring use cases: incremental apply on ingest, segment economics, explain.

Every function takes the unit of work (`tx`), the active policy and the time; nothing is
read from globals. The batch run lives in `services/score_batch.py`.

Example (the signal pipeline's score stage, inside the transaction that stored them):

    scored = score_signals(tx, stored_records, superseded_records, active, clock())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.capacity import blended_hourly_cost
from dtem.domain.errors import NotFound
from dtem.domain.model import segment_of
from dtem.domain.policy import Policy
from dtem.domain.ports import DirectoryPort, EconomicsPort, OutboxPort, ScoresPort
from dtem.domain.rescoring import StateScorer, absorb_all
from dtem.domain.score_records import AccountFacts, ScoreEvent, ScoreRecord
from dtem.domain.scoring import (
    Decayed,
    EquityScore,
    SignalContribution,
    SignalLike,
    account_score,
    crossing,
    decay_rate,
    epoch_seconds,
    intensities_of,
    intensity_at,
    top_signals,
)
from dtem.domain.segments import Economics, Velocity, lambda_hourly, segment_velocity
from dtem.services import webhook_events
from dtem.services.governance import ActivePolicy

HAND_RAISE = "hand_raise"


class _EconomicsInputs(EconomicsPort, DirectoryPort, Protocol):
    """Won deals and reps in, a new economics snapshot out."""


class _Scoring(ScoresPort, EconomicsPort, OutboxPort, Protocol):
    """Decayed states and scores, scored on the newest economics snapshot; crossings are
    written to the webhook outbox."""


class _Explaining(DirectoryPort, ScoresPort, EconomicsPort, Protocol):
    """An account by external id, its signals and last score, the economics snapshot."""


# --- segment economics ---------------------------------------------------------------------
def refresh_economics(tx: _EconomicsInputs, policy: Policy, at: datetime) -> Economics:
    """Freeze a new snapshot of won-deal figures by segment and the blended rep cost."""
    eco = Economics.from_deals(
        tx.won_deals(policy.won_stages),
        version=0,
        blended_hourly=blended_hourly_cost(tx.all_reps()),
        computed_at=at,
    )
    return replace(eco, version=tx.add_economics(eco))


def current_economics(tx: EconomicsPort) -> Economics:
    """The newest snapshot; version 0 (policy defaults) before the first refresh."""
    return tx.latest_economics() or Economics()


# --- incremental ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    """What a re-score wrote: each account's new score, and the triggers with their ids."""

    scores: dict[int, ScoreRecord] = field(default_factory=dict)
    events: list[ScoreEvent] = field(default_factory=list)

    def __add__(self, other: Scored) -> Scored:
        return Scored(self.scores | other.scores, self.events + other.events)


def score_signals(
    tx: _Scoring,
    stored: Sequence[SignalLike],
    superseded: Sequence[SignalLike],
    active: ActivePolicy,
    now: datetime,
) -> Scored:
    """Fold new signals in, then take superseded ones out (a late old week nets 0).

    Concurrent writers are safe: the accounts are locked first (in id order, all at once),
    so each reads the committed state, and the new score and its crossing are taken on
    the committed total, never on a partial one.
    """
    _lock_accounts(tx, stored, superseded)
    scored = Scored()
    if stored:
        scored += _fold(tx, stored, active, now, sign=1.0)
    if superseded:
        scored += _fold(tx, superseded, active, now, sign=-1.0)
    return scored


def apply_signals(
    tx: _Scoring, signals: Iterable[SignalLike], active: ActivePolicy, now: datetime
) -> list[ScoreEvent]:
    """Fold newly stored signals into each account's decayed state and re-score it at once.

    Signals without an account, superseded ones and types the policy does not know are
    skipped. Returns the routing triggers written (crossings and hand-raises).
    """
    signals = list(signals)
    _lock_accounts(tx, signals)
    return _fold(tx, signals, active, now, sign=1.0).events


def retract_signals(
    tx: _Scoring, signals: Iterable[SignalLike], active: ActivePolicy, now: datetime
) -> list[ScoreEvent]:
    """Take signals back out of the state (e.g. when a newer snapshot supersedes them).

    Exact for the same reason as `apply_signals`: the state is linear in the values.
    """
    signals = list(signals)
    _lock_accounts(tx, signals)
    return _fold(tx, signals, active, now, sign=-1.0).events


def _lock_accounts(tx: ScoresPort, *signal_lists: Iterable[SignalLike]) -> None:
    """Lock the state of every account these signals move, in one sorted statement."""
    ids = {s.account_id for signals in signal_lists for s in signals if s.account_id is not None}
    tx.lock_account_states(ids)


def _fold(
    tx: _Scoring, signals: Iterable[SignalLike], active: ActivePolicy, now: datetime, sign: float
) -> Scored:
    types = active.policy.signal_types
    by_account: dict[int, list[SignalLike]] = {}
    for s in signals:
        if s.account_id is not None and s.type in types and not getattr(s, "superseded", False):
            by_account.setdefault(s.account_id, []).append(s)
    if not by_account:
        return Scored()
    stored = tx.account_states(by_account)
    rates = {t: decay_rate(st.half_life_days) for t, st in types.items()}  # once per batch
    flat = {(acc, t): d for acc, by_type in stored.items() for t, d in by_type.items()}
    events = [
        ((acc, s.type), sign * s.value, epoch_seconds(s.occurred_at), rates[s.type])
        for acc, sigs in by_account.items()
        for s in sigs
    ]
    absorb_all(flat, events)
    states = {acc: dict(stored.get(acc, {})) for acc in by_account}
    touched: dict[int, dict[str, Decayed]] = {}
    for acc, t in {e[0] for e in events}:
        states[acc][t] = touched.setdefault(acc, {})[t] = flat[acc, t]
    tx.save_account_states(touched)  # only the (account, type) rows this batch moved
    raised = set() if sign < 0 else _hand_raisers(by_account, active.policy, now)
    return rescore(tx, states, active, now, raised)


def _hand_raisers(
    by_account: Mapping[int, Sequence[SignalLike]], policy: Policy, now: datetime
) -> set[int]:
    """Accounts with a fresh hand-raise (younger than its half-life): route them now."""
    if HAND_RAISE not in policy.signal_types:
        return set()
    window = policy.signal_types[HAND_RAISE].half_life_days * 86_400.0
    now_s = epoch_seconds(now)
    return {
        acc
        for acc, sigs in by_account.items()
        if any(
            s.type == HAND_RAISE and now_s - epoch_seconds(s.occurred_at) <= window for s in sigs
        )
    }


def state_score(
    policy: Policy,
    eco: Economics,
    facts: AccountFacts,
    states: Mapping[str, Decayed],
    now: float,
    figures: dict[str, tuple[float, float]] | None = None,
) -> EquityScore:
    """An account's score from its decayed state at `now` (epoch seconds)."""
    intensities = {
        t: intensity_at(d, now, decay_rate(policy.signal_types[t].half_life_days))
        for t, d in states.items()
        if t in policy.signal_types
    }
    return account_score(policy, eco, facts.industry, facts.employees, intensities, figures)


def rescore(
    tx: _Scoring,
    states: Mapping[int, Mapping[str, Decayed]],
    active: ActivePolicy,
    now: datetime,
    hand_raisers: set[int] | frozenset[int] = frozenset(),
) -> Scored:
    """Score the accounts from their states, append the scores and their triggers."""
    eco, policy = current_economics(tx), active.policy
    facts = {f.id: f for f in tx.scoring_accounts(list(states))}
    previous = tx.latest_scores(list(states))
    scorer = StateScorer(policy, eco, epoch_seconds(now))  # per-batch memos
    eco_version, threshold = eco.version or None, policy.threshold
    records: list[ScoreRecord] = []
    events: list[ScoreEvent] = []
    for acc, acc_states in states.items():
        f = facts[acc]
        s = scorer.score(f.industry, f.employees, acc_states)
        records.append(ScoreRecord(acc, now, *s, active.version, "incremental", eco_version))
        prev = previous[acc].score if acc in previous else None
        kind = crossing(prev, s.score, threshold)
        kinds = [k for k in (kind, HAND_RAISE if acc in hand_raisers else None) if k]
        events += [ScoreEvent(acc, now, k, s.score, active.version) for k in kinds]
    tx.append_scores(records)
    triggers = tx.append_score_events(events)
    names = {acc: f.external_id for acc, f in facts.items()}
    webhook_events.score_crossings(tx, events, names, threshold)
    return Scored({r.account_id: r for r in records}, triggers)


# --- explain -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Explanation:
    """Why an account scores what it scores, at a time, under a policy."""

    external_id: str
    account_id: int
    as_of: datetime
    policy_version: int
    economics_version: int | None
    segment: str
    score: EquityScore
    intensities: dict[str, float]
    velocity: Velocity
    effort_hours: float
    lambda_hourly: float
    top_signals: list[SignalContribution]
    last_recorded: ScoreRecord | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data, as the CLI's `--json` and the HTTP API print it."""
        e = self
        s = e.score
        return {
            "account": e.external_id,
            "as_of": e.as_of.isoformat(),
            "policy_version": e.policy_version,
            "economics_version": e.economics_version,
            "segment": e.segment,
            "score": s.score,
            "equity": s.equity,
            "propensity": s.propensity,
            "velocity": s.velocity,
            "cost": s.cost,
            "deal_value": e.velocity.deal_value,
            "cycle_days": e.velocity.cycle_days,
            "effort_hours": e.effort_hours,
            "lambda_hourly": e.lambda_hourly,
            "logit": sum(s.logit_terms.values()),
            "logit_terms": s.logit_terms,
            "intensities": e.intensities,
            "top_signals": [
                {
                    "type": t.type,
                    "occurred_at": t.occurred_at.isoformat(),
                    "value": t.value,
                    "decayed": t.decayed,
                    "logit": t.logit,
                }
                for t in e.top_signals
            ],
            "last_recorded": None
            if e.last_recorded is None
            else {
                "score": e.last_recorded.score,
                "as_of": e.last_recorded.as_of.isoformat(),
                "method": e.last_recorded.method,
            },
        }


def explain(tx: _Explaining, external_id: str, active: ActivePolicy, now: datetime) -> Explanation:
    """Recompute an account's score from its signals and break it down. Raises `NotFound`."""
    found = tx.accounts_by_external_id([external_id])
    if external_id not in found or found[external_id].id is None:
        raise NotFound(f"account {external_id!r} does not exist")
    acc = found[external_id]
    assert acc.id is not None
    policy, eco = active.policy, current_economics(tx)
    signals = tx.account_signals(acc.id, now)
    now_s = epoch_seconds(now)
    intensities = intensities_of(policy, signals, now_s)
    segment = segment_of(acc.employees, acc.industry)
    history = tx.score_history(acc.id, limit=1)
    return Explanation(
        external_id=external_id,
        account_id=acc.id,
        as_of=now,
        policy_version=active.version,
        economics_version=eco.version or None,
        segment=segment,
        score=account_score(policy, eco, acc.industry, acc.employees, intensities),
        intensities=intensities,
        velocity=segment_velocity(eco, policy, segment),
        effort_hours=policy.effort_hours.get(segment, policy.default_effort_hours),
        lambda_hourly=lambda_hourly(eco, policy),
        top_signals=top_signals(policy, signals, now_s, n=5),
        last_recorded=history[0] if history else None,
    )
