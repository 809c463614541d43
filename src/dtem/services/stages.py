"""An opportunity's stage changed (API or CRM sync): store it, then advance or close the lease.

>>> # change_stage(ledger, clock, "OPP-1", "Proposal", actor="crm").leases[0].state
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import InputInvalid, NotFound, RowError
from dtem.domain.model import Lease
from dtem.domain.ports import (
    AuditPort,
    CompPort,
    DirectoryPort,
    LeasesPort,
    LedgerOf,
    OpportunitiesPort,
    OutboxPort,
    PolicyPort,
)
from dtem.domain.store_imports import StageEntry
from dtem.services.comp.commissions import DealChange, settle
from dtem.services.governance import active_policy
from dtem.services.leases import StageChange, record_advances


class _StageMove(
    OpportunitiesPort,
    DirectoryPort,
    PolicyPort,
    LeasesPort,
    AuditPort,
    CompPort,
    OutboxPort,
    Protocol,
):
    """The opportunity and its history, its account, the policy's stages, the lease, and
    the commission a win pays."""


@dataclass(frozen=True)
class StageResult:
    stage: str
    previous_stage: str | None
    leases: list[Lease]  # leases extended or closed by this change


def change_stage(
    ledger: LedgerOf[_StageMove],
    clock: Clock,
    opportunity: str,
    label: str,
    actor: str,
    source: str = "api",
) -> StageResult:
    """Move an opportunity to a stage (a policy stage or one of its aliases)."""
    with ledger.transaction() as tx:
        active = active_policy(tx)
        stage = active.policy.canonical_stage(label)
        if stage is None:
            err = RowError(source, 1, "stage", label, "not a stage of the active policy")
            raise InputInvalid([err], source=source)
        opp = tx.opportunities_by_external_id([opportunity]).get(opportunity)
        if opp is None:
            raise NotFound(f"opportunity {opportunity!r} does not exist")
        now = clock()
        tx.update_opportunities([replace(opp, stage=stage)], now)
        tx.append_stage_history([StageEntry(opportunity, stage, now, source)])
        if opp.account_external_id is None:  # unattached: no account, so no lease to move
            return StageResult(stage, opp.stage, [])
        account = tx.accounts_by_external_id([opp.account_external_id])[opp.account_external_id]
        assert account.id is not None
        deal = DealChange(replace(opp, stage=stage), opp.stage, account.id)
        settle(tx, [deal], now, actor)  # a win pays commission before its lease closes
        change = StageChange(account.id, stage, opp.stage, now, source)
        changed = record_advances(tx, [change], active, actor)
    return StageResult(stage, opp.stage, changed)
