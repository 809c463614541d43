"""Fit the propensity logit with scikit-learn and calibrate it inside the policy's form.

The design matrix is exactly the policy's logit: one column `log1p(I_t)` per signal
type, then one-hot industry and size band columns. So the fitted intercept and
coefficients *are* b0, w_t, fit_industry and fit_size_band, and `predict_proba`
equals `sigmoid(b0 + Σ w_t log1p(I_t) + fit)` (a unit test checks it against the
scoring code).

Calibration is Platt scaling on the logit, `z' = a·z + c`, fitted on out-of-fold
logits of the training rows (folds grouped by account, so one account never sits
on both sides). It rescales every coefficient by `a` and moves b0 to `a·b0 + c`:
the calibrated model is still a policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dtem.domain.errors import TrainingDataInsufficient
from dtem.domain.training import FloatArray, platt_rescale
from dtem.services.training.dataset import Rows
from dtem.services.training.labels import MIN_POSITIVES

if TYPE_CHECKING:  # scikit-learn loads in the fitting functions: seconds off every CLI start
    from sklearn.linear_model import LogisticRegression

_FOLDS = 5


@dataclass(frozen=True)
class Coefficients:
    """The policy's propensity terms: intercept, weight per type, fit per segment level."""

    b0: float
    weights: dict[str, float]
    fit_industry: dict[str, float]
    fit_size_band: dict[str, float]

    def logit(self, rows: Rows, types: Sequence[str]) -> FloatArray:
        """b0 + Σ w_t log1p(I_t) + fit terms, row by row (levels not fitted add 0)."""
        w = np.array([self.weights[t] for t in types])
        fit = [
            self.fit_industry.get(i, 0.0) + self.fit_size_band.get(b, 0.0)
            for i, b in zip(rows.industries, rows.size_bands, strict=True)
        ]
        logit: FloatArray = self.b0 + rows.log_intensity @ w + np.array(fit, dtype=np.float64)
        return logit

    def probability(self, rows: Rows, types: Sequence[str]) -> FloatArray:
        p: FloatArray = 1.0 / (1.0 + np.exp(-self.logit(rows, types)))
        return p


@dataclass(frozen=True)
class Levels:
    """One-hot levels of the fit terms. A term with a single level is left out (the
    intercept already carries it), so a policy never depends on an unseen default."""

    industries: tuple[str, ...]
    size_bands: tuple[str, ...]

    @classmethod
    def of(cls, rows: Rows) -> Levels:
        ind, band = sorted(set(rows.industries)), sorted(set(rows.size_bands))
        return cls(tuple(ind) if len(ind) > 1 else (), tuple(band) if len(band) > 1 else ())

    def matrix(self, rows: Rows) -> FloatArray:
        one_hot = [
            np.array([[float(v == lvl) for lvl in levels] for v in values]).reshape(
                len(values), len(levels)
            )
            for levels, values in (
                (self.industries, rows.industries),
                (self.size_bands, rows.size_bands),
            )
        ]
        return np.hstack([rows.log_intensity, *one_hot])


@dataclass(frozen=True)
class FittedModel:
    model: LogisticRegression
    levels: Levels
    raw: Coefficients  # straight from scikit-learn
    calibrated: Coefficients  # after Platt scaling
    platt: tuple[float, float]  # (slope a, offset c)


def fit_propensity(rows: Rows, types: Sequence[str], c_reg: float = 1.0) -> FittedModel:
    """L2 logistic regression on the policy's design matrix, then Platt scaling."""
    from sklearn.linear_model import LogisticRegression

    positives = int(rows.labels.sum())
    if positives < MIN_POSITIVES or positives == len(rows.labels):
        raise TrainingDataInsufficient(
            f"{positives} of {len(rows.labels)} training rows are positive at "
            f"{rows.snapshot}: need at least {MIN_POSITIVES} of each class; "
            "choose another --snapshot or a longer --horizon"
        )
    levels = Levels.of(rows)
    x = levels.matrix(rows)
    model = LogisticRegression(C=c_reg, max_iter=5000).fit(x, rows.labels)
    raw = _coefficients(model, levels, types)
    slope, offset = _platt(x, rows, c_reg)
    calibrated = _rescaled(raw, slope, offset)
    return FittedModel(model, levels, raw, calibrated, (slope, offset))


def _coefficients(model: LogisticRegression, levels: Levels, types: Sequence[str]) -> Coefficients:
    coef = [float(v) for v in model.coef_[0]]
    k, m = len(types), len(levels.industries)
    return Coefficients(
        b0=float(model.intercept_[0]),
        weights=dict(zip(types, coef[:k], strict=True)),
        fit_industry=dict(zip(levels.industries, coef[k : k + m], strict=True)),
        fit_size_band=dict(zip(levels.size_bands, coef[k + m :], strict=True)),
    )


def _platt(x: FloatArray, rows: Rows, c_reg: float) -> tuple[float, float]:
    """Slope and offset of z' = a·z + c from out-of-fold logits (identity if unfit)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    folds = min(_FOLDS, len(np.unique(rows.account_ids)))
    z = np.zeros(len(rows.labels))
    for train, test in GroupKFold(n_splits=folds).split(x, rows.labels, rows.account_ids):
        if len(np.unique(rows.labels[train])) < 2:
            return 1.0, 0.0  # a fold without positives: no honest out-of-fold logit
        fold = LogisticRegression(C=c_reg, max_iter=5000).fit(x[train], rows.labels[train])
        z[test] = fold.decision_function(x[test])
    # Nearly unpenalised: two parameters fitted on every training row.
    platt = LogisticRegression(C=1e6, max_iter=5000).fit(z.reshape(-1, 1), rows.labels)
    return float(platt.coef_[0][0]), float(platt.intercept_[0])


def _rescaled(raw: Coefficients, slope: float, offset: float) -> Coefficients:
    weights, b0 = platt_rescale(raw.weights, raw.b0, slope, offset)
    return Coefficients(
        b0=b0,
        weights=weights,
        fit_industry={k: slope * v for k, v in raw.fit_industry.items()},
        fit_size_band={k: slope * v for k, v in raw.fit_size_band.items()},
    )
