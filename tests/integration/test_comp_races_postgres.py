"""Two writers recording the same win at once on PostgreSQL: the deal is paid once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, LeaseState, Opportunity, Rep
from dtem.domain.store_comp import CommissionConflict, LineFilter
from dtem.services import leases
from dtem.services.comp.commissions import DealChange, settle
from dtem.services.governance import active_policy
from tests.conftest import T0, sql_ledger
from tests.market_seed import seed

WRITERS = 4
DEALS = 20


def _record_wins(url: str, wins: list[tuple[Opportunity, int]], gate: threading.Barrier,
                 tally: Counter[str]) -> None:  # fmt: skip
    ledger = SqlLedger(make_engine(url, pool_size=1))  # its own connection
    gate.wait()
    for opp, account_id in wins:
        try:
            with ledger.transaction() as tx:
                written = settle(tx, [DealChange(opp, "proposal", account_id)], T0, "race")
            tally["line" if written else "nothing"] += 1
        except CommissionConflict:
            tally["conflict"] += 1
    ledger.engine.dispose()


@pytest.mark.postgres
def test_concurrent_writers_of_the_same_wins_write_one_line_each(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    clock = FixedClock(T0)
    keys = [f"A{i}" for i in range(DEALS)]
    acc, rep = seed(ledger, clock, [Account(k, k) for k in keys], [Rep("R1", "Rita")])
    wins = [
        (Opportunity(f"O-{k}", k, "closed_won", 10000.0, date(2027, 1, 5)), acc[k]) for k in keys
    ]
    with ledger.transaction() as tx:
        tx.insert_opportunities([o for o, _ in wins], T0)
        active = active_policy(tx)
        for k in keys:
            leases.grant(tx, acc[k], rep["R1"], T0, 80.0, active, "test", "test")
    tally: Counter[str] = Counter()
    gate = threading.Barrier(WRITERS)
    threads = [
        threading.Thread(target=_record_wins, args=(pg_url, wins, gate, tally))
        for _ in range(WRITERS)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    with ledger.transaction() as tx:
        lines = tx.commission_lines(LineFilter())
        assert all(tx.lease(x.lease_id).state is LeaseState.GRANTED for x in lines)
    assert sorted(x.opportunity for x in lines) == sorted(o.external_id for o, _ in wins)
    assert {(x.seq, str(x.commission)) for x in lines} == {(0, "850.00")}
    assert sum(x.commission for x in lines) == Decimal("850.00") * DEALS
    assert tally["line"] == DEALS and sum(tally.values()) == DEALS * WRITERS
