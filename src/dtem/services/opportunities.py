"""Opportunities as people read them: the pipeline by account, owner or stage, and one
opportunity with its stage history.

    list_opportunities(ledger, account="ACME-1")[0].stage
    show_opportunity(ledger, "OPP-7").history[-1].stage
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dtem.domain.errors import NotFound
from dtem.domain.listings import OpportunityQuery
from dtem.domain.model import Opportunity
from dtem.domain.ports import LedgerOf, ListingsPort, OpportunitiesPort
from dtem.domain.store_imports import StageEntry


class _OpportunityTx(ListingsPort, OpportunitiesPort, Protocol):
    """Opportunities and their stage history."""


@dataclass(frozen=True)
class OpportunityView:
    opportunity: Opportunity
    history: list[StageEntry]


def list_opportunities(
    ledger: LedgerOf[ListingsPort],
    account: str | None = None,
    rep: str | None = None,
    stage: str | None = None,
    after: str | None = None,
    limit: int | None = 50,
) -> list[Opportunity]:
    """Opportunities by external id (after `after`), of one account, owner or stage."""
    query = OpportunityQuery(account=account, rep=rep, stage=stage, after=after, limit=limit)
    with ledger.transaction() as tx:
        return tx.opportunity_page(query)


def show_opportunity(ledger: LedgerOf[_OpportunityTx], external_id: str) -> OpportunityView:
    """One opportunity and every stage it was in; `NotFound` for an unknown id."""
    with ledger.transaction() as tx:
        found = tx.opportunities_by_external_id([external_id]).get(external_id)
        if found is None:
            raise NotFound(f"opportunity {external_id!r} does not exist")
        return OpportunityView(found, tx.stage_history(external_id))
