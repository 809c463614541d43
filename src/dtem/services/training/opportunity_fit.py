"""Fit the opportunity model (`dtem.domain.opportunity_model`) and judge it on a holdout.

The design matrix is the stored model's logit: one-hot stage and product levels (a
term with a single level is left out), then log1p(age), log(amount / median), the
owner's shrunk win rate as a logit and the account propensity as a logit. A scikit-learn
L2 logistic regression fits it; Platt scaling on out-of-fold logits (folds by account)
calibrates it by rescaling every coefficient, as for the account model (`fit.py`).

Baselines on the same holdout rows: the **stage base rate** (each stage's win rate in
the training rows, shrunk with 10 pseudo-rows) and the **account propensity** alone
(the account model's P, nothing fitted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dtem.domain.opportunity_model import OpportunityModel
from dtem.domain.training import FloatArray, platt_rescale
from dtem.services.training.baselines import shrunk_rates
from dtem.services.training.comparison import (
    Comparison,
    Contender,
    against,
    contender,
    judge,
    summarise,
)
from dtem.services.training.metrics import RESAMPLES, SEED
from dtem.services.training.opportunity_rows import OpportunityRows

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

_NUMERIC = ("age", "amount", "owner", "account")
_FOLDS = 5


@dataclass(frozen=True)
class Design:
    """Which stage and product levels get a column, and the amount that stands for 1."""

    stages: tuple[str, ...]
    products: tuple[str, ...]
    amount_ref: float
    prior: tuple[float, float]

    @classmethod
    def of(cls, rows: OpportunityRows, prior: tuple[float, float]) -> Design:
        stages = sorted({f.stage for f in rows.facts})
        products = sorted({f.product for f in rows.facts})
        amounts = [f.amount for f in rows.facts if f.amount and f.amount > 0]
        return cls(
            tuple(stages) if len(stages) > 1 else (),
            tuple(products) if len(products) > 1 else (),
            float(np.median(amounts)) if amounts else 10_000.0,
            prior,
        )

    def matrix(self, rows: OpportunityRows) -> FloatArray:
        probe = OpportunityModel(0.0, amount_ref=self.amount_ref)
        out = []
        for f, p in zip(rows.facts, rows.account_p, strict=True):
            x = probe.features(f, p, self.prior)
            out.append(
                [float(f.stage == s) for s in self.stages]
                + [float(f.product == s) for s in self.products]
                + [x[k] for k in _NUMERIC]
            )
        return np.array(out, dtype=np.float64).reshape(len(rows.facts), self.width)

    @property
    def width(self) -> int:
        return len(self.stages) + len(self.products) + len(_NUMERIC)

    def model(self, intercept: float, coef: Sequence[float], horizon: int) -> OpportunityModel:
        k, m = len(self.stages), len(self.products)
        w = dict(zip(_NUMERIC, coef[k + m :], strict=True))
        return OpportunityModel(
            b0=round(intercept, 6),
            stage={s: round(c, 6) for s, c in zip(self.stages, coef[:k], strict=True)},
            product={s: round(c, 6) for s, c in zip(self.products, coef[k : k + m], strict=True)},
            w_age=round(w["age"], 6), w_amount=round(w["amount"], 6),
            w_owner=round(w["owner"], 6), w_account=round(w["account"], 6),
            amount_ref=self.amount_ref, horizon_days=horizon,
        )  # fmt: skip


@dataclass(frozen=True)
class FittedOpportunityModel:
    stored: OpportunityModel  # calibrated: what the policy keeps
    platt: tuple[float, float]


def fit_opportunity_model(
    rows: OpportunityRows, prior: tuple[float, float], c_reg: float = 1.0
) -> FittedOpportunityModel:
    from sklearn.linear_model import LogisticRegression

    design = Design.of(rows, prior)
    x = design.matrix(rows)
    model = LogisticRegression(C=c_reg, max_iter=5000).fit(x, rows.labels)
    slope, offset = _platt(x, rows, c_reg)
    coef = [slope * float(c) for c in model.coef_[0]]
    _, b0 = platt_rescale({}, float(model.intercept_[0]), slope, offset)
    return FittedOpportunityModel(design.model(b0, coef, rows.horizon_days), (slope, offset))


def probabilities(
    m: OpportunityModel, rows: OpportunityRows, prior: tuple[float, float]
) -> FloatArray:
    return np.array(
        [m.probability(f, p, prior) for f, p in zip(rows.facts, rows.account_p, strict=True)],
        dtype=np.float64,
    )


def compare_opportunity(
    model_p: FloatArray, train: OpportunityRows, holdout: OpportunityRows
) -> Comparison:
    """The model against the stage base rate and the account propensity, and the gate."""
    y = holdout.labels
    rates, overall = shrunk_rates([f.stage for f in train.facts], train.labels)
    stage_p = np.array([rates.get(f.stage, overall) for f in holdout.facts], dtype=np.float64)
    account_p = np.array(holdout.account_p, dtype=np.float64)
    baselines = [
        against("stage base rate", stage_p, model_p, y, probability=True),
        against("account propensity", account_p, model_p, y, probability=True),
    ]
    best = max(baselines, key=lambda c: c.auc)
    model: Contender = contender("model", model_p, y, probability=True)
    minority = int(min(y.sum(), len(y) - y.sum()))
    return Comparison(model, baselines, best.name, summarise(baselines), minority, SEED,
                      RESAMPLES, judge(model, best, [], minority))  # fmt: skip


def _platt(x: FloatArray, rows: OpportunityRows, c_reg: float) -> tuple[float, float]:
    """Slope and offset from out-of-fold logits, folds by account (identity if unfit)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    folds = min(_FOLDS, len(np.unique(rows.account_ids)))
    if folds < 2:
        return 1.0, 0.0
    z = np.zeros(len(rows.labels))
    for train, test in GroupKFold(n_splits=folds).split(x, rows.labels, rows.account_ids):
        if len(np.unique(rows.labels[train])) < 2:
            return 1.0, 0.0
        fold: LogisticRegression = LogisticRegression(C=c_reg, max_iter=5000)
        z[test] = fold.fit(x[train], rows.labels[train]).decision_function(x[test])
    platt = LogisticRegression(C=1e6, max_iter=5000).fit(z.reshape(-1, 1), rows.labels)
    return float(platt.coef_[0][0]), float(platt.intercept_[0])
