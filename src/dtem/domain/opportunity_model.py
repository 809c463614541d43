"""The opportunity model: P(an open opportunity is won within the horizon), from what is
known when it is asked (a training snapshot S, or now when routing).

    logit P = b0 + stage[stage] + product[product] + w_age·log1p(age days)
              + w_amount·log(amount / amount_ref) + w_owner·logit(owner win rate)
              + w_account·logit(account propensity)

The owner's win rate is its closed record shrunk with the policy's Beta prior
(`rep_prior_wins`, `rep_prior_losses`), the account propensity is the account model's P.
A stage or product the fit never saw adds 0. `dtem train --model opportunity` fits it and
stores it in a new policy version (`Policy.opportunity_model`); routing and the
rebalance use it for accounts with an open opportunity (`opportunity_worth`).

>>> m = OpportunityModel(b0=-1.0, stage={"proposal": 1.0}, w_account=0.5)
>>> f = OpenOpportunity("proposal", age_days=0.0, amount=None, owner_wins=0, owner_losses=0)
>>> round(m.probability(f, account_p=0.5, prior=(2.0, 8.0)), 4)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_EPS = 1e-6


@dataclass(frozen=True)
class OpenOpportunity:
    """What is known about an open opportunity at the moment it is scored."""

    stage: str  # its stage then ("unknown" when the history does not say)
    age_days: float  # days since it was opened
    amount: float | None
    owner_wins: int  # the owner's closed record then (0, 0 for no owner)
    owner_losses: int
    product: str = "unknown"


def product_key(product: str | None) -> str:
    """The level a product is fitted under: its folded category, lower case; none: unknown.

    >>> product_key(" Analytics "), product_key(None)
    ('analytics', 'unknown')
    """
    return (product or "").strip().lower() or "unknown"


def logit(p: float) -> float:
    q = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(q / (1.0 - q))


def owner_rate(wins: int, losses: int, prior: tuple[float, float]) -> float:
    """The owner's win rate shrunk toward the prior's mean (2 of 10 by default)."""
    a, b = prior
    return (wins + a) / (wins + losses + a + b)


@dataclass(frozen=True)
class OpportunityModel:
    """Stored coefficients of the opportunity model (see the module docstring)."""

    b0: float
    stage: dict[str, float] = field(default_factory=dict)
    product: dict[str, float] = field(default_factory=dict)
    w_age: float = 0.0
    w_amount: float = 0.0
    w_owner: float = 0.0
    w_account: float = 0.0
    amount_ref: float = 10_000.0  # the training rows' median amount; a missing amount is it
    horizon_days: int = 90

    def features(
        self, f: OpenOpportunity, account_p: float, prior: tuple[float, float]
    ) -> dict[str, float]:
        amount = f.amount if f.amount and f.amount > 0 else self.amount_ref
        return {
            "age": math.log1p(max(f.age_days, 0.0)),
            "amount": math.log(amount / self.amount_ref),
            "owner": logit(owner_rate(f.owner_wins, f.owner_losses, prior)),
            "account": logit(account_p),
        }

    def probability(
        self, f: OpenOpportunity, account_p: float, prior: tuple[float, float]
    ) -> float:
        x = self.features(f, account_p, prior)
        z = (
            self.b0 + self.stage.get(f.stage, 0.0) + self.product.get(f.product, 0.0)
            + self.w_age * x["age"] + self.w_amount * x["amount"]
            + self.w_owner * x["owner"] + self.w_account * x["account"]
        )  # fmt: skip
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> OpportunityModel:
        return cls(**doc)


def opportunity_worth(
    probabilities: Sequence[float], amounts: Sequence[float]
) -> tuple[float, float]:
    """(P, value) with P × value = Σ P_i × amount_i: what the account's open deals are worth.

    P is the chance that at least one is won; with one open deal it is its P(win) and the
    value its amount.

    >>> opportunity_worth([0.5], [8000.0])
    (0.5, 8000.0)
    >>> p, v = opportunity_worth([0.5, 0.5], [8000.0, 2000.0]); p, round(p * v)
    (0.75, 5000)
    """
    miss = 1.0
    for p in probabilities:
        miss *= 1.0 - p
    p_any = 1.0 - miss
    total = sum(p * a for p, a in zip(probabilities, amounts, strict=True))
    return (p_any, total / p_any) if p_any > 0 else (0.0, 0.0)
