"""Stored routing decisions as people read them: which account, the outcome, the rep
chosen, every candidate and why the others were excluded.

    list_decisions(ledger, account="ACME-1", limit=20)   # newest first
    show_decision(ledger, 42).candidates
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.errors import NotFound
from dtem.domain.listings import DecisionQuery
from dtem.domain.ports import DirectoryPort, LedgerOf, ListingsPort
from dtem.domain.store_market import RoutingRecord


class _DecisionTx(ListingsPort, DirectoryPort, Protocol):
    """Decisions, and the accounts and reps they name."""


@dataclass(frozen=True)
class DecisionView:
    id: int
    account: str
    at: datetime
    trigger: str
    outcome: str
    policy_version: int
    rep: str | None
    lease_id: int | None
    candidates: list[dict[str, Any]]
    exclusions: dict[str, str]


def list_decisions(
    ledger: LedgerOf[_DecisionTx],
    account: str | None = None,
    rep: str | None = None,
    since: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[DecisionView]:
    """Decisions newest first (ids below `before`), of one account and/or one chosen rep,
    at or after `since`; an unknown account or rep is `NotFound`."""
    with ledger.transaction() as tx:
        account_id = _account_id(tx, account) if account else None
        rep_id = _rep_id(tx, rep) if rep else None
        query = DecisionQuery(account_id, rep_id, since, before, limit)
        return _views(tx, tx.decision_page(query))


def show_decision(
    ledger: LedgerOf[_DecisionTx], decision_id: int, as_rep: str | None = None
) -> DecisionView:
    """One decision; with `as_rep`, one that chose another rep is `NotFound` (as a missing
    one)."""
    with ledger.transaction() as tx:
        (view,) = _views(tx, [tx.routing_decision(decision_id)])
    if as_rep is not None and view.rep != as_rep:
        raise NotFound(f"routing decision {decision_id} does not exist")
    return view


def _account_id(tx: DirectoryPort, external_id: str) -> int:
    found = tx.accounts_by_external_id([external_id]).get(external_id)
    if found is None or found.id is None:
        raise NotFound(f"account {external_id!r} does not exist")
    return found.id


def _rep_id(tx: DirectoryPort, external_id: str) -> int:
    found = tx.reps_by_external_id([external_id]).get(external_id)
    if found is None or found.id is None:
        raise NotFound(f"rep {external_id!r} does not exist")
    return found.id


def _views(tx: _DecisionTx, rows: list[RoutingRecord]) -> list[DecisionView]:
    accounts = tx.accounts_by_id({r.account_id for r in rows})
    reps = {r.id: r.external_id for r in tx.all_reps()} if rows else {}
    return [
        DecisionView(
            id=r.id or 0,
            account=accounts[r.account_id].external_id if r.account_id in accounts else "",
            at=r.at,
            trigger=r.trigger,
            outcome=r.outcome,
            policy_version=r.policy_version,
            rep=reps.get(r.chosen_rep_id) if r.chosen_rep_id else None,
            lease_id=r.lease_id,
            candidates=r.candidates,
            exclusions=r.exclusions,
        )
        for r in rows
    ]
