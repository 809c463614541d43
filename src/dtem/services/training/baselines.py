"""Baselines the model must beat, scored on the same holdout rows as the model.

- **Best single-field base rate**: for each field filled for at least half the training
  rows (origin = first signal type, industry, size band, country, region, owner), the
  win rate of each of its values in the training rows, shrunk toward the global rate
  with `SHRINK` pseudo-rows. The field is chosen on the training rows alone, by the AUC
  of its out-of-fold rates (folds by account), never on the holdout.
- **Recency**: the newer the last signal, the higher the rank. Nothing is fitted.

>>> shrunk_rates(("a", "a", "b"), np.array([1, 0, 0]), 1.0)[0]["a"]
0.4444444444444444
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dtem.domain.training import FloatArray
from dtem.services.training.dataset import IntArray, Rows
from dtem.services.training.metrics import auc

SHRINK = 10.0  # pseudo-rows at the global rate added to every value's count
MIN_FILLED = 0.5  # a field must be known for this share of training rows
_FOLDS = 5
_UNKNOWN = ("unknown", "*", "none", "")


@dataclass(frozen=True)
class BaseRate:
    """The chosen field, its out-of-fold training AUC and the holdout probabilities."""

    field: str
    training_auc: float
    holdout_p: FloatArray


def shrunk_rates(
    values: Sequence[str], labels: IntArray, strength: float = SHRINK
) -> tuple[dict[str, float], float]:
    """Win rate per value, shrunk toward the global rate; and the global rate."""
    overall = float(labels.mean()) if len(labels) else 0.0
    n: dict[str, int] = defaultdict(int)
    pos: dict[str, int] = defaultdict(int)
    for v, label in zip(values, labels, strict=True):
        n[v] += 1
        pos[v] += int(label)
    return {k: (pos[k] + strength * overall) / (n[k] + strength) for k in n}, overall


def filled_fields(train: Rows) -> list[str]:
    """Fields known for at least `MIN_FILLED` of the training rows, with ≥ 2 values."""
    out = []
    for name, values in train.attributes.items():
        known = np.array([v not in _UNKNOWN for v in values], dtype=bool)
        if len(values) and known.mean() >= MIN_FILLED and len(set(values)) > 1:
            out.append(name)
    return out


def best_base_rate(train: Rows, holdout: Rows) -> BaseRate:
    """The filled field whose shrunk rates rank training rows best out of fold.

    With no filled field it is the global rate (one value for every row: AUC 0.5).
    """
    scored = [
        (_out_of_fold_auc(train.attributes[name], train.labels, train.account_ids), name)
        for name in filled_fields(train)
    ]
    if not scored:
        return BaseRate("none", 0.5, np.full(len(holdout.labels), float(train.labels.mean())))
    score, name = max(scored)
    rates, overall = shrunk_rates(train.attributes[name], train.labels)
    p = np.array([rates.get(v, overall) for v in holdout.attributes[name]], dtype=np.float64)
    return BaseRate(name, score, p)


def recency_score(rows: Rows) -> FloatArray:
    """Higher for a newer last signal (minus the days since it); rows without one last."""
    days = rows.last_signal_days
    if days is None:
        return np.zeros(len(rows.labels))
    return -days


def _out_of_fold_auc(values: Sequence[str], labels: IntArray, accounts: IntArray) -> float:
    """Mean over folds of the AUC of rates learned on the other folds.

    Per fold, not pooled: pooled out-of-fold rates of a field with no signal rank
    *below* chance (a fold with more wins learns a lower rate from the others).
    """
    fold = accounts % _FOLDS
    scores = []
    for k in range(_FOLDS):
        test = fold == k
        if len(np.unique(labels[test])) < 2:
            continue
        train_values = [v for v, t in zip(values, test, strict=True) if not t]
        rates, overall = shrunk_rates(train_values, labels[~test])
        p = np.array([rates.get(v, overall) for v, t in zip(values, test, strict=True) if t])
        scores.append(auc(labels[test], p))
    return float(np.mean(scores)) if scores else 0.5
