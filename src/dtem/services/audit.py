"""Audit queries: verify the hash chain, list entries."""

from __future__ import annotations

from dtem.domain.audit import AuditEntry, verify_chain
from dtem.domain.ports import AuditPort, LedgerOf


def verify_audit(ledger: LedgerOf[AuditPort]) -> int:
    """Walk the whole chain; return the number of entries. Raises `AuditChainBroken`."""
    with ledger.transaction() as tx:
        return verify_chain(tx.audit_entries())


def recent_entries(ledger: LedgerOf[AuditPort], limit: int = 50) -> list[AuditEntry]:
    with ledger.transaction() as tx:
        entries = list(tx.audit_entries())
    return entries[-limit:]
