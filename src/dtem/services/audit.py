"""Audit queries: verify the hash chain against its head and an anchor, take an anchor."""

from __future__ import annotations

from datetime import datetime

from dtem.domain.audit import AuditEntry, ChainHead, verify_chain
from dtem.domain.errors import AuditChainBroken
from dtem.domain.listings import AuditQuery
from dtem.domain.ports import AuditPort, LedgerOf, ListingsPort


def verify_audit(ledger: LedgerOf[AuditPort], anchor: ChainHead | None = None) -> int:
    """Walk the whole chain; return the number of entries. Raises `AuditChainBroken`.

    The chain must reach the ledger's head (so entries cut off the end show) and, when
    given, an `anchor` taken earlier with `take_anchor` and kept outside the database (so
    a truncation whose head was rewritten to match shows too).
    """
    return _verified_end(ledger, anchor).entries


def take_anchor(ledger: LedgerOf[AuditPort]) -> ChainHead:
    """Verify the chain, then return its end: keep it outside the database."""
    return _verified_end(ledger, None)


def _verified_end(ledger: LedgerOf[AuditPort], anchor: ChainHead | None) -> ChainHead:
    with ledger.transaction() as tx:
        # Read the head before the entries (it then covers no more than they do) and again
        # after (it then covers every entry read): right even while others append.
        before = tx.audit_head()
        marks = {"the chain head": before, "the anchor": anchor}
        end = verify_chain(tx.audit_entries(), {k: v for k, v in marks.items() if v})
        after = tx.audit_head()
    if end.entries and after is None:
        raise AuditChainBroken(None, f"head is missing: {end.entries} entries cannot be checked")
    if after is not None and end.entries > after.entries:
        raise AuditChainBroken(after.entries + 1, "is not recorded in the chain head")
    return end


def recent_entries(ledger: LedgerOf[ListingsPort], limit: int = 50) -> list[AuditEntry]:
    """The latest `limit` entries, oldest first (as `dtem audit list` prints them)."""
    return list_entries(ledger, limit=limit)[::-1]


def list_entries(
    ledger: LedgerOf[ListingsPort],
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Entries newest first (sequence numbers below `before`), of one action and/or actor,
    at or after `since`. Example: `list_entries(ledger, action="policy.activate")`."""
    with ledger.transaction() as tx:
        return tx.audit_page(AuditQuery(action, actor, since, before, limit))
