"""The win-rate prior: a rep's record in a segment, shrunk toward the team's prior.

A Beta(`rep_prior_wins`, `rep_prior_losses`) prior keeps one win in one deal from making a
star: the close rate is `(w + a) / (w + l + a + b)`, and the multiplier
`q_r = close rate / (a / (a + b))` is 1 for a rep without history. Routing, the rebalance
and expected value use `q_r`; quarterly bidding uses the close rate. Both functions take
counts or numpy arrays of counts (the same float operations either way).

>>> from dtem.domain.policy import default_policy
>>> p = default_policy()  # prior 2 wins, 8 losses: mean 0.2
>>> win_rate_multiplier(0, 0, p), round(win_rate_multiplier(1, 0, p), 3), close_rate(0, 0, p)
(1.0, 1.364, 0.2)
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from dtem.domain.policy import Policy

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@overload
def close_rate(wins: float, losses: float, policy: Policy) -> float: ...
@overload
def close_rate(wins: IntArray, losses: IntArray, policy: Policy) -> FloatArray: ...
def close_rate(wins: Any, losses: Any, policy: Policy) -> Any:
    """Shrunk close rate `(w + a) / (w + l + a + b)`."""
    a, b = policy.rep_prior_wins, policy.rep_prior_losses
    return (wins + a) / (wins + losses + a + b)


@overload
def win_rate_multiplier(wins: float, losses: float, policy: Policy) -> float: ...
@overload
def win_rate_multiplier(wins: IntArray, losses: IntArray, policy: Policy) -> FloatArray: ...
def win_rate_multiplier(wins: Any, losses: Any, policy: Policy) -> Any:
    """q_r: the shrunk close rate over the prior mean (1.0 without history)."""
    a, b = policy.rep_prior_wins, policy.rep_prior_losses
    return close_rate(wins, losses, policy) / (a / (a + b))
