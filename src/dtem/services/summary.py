"""A funnel summary of what is in the ledger: accounts, reps, won deals and how they came.

Used by `dtem demo` on the Olist sample; it reads only the ledger, so it works on any
imported history. "Origin" and "first contact" are the account attributes `origin` and
`first_contact_date` (ISO date) that the Olist mapping keeps; an account without an
origin counts as "unknown". A won deal's segment is its account's industry.

Example (after `dtem demo`): `funnel_summary(ledger, policy).won_by_origin` →
`{"organic_search": 271, "paid_search": 195, …}`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from dtem.domain.policy import Policy
from dtem.domain.ports import DirectoryPort, ImportsPort, LedgerOf, OpportunitiesPort

UNKNOWN = "unknown"


class _Funnel(DirectoryPort, ImportsPort, OpportunitiesPort, Protocol):
    """Accounts with their imported attributes, reps and opportunities."""


@dataclass(frozen=True)
class FunnelSummary:
    """The demo's numbers. Rates are fractions (0.05 = 5%)."""

    accounts: int
    reps: int
    opportunities: int
    won: int
    won_by_segment: dict[str, int] = field(default_factory=dict)
    leads_by_origin: dict[str, int] = field(default_factory=dict)
    won_by_origin: dict[str, int] = field(default_factory=dict)
    conversion_by_origin: dict[str, float] = field(default_factory=dict)
    median_days_to_won: float | None = None
    unattached: int = 0  # opportunities waiting for their account (not in the counts above)
    unattached_open: int = 0
    unattached_amount: float = 0.0  # the amount of the open ones


def funnel_summary(ledger: LedgerOf[_Funnel], policy: Policy) -> FunnelSummary:
    """Count the funnel from the ledger (one read transaction)."""
    with ledger.transaction() as tx:
        accounts = tx.all_accounts()
        reps = tx.count("reps")
        opportunities = tx.all_opportunities()
        origins = tx.all_account_attributes("origin")
        first_contact = tx.all_account_attributes("first_contact_date")
    waiting = [o for o in opportunities if o.account_external_id is None]
    closed = set(policy.won_stages) | set(policy.lost_stages)
    waiting_open = [o for o in waiting if o.stage not in closed]
    opportunities = [o for o in opportunities if o.account_external_id is not None]
    won = [o for o in opportunities if o.stage in policy.won_stages]
    origin_of = {xid: (origins.get(xid) or UNKNOWN) for xid in accounts}
    leads = Counter(origin_of.values())
    won_origin = Counter(origin_of.get(o.account_external_id or "", UNKNOWN) for o in won)
    segments = Counter(
        (accounts[o.account_external_id].industry or UNKNOWN)
        if o.account_external_id in accounts
        else UNKNOWN
        for o in won
    )
    days = [
        (o.close_date - date.fromisoformat(first_contact[o.account_external_id])).days
        for o in won
        if o.close_date is not None and o.account_external_id in first_contact
    ]
    return FunnelSummary(
        accounts=len(accounts),
        reps=reps,
        opportunities=len(opportunities),
        won=len(won),
        won_by_segment=_ranked(segments),
        leads_by_origin=_ranked(leads),
        won_by_origin=_ranked(won_origin),
        conversion_by_origin={k: won_origin.get(k, 0) / n for k, n in _ranked(leads).items()},
        median_days_to_won=float(statistics.median(days)) if days else None,
        unattached=len(waiting),
        unattached_open=len(waiting_open),
        unattached_amount=sum(o.amount or 0.0 for o in waiting_open),
    )


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Largest first; ties in name order, so the output is stable."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
