"""`dtem train --model opportunity`: P(win) of open opportunities, fitted, judged, stored.

Same honesty as the account model: training rows are the opportunities open at S
labelled by a win in (S, S + H]; the holdout is the opportunities open at S + H (or
`--holdout-snapshot`) labelled by the next H days, so no holdout outcome is seen in
training. The result is a NEW policy version (the active one with `opportunity_model`
set), not active, with the gate's verdict recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import TrainingDataInsufficient
from dtem.domain.opportunity_model import OpportunityModel
from dtem.domain.ports import AuditPort, DirectoryPort, LedgerOf, PolicyPort, TrainingPort
from dtem.domain.training import split_plan
from dtem.services.governance import active_policy, record_verdict, store_policy
from dtem.services.training.comparison import Comparison
from dtem.services.training.dataset import load_history
from dtem.services.training.evaluate import Evaluation, evaluate
from dtem.services.training.labels import MIN_POSITIVES
from dtem.services.training.opportunity_fit import (
    compare_opportunity,
    fit_opportunity_model,
    probabilities,
)
from dtem.services.training.opportunity_rows import OpportunityRows, opportunity_rows, stack_rows
from dtem.services.training.service import Sample, TrainOptions, with_history_types


class _OpportunityTraining(PolicyPort, AuditPort, DirectoryPort, TrainingPort, Protocol):
    """The active policy, the history it is fit on; the new version stored."""


@dataclass(frozen=True)
class OpportunityReport:
    version: int
    based_on_version: int
    model_kind: str
    horizon_days: int
    train: Sample
    holdout: Sample
    model: Evaluation  # the stored (calibrated) model on the holdout
    comparison: Comparison
    coefficients: OpportunityModel
    platt_slope: float
    platt_offset: float
    activate_with: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "activate_with", f"dtem policy activate {self.version}")


def train_opportunity_model(
    ledger: LedgerOf[_OpportunityTraining], clock: Clock, opts: TrainOptions, actor: str
) -> OpportunityReport:
    """Fit on the opportunities open at the training snapshots; judge on the holdout."""
    plan = split_plan(
        opts.snapshot, opts.horizon_days, opts.holdout_snapshot, opts.train_snapshots,
        opts.every_days,
    )  # fmt: skip
    with ledger.transaction() as tx:
        base = active_policy(tx)
        p = base.stored
        history = load_history(tx, plan.holdout_snapshot, p.won_stages, p.stages, p.lost_stages)
    policy, types = with_history_types(base.stored, history)
    prior = (policy.rep_prior_wins, policy.rep_prior_losses)

    def rows(s: date) -> OpportunityRows:
        return opportunity_rows(history, policy, types, s, plan.horizon_days)

    train = stack_rows([rows(s) for s in plan.train_snapshots])
    holdout = rows(plan.holdout_snapshot)
    _enough(train, "training", MIN_POSITIVES)
    _enough(holdout, "holdout", 1)
    fitted = fit_opportunity_model(train, prior, opts.regularisation)
    model_p = probabilities(fitted.stored, holdout, prior)
    comparison = compare_opportunity(model_p, train, holdout)
    stored = replace(base.stored, opportunity_model=fitted.stored)
    version = store_policy(
        ledger, stored.to_dict(), clock, actor, _note(opts, plan.train_snapshots)
    )
    verdict = comparison.verdict
    record_verdict(ledger, version, verdict.passed, verdict.reasons, clock, actor)
    return OpportunityReport(
        version, base.version, "opportunity", plan.horizon_days,
        _sample(train, list(plan.train_snapshots), plan.horizon_days),
        _sample(holdout, [plan.holdout_snapshot], plan.horizon_days),
        evaluate(model_p, holdout.labels), comparison, fitted.stored, *fitted.platt,
    )  # fmt: skip


def _enough(rows: OpportunityRows, role: str, min_positives: int) -> None:
    why = rows.shortage(role, min_positives)
    if why:
        raise TrainingDataInsufficient(f"{why}; choose another --snapshot or --horizon")


def _sample(rows: OpportunityRows, snapshots: list[date], horizon: int) -> Sample:
    return Sample(
        snapshots=snapshots,
        label_from=min(snapshots),
        label_to=date.fromordinal(max(snapshots).toordinal() + horizon),
        rows=len(rows.labels),
        positives=int(rows.labels.sum()),
    )


def _note(opts: TrainOptions, snapshots: Sequence[date]) -> str:
    auto = (
        f"opportunity model: snapshots {', '.join(map(str, snapshots))}, horizon "
        f"{opts.horizon_days}d"
    )
    return f"{opts.note} ({auto})" if opts.note else auto
