"""Agents claiming at once on PostgreSQL, each in its own process: no account is ever
held by two agents, and together they claim every claimable account exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.services import agents
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed
from tests.processes import race

AGENTS = 6
ACCOUNTS = 40


def _agent(ledger: SqlLedger, name: str) -> list[str]:
    got: list[str] = []
    for _ in range(4):  # several rounds, so claims interleave with the others'
        claims = agents.claim_accounts(ledger, FixedClock(T0), name, 5).claims
        got += [c.account for c in claims]
    return got


@pytest.mark.postgres
def test_concurrent_agents_never_hold_the_same_account(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    keys = [f"NUR-{i:02d}" for i in range(ACCOUNTS)]
    accounts = [Account(k, k, potential_value=1000.0 * (i + 1)) for i, k in enumerate(keys)]
    acc, _ = seed(ledger, FixedClock(T0), accounts, [])
    for account_id in acc.values():
        put_score(ledger, account_id, 10.0, T0, propensity=0.05)
    results = race(pg_url, _agent, [f"bot-{i}" for i in range(AGENTS)])
    assert sum(1 for names in results.values() if names) >= 2  # they did overlap
    claimed = Counter(k for names in results.values() for k in names)
    assert sorted(claimed) == keys and set(claimed.values()) == {1}
    with ledger.engine.connect() as conn:
        c = t.agent_claims.c
        open_claims = conn.execute(
            sa.select(c.account_id, sa.func.count())
            .where(c.released_at.is_(None))
            .group_by(c.account_id)
        ).all()
    assert len(open_claims) == ACCOUNTS and {n for _, n in open_claims} == {1}
    ledger.engine.dispose()
