"""What the dashboard's pages show, read through the same services the CLI and API use.

The pool overview is the TAM audit (`dtem audit-tam`) with its scores binned, the
overflow queue (`GET /overflow`) and λ and utilisation as the daily review computes
them; team load is each rep's active leases against capacity. Lists come a page at a
time: the caller names the page, and only that page's rows leave this module.

>>> [(b.low, b.high, b.count) for b in score_histogram([5, 15, 99.5, 100], bins=2)]
[(0.0, 50.0, 2), (50.0, 100.0, 2)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from dtem.domain.capacity import blended_hourly_cost, capacity_of, price_of_capacity
from dtem.domain.clock import Clock
from dtem.domain.model import Rep
from dtem.domain.ports import (
    DecisionLogPort,
    DirectoryPort,
    LedgerOf,
    ListingsPort,
    PolicyPort,
    RoutingFactsPort,
)
from dtem.services import routing, tam_audit
from dtem.services.governance import active_policy

T = TypeVar("T")
PAGE_SIZE = 20


class _LoadTx(DirectoryPort, PolicyPort, RoutingFactsPort, Protocol):
    """Reps, the policy and active lease counts."""


class _PoolTx(_LoadTx, tam_audit.TamTx, DecisionLogPort, ListingsPort, Protocol):
    """What the pool overview reads."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list: its rows, its number (from 1) and how many there are."""

    rows: list[T]
    number: int
    pages: int
    total: int


def page_of(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Rows `size × (number − 1)` onwards; a number past the end gives the last page.

    >>> page_of(list(range(45)), 3).rows
    [40, 41, 42, 43, 44]
    """
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return Page(list(items[start : start + size]), number, pages, len(items))


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int


def score_histogram(scores: Iterable[float], bins: int = 10) -> list[Bin]:
    """Counts of scores in `bins` equal bins over 0–100 (the last one includes 100)."""
    counts, edges = np.histogram(np.fromiter(scores, dtype=np.float64), bins=bins, range=(0, 100))
    return [
        Bin(float(edges[i]), float(edges[i + 1]), int(c)) for i, c in enumerate(counts.tolist())
    ]


@dataclass(frozen=True)
class RepLoad:
    rep: Rep
    active_leases: int
    capacity: int

    @property
    def load(self) -> float:
        return self.active_leases / self.capacity if self.capacity else 0.0


@dataclass(frozen=True)
class Capacity:
    """λ in force (the price of one rep hour) and how full the reps are."""

    lambda_hourly: float
    active_leases: int
    capacity: int
    reps: list[RepLoad]
    stored_threshold: float  # the active policy's threshold as stored…
    threshold_in_force: float  # …and as the λ controller has moved it

    @property
    def utilisation(self) -> float:
        return self.active_leases / self.capacity if self.capacity else 0.0


def capacity_now(ledger: LedgerOf[_LoadTx], team: str | None = None) -> Capacity:
    """λ in force (as the daily review left it) and each active rep's load (of `team`)."""
    with ledger.transaction() as tx:
        active = active_policy(tx)
        every = tx.all_reps()
        counts = tx.active_lease_counts()
    policy = active.stored
    # λ in force: the policy's λ as the review prices it, moved by the λ controller's ratio
    lam = price_of_capacity(policy, blended_hourly_cost(every)) * active.lambda_ratio
    reps = [r for r in every if r.active and r.id is not None]
    if team is not None:
        reps = [r for r in reps if r.pod == team]
    loads = [
        RepLoad(r, counts.get(r.id or 0, 0), capacity_of(r, policy))
        for r in sorted(reps, key=lambda r: r.external_id)
    ]
    used = sum(x.active_leases for x in loads)
    total = sum(x.capacity for x in loads)
    return Capacity(lam, used, total, loads, policy.threshold, active.policy.threshold)


@dataclass(frozen=True)
class PoolOverview:
    at: datetime
    policy_version: int
    threshold: float
    accounts: int
    scored: int
    tiers: dict[int, int]
    owned: int
    phantom: int
    dead_zones: int
    histogram: list[Bin]
    top: Page[tam_audit.AccountAudit]
    dead: Page[tam_audit.AccountAudit]
    overflow: Page[dict[str, Any]]
    capacity: Capacity


def pool_overview(
    ledger: LedgerOf[_PoolTx],
    clock: Clock,
    top_page: int = 1,
    dead_page: int = 1,
    overflow_page: int = 1,
) -> PoolOverview:
    """The whole pool at a glance, as of now: one page of each list."""
    audit = tam_audit.tam_audit(ledger, clock())
    scores = [a.score for a in audit.accounts if a.score is not None]
    dead = [a for a in audit.accounts if a.dead_zone]
    return PoolOverview(
        audit.at, audit.policy_version, audit.threshold, len(audit.accounts), len(scores),
        audit.tiers(), audit.owned, audit.phantom, audit.dead_zones, score_histogram(scores),
        page_of(audit.accounts, top_page), page_of(dead, dead_page),
        page_of(routing.overflow(ledger), overflow_page), capacity_now(ledger),
    )  # fmt: skip
