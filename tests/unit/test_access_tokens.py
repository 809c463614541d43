"""Token creation refuses tokens that would see too much or never expire; uses are recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid, NotFound
from dtem.domain.model import Rep
from dtem.services import access, audit


@pytest.fixture
def ledger() -> MemoryLedger:
    led = MemoryLedger()
    with led.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita")], T0)
    return led


@pytest.mark.parametrize("ttl", [0, -1, -0.5])
def test_a_ttl_that_is_not_positive_is_refused_naming_the_option(
    ledger: MemoryLedger, clock: FixedClock, ttl: float
) -> None:
    with pytest.raises(ArgumentInvalid, match="--ttl-days must be a positive"):
        access.create_token(ledger, clock, "admin", ttl_days=ttl)
    with ledger.transaction() as tx:
        assert tx.tokens() == []


@pytest.mark.parametrize("role", ["rep", "agent"])
@pytest.mark.parametrize("subject", [None, "", "  "])
def test_rep_and_agent_tokens_need_a_subject(
    ledger: MemoryLedger, clock: FixedClock, role: str, subject: str | None
) -> None:
    with pytest.raises(ArgumentInvalid, match=f"a {role} token needs --subject"):
        access.create_token(ledger, clock, role, subject=subject)


def test_a_rep_token_must_name_an_existing_rep(ledger: MemoryLedger, clock: FixedClock) -> None:
    with pytest.raises(NotFound, match="--subject: rep 'R9' does not exist"):
        access.create_token(ledger, clock, "rep", subject="R9")
    token_id, _ = access.create_token(ledger, clock, "rep", subject="R1", ttl_days=30)
    with ledger.transaction() as tx:
        (made,) = tx.tokens()
    assert (made.id, made.subject, made.expires_at) == (token_id, "R1", T0 + timedelta(days=30))


def test_create_and_revoke_are_audited_with_actor_and_token_id(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    token_id, _ = access.create_token(ledger, clock, "agent", subject="bot", actor="ops")
    access.revoke_token(ledger, clock, token_id, actor="sec")
    entries = [(e.actor, e.action, e.payload["token_id"]) for e in audit.recent_entries(ledger, 5)]
    assert sorted(entries) == [("ops", "token.create", token_id), ("sec", "token.revoke", token_id)]


def test_last_use_is_written_at_most_once_a_minute(ledger: MemoryLedger, clock: FixedClock) -> None:
    _, secret = access.create_token(ledger, clock, "viewer")
    access.authenticate(ledger, clock, secret)
    clock.advance(seconds=59)
    access.authenticate(ledger, clock, secret)
    with ledger.transaction() as tx:
        assert [t.last_used_at for t in tx.tokens()] == [T0]
    clock.advance(seconds=2)
    access.authenticate(ledger, clock, secret)
    with ledger.transaction() as tx:
        assert [t.last_used_at for t in tx.tokens()] == [clock()]


def test_revoking_twice_keeps_the_first_time_and_one_audit_entry(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    token_id, _ = access.create_token(ledger, clock, "viewer")
    assert access.revoke_token(ledger, clock, token_id) == T0
    clock.advance(hours=1)
    assert access.revoke_token(ledger, clock, token_id) == T0
    with ledger.transaction() as tx:
        assert [t.revoked_at for t in tx.tokens()] == [T0]
    actions = [e.action for e in audit.recent_entries(ledger, 10)]
    assert actions.count("token.revoke") == 1
    with pytest.raises(NotFound, match="token 99 does not exist"):
        access.revoke_token(ledger, clock, 99)
