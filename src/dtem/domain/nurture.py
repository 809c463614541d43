"""The agent gateway's rules: which accounts an agent may claim now, in what order.

An agent may claim an account that is tier 2 or 3, not do-not-contact, not leased to a
human, not claimed by another agent, below the threshold, and under the policy's weekly
touch cap; nobody may claim during the policy's quiet hours (UTC, `[start, end)`, may wrap
midnight). Claims go highest expected value of nurture first: `P(a) × value(a)`, the
same expected value routing ranks reps by, with the rep multiplier of a neutral 1.

>>> from dtem.domain.model import Account, Tier
>>> from dtem.domain.policy import Policy
>>> p = Policy(agent_touch_cap_per_week=3)
>>> nurture_refusal(Account("A1", "Acme", tier=Tier.HUMAN_ONLY), 10.0, 0, p)
'tier 1 (human only)'
>>> nurture_refusal(Account("A2", "Bolt"), 72.0, 0, p)
'score 72.0 at or above threshold 60: humans work it'
>>> nurture_refusal(Account("A3", "Cobalt"), 12.0, 3, p)
'touch cap 3 per week reached'
>>> in_quiet_hours(23, (22, 6)), in_quiet_hours(12, (22, 6)), in_quiet_hours(12, None)
(True, False, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from dtem.domain.eligibility import clears_threshold
from dtem.domain.expected_value import deal_value, expected_value
from dtem.domain.model import Account, Tier
from dtem.domain.policy import Policy

# What an agent may report, each stored as an activity of this kind and as a signal of
# the type the policy's `agent_touch_signals` maps it to.
TOUCH_KINDS = (
    "email_sent",
    "reply",
    "call",
    "meeting_booked",
    "objection_handled",
    "contact_mapped",
)


@dataclass(frozen=True)
class AgentClaim:
    """One agent's hold on one account until `expires_at` (or `released_at`)."""

    id: int
    account_id: int
    agent: str
    claimed_at: datetime
    expires_at: datetime
    policy_version: int  # the policy whose tiers and threshold let the agent claim it
    released_at: datetime | None = None
    reason: str = ""

    def active_at(self, at: datetime) -> bool:
        """Held now: not released and not past its time to live."""
        return self.released_at is None and at < self.expires_at


def nurture_refusal(
    account: Account, score: float | None, touches_this_week: int, policy: Policy
) -> str | None:
    """Why no agent may claim the account now (None when one may)."""
    if account.do_not_contact:
        return "do-not-contact"
    if account.tier == Tier.HUMAN_ONLY:
        return "tier 1 (human only)"
    if score is not None and clears_threshold(score, policy):
        return f"score {score:.1f} at or above threshold {policy.threshold:g}: humans work it"
    if touches_this_week >= policy.agent_touch_cap_per_week:
        return f"touch cap {policy.agent_touch_cap_per_week} per week reached"
    return None


def nurture_value(account: Account, propensity: float | None, policy: Policy) -> float:
    """Expected value of nurturing the account: `P × value(a)` (base rate when unscored)."""
    p = propensity if propensity is not None else _base_rate(policy)
    return expected_value(p, deal_value(account, policy), 1.0)


def in_quiet_hours(hour: int, quiet: tuple[int, int] | None) -> bool:
    """Whether an hour of the day (UTC) falls in `[start, end)`; a window may wrap midnight."""
    if quiet is None:
        return False
    start, end = quiet
    return start <= hour < end if start <= end else hour >= start or hour < end


def _base_rate(policy: Policy) -> float:
    return 1.0 / (1.0 + math.exp(-policy.b0))
