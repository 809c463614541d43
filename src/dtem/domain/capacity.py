"""Capacity: how many active leases a rep may hold, and λ, the price of an hour of it.

A rep's capacity is its own `capacity` (0 = the policy's `default_capacity`); a quarter's
award (`dtem bid award`) replaces it for that quarter, an award of 0 included (the rep
then gets no new lease that quarter). λ (money per hour) is the policy's `lambda_hourly`
when set, else the blended hourly cost of the *active* reps that have one, else the
policy's `default_lambda_hourly`.

>>> from dtem.domain.model import Rep
>>> from dtem.domain.policy import Policy
>>> p = Policy(default_capacity=25)
>>> rep_capacity(Rep("R1", "Rita", capacity=0), None, p), rep_capacity(Rep("R2", "Raj"), 7, p)
(25, 7)
>>> reps = [Rep("a", "A", hourly_cost=40.0), Rep("b", "B", hourly_cost=80.0, active=False)]
>>> price_of_capacity(p, blended_hourly_cost(reps))
40.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from dtem.domain.model import Rep
from dtem.domain.policy import LambdaController, Policy

IntArray = npt.NDArray[np.int64]
NO_AWARD = -1  # in an `awarded` array: the quarter has no award for this rep


def capacity_of(rep: Rep, policy: Policy) -> int:
    """The rep's own capacity (0 = the policy default), before any award."""
    return rep.capacity if rep.capacity > 0 else policy.default_capacity


def rep_capacity(rep: Rep, awarded: int | None, policy: Policy) -> int:
    """The capacity in force for one rep: the quarter's award when there is one."""
    return awarded if awarded is not None else capacity_of(rep, policy)


def capacities_in_force(own: IntArray, awarded: IntArray, policy: Policy) -> IntArray:
    """`rep_capacity` over a roster: `own` as set on the reps, `awarded` -1 = no award."""
    own_or_default = np.where(own > 0, own, policy.default_capacity)
    return np.where(awarded >= 0, awarded, own_or_default).astype(np.int64)


def blended_hourly_cost(reps: Iterable[Rep]) -> float | None:
    """Mean hourly cost of active reps that have one (None when none has).

    >>> blended_hourly_cost([Rep("a", "A", hourly_cost=40.0), Rep("b", "B", hourly_cost=80.0)])
    60.0
    """
    costs = [r.hourly_cost for r in reps if r.active and r.hourly_cost > 0]
    return math.fsum(costs) / len(costs) if costs else None


def price_of_capacity(policy: Policy, blended_hourly: float | None) -> float:
    """λ: the policy's, else the blended hourly cost of active reps, else the default."""
    if policy.lambda_hourly is not None:
        return policy.lambda_hourly
    return blended_hourly or policy.default_lambda_hourly


# --- the capacity interest rate (the λ controller) ----------------------------------------
def lambda_step(lam: float, utilisation: float, ctl: LambdaController) -> float:
    """One review's move: λ × exp(k × (U − U*)), kept within the controller's bounds.

    >>> ctl = LambdaController(k=0.5, target_utilisation=0.85, floor=10.0, cap=1000.0)
    >>> round(lambda_step(60.0, 1.0, ctl), 2), round(lambda_step(60.0, 0.0, ctl), 2)
    (64.67, 39.23)
    >>> lambda_step(12.0, 0.0, ctl)  # the floor holds
    10.0
    """
    moved = lam * math.exp(ctl.k * (utilisation - ctl.target_utilisation))
    return min(max(moved, ctl.floor), ctl.cap)


def threshold_in_force(threshold: float, ratio: float) -> float:
    """The score threshold once λ is `ratio` × the policy's λ, scores left as stored.

    Opportunity cost C is proportional to λ, so raw equity E is proportional to 1/λ: an
    account clears the threshold at λ' exactly when its stored E (at the policy's λ)
    clears `E_T × ratio`. In score terms (S = 100 E / (E + E_half), E_T = E_half × T /
    (100 − T)) that is T' = 100 ρT / (ρT + 100 − T), whatever E_half: the controller
    moves the bar, never the stored scores, so a score stays absolute.

    >>> threshold_in_force(60.0, 1.0), round(threshold_in_force(60.0, 2.0), 2)
    (60.0, 75.0)
    >>> round(threshold_in_force(60.0, 0.5), 2)  # idle reps: a lower bar
    42.86
    """
    if ratio == 1.0:
        return threshold
    return 100.0 * ratio * threshold / (ratio * threshold + 100.0 - threshold)
