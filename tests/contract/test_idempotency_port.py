"""IdempotencyPort: claim, finish, forget and expiry on memory, SQLite, PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.ports.idempotency import IdempotentRequest
from tests.conftest import T0

DAY = timedelta(hours=24)


def _claim(ledger: Any, request: IdempotentRequest) -> IdempotentRequest | None:
    with ledger.transaction() as tx:
        got: IdempotentRequest | None = tx.claim_idempotency_key(request, request.created_at - DAY)
        return got


def test_the_first_claim_wins_and_the_second_reads_it_in_flight(ledger: Any) -> None:
    first = IdempotentRequest("tokenhash", "k1", "fp1", T0)
    assert _claim(ledger, first) is None
    again = _claim(ledger, IdempotentRequest("tokenhash", "k1", "fp2", T0))
    assert again == first  # status None: still running
    assert _claim(ledger, IdempotentRequest("otherhash", "k1", "fp1", T0)) is None


def test_a_finished_claim_is_read_back_with_its_answer(ledger: Any) -> None:
    _claim(ledger, IdempotentRequest("p", "k", "fp", T0))
    with ledger.transaction() as tx:
        tx.finish_idempotency_key("p", "k", 201, "application/json", b'{"version": 2}')
    held = _claim(ledger, IdempotentRequest("p", "k", "fp", T0 + timedelta(hours=1)))
    assert held is not None
    assert (held.status, held.content_type, held.body) == (
        201, "application/json", b'{"version": 2}'
    )  # fmt: skip
    assert held.created_at == T0


def test_a_forgotten_or_expired_claim_can_be_claimed_again(ledger: Any) -> None:
    _claim(ledger, IdempotentRequest("p", "k", "fp", T0))
    with ledger.transaction() as tx:
        tx.forget_idempotency_key("p", "k")
    assert _claim(ledger, IdempotentRequest("p", "k", "fp", T0)) is None
    later = IdempotentRequest("p", "k", "other", T0 + DAY + timedelta(seconds=1))
    assert _claim(ledger, later) is None
    assert _claim(ledger, IdempotentRequest("p", "k", "x", later.created_at)) == later
