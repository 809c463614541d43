"""The capacity interest rate: λ's step at each daily review, and its history.

At a review, U = active leases ÷ the capacity in force of the active reps (a quarter's
award replaces a rep's own capacity), and `λ ← λ × exp(k × (U − U*))` within the
controller's bounds (`domain/capacity.py::lambda_step`). λ starts at the policy's λ
(`price_of_capacity`); what is kept is the ratio of the two, so a policy that changes λ
itself keeps the controller's pressure. Opportunity cost is proportional to λ, so the
ratio moves the threshold in force (`threshold_in_force`), never the stored scores:
saturated reps raise the bar, idle reps lower it. When the bar falls, the review routes
the unleased accounts that now clear it (trigger `threshold_lowered`), so idle capacity
is used the same day.

Each step is stored with what it read — utilisation, capacity, open pipeline and pipeline
bloat (open pipeline on leased accounts ÷ (capacity × mean won deal)) — and is shown by
`dtem policy lambda`. One step per review date: a second review of a date changes nothing.
With no active capacity (no rep, or every award 0) U means nothing and λ holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import numpy as np

from dtem.domain import kpis
from dtem.domain.bidding import quarter_of
from dtem.domain.capacity import (
    blended_hourly_cost,
    capacities_in_force,
    lambda_step,
    price_of_capacity,
    threshold_in_force,
)
from dtem.domain.kpis import Deal
from dtem.domain.ports import (
    BiddingPort,
    DirectoryPort,
    KpiFactsPort,
    LambdaStep,
    LeasesPort,
    LedgerOf,
    PolicyPort,
)
from dtem.services.governance import ActivePolicy, active_policy


class LambdaTx(PolicyPort, LeasesPort, DirectoryPort, BiddingPort, KpiFactsPort, Protocol):
    """What a λ step reads: the policy, leases, reps and their awards, deals."""


@dataclass(frozen=True)
class Utilisation:
    active_leases: int
    capacity: int

    @property
    def value(self) -> float:
        return self.active_leases / self.capacity if self.capacity else 0.0


def utilisation_now(tx: LambdaTx, on: date, active: ActivePolicy) -> Utilisation:
    """Active leases ÷ the capacity in force of the active reps on `on`."""
    reps = [r for r in tx.all_reps() if r.active and r.id is not None]
    awarded = tx.awarded_capacities(quarter_of(on))
    own = np.asarray([r.capacity for r in reps], dtype=np.int64)
    award = np.asarray([awarded.get(r.id or 0, -1) for r in reps], dtype=np.int64)
    capacity = int(capacities_in_force(own, award, active.stored).sum()) if reps else 0
    return Utilisation(len(tx.active_leases()), capacity)


def step(tx: LambdaTx, on: date, at: datetime) -> LambdaStep | None:
    """Take the review's λ step for `on` (inside the review's unit of work); None when that
    date already has one."""
    active = active_policy(tx)
    policy = active.stored
    policy_lambda = price_of_capacity(policy, blended_hourly_cost(tx.all_reps()))
    before = policy_lambda * active.lambda_ratio
    u = utilisation_now(tx, on, active)
    ctl = policy.lambda_controller
    # no active capacity (no rep yet, or every award 0): U means nothing and λ holds
    after = lambda_step(before, u.value, ctl) if u.capacity else before
    ratio = after / policy_lambda
    leased = {x.account_id for x in tx.active_leases()}
    deals = tx.kpi_deals(policy.won_stages, policy.lost_stages)
    open_amount, mean_deal = _pipeline(deals, leased, on, policy.default_deal_value)
    record = LambdaStep(
        on=on, at=at, policy_version=active.version, lambda_before=round(before, 6),
        lambda_after=round(after, 6), policy_lambda=policy_lambda, ratio=ratio,
        utilisation=round(u.value, 6), target_utilisation=ctl.target_utilisation, k=ctl.k,
        active_leases=u.active_leases, capacity=u.capacity, threshold=policy.threshold,
        threshold_in_force=threshold_in_force(policy.threshold, ratio),
        open_pipeline=open_amount, mean_deal=mean_deal,
        pipeline_bloat=kpis.pipeline_bloat(open_amount, u.capacity, mean_deal),
    )  # fmt: skip
    return record if tx.add_lambda_step(record) else None


def _pipeline(
    deals: Collection[Deal], leased: set[int], on: date, default_deal: float
) -> tuple[float, float | None]:
    """Open pipeline on leased accounts on `on`, and the mean won deal (else the default)."""
    won = [d.amount for d in deals if d.outcome == "won" and d.amount is not None]
    mean_deal = sum(won) / len(won) if won else default_deal
    open_amount = kpis.open_pipeline([d for d in deals if d.account_id in leased], on)
    return round(open_amount, 2), mean_deal


def lambda_history(ledger: LedgerOf[PolicyPort], limit: int | None = None) -> list[LambdaStep]:
    """The stored steps, oldest first (the latest `limit`)."""
    with ledger.transaction() as tx:
        return tx.lambda_steps(limit)


def step_to_dict(s: LambdaStep) -> dict[str, object]:
    """A step as JSON-ready fields (dates as ISO strings)."""
    out = dataclasses.asdict(s)
    out["on"], out["at"] = s.on.isoformat(), s.at.isoformat()
    return out
