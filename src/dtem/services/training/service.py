"""`dtem train`: fit, calibrate and evaluate the propensity model; store it as a new policy.

The new version is stored, not activated: RevOps reads the holdout figures first and
runs `dtem policy activate N` (or does not).

>>> TrainOptions(snapshot=date(2018, 2, 1)).horizon_days
90
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

import numpy as np

from dtem.domain.clock import Clock
from dtem.domain.errors import TrainingDataInsufficient
from dtem.domain.policy import Policy, SignalType
from dtem.domain.ports import (
    AuditPort,
    DirectoryPort,
    EconomicsPort,
    LedgerOf,
    PolicyPort,
    TrainingPort,
)
from dtem.domain.scoring import from_epoch_seconds
from dtem.domain.segments import Economics
from dtem.domain.training import SplitPlan, split_plan
from dtem.services.governance import active_policy, record_verdict, store_policy
from dtem.services.training.comparison import Comparison, compare
from dtem.services.training.dataset import (
    FIT_TERMS,
    History,
    Rows,
    build_rows,
    leak_warnings,
    load_history,
    stack,
    without_terms,
)
from dtem.services.training.ehalf import EHalfProposal, propose
from dtem.services.training.evaluate import (
    Evaluation,
    baseline_probability,
    evaluate,
    segment_base_rates,
)
from dtem.services.training.fit import Coefficients, FittedModel, fit_propensity
from dtem.services.training.labels import MIN_POSITIVES


@dataclass(frozen=True)
class TrainOptions:
    snapshot: date
    horizon_days: int = 90
    holdout_snapshot: date | None = None  # default: snapshot + horizon
    train_snapshots: int = 1  # rolling origins ending at `snapshot`
    every_days: int = 30  # spacing of the rolling origins
    population: str = "signalled"  # or "all": accounts without signals are rows too
    label: str = "won"  # won | first-win | advanced (`dtem.services.training.labels`)
    as_of: date | None = None  # when E_half is proposed; default: latest signal or today
    regularisation: float = 1.0  # C of the L2 logistic regression
    fit_terms: tuple[str, ...] = FIT_TERMS  # firmographic terms to fit (subset of FIT_TERMS)
    note: str = ""


@dataclass(frozen=True)
class Sample:
    """Where a set of rows comes from and what it holds."""

    snapshots: list[date]
    label_from: date  # exclusive
    label_to: date  # inclusive
    rows: int
    positives: int


@dataclass(frozen=True)
class TrainingReport:
    version: int
    based_on_version: int
    activated: bool
    label: str
    horizon_days: int
    train: Sample
    holdout: Sample
    model: Evaluation  # the stored (calibrated) policy on the holdout
    model_uncalibrated: Evaluation
    baseline: Evaluation
    coefficients: Coefficients
    platt_slope: float
    platt_offset: float
    new_types: list[str]
    unseen_types: list[str]
    e_half: EHalfProposal
    fit_terms: list[str]
    warnings: list[str]
    comparison: Comparison  # the model against its baselines, and the gate's verdict
    activate_with: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "activate_with", f"dtem policy activate {self.version}")


class _Training(PolicyPort, AuditPort, DirectoryPort, TrainingPort, EconomicsPort, Protocol):
    """The active policy, the history and economics it is fit on; the new version stored."""


def train_policy(
    ledger: LedgerOf[_Training], clock: Clock, opts: TrainOptions, actor: str
) -> TrainingReport:
    """Fit on the training snapshots, evaluate on the holdout, store a new version."""
    plan = split_plan(
        opts.snapshot, opts.horizon_days, opts.holdout_snapshot, opts.train_snapshots,
        opts.every_days,
    )  # fmt: skip
    with ledger.transaction() as tx:
        base = active_policy(tx)
        until = max(plan.holdout_snapshot, opts.as_of or clock().date())
        p = base.stored
        history = load_history(tx, until, p.won_stages, p.stages, p.lost_stages)
        capacity = sum(r.capacity for r in tx.all_reps() if r.active)
        economics = tx.latest_economics() or Economics()  # what scoring uses now
    policy, types = with_history_types(base.stored, history)
    run = _fit(policy, history, types, plan, opts)
    policy = _apply(policy, run.stored)
    e_half = propose(policy, history, types, capacity, _as_of(opts, history, clock), economics)
    policy = replace(policy, e_half=e_half.stored)
    version = store_policy(ledger, policy.to_dict(), clock, actor, _note(opts, plan))
    new_types = [t for t in types if t not in base.stored.signal_types]
    report = _report(version, base.version, run, new_types, e_half, opts.fit_terms)
    verdict = report.comparison.verdict
    record_verdict(ledger, version, verdict.passed, verdict.reasons, clock, actor)
    return report


@dataclass(frozen=True)
class _Run:
    plan: SplitPlan
    types: list[str]
    train: Rows
    holdout: Rows
    fitted: FittedModel
    stored: Coefficients
    unseen: list[str]
    label: str


def _fit(policy: Policy, h: History, types: list[str], plan: SplitPlan, opts: TrainOptions) -> _Run:
    half_lives = {t: st.half_life_days for t, st in policy.signal_types.items()}

    def rows(snapshot: date) -> Rows:
        return build_rows(
            h, snapshot, plan.horizon_days, half_lives, types, opts.population, opts.label
        )

    train = without_terms(stack([rows(s) for s in plan.train_snapshots]), opts.fit_terms)
    holdout = without_terms(rows(plan.holdout_snapshot), opts.fit_terms)
    enough(train, "training", plan.train_snapshots)
    enough(holdout, "holdout", (plan.holdout_snapshot,), holdout=True)
    fitted = fit_propensity(train, types, opts.regularisation)
    stored, unseen = _stored_coefficients(policy, fitted, train, types)
    return _Run(plan, types, train, holdout, fitted, stored, unseen, opts.label)


def enough(rows: Rows, role: str, snapshots: Sequence[date], holdout: bool = False) -> None:
    """Raise, naming the condition, when the rows cannot be fitted (or judged: both classes)."""
    c = rows.census
    why = c.shortage(role, snapshots, 1 if holdout else MIN_POSITIVES) if c else None
    if why:
        raise TrainingDataInsufficient(f"{why}; choose another --snapshot, --horizon or --label")


def with_history_types(policy: Policy, h: History) -> tuple[Policy, list[str]]:
    """Add the types the history uses but the policy lacks (half-life of `other`)."""
    other = policy.signal_types["other"]
    extra = {
        t: SignalType(0.0, other.half_life_days, "any")
        for t in h.types
        if t not in policy.signal_types
    }
    signal_types = dict(policy.signal_types) | extra
    return replace(policy, signal_types=signal_types), list(signal_types)


def _stored_coefficients(
    policy: Policy, fitted: FittedModel, train: Rows, types: list[str]
) -> tuple[Coefficients, list[str]]:
    """Calibrated coefficients; a type with no signal in training keeps its weight."""
    seen = [bool(v) for v in np.any(train.log_intensity > 0, axis=0)]
    unseen = [t for t, s in zip(types, seen, strict=True) if not s]
    weights = {
        t: policy.signal_types[t].weight if t in unseen else fitted.calibrated.weights[t]
        for t in types
    }
    return replace(fitted.calibrated, weights=weights), unseen


def _apply(policy: Policy, c: Coefficients) -> Policy:
    signal_types = {
        t: replace(st, weight=round(c.weights[t], 6)) for t, st in policy.signal_types.items()
    }
    return replace(
        policy,
        b0=round(c.b0, 6),
        signal_types=signal_types,
        fit_industry={k: round(v, 6) for k, v in c.fit_industry.items()},
        fit_size_band={k: round(v, 6) for k, v in c.fit_size_band.items()},
    )


def _as_of(opts: TrainOptions, h: History, clock: Clock) -> date:
    """E_half is proposed on the latest state the ledger knows (today, or its last signal)."""
    if opts.as_of:
        return opts.as_of
    today = clock().date()
    if len(h.sig_seconds) == 0:
        return today
    return min(today, from_epoch_seconds(float(h.sig_seconds.max())).date())


def _note(opts: TrainOptions, plan: SplitPlan) -> str:
    auto = (
        f"trained: snapshots {', '.join(map(str, plan.train_snapshots))}, horizon "
        f"{plan.horizon_days}d, holdout {plan.holdout_snapshot}"
    )
    return f"{opts.note} ({auto})" if opts.note else auto


def _sample(rows: Rows, snapshots: list[date], horizon: int) -> Sample:
    start, end = min(snapshots), max(snapshots)
    return Sample(
        snapshots=snapshots,
        label_from=start,
        label_to=date.fromordinal(end.toordinal() + horizon),
        rows=len(rows.labels),
        positives=int(rows.labels.sum()),
    )


def _report(
    version: int,
    base_version: int,
    run: _Run,
    new_types: list[str],
    e_half: EHalfProposal,
    fit_terms: tuple[str, ...],
) -> TrainingReport:
    rates, overall = segment_base_rates(run.train, strength=10.0)
    hold, plan = run.holdout, run.plan
    raw_p = run.fitted.model.predict_proba(run.fitted.levels.matrix(hold))[:, 1]
    model_p = run.stored.probability(hold, run.types)
    warnings = leak_warnings(run.train)
    return TrainingReport(
        version=version,
        based_on_version=base_version,
        activated=False,
        label=run.label,
        horizon_days=plan.horizon_days,
        train=_sample(run.train, list(plan.train_snapshots), plan.horizon_days),
        holdout=_sample(hold, [plan.holdout_snapshot], plan.horizon_days),
        model=evaluate(model_p, hold.labels),
        model_uncalibrated=evaluate(raw_p, hold.labels),
        baseline=evaluate(baseline_probability(rates, overall, hold), hold.labels),
        coefficients=run.stored,
        platt_slope=run.fitted.platt[0],
        platt_offset=run.fitted.platt[1],
        new_types=new_types,
        unseen_types=run.unseen,
        e_half=e_half,
        fit_terms=list(fit_terms),
        warnings=warnings,
        comparison=compare(model_p, run.train, hold, warnings),
    )
