"""Audit queries: verify the hash chain, list entries."""

from __future__ import annotations

from dtem.domain.audit import AuditEntry, verify_chain
from dtem.domain.ports import Ledger


def verify_audit(ledger: Ledger) -> int:
    """Walk the whole chain; return the number of entries. Raises `AuditChainBroken`."""
    with ledger.transaction() as tx:
        return verify_chain(tx.audit_entries())


def recent_entries(ledger: Ledger, limit: int = 50) -> list[AuditEntry]:
    with ledger.transaction() as tx:
        entries = list(tx.audit_entries())
    return entries[-limit:]
