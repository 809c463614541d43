"""The model against its baselines on the same holdout rows, and the gate's verdict.

The gate refuses a version when its AUC interval against the best baseline does not
lie above 0, when a leakage warning fired, when its calibration slope is not positive,
or when the holdout has fewer than `MIN_MINORITY` rows of its rarer class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtem.domain.training import FloatArray, brier_score
from dtem.services.training.baselines import best_base_rate, recency_score
from dtem.services.training.dataset import IntArray, Rows
from dtem.services.training.metrics import (
    RESAMPLES,
    SEED,
    auc,
    auc_difference_interval,
    calibration_fit,
)

MIN_MINORITY = 30


@dataclass(frozen=True)
class Contender:
    """One scorer on the holdout; `difference` is AUC(model) − AUC(this), with its interval."""

    name: str
    auc: float
    brier: float | None  # None for a ranking that is not a probability (recency)
    calibration_slope: float | None
    calibration_intercept: float | None
    difference: float | None = None
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Verdict:
    """Whether the gate lets this version go live, and every reason it does not."""

    passed: bool
    reasons: list[str]


@dataclass(frozen=True)
class Comparison:
    model: Contender
    baselines: list[Contender]
    best_baseline: str
    summary: str  # the comparison in one sentence
    minority: int  # rows of the holdout's rarer class
    seed: int
    resamples: int
    verdict: Verdict


def compare(model_p: FloatArray, train: Rows, holdout: Rows, warnings: list[str]) -> Comparison:
    """Score the model, the best single-field base rate and recency on the holdout rows."""
    y = holdout.labels
    base = best_base_rate(train, holdout)
    model = contender("model", model_p, y, probability=True)
    baselines = [
        against(f"base rate by {base.field}", base.holdout_p, model_p, y, probability=True),
        against("recency of the last signal", recency_score(holdout), model_p, y, False),
    ]
    best = max(baselines, key=lambda c: c.auc)
    minority = int(min(y.sum(), len(y) - y.sum()))
    return Comparison(
        model=model,
        baselines=baselines,
        best_baseline=best.name,
        summary=summarise(baselines),
        minority=minority,
        seed=SEED,
        resamples=RESAMPLES,
        verdict=judge(model, best, warnings, minority),
    )


def summarise(baselines: list[Contender]) -> str:
    """'better than the base rate by origin by 0.10 [0.02, 0.19]; no better than recency…'"""
    parts = []
    for c in baselines:
        assert c.difference is not None and c.interval is not None
        lo, hi = c.interval
        figures = f"{c.difference:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        if lo > 0:
            parts.append(f"better than the {c.name} by {figures}")
        elif hi < 0:
            parts.append(f"worse than the {c.name} by {figures}")
        else:
            parts.append(f"no better than the {c.name} ({figures})")
    return "; ".join(parts)


def judge(model: Contender, best: Contender, warnings: list[str], minority: int) -> Verdict:
    """The gate: every reason this version should not go live (none: it may)."""
    reasons = []
    if minority < MIN_MINORITY:
        reasons.append(
            f"the holdout has {minority} rows of its rarer class, under {MIN_MINORITY}: "
            "too few to judge"
        )
    if best.interval is None or best.interval[0] <= 0:
        lo, hi = best.interval or (float("nan"), float("nan"))
        reasons.append(
            f"the AUC gain over the {best.name} is not above 0 (95% interval "
            f"[{lo:+.3f}, {hi:+.3f}])"
        )
    if warnings:
        reasons.append(f"a leakage warning fired: {warnings[0]}")
    if model.calibration_slope is None or model.calibration_slope <= 0:
        slope = "undefined" if model.calibration_slope is None else f"{model.calibration_slope:.3f}"
        reasons.append(f"the calibration slope on the holdout is not positive ({slope})")
    return Verdict(passed=not reasons, reasons=reasons)


def contender(name: str, score: FloatArray, y: IntArray, probability: bool) -> Contender:
    fit = calibration_fit(score, y) if probability else None
    return Contender(
        name=name,
        auc=auc(y, score),
        brier=brier_score(score, y) if probability else None,
        calibration_slope=fit[0] if fit else None,
        calibration_intercept=fit[1] if fit else None,
    )


def against(
    name: str, score: FloatArray, model_p: FloatArray, y: IntArray, probability: bool
) -> Contender:
    c = contender(name, score, y, probability)
    interval = auc_difference_interval(y, model_p, score)
    diff = auc(y, model_p) - c.auc
    return Contender(
        c.name, c.auc, c.brier, c.calibration_slope, c.calibration_intercept,
        float(np.round(diff, 12)), interval,
    )  # fmt: skip
