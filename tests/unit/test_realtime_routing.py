"""A hand-raise or a threshold crossing routes the account to a rep at once, not at the review."""

from __future__ import annotations

from typing import Any

from tests.conftest import sql_ledger

from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep, Tier
from dtem.services import governance
from dtem.services.routing import overflow
from dtem.services.signals import receive_calls
from dtem.services.signals.messages import parse_call


def _ledger(url: str, clock: FixedClock, reps: int = 2) -> Any:
    ledger = sql_ledger(url)
    governance.ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account("A1", "Acme", domain="acme.com"),
                Account("A3", "Tiny", domain="tiny.io", tier=Tier.AI_ONLY),
            ],
            clock(),
        )
        tx.insert_reps([Rep(f"R{i}", f"Rep {i}", capacity=5) for i in range(reps)], clock())
    return ledger


def _track(event: str, domain: str, n: int) -> Any:
    body = {"userId": "u1", "event": event, "messageId": f"m{n}", "properties": {"domain": domain}}
    return parse_call("track", body)


def test_demo_request_leases_the_account_in_the_same_delivery(
    sqlite_url: str, clock: FixedClock
) -> None:
    ledger = _ledger(sqlite_url, clock)
    receive_calls(ledger, clock, [_track("Demo Requested", "acme.com", 1)], signal_pipeline())
    with ledger.transaction() as tx:
        account_id = tx.accounts_by_external_id(["A1"])["A1"].id
        lease = tx.active_lease(account_id)
        pending = tx.score_events(unconsumed=True)
    assert lease is not None and lease.granted_at == clock()
    assert pending == []


def test_tier3_account_is_routed_to_a_human_only_on_a_hand_raise(
    sqlite_url: str, clock: FixedClock
) -> None:
    ledger = _ledger(sqlite_url, clock)
    receive_calls(ledger, clock, [_track("Pricing Page Viewed", "tiny.io", 1)], signal_pipeline())
    with ledger.transaction() as tx:
        account_id = tx.accounts_by_external_id(["A3"])["A3"].id
        assert tx.active_lease(account_id) is None
    receive_calls(ledger, clock, [_track("Demo Requested", "tiny.io", 2)], signal_pipeline())
    with ledger.transaction() as tx:
        assert tx.active_lease(account_id) is not None


def test_hand_raise_with_no_rep_waits_in_the_overflow_queue(
    sqlite_url: str, clock: FixedClock
) -> None:
    ledger = _ledger(sqlite_url, clock, reps=0)
    receive_calls(ledger, clock, [_track("Demo Requested", "acme.com", 1)], signal_pipeline())
    with ledger.transaction() as tx:
        account_id = tx.accounts_by_external_id(["A1"])["A1"].id
        assert tx.active_lease(account_id) is None
    queued = overflow(ledger)
    assert [q["account"] for q in queued] == ["A1"]
