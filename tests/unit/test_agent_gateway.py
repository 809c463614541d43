"""The agent gateway's use cases on the in-memory ledger: claim, touch, hand-raise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import T0
from tests.market_seed import put_score, seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ClaimNotHeld, InputInvalid
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.policy import default_policy
from dtem.services import agents
from dtem.services.governance import activate_policy, store_policy

PIPE = signal_pipeline()


def _market() -> tuple[MemoryLedger, FixedClock, dict[str, int]]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    accounts = [
        Account("NAMED", "Named", tier=Tier.HUMAN_ONLY, potential_value=90_000.0),
        Account("DNC", "Do not", do_not_contact=True, potential_value=80_000.0),
        Account("HOT", "Hot", potential_value=70_000.0),
        Account("BIG", "Big", potential_value=60_000.0),
        Account("SMALL", "Small", potential_value=5_000.0),
        Account("LEASED", "Leased", potential_value=50_000.0),
    ]
    acc, rep = seed(ledger, clock, accounts, [Rep("R1", "Rita")])
    for key in acc:
        put_score(ledger, acc[key], 82.0 if key == "HOT" else 10.0, T0, propensity=0.05)
    with ledger.transaction() as tx:
        tx.grant_lease(acc["LEASED"], rep["R1"], T0, T0 + timedelta(days=30), 70.0, 1, "x")
    return ledger, clock, acc


def test_claims_skip_tier1_dnc_hot_and_leased_accounts_best_first() -> None:
    ledger, clock, _ = _market()
    got = agents.claim_accounts(ledger, clock, "bot-a", 10)
    assert [c.account for c in got.claims] == ["BIG", "SMALL"]
    assert got.claims[0].nurture_value == pytest.approx(0.05 * 60_000.0)
    assert got.note  # fewer than asked, and it says so
    assert agents.claim_accounts(ledger, clock, "bot-b", 10).claims == []


def test_a_lapsed_claim_frees_the_account_for_another_agent() -> None:
    ledger, clock, _ = _market()
    agents.claim_accounts(ledger, clock, "bot-a", 1)
    clock.advance(minutes=default_policy().agent_claim_ttl_minutes)
    assert [c.account for c in agents.claim_accounts(ledger, clock, "bot-b", 1).claims] == ["BIG"]


def test_policy_tier_rules_move_accounts_between_tiers() -> None:
    ledger, clock, _ = _market()
    doc = default_policy().to_dict() | {"tier1_value_cut": 55_000.0}
    activate_policy(ledger, store_policy(ledger, doc, clock, "t"), clock, "t")
    assert [c.account for c in agents.claim_accounts(ledger, clock, "bot", 9).claims] == ["SMALL"]


def test_touch_is_an_activity_and_a_scored_signal_and_the_cap_holds() -> None:
    ledger, clock, acc = _market()
    agents.claim_accounts(ledger, clock, "bot-a", 1)
    for _ in range(3):
        agents.record_touch(ledger, clock, "bot-a", "BIG", "email_sent", PIPE)
    with ledger.transaction() as tx:
        assert tx.agent_touch_counts([acc["BIG"]], T0) == {acc["BIG"]: 3}
        assert tx.score_history(acc["BIG"])[0].method == "incremental"
    clock.advance(hours=2)  # the claim lapsed; BIG is at its weekly cap
    assert [c.account for c in agents.claim_accounts(ledger, clock, "bot-a", 5).claims] == ["SMALL"]


def test_touch_on_an_account_not_held_is_refused_and_audited() -> None:
    ledger, clock, _ = _market()
    agents.claim_accounts(ledger, clock, "bot-a", 1)
    with pytest.raises(ClaimNotHeld):
        agents.record_touch(ledger, clock, "bot-b", "BIG", "call", PIPE)
    with pytest.raises(InputInvalid):
        agents.record_touch(ledger, clock, "bot-a", "BIG", "fax", PIPE)
    with ledger.transaction() as tx:
        refused = [e for e in tx.audit_entries() if e.action == "agent.refused"]
    assert len(refused) == 1 and refused[0].actor == "agent:bot-b"


def test_hand_raise_leases_the_account_to_a_human_in_the_same_call() -> None:
    ledger, clock, acc = _market()
    agents.claim_accounts(ledger, clock, "bot-a", 1)
    got = agents.raise_hand(ledger, clock, "bot-a", "BIG", PIPE, "asked for a demo")
    assert got.outcome == "leased" and got.rep == "R1" and got.lease_id is not None
    with ledger.transaction() as tx:
        assert tx.active_claim(acc["BIG"], clock()) is None
        lease = tx.active_lease(acc["BIG"])
        assert lease is not None and "hand_raise" in lease.reason
