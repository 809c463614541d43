"""Listings port: one page of a list, read in the order of a unique key (keyset pagination).

Each method returns at most `limit` rows of the query's order, starting after the key the
query names, with the query's filters applied in the database. A caller that wants to know
whether another page follows asks for one row more than it shows.
"""

from __future__ import annotations

from typing import Protocol

from dtem.domain.audit import AuditEntry
from dtem.domain.bidding import CapacityBid
from dtem.domain.listings import (
    AccountQuery,
    AuditQuery,
    DecisionQuery,
    IdPage,
    OpportunityQuery,
    RepQuery,
)
from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.ports.governance import PolicyVersion, TokenRecord
from dtem.domain.signals import SignalRecord
from dtem.domain.store_comp import ClosedPeriod
from dtem.domain.store_imports import ImportBatch
from dtem.domain.store_market import OverflowEntry, RoutingRecord
from dtem.domain.store_radar import SignalSource
from dtem.domain.tiers import AccountTier


class ListingsPort(Protocol):
    """Pages of accounts, reps, routing decisions, audit entries, opportunities, imports,
    tokens, webhook sources, unmatched signals and closed comp periods."""

    def account_page(self, query: AccountQuery) -> list[tuple[Account, AccountTier | None]]:
        """Accounts by external id with their stored tier (None: not computed yet)."""
        ...

    def rep_page(self, query: RepQuery) -> list[Rep]: ...
    def decision_page(self, query: DecisionQuery) -> list[RoutingRecord]:
        """Routing decisions newest first; `rep_id` keeps those that chose the rep."""
        ...

    def routing_decision(self, decision_id: int) -> RoutingRecord:
        """One stored decision; `NotFound` without it."""
        ...

    def audit_page(self, query: AuditQuery) -> list[AuditEntry]: ...
    def opportunity_page(self, query: OpportunityQuery) -> list[Opportunity]: ...
    def import_batch_page(self, page: IdPage) -> list[ImportBatch]: ...
    def token_page(self, page: IdPage) -> list[TokenRecord]: ...
    def source_page(self, page: IdPage) -> list[SignalSource]: ...
    def unmatched_page(self, page: IdPage) -> list[tuple[int, SignalRecord]]:
        """Signals kept without an account, by id (the key of the page), oldest first."""
        ...

    def overflow_page(self, open_only: bool, page: IdPage) -> list[OverflowEntry]:
        """The overflow queue by entry id; `open_only`: not yet resolved."""
        ...

    def policy_page(self, page: IdPage) -> list[PolicyVersion]:
        """Stored policy versions by version number (the id of the page)."""
        ...

    def bid_page(
        self, quarter: str | None, after: tuple[str, int] | None, limit: int | None
    ) -> list[CapacityBid]:
        """Capacity bids by (quarter, rep id), after that pair; of one quarter or all."""
        ...

    def period_page(self, before: str | None, limit: int) -> list[ClosedPeriod]:
        """Closed comp periods, newest first (periods before `before`, YYYY-MM)."""
        ...
