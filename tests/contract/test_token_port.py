"""TokenPort: API tokens behave the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.ports import TokenRecord
from tests.conftest import T0


def test_tokens_are_found_by_hash_and_revoked(ledger: Any) -> None:
    with ledger.transaction() as tx:
        token_id = tx.add_token(TokenRecord("h" * 64, "admin", "ops", T0))
        tx.revoke_token(token_id, T0)
    with ledger.transaction() as tx:
        found = tx.token_by_hash("h" * 64)
        assert found is not None and found.revoked_at == T0 and found.role == "admin"
        assert tx.token_by_hash("x" * 64) is None


def test_tokens_are_listed_with_their_ids_and_fields(ledger: Any) -> None:
    expires = T0 + timedelta(days=30)
    with ledger.transaction() as tx:
        first = tx.add_token(TokenRecord("a" * 64, "admin", "ops", T0))
        second = tx.add_token(TokenRecord("b" * 64, "rep", "rita", T0, expires, subject="R1"))
        tx.revoke_token(first, T0 + timedelta(hours=1))
    with ledger.transaction() as tx:
        listed = sorted(tx.tokens(), key=lambda t: t.id)
    assert [(t.id, t.role, t.name) for t in listed] == [
        (first, "admin", "ops"),
        (second, "rep", "rita"),
    ]
    assert listed[0].revoked_at == T0 + timedelta(hours=1) and listed[1].revoked_at is None
    assert (listed[1].expires_at, listed[1].subject) == (expires, "R1")


def test_a_token_use_is_recorded_at_most_once_per_window(ledger: Any) -> None:
    with ledger.transaction() as tx:
        token_id = tx.add_token(TokenRecord("c" * 64, "viewer", "v", T0))
        tx.mark_token_used(token_id, T0 + timedelta(seconds=5), T0 - timedelta(minutes=1))
    later = T0 + timedelta(seconds=30)
    with ledger.transaction() as tx:  # used 25 s before: kept
        tx.mark_token_used(token_id, later, later - timedelta(minutes=1))
        assert tx.token_by_hash("c" * 64).last_used_at == T0 + timedelta(seconds=5)
    much_later = T0 + timedelta(minutes=5)
    with ledger.transaction() as tx:
        tx.mark_token_used(token_id, much_later, much_later - timedelta(minutes=1))
    with ledger.transaction() as tx:
        assert [t.last_used_at for t in tx.tokens()] == [much_later]
