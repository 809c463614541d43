"""Holdout figures: AUC, Brier score and a 10-bin calibration table, model and baseline.

The baseline is the naive model a RevOps team already has: the base rate of each
segment (size band × industry) in the training rows, shrunk toward the global rate
by `strength` pseudo-rows so a segment with three accounts does not claim 0% or 100%.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from dtem.domain.errors import TrainingDataInsufficient
from dtem.domain.training import (
    CalibrationBin,
    FloatArray,
    brier_score,
    calibration_error,
    calibration_table,
)
from dtem.services.training.dataset import IntArray, Rows


@dataclass(frozen=True)
class Evaluation:
    """How well probabilities rank and match outcomes on the holdout rows."""

    auc: float
    brier: float
    calibration_error: float  # count-weighted mean |predicted − observed| over the bins
    mean_predicted: float
    observed_rate: float
    calibration: list[CalibrationBin]


def evaluate(p: FloatArray, y: IntArray) -> Evaluation:
    """Score probabilities against labels. Needs both classes among the rows.

    >>> e = evaluate(np.linspace(0.05, 0.95, 20), np.array([0] * 10 + [1] * 10))
    >>> e.auc, len(e.calibration)
    (1.0, 10)
    """
    if len(np.unique(y)) < 2:
        raise TrainingDataInsufficient(
            f"the holdout has {int(y.sum())} positives in {len(y)} rows: AUC needs both "
            "outcomes; choose an earlier --snapshot or another --holdout-snapshot"
        )
    table = calibration_table(p, y)
    return Evaluation(
        auc=float(_auc(y, p)),
        brier=brier_score(p, y),
        calibration_error=calibration_error(table),
        mean_predicted=float(p.mean()),
        observed_rate=float(y.mean()),
        calibration=table,
    )


def segment_key(rows: Rows, i: int) -> str:
    return f"{rows.size_bands[i]}|{rows.industries[i]}"


def segment_base_rates(train: Rows, strength: float) -> tuple[dict[str, float], float]:
    """Shrunk base rate per segment in the training rows, and the global rate."""
    overall = float(train.labels.mean())
    n: dict[str, int] = defaultdict(int)
    pos: dict[str, int] = defaultdict(int)
    for i, label in enumerate(train.labels):
        key = segment_key(train, i)
        n[key] += 1
        pos[key] += int(label)
    rates = {k: (pos[k] + strength * overall) / (n[k] + strength) for k in n}
    return rates, overall


def baseline_probability(rates: dict[str, float], overall: float, rows: Rows) -> FloatArray:
    """Each row's segment rate (the global rate for a segment training never saw)."""
    return np.array(
        [rates.get(segment_key(rows, i), overall) for i in range(len(rows.labels))],
        dtype=np.float64,
    )


def _auc(y: IntArray, p: FloatArray) -> float:
    """ROC AUC; scikit-learn loads here, not at import (it costs seconds of CLI start-up)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))
