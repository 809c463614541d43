"""Expected value of giving an account to a rep: `EV(a, r) = P(a) × value(a) × q_r(segment)`.

P is the propensity of the account's latest score row. Scores store V = value / cycle,
not the deal value, so `value(a)` is the account's imported `potential_value`, else the
policy's `default_deal_value`. `q_r` is the rep's win-rate multiplier in the account's
segment (`dtem.domain.win_rate`). Real-time routing and the rebalance both rank by it;
each function takes numbers or numpy arrays.

>>> from dtem.domain.model import Account
>>> from dtem.domain.policy import default_policy
>>> value = deal_value(Account("A1", "Acme"), default_policy())
>>> value, expected_value(0.3, value, 1.5)
(10000.0, 4500.0)
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from dtem.domain.model import Account
from dtem.domain.policy import Policy

FloatArray = npt.NDArray[np.float64]


def deal_value(account: Account, policy: Policy) -> float:
    """value(a): the account's potential value, else the policy's default deal value."""
    return account.potential_value or policy.default_deal_value


@overload
def expected_value(propensity: float, value: float, q: float) -> float: ...
@overload
def expected_value(
    propensity: float | FloatArray, value: float | FloatArray, q: FloatArray
) -> FloatArray: ...
def expected_value(propensity: Any, value: Any, q: Any) -> Any:
    """`(P × value) × q` — worth of the account first, then the rep's multiplier."""
    return propensity * value * q
