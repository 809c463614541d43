"""Tiers: who may work an account — humans only (1), both (2) or agents only (3).

The rule, first match wins (every step names its reason):

1. a named strategic account (imported or set with `dtem accounts tier A --set 1`) → 1;
2. potential value above the policy's `tier1_value_cut` → 1;
3. a segment in the policy's `tier3_segments` (size band|industry, `*` matches any part)
   or potential value below `tier3_value_cut` → 3;
4. otherwise → 2 (hybrid: agents nurture below the threshold, humans above it).

Do-not-contact is apart from the tier: such an account keeps its tier and its score, and
neither a human nor an agent is ever given it.

>>> from dtem.domain.model import Account
>>> from dtem.domain.policy import Policy
>>> p = Policy(tier1_value_cut=500_000.0, tier3_value_cut=5_000.0)
>>> account_tier(Account("A1", "Acme", potential_value=900_000.0), p, named=False)
(<Tier.HUMAN_ONLY: 1>, 'potential value 900000 above the tier 1 cut 500000')
>>> account_tier(Account("A2", "Bolt", potential_value=2_000.0), p, named=False)[0]
<Tier.AI_ONLY: 3>
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dtem.domain.eligibility import segment_matches
from dtem.domain.model import Account, Tier, segment_of
from dtem.domain.policy import Policy


@dataclass(frozen=True)
class TierOverride:
    """A tier a person set by name (`dtem accounts tier A --set 1`); it beats the rules."""

    tier: Tier
    by: str
    at: datetime
    note: str = ""

    def reason(self) -> str:
        why = f": {self.note}" if self.note else ""
        return f"set to tier {int(self.tier)} by {self.by} at {self.at:%Y-%m-%d %H:%M}{why}"


@dataclass(frozen=True)
class AccountTier:
    """An account's stored tier: what the policy (or an override) gave it, and why."""

    account_id: int
    tier: Tier
    reason: str
    policy_version: int | None
    computed_at: datetime
    override: TierOverride | None = None


def account_tier(account: Account, policy: Policy, named: bool) -> tuple[Tier, str]:
    """The tier the policy gives an account, and why."""
    value = account.potential_value
    if named:
        return Tier.HUMAN_ONLY, "named strategic account"
    cut1 = policy.tier1_value_cut
    if cut1 is not None and value is not None and value > cut1:
        return Tier.HUMAN_ONLY, f"potential value {value:g} above the tier 1 cut {cut1:g}"
    segment = segment_of(account.employees, account.industry)
    if policy.tier3_segments and segment_matches(policy.tier3_segments, segment):
        return Tier.AI_ONLY, f"segment {segment} is agent-only (tier3_segments)"
    cut3 = policy.tier3_value_cut
    if cut3 is not None and value is not None and value < cut3:
        return Tier.AI_ONLY, f"potential value {value:g} below the tier 3 cut {cut3:g}"
    return Tier.HYBRID, "hybrid: agents below the threshold, humans above it"


def tier_in_force(
    account: Account, policy: Policy, override: TierOverride | None = None
) -> tuple[Tier, str]:
    """The tier routing and the agent gateway use: an override first, then the rules
    with the imported tier as the named input.

    A stored tier 1 is a named strategic account; a stored tier 3 (imported) stays 3
    unless the policy's rules make the account tier 1; otherwise the policy decides.
    """
    if override is not None:
        return override.tier, override.reason()
    tier, why = account_tier(account, policy, named=account.tier == Tier.HUMAN_ONLY)
    if tier == Tier.HYBRID and account.tier == Tier.AI_ONLY:
        return Tier.AI_ONLY, "set to tier 3 (import or `dtem accounts tier`)"
    return tier, why
