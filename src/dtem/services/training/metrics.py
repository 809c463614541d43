"""Holdout metrics that compare scores: AUC, calibration slope, a paired bootstrap.

>>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
0.75
>>> lo, hi = auc_difference_interval(np.array([0, 1] * 50), np.arange(100.0),
...                                  np.zeros(100), seed=1, resamples=200)
>>> bool(lo > 0)
True
"""

from __future__ import annotations

import numpy as np

from dtem.domain.training import FloatArray
from dtem.services.training.dataset import IntArray

SEED = 13  # the bootstrap is seeded: the same ledger gives the same intervals
RESAMPLES = 1000


def auc(y: IntArray, score: FloatArray) -> float:
    """ROC AUC by average ranks (ties count a half); needs both classes."""
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def auc_difference_interval(
    y: IntArray,
    model: FloatArray,
    baseline: FloatArray,
    seed: int = SEED,
    resamples: int = RESAMPLES,
) -> tuple[float, float]:
    """95% interval of AUC(model) − AUC(baseline), resampling holdout rows in pairs.

    Wins and losses are resampled separately (stratified), so every resample has both.
    """
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    diffs = np.empty(resamples)
    for b in range(resamples):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        yb = y[idx]
        diffs[b] = auc(yb, model[idx]) - auc(yb, baseline[idx])
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def calibration_fit(p: FloatArray, y: IntArray) -> tuple[float, float] | None:
    """Slope and intercept of the logistic fit of outcomes on logit(p); None if p is flat.

    Slope 1 and intercept 0 is perfect calibration; a slope ≤ 0 ranks backwards.
    """
    from sklearn.linear_model import LogisticRegression

    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    z = np.log(clipped / (1 - clipped))
    if np.ptp(z) < 1e-12 or len(np.unique(y)) < 2:
        return None
    fit = LogisticRegression(C=1e6, max_iter=5000).fit(z.reshape(-1, 1), y)
    return float(fit.coef_[0][0]), float(fit.intercept_[0])
