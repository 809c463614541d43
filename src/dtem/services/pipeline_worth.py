"""What an account's open opportunities are worth to routing and the rebalance.

With an opportunity model in the active policy (`dtem train --model opportunity`), an
account with open opportunities is valued by them: each deal's P(win) from the model
(its stage, age, amount and product now, its owner's record, the account's propensity)
times its amount (the account's deal value when the amount is missing), combined by
`opportunity_worth` into (P, value) with P × value = Σ P_i × amount_i. Routing and the
rebalance then rank reps by `EV = P × value × q_r` as before. Accounts without an open
opportunity, or a policy without the model, keep the account propensity and deal value.

>>> # pipeline_worth(tx, policy, {7: 0.2}, {7: 10_000.0}, date(2026, 1, 5))  -> {7: (0.41, 18500.0)}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from dtem.domain.opportunity_model import OpenOpportunity, opportunity_worth, product_key
from dtem.domain.policy import Policy
from dtem.domain.ports import RoutingFactsPort


def pipeline_worth(
    tx: RoutingFactsPort,
    policy: Policy,
    propensity: Mapping[int, float],
    value: Mapping[int, float],
    on: date,
) -> dict[int, tuple[float, float]]:
    """Account id -> (P, value) for the accounts in `propensity` with an open opportunity."""
    model = policy.opportunity_model
    if model is None or not propensity:
        return {}
    ids = list(propensity) if len(propensity) <= 500 else None  # a large batch reads them all
    prior = (policy.rep_prior_wins, policy.rep_prior_losses)
    deals: dict[int, tuple[list[float], list[float]]] = {}
    for d in tx.open_pipeline(ids, policy.won_stages, policy.lost_stages):
        if d.account_id not in propensity:
            continue
        age = float((on - d.opened).days) if d.opened else 0.0
        facts = OpenOpportunity(
            d.stage, age, d.amount, d.owner_wins, d.owner_losses, product_key(d.product)
        )
        ps, amounts = deals.setdefault(d.account_id, ([], []))
        ps.append(model.probability(facts, propensity[d.account_id], prior))
        amounts.append(d.amount if d.amount and d.amount > 0 else value[d.account_id])
    return {a: opportunity_worth(ps, amounts) for a, (ps, amounts) in deals.items()}
