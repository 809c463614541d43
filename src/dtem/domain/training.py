"""Pure helpers of `dtem train`: time splits, calibration tables, Platt scaling, E_half.

Everything here is numpy and arithmetic; fitting (scikit-learn) lives in
`dtem.services.training`. The propensity form the trained policy must reproduce is
`P = sigmoid(b0 + Σ_t w_t·log1p(I_t) + fit_industry[i] + fit_size_band[b])`.

>>> plan = split_plan(date(2018, 2, 1), 90)
>>> plan.train_snapshots, plan.holdout_snapshot
((datetime.date(2018, 2, 1),), datetime.date(2018, 5, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from dtem.domain.errors import ArgumentInvalid, TrainingDataInsufficient

FloatArray = npt.NDArray[np.float64]
N_BINS = 10


@dataclass(frozen=True)
class SplitPlan:
    """Training snapshots and one holdout snapshot whose label windows never overlap.

    A row at snapshot S sees signals up to S and is labelled by outcomes in
    (S, S + horizon]. Every training label window ends on or before the holdout
    snapshot, so no holdout label (nor any outcome after it) is seen in training.
    """

    train_snapshots: tuple[date, ...]
    holdout_snapshot: date
    horizon_days: int

    def label_window(self, snapshot: date) -> tuple[date, date]:
        """(start exclusive, end inclusive) of the outcomes that label a snapshot."""
        return snapshot, snapshot + timedelta(days=self.horizon_days)

    @property
    def train_labels_end(self) -> date:
        return max(s for s in self.train_snapshots) + timedelta(days=self.horizon_days)


def split_plan(
    snapshot: date,
    horizon_days: int,
    holdout_snapshot: date | None = None,
    train_snapshots: int = 1,
    every_days: int = 30,
) -> SplitPlan:
    """Plan a rolling-origin split: `train_snapshots` origins ending at `snapshot`.

    >>> p = split_plan(date(2018, 3, 1), 60, train_snapshots=3, every_days=14)
    >>> [s.isoformat() for s in p.train_snapshots], p.holdout_snapshot.isoformat()
    (['2018-02-01', '2018-02-15', '2018-03-01'], '2018-04-30')
    """
    if horizon_days <= 0 or train_snapshots <= 0 or every_days <= 0:
        raise ArgumentInvalid("horizon, train snapshots and spacing must be positive")
    origins = tuple(
        snapshot - timedelta(days=every_days * k) for k in reversed(range(train_snapshots))
    )
    holdout = holdout_snapshot or snapshot + timedelta(days=horizon_days)
    plan = SplitPlan(origins, holdout, horizon_days)
    if holdout < plan.train_labels_end:
        raise ArgumentInvalid(
            f"holdout snapshot {holdout} is before the end of the training labels "
            f"{plan.train_labels_end}: holdout outcomes would be seen in training"
        )
    return plan


def decayed_intensities(
    row_of_signal: npt.NDArray[np.int64],
    type_of_signal: npt.NDArray[np.int64],
    age_seconds: FloatArray,
    value: FloatArray,
    rates: FloatArray,
    n_rows: int,
) -> FloatArray:
    """I[row, t] = Σ value · e^(−rate_t · age) over the row's signals of type t.

    The vectorised twin of `dtem.domain.scoring.batch_intensity` (same rates, from
    `scoring.decay_rate`, same formula), so training and scoring see the same features.
    Signals with a negative age (after the snapshot) must be filtered out by the caller.

    >>> from dtem.domain.scoring import decay_rate
    >>> decayed_intensities(np.array([0, 0]), np.array([0, 0]), np.array([0.0, 86_400.0]),
    ...                     np.array([1.0, 2.0]), np.array([decay_rate(1.0)]), 1).tolist()
    [[2.0]]
    """
    out = np.zeros((n_rows, len(rates)))
    decayed = value * np.exp(-rates[type_of_signal] * age_seconds)
    np.add.at(out, (row_of_signal, type_of_signal), decayed)
    return out


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a calibration table: rows ranked by predicted probability."""

    bin: int
    count: int
    mean_predicted: float
    observed_rate: float
    positives: int


def calibration_table(p: FloatArray, y: npt.NDArray[np.int64]) -> list[CalibrationBin]:
    """Ten equal-count bins by predicted probability (ties broken by row order).

    Equal counts, not equal widths: with base rates of a few percent, fixed-width
    bins would put nearly every account in the first bin.

    >>> t = calibration_table(np.linspace(0, 1, 20), np.array([0, 1] * 10))
    >>> len(t), t[0].count, t[-1].observed_rate
    (10, 2, 0.5)
    """
    if len(p) < N_BINS:
        raise TrainingDataInsufficient(f"{len(p)} rows cannot fill {N_BINS} calibration bins")
    order = np.argsort(p, kind="stable")
    return [
        CalibrationBin(
            bin=i + 1,
            count=len(idx),
            mean_predicted=float(p[idx].mean()),
            observed_rate=float(y[idx].mean()),
            positives=int(y[idx].sum()),
        )
        for i, idx in enumerate(np.array_split(order, N_BINS))
    ]


def calibration_error(table: list[CalibrationBin]) -> float:
    """Count-weighted mean |mean predicted − observed rate| over the bins (ECE).

    >>> calibration_error([CalibrationBin(1, 3, 0.2, 0.1, 0), CalibrationBin(2, 1, 0.5, 0.5, 1)])
    0.075
    """
    total = sum(b.count for b in table)
    gap = sum(b.count * abs(b.mean_predicted - b.observed_rate) for b in table)
    return round(gap / total, 12)


def brier_score(p: FloatArray, y: npt.NDArray[np.int64]) -> float:
    """Mean squared error of the probabilities (lower is better).

    >>> brier_score(np.array([0.0, 1.0]), np.array([0, 0]))
    0.5
    """
    return float(np.mean((p - y) ** 2))


def platt_rescale(
    weights: dict[str, float], intercept: float, slope: float, offset: float
) -> tuple[dict[str, float], float]:
    """Platt scaling inside the policy's family: logit' = slope · logit + offset.

    Because the logit is linear in the coefficients, rescaling every coefficient by
    `slope` and the intercept to `slope · b0 + offset` gives exactly the calibrated
    probabilities, so the policy keeps its form.

    >>> platt_rescale({"web_visit": 1.0}, -4.0, 0.5, 0.25)
    ({'web_visit': 0.5}, -1.75)
    """
    return {k: slope * v for k, v in weights.items()}, slope * intercept + offset


def propose_e_half(raw_equity: FloatArray, capacity: int, threshold: float) -> float | None:
    """E_half at which as many accounts score ≥ threshold as humans can hold.

    Score = 100·E/(E + E_half) ≥ T  ⇔  E ≥ E_half · T/(100 − T), so the K-th largest
    raw equity E_K (K = total capacity) must sit exactly on the threshold:
    E_half = E_K · (100 − T)/T. None when there is no capacity, or more capacity than
    accounts with positive equity (then no E_half makes exactly K accounts cross).

    >>> propose_e_half(np.array([4.0, 3.0, 2.0, 1.0]), 2, 60.0)
    2.0
    >>> propose_e_half(np.array([4.0, 3.0]), 5, 60.0) is None
    True
    """
    positive = np.sort(raw_equity[raw_equity > 0])[::-1]
    if capacity <= 0 or capacity > len(positive):
        return None
    e_k = float(positive[capacity - 1])
    return e_k * (100.0 - threshold) / threshold
