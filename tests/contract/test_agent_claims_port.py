"""The agent-claim store on memory, SQLite and PostgreSQL: one open claim per account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Activity
from tests.conftest import T0
from tests.market_seed import seed

HOUR = timedelta(hours=1)


def _accounts(ledger: Any) -> dict[str, int]:
    acc, _ = seed(ledger, FixedClock(T0), [Account("A1", "One"), Account("A2", "Two")], [])
    return acc


def test_second_open_claim_on_an_account_writes_nothing(ledger: Any) -> None:
    acc = _accounts(ledger)
    with ledger.transaction() as tx:
        first = tx.add_claim(acc["A1"], "bot-a", T0, T0 + HOUR, 1)
        assert first is not None and first.agent == "bot-a" and first.expires_at == T0 + HOUR
        assert tx.add_claim(acc["A1"], "bot-b", T0, T0 + HOUR, 1) is None
        assert tx.add_claim(acc["A2"], "bot-b", T0, T0 + HOUR, 1) is not None
    with ledger.transaction() as tx:
        held = tx.active_claim(acc["A1"], T0)
        assert held is not None and held.agent == "bot-a"
        assert tx.claimed_account_ids(T0) == {acc["A1"], acc["A2"]}


def test_lapsed_and_released_claims_free_the_account(ledger: Any) -> None:
    acc = _accounts(ledger)
    with ledger.transaction() as tx:
        a = tx.add_claim(acc["A1"], "bot-a", T0, T0 + HOUR, 1)
        b = tx.add_claim(acc["A2"], "bot-a", T0, T0 + 3 * HOUR, 1)
        assert a is not None and b is not None
        tx.release_claim(b.id, T0 + HOUR, "handed to a human")
    with ledger.transaction() as tx:
        assert tx.active_claim(acc["A1"], T0 + HOUR) is None  # past its time to live
        assert tx.active_claim(acc["A2"], T0 + HOUR) is None  # released
        assert tx.lapse_claims(T0 + HOUR) == 1
        assert tx.lapse_claims(T0 + HOUR) == 0
        again = tx.add_claim(acc["A1"], "bot-b", T0 + HOUR, T0 + 2 * HOUR, 1)
        assert again is not None and tx.claimed_account_ids(T0 + HOUR) == {acc["A1"]}


def test_agent_touch_counts_count_agent_activities_since(ledger: Any) -> None:
    acc = _accounts(ledger)
    acts = [
        Activity("t1", "A1", "email_sent", T0, "agent", "bot-a"),
        Activity("t2", "A1", "call", T0 + HOUR, "agent", "bot-a"),
        Activity("t3", "A1", "call", T0 + HOUR, "rep", "R1"),
        Activity("t4", "A2", "call", T0 - 9 * 24 * HOUR, "agent", "bot-a"),
    ]
    with ledger.transaction() as tx:
        tx.insert_activities(acts)
    with ledger.transaction() as tx:
        assert tx.agent_touch_counts([acc["A1"], acc["A2"]], T0 - 7 * 24 * HOUR) == {acc["A1"]: 2}
        assert tx.agent_touch_counts([acc["A2"]], T0) == {}


def test_agent_touches_lists_agent_activities_in_a_half_open_period(ledger: Any) -> None:
    _accounts(ledger)
    acts = [
        Activity("t1", "A1", "email_sent", T0, "agent", "bot-a"),
        Activity("t2", "A2", "call", T0 + HOUR, "agent", "bot-b"),
        Activity("t3", "A1", "call", T0 + HOUR, "rep", "R1"),
        Activity("t4", "A2", "reply", T0 + 2 * HOUR, "agent", "bot-a"),
    ]
    with ledger.transaction() as tx:
        tx.insert_activities(acts)
    with ledger.transaction() as tx:
        got = tx.agent_touches(T0, T0 + 2 * HOUR)
    assert [(x.external_id, x.account_external_id, x.kind, x.occurred_at, x.actor_id)
            for x in got] == [("t1", "A1", "email_sent", T0, "bot-a"),
                              ("t2", "A2", "call", T0 + HOUR, "bot-b")]  # fmt: skip
