"""Pages of lists on SQLite and PostgreSQL (`ListingsPort`): keyset pagination.

Each query orders by one unique key, starts after the key the caller names
(`WHERE key > :after ORDER BY key LIMIT :n`, or `<` and descending for newest-first
lists) and filters in SQL, so a page reads at most `limit` rows whatever the table holds.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import account_from_row, lower_text, rep_from_row, token_from_row
from dtem.adapters.ledger.sql_imports import _opportunity
from dtem.adapters.ledger.sql_market import _bid, _decision, _overflow
from dtem.adapters.ledger.sql_signals import _record, _source
from dtem.adapters.ledger.sql_tiers import tier_from_row
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

_ACTIVE_VERSION = (  # the active version is the latest activation
    sa.select(t.policy_activations.c.version).order_by(t.policy_activations.c.id.desc()).limit(1)
)
_TIER_COLUMNS = [c.label(f"tier_{c.name}") for c in t.account_tiers.c]


class ListingsSql:
    """Mixed into `SqlTx`."""

    conn: Connection

    def account_page(self, query: AccountQuery) -> list[tuple[Account, AccountTier | None]]:
        a, tt = t.accounts.c, t.account_tiers.c
        q = (
            sa.select(t.accounts, *_TIER_COLUMNS)
            .outerjoin(t.account_tiers, tt.account_id == a.id)
            .order_by(a.external_id)
            .limit(query.limit)
        )
        if query.after is not None:
            q = q.where(a.external_id > query.after)
        if query.tier is not None:
            q = q.where(tt.tier == query.tier)
        if query.do_not_contact is not None:
            q = q.where(a.do_not_contact.is_(query.do_not_contact))
        out: list[tuple[Account, AccountTier | None]] = []
        for r in self.conn.execute(q).mappings():
            tier_row = {k.removeprefix("tier_"): v for k, v in r.items() if k.startswith("tier_")}
            stored = tier_from_row(tier_row) if tier_row["account_id"] is not None else None
            out.append((account_from_row(r), stored))
        return out

    def rep_page(self, query: RepQuery) -> list[Rep]:
        c = t.reps.c
        q = sa.select(t.reps).order_by(c.external_id).limit(query.limit)
        if query.after is not None:
            q = q.where(c.external_id > query.after)
        for column, value in ((c.manager, query.manager), (c.team, query.team),
                              (c.region, query.region)):  # fmt: skip
            if value is not None:
                folded = lower_text(self.conn, sa.func.trim(column))
                q = q.where(folded == value.strip().lower())
        return [rep_from_row(r) for r in self.conn.execute(q).mappings()]

    def decision_page(self, query: DecisionQuery) -> list[RoutingRecord]:
        d = t.routing_decisions.c
        q = sa.select(t.routing_decisions).order_by(d.id.desc()).limit(query.limit)
        if query.before is not None:
            q = q.where(d.id < query.before)
        if query.account_id is not None:
            q = q.where(d.account_id == query.account_id)
        if query.rep_id is not None:
            q = q.where(d.chosen_rep_id == query.rep_id)
        if query.since is not None:
            q = q.where(d.at >= query.since)
        return [_decision(r) for r in self.conn.execute(q).mappings()]

    def routing_decision(self, decision_id: int) -> RoutingRecord:
        q = sa.select(t.routing_decisions).where(t.routing_decisions.c.id == decision_id)
        row = self.conn.execute(q).mappings().first()
        if row is None:
            raise NotFound(f"routing decision {decision_id} does not exist")
        return _decision(row)

    def audit_page(self, query: AuditQuery) -> list[AuditEntry]:
        c = t.audit_log.c
        q = sa.select(t.audit_log).order_by(c.seq.desc()).limit(query.limit)
        if query.before is not None:
            q = q.where(c.seq < query.before)
        if query.action is not None:
            q = q.where(c.action == query.action)
        if query.actor is not None:
            q = q.where(c.actor == query.actor)
        if query.since is not None:  # `at` is the ISO text that was hashed, always UTC
            q = q.where(c.at >= as_utc(query.since).isoformat())
        return [AuditEntry(**dict(r)) for r in self.conn.execute(q).mappings()]

    def opportunity_page(self, query: OpportunityQuery) -> list[Opportunity]:
        o, a, r = t.opportunities, t.accounts, t.reps
        q = (
            sa.select(o, a.c.external_id.label("account_xid"), r.c.external_id.label("rep_xid"))
            .outerjoin(a, a.c.id == o.c.account_id)
            .outerjoin(r, r.c.id == o.c.rep_id)
            .order_by(o.c.external_id)
            .limit(query.limit)
        )
        if query.after is not None:
            q = q.where(o.c.external_id > query.after)
        if query.account is not None:
            q = q.where(a.c.external_id == query.account)
        if query.rep is not None:
            q = q.where(r.c.external_id == query.rep)
        if query.stage is not None:
            q = q.where(o.c.stage == query.stage)
        if query.unattached is not None:
            waiting = o.c.account_id.is_(None)
            q = q.where(waiting if query.unattached else sa.not_(waiting))
        return [_opportunity(row) for row in self.conn.execute(q).mappings()]

    def import_batch_page(self, page: IdPage) -> list[ImportBatch]:
        rows = self.conn.execute(_by_id(t.import_batches, page)).mappings()
        return [
            ImportBatch(
                r["id"], r["kind"], r["file"], r["sha256"], as_utc(r["at"]), r["actor"], r["counts"]
            )
            for r in rows
        ]

    def token_page(self, page: IdPage) -> list[TokenRecord]:
        return [token_from_row(r) for r in self.conn.execute(_by_id(t.api_tokens, page)).mappings()]

    def source_page(self, page: IdPage) -> list[SignalSource]:
        rows = self.conn.execute(_by_id(t.signal_sources, page)).mappings()
        return [_source(r) for r in rows]

    def unmatched_page(self, page: IdPage) -> list[tuple[int, SignalRecord]]:
        q = _by_id(t.signals, page).where(t.signals.c.account_id.is_(None))
        return [(r["id"], _record(r)) for r in self.conn.execute(q).mappings()]

    def overflow_page(self, open_only: bool, page: IdPage) -> list[OverflowEntry]:
        q = _by_id(t.overflow_queue, page)
        if open_only:
            q = q.where(t.overflow_queue.c.resolved_at.is_(None))
        return [_overflow(r) for r in self.conn.execute(q).mappings()]

    def policy_page(self, page: IdPage) -> list[PolicyVersion]:
        active = self.conn.execute(_ACTIVE_VERSION).scalar()
        p = t.policies.c
        q = sa.select(t.policies).order_by(p.version.desc() if page.newest_first else p.version)
        if page.after is not None:
            q = q.where(p.version < page.after if page.newest_first else p.version > page.after)
        return [
            PolicyVersion(r["version"], as_utc(r["created_at"]), r["created_by"], r["note"],
                          r["version"] == active)
            for r in self.conn.execute(q.limit(page.limit)).mappings()
        ]  # fmt: skip

    def bid_page(
        self, quarter: str | None, after: tuple[str, int] | None, limit: int | None
    ) -> list[CapacityBid]:
        b = t.capacity_bids.c
        q = sa.select(t.capacity_bids).order_by(b.quarter, b.rep_id).limit(limit)
        if quarter is not None:
            q = q.where(b.quarter == quarter)
        if after is not None:
            q = q.where(sa.tuple_(b.quarter, b.rep_id) > sa.tuple_(*after))
        return [_bid(r) for r in self.conn.execute(q).mappings()]

    def period_page(self, before: str | None, limit: int) -> list[ClosedPeriod]:
        p = t.comp_periods.c
        q = sa.select(t.comp_periods).order_by(p.period.desc()).limit(limit)
        if before is not None:
            q = q.where(p.period < before)
        return [
            ClosedPeriod(r["period"], as_utc(r["closed_at"]), r["closed_by"])
            for r in self.conn.execute(q).mappings()
        ]


def _by_id(table: sa.Table, page: IdPage) -> sa.Select[Any]:
    key = table.c.id
    q = sa.select(table).order_by(key.desc() if page.newest_first else key).limit(page.limit)
    if page.after is not None:
        q = q.where(key < page.after if page.newest_first else key > page.after)
    return q
