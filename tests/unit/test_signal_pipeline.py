"""The signal pipeline as bootstrap wires it: ingest → score → route in one unit of work."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.policy import default_policy
from dtem.services import governance
from dtem.services.governance import PolicyCache, active_policy
from dtem.services.signals import receive_calls
from dtem.services.signals.messages import parse_call


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    led = MemoryLedger()
    governance.ensure_policy(led, clock)
    with led.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
        tx.insert_reps([Rep("R1", "Rep 1", capacity=5)], T0)
    return led


def _track(event: str, n: int) -> Any:
    body = {
        "userId": "u1",
        "event": event,
        "messageId": f"m{n}",
        "properties": {"domain": "acme.com"},
    }
    return parse_call("track", body)


def _count_policy_reads(monkeypatch: pytest.MonkeyPatch, ledger: MemoryLedger) -> list[int]:
    reads: list[int] = []
    with ledger.transaction() as tx:
        tx_class = type(tx)
    original = tx_class.policy_document

    def counted(self: Any, version: int) -> Any:
        reads.append(version)
        return original(self, version)

    monkeypatch.setattr(tx_class, "policy_document", counted)
    return reads


def test_a_policy_version_is_read_and_validated_once_per_pipeline(
    ledger: MemoryLedger, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _count_policy_reads(monkeypatch, ledger)
    pipeline = signal_pipeline()
    for n in range(3):  # each delivery scores and routes (a hand-raise) under the policy
        receive_calls(ledger, clock, [_track("Demo Requested", n)], pipeline)
    assert reads == [1]
    changed = default_policy().to_dict() | {"threshold": 70.0}
    version = governance.store_policy(ledger, changed, clock, "ops")
    governance.activate_policy(ledger, version, clock, "ops")
    reads.clear()
    receive_calls(ledger, clock, [_track("Demo Requested", 9)], pipeline)
    assert reads == [version]  # the newly active version, read once


def test_policy_cache_follows_the_active_version(ledger: MemoryLedger, clock: FixedClock) -> None:
    cache = PolicyCache()
    with ledger.transaction() as tx:
        first = active_policy(tx, cache)
        assert active_policy(tx, cache) is first
    changed = default_policy().to_dict() | {"threshold": 70.0}
    version = governance.store_policy(ledger, changed, clock, "ops")
    governance.activate_policy(ledger, version, clock, "ops")
    with ledger.transaction() as tx:
        now_active = active_policy(tx, cache)
    assert (now_active.version, now_active.policy.threshold) == (version, 70.0)
    assert now_active == active_policy_uncached(ledger)


def active_policy_uncached(ledger: MemoryLedger) -> governance.ActivePolicy:
    with ledger.transaction() as tx:
        return active_policy(tx)


def test_a_hand_raise_is_routed_on_the_score_it_just_wrote_and_its_trigger_consumed(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    got = receive_calls(ledger, clock, [_track("Demo Requested", 1)], signal_pipeline())
    assert got.accepted == 1
    with ledger.transaction() as tx:
        (score,) = tx.latest_scores().values()
        events = tx.score_events()
        (decision,) = tx.routing_decisions(score.account_id, 5)
        lease = tx.active_lease(score.account_id)
    # the default hand-raise weight vaults the account over the threshold: it crosses too,
    # and the hand-raise (which outranks a crossing) is the trigger routing names
    assert sorted(e.kind for e in events) == ["crossed_up", "hand_raise"]
    assert all(e.consumed_at == clock() for e in events)
    assert decision.trigger == "hand_raise" and decision.outcome == "leased"
    assert lease is not None and lease.score_at_grant == pytest.approx(score.score)
