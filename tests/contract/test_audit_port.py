"""AuditPort: the chain and its head behave the same on memory, SQLite and PostgreSQL.

Tampering is done the way an intruder with database access would: straight on the
tables (or, for the fake, on its state), never through the ledger port.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.audit import AuditNote, ChainHead, verify_chain
from dtem.domain.errors import AuditChainBroken
from dtem.services.audit import take_anchor, verify_audit
from tests.conftest import T0


def _append(ledger: Any, n: int) -> None:
    with ledger.transaction() as tx:
        start = tx.audit_head().entries if tx.audit_head() else 0
        for i in range(start, start + n):
            tx.append_audit("admin", "policy.store", {"version": i}, T0 + timedelta(minutes=i))


def _delete(ledger: Any, *seqs: int) -> None:
    if isinstance(ledger, MemoryLedger):
        ledger.state.audit = [e for e in ledger.state.audit if e.seq not in seqs]
        return
    with ledger.engine.begin() as conn:
        conn.execute(sa.delete(t.audit_log).where(t.audit_log.c.seq.in_(seqs)))


def _rewrite_head(ledger: Any, head: ChainHead | None) -> None:
    if isinstance(ledger, MemoryLedger):
        ledger.state.audit_head = head
        return
    with ledger.engine.begin() as conn:
        conn.execute(sa.delete(t.audit_head))
        if head is not None:
            conn.execute(sa.insert(t.audit_head).values(id=1, **head.to_dict()))


def _broken(ledger: Any, anchor: ChainHead | None = None) -> AuditChainBroken:
    with pytest.raises(AuditChainBroken) as err:
        verify_audit(ledger, anchor)
    return err.value


def test_head_follows_every_append_in_the_same_transaction(ledger: Any) -> None:
    with ledger.transaction() as tx:
        assert tx.audit_head() is None
    assert verify_audit(ledger) == 0
    _append(ledger, 3)
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.append_audit("admin", "rolled.back", {}, T0)
        raise RuntimeError("boom")
    with ledger.transaction() as tx:
        entries = list(tx.audit_entries())
        assert tx.audit_head() == ChainHead(3, entries[-1].hash)
    assert verify_audit(ledger) == 3


def test_deleting_the_last_entry_is_detected(ledger: Any) -> None:
    _append(ledger, 5)
    _delete(ledger, 5)
    err = _broken(ledger)
    assert err.seq == 5 and "audit entry #5 is missing" in str(err)


def test_deleting_a_middle_entry_names_it(ledger: Any) -> None:
    _append(ledger, 5)
    _delete(ledger, 3)
    err = _broken(ledger)
    assert err.seq == 3 and str(err) == "audit entry #3 is missing"


def test_an_append_after_a_deleted_tail_still_shows_the_gap(ledger: Any) -> None:
    _append(ledger, 5)
    _delete(ledger, 4, 5)
    _append(ledger, 1)
    assert str(_broken(ledger)) == "audit entry #4 is missing (#4 to #5 are all gone)"


def test_an_altered_entry_is_named(ledger: Any) -> None:
    _append(ledger, 5)
    if isinstance(ledger, MemoryLedger):
        e = ledger.state.audit[1]
        ledger.state.audit[1] = e.__class__(**{**e.__dict__, "actor": "mallory"})
    else:
        with ledger.engine.begin() as conn:
            conn.execute(sa.update(t.audit_log).where(t.audit_log.c.seq == 2).values(actor="x"))
    err = _broken(ledger)
    assert err.seq == 2 and "was altered" in str(err)


def test_a_truncation_with_a_consistent_head_is_caught_by_the_anchor(ledger: Any) -> None:
    _append(ledger, 5)
    anchor = take_anchor(ledger)
    assert anchor.entries == 5
    _append(ledger, 2)
    assert verify_audit(ledger, anchor) == 7  # a later chain still reaches the anchor
    with ledger.transaction() as tx:
        third = list(tx.audit_entries())[2]
    _delete(ledger, 4, 5, 6, 7)
    _rewrite_head(ledger, ChainHead(3, third.hash))
    assert verify_audit(ledger) == 3  # the database alone is fooled ...
    err = _broken(ledger, anchor)  # ... the anchor kept outside it is not
    assert err.seq == 4 and "the anchor records 5 entries" in str(err)


def test_a_deleted_head_is_reported_and_blocks_appends(ledger: Any) -> None:
    _append(ledger, 2)
    _rewrite_head(ledger, None)
    assert "head is missing" in str(_broken(ledger))
    with pytest.raises(AuditChainBroken, match="head is missing"), ledger.transaction() as tx:
        tx.append_audit("admin", "policy.store", {}, T0)


def test_audit_chain_links_entries_and_detects_edits(ledger: Any) -> None:
    with ledger.transaction() as tx:
        for i in range(3):
            tx.append_audit("admin", "policy.store", {"version": i}, T0 + timedelta(minutes=i))
    with ledger.transaction() as tx:
        entries = list(tx.audit_entries())
    assert [e.seq for e in entries] == [1, 2, 3]
    assert verify_chain(entries).entries == 3
    forged = [
        *entries[:1],
        entries[1].__class__(**{**entries[1].__dict__, "actor": "mallory"}),
        entries[2],
    ]
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(forged)
    assert err.value.seq == 2


def test_audit_entries_after_a_sequence_number(ledger: Any) -> None:
    with ledger.transaction() as tx:
        for i in range(3):
            tx.append_audit("admin", f"step.{i}", {"i": i}, T0)
    with ledger.transaction() as tx:
        assert [e.action for e in tx.audit_entries(after_seq=1)] == ["step.1", "step.2"]
        assert list(tx.audit_entries(after_seq=3)) == []


def test_bulk_appends_chain_on_from_the_head_and_verify(ledger: Any) -> None:
    _append(ledger, 2)
    notes = [AuditNote("rebalance", "lease.granted", {"lease_id": i}, T0) for i in range(5)]
    with ledger.transaction() as tx:
        entries = tx.append_audits(notes)
        assert [e.seq for e in entries] == [3, 4, 5, 6, 7]
        assert tx.append_audits([]) == []
    with ledger.transaction() as tx:
        chain = list(tx.audit_entries())
        head = tx.audit_head()
    assert head == ChainHead(7, entries[-1].hash)
    assert verify_chain(chain, {"the chain head": head}) == head
    assert [e.payload for e in chain[2:]] == [n.payload for n in notes]
