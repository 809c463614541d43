"""Pages of lists on the in-memory fake (`ListingsPort`): the same order, filters and
keys as the SQL ledger, computed over the fake's rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from dtem.domain.audit import AuditEntry
from dtem.domain.bidding import CapacityBid
from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
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

T = TypeVar("T")


class ListingsMemory:
    """Mixed into `MemoryTx`; reads through the fake's other port methods."""

    # provided by the other mixins of MemoryTx
    all_accounts: Callable[[], dict[str, Account]]
    account_tiers: Callable[..., dict[int, AccountTier]]
    all_reps: Callable[[], list[Rep]]
    audit_entries: Callable[..., Iterable[AuditEntry]]
    all_opportunities: Callable[[], list[Opportunity]]
    import_batches: Callable[[], list[ImportBatch]]
    tokens: Callable[[], list[TokenRecord]]
    signal_sources: Callable[[], list[SignalSource]]
    _table: Callable[[str], list[Any]]
    closed_comp_periods: Callable[[], dict[str, ClosedPeriod]]
    s: Any  # the fake's state
    policy_versions: Callable[[], list[PolicyVersion]]

    def account_page(self, query: AccountQuery) -> list[tuple[Account, AccountTier | None]]:
        tiers = self.account_tiers()
        out = []
        for key, a in sorted(self.all_accounts().items()):
            stored = tiers.get(a.id) if a.id is not None else None
            if query.after is not None and key <= query.after:
                continue
            if query.tier is not None and (stored is None or int(stored.tier) != query.tier):
                continue
            if query.do_not_contact is not None and a.do_not_contact != query.do_not_contact:
                continue
            out.append((a, stored))
        return out[: query.limit]

    def rep_page(self, query: RepQuery) -> list[Rep]:
        wanted = {"manager": query.manager, "team": query.team, "region": query.region}

        def keep(r: Rep) -> bool:
            return all(
                (getattr(r, k) or "").strip().lower() == v.strip().lower()
                for k, v in wanted.items()
                if v is not None
            ) and (query.after is None or r.external_id > query.after)

        return sorted(filter(keep, self.all_reps()), key=lambda r: r.external_id)[: query.limit]

    def decision_page(self, query: DecisionQuery) -> list[RoutingRecord]:
        rows: list[RoutingRecord] = self._table("routing_decisions")
        found = [
            d
            for d in reversed(rows)
            if (query.before is None or (d.id or 0) < query.before)
            and (query.account_id is None or d.account_id == query.account_id)
            and (query.rep_id is None or d.chosen_rep_id == query.rep_id)
            and (query.since is None or as_utc(d.at) >= as_utc(query.since))
        ]
        return found[: query.limit]

    def routing_decision(self, decision_id: int) -> RoutingRecord:
        rows: list[RoutingRecord] = self._table("routing_decisions")
        found = next((d for d in rows if d.id == decision_id), None)
        if found is None:
            raise NotFound(f"routing decision {decision_id} does not exist")
        return found

    def audit_page(self, query: AuditQuery) -> list[AuditEntry]:
        since = as_utc(query.since).isoformat() if query.since else None
        found = [
            e
            for e in reversed(list(self.audit_entries()))
            if (query.before is None or e.seq < query.before)
            and (query.action is None or e.action == query.action)
            and (query.actor is None or e.actor == query.actor)
            and (since is None or e.at >= since)
        ]
        return found[: query.limit]

    def opportunity_page(self, query: OpportunityQuery) -> list[Opportunity]:
        found = [
            o
            for o in sorted(self.all_opportunities(), key=lambda o: o.external_id)
            if (query.after is None or o.external_id > query.after)
            and (query.account is None or o.account_external_id == query.account)
            and (query.rep is None or o.rep_external_id == query.rep)
            and (query.stage is None or o.stage == query.stage)
            and (query.unattached is None or (o.account_external_id is None) == query.unattached)
        ]
        return found[: query.limit]

    def import_batch_page(self, page: IdPage) -> list[ImportBatch]:
        return _by_id(self.import_batches(), page, lambda b: b.id)

    def token_page(self, page: IdPage) -> list[TokenRecord]:
        return _by_id(self.tokens(), page, lambda x: x.id or 0)

    def source_page(self, page: IdPage) -> list[SignalSource]:
        return _by_id(self.signal_sources(), page, lambda x: x.id or 0)

    def unmatched_page(self, page: IdPage) -> list[tuple[int, SignalRecord]]:
        rows: list[SignalRecord] = self.s.extra.get("signals", [])  # id = position + 1
        numbered = [(i, r) for i, r in enumerate(rows, 1) if r.account_id is None]
        return _by_id(numbered, page, lambda x: x[0])

    def overflow_page(self, open_only: bool, page: IdPage) -> list[OverflowEntry]:
        rows: list[OverflowEntry] = self._table("overflow_queue")
        kept = [e for e in rows if not open_only or e.resolved_at is None]
        return _by_id(kept, page, lambda e: e.id)

    def policy_page(self, page: IdPage) -> list[PolicyVersion]:
        return _by_id(self.policy_versions(), page, lambda v: v.version)

    def bid_page(
        self, quarter: str | None, after: tuple[str, int] | None, limit: int | None
    ) -> list[CapacityBid]:
        rows: list[CapacityBid] = self._table("capacity_bids")
        kept = sorted(
            (b for b in rows if quarter in (None, b.quarter)), key=lambda b: (b.quarter, b.rep_id)
        )
        return [b for b in kept if after is None or (b.quarter, b.rep_id) > after][:limit]

    def period_page(self, before: str | None, limit: int) -> list[ClosedPeriod]:
        periods = sorted(self.closed_comp_periods().values(), key=lambda p: p.period)[::-1]
        return [p for p in periods if before is None or p.period < before][:limit]


def _by_id(rows: Sequence[T], page: IdPage, key: Callable[[T], int]) -> list[T]:
    ordered = sorted(rows, key=key, reverse=page.newest_first)
    if page.after is not None:
        after = page.after
        ordered = [r for r in ordered if (key(r) < after if page.newest_first else key(r) > after)]
    return ordered[: page.limit]
