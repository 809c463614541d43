"""Stored tiers and their reasons: recomputed on policy activation and import, named by a
person (audited), honoured by routing and the agent gateway; do-not-contact from the API
side; the routing sentence that says a hand-raise, not the score, routed an account."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import T0
from tests.market_seed import put_score, seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.policy import default_policy
from dtem.services import accounts, agents, routing
from dtem.services.governance import activate_policy, rollback_policy, store_policy
from dtem.services.imports.service import import_file

PIPE = signal_pipeline()


def _market() -> tuple[MemoryLedger, FixedClock, dict[str, int]]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    accounts_ = [
        Account("BIG", "Big", potential_value=900_000.0),
        Account("MID", "Mid", potential_value=40_000.0),
        Account("SMALL", "Small", potential_value=2_000.0),
    ]
    acc, _ = seed(ledger, clock, accounts_, [Rep("R1", "Rita")])
    for key in acc:
        put_score(ledger, acc[key], 20.0, T0, propensity=0.05)
    return ledger, clock, acc


def _activate_cuts(ledger: MemoryLedger, clock: FixedClock) -> None:
    doc = default_policy().to_dict() | {"tier1_value_cut": 500_000.0, "tier3_value_cut": 5_000.0}
    activate_policy(ledger, store_policy(ledger, doc, clock, "ana"), clock, "ana")


def test_activating_a_policy_stores_every_tier_with_its_reason() -> None:
    ledger, clock, acc = _market()
    _activate_cuts(ledger, clock)
    with ledger.transaction() as tx:
        stored = {k: tx.account_tiers()[i] for k, i in acc.items()}
    assert {k: int(v.tier) for k, v in stored.items()} == {"BIG": 1, "MID": 2, "SMALL": 3}
    assert stored["BIG"].reason == "potential value 900000 above the tier 1 cut 500000"
    assert stored["SMALL"].reason == "potential value 2000 below the tier 3 cut 5000"
    assert {v.policy_version for v in stored.values()} == {2}


def test_an_import_recomputes_the_tiers_of_the_accounts_it_writes(tmp_path: Path) -> None:
    ledger, clock, _acc = _market()
    _activate_cuts(ledger, clock)
    csv = tmp_path / "accounts.csv"
    csv.write_text("external_id,name,potential_value\nMID,Mid,800000\nNEW,New,1000\n")
    import_file(ledger, clock, "accounts", csv, pipeline=PIPE)
    with ledger.transaction() as tx:
        ids = tx.all_account_ids()
        stored = tx.account_tiers([ids["MID"], ids["NEW"]])
    assert stored[ids["MID"]].reason == "potential value 800000 above the tier 1 cut 500000"
    assert stored[ids["NEW"]].tier is Tier.AI_ONLY


def test_a_named_tier_beats_the_rules_is_audited_and_auto_gives_it_back() -> None:
    ledger, clock, _acc = _market()
    _activate_cuts(ledger, clock)
    named = accounts.set_tier(ledger, clock, "MID", "1", "ana", "board-level relationship")
    assert named.tier is Tier.HUMAN_ONLY
    assert named.reason == "set to tier 1 by ana at 2027-01-04 09:00: board-level relationship"
    assert "MID" not in {c.account for c in agents.claim_accounts(ledger, clock, "bot", 9).claims}
    _activate_cuts(ledger, clock)  # a new policy keeps the override
    assert accounts.show_account(ledger, clock, "MID").tier.tier is Tier.HUMAN_ONLY
    back = accounts.set_tier(ledger, clock, "MID", "auto", "ana")
    assert (back.tier, back.override) == (Tier.HYBRID, None)
    with ledger.transaction() as tx:
        audits = [e.payload for e in tx.audit_entries() if e.action == "account.tier"]
    assert [(p["set"], p["before"], p["tier"]) for p in audits] == [("1", 2, 1), ("auto", 1, 2)]


def test_a_tier_3_override_keeps_a_crossing_from_a_human() -> None:
    ledger, clock, acc = _market()
    accounts.set_tier(ledger, clock, "MID", "3", "ana")
    put_score(ledger, acc["MID"], 75.0, T0, propensity=0.3)
    result = routing.route(ledger, clock, "MID", "crossed_up")
    assert result.outcome == "pool" and "tier 3" in result.reason


def test_do_not_contact_ends_an_agent_claim_and_keeps_agents_away() -> None:
    ledger, clock, _acc = _market()
    claimed = {c.account for c in agents.claim_accounts(ledger, clock, "bot", 9).claims}
    assert "MID" in claimed
    marked = accounts.set_do_not_contact(ledger, clock, "MID", True, "ana", "asked us to stop")
    assert marked.do_not_contact and accounts.show_account(ledger, clock, "MID").claimed_by is None
    later = FixedClock(T0.replace(day=20))
    assert "MID" not in {c.account for c in agents.claim_accounts(ledger, later, "b2", 9).claims}
    accounts.set_do_not_contact(ledger, clock, "MID", False, "ana")
    assert "MID" in {c.account for c in agents.claim_accounts(ledger, later, "b3", 9).claims}


def test_show_says_a_hand_raise_not_the_score_routed_the_account() -> None:
    ledger, clock, _acc = _market()
    result = routing.route(ledger, clock, "MID", "hand_raise")
    assert result.outcome == "leased"
    view = accounts.show_account(ledger, clock, "MID")
    assert view.routed is not None and view.lease_rep == "R1"
    assert view.routed.sentence == (
        "routed by a hand-raise at 2027-01-04 09:00 UTC (score 20.0 below threshold 60)"
    )
    assert accounts.account_json(view)["routing"]["trigger"] == "hand_raise"


def test_a_policy_rollback_recomputes_the_tiers() -> None:
    ledger, clock, acc = _market()
    _activate_cuts(ledger, clock)
    rollback_policy(ledger, clock, "ana", "cuts too early")
    with ledger.transaction() as tx:
        big = tx.account_tiers([acc["BIG"]])[acc["BIG"]]
    assert (big.tier, big.policy_version) == (Tier.HYBRID, 3)
