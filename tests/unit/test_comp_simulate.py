"""`dtem comp simulate`: the same won deals re-priced under a candidate plan, per rep."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.market_seed import seed

from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.comp import CompPlanInvalid
from dtem.domain.errors import InputInvalid
from dtem.domain.model import Account, Rep
from dtem.services import leases
from dtem.services.comp.simulate import simulate
from dtem.services.governance import active_policy
from dtem.services.imports.service import import_file

D = Decimal
JAN = datetime(2027, 1, 20, 9, tzinfo=UTC)


def _won_deals(ledger: Any, tmp_path: Path) -> FixedClock:
    """R1 wins O1 (score 60) and O2 (score 80); R2 wins O3 (score 30); 10000, 10000, 5000."""
    clock = FixedClock(JAN)
    accounts = [Account(k, k) for k in ("A1", "A2", "A3")]
    acc, rep = seed(ledger, clock, accounts, [Rep("R1", "Rita"), Rep("R2", "Raj")])
    with ledger.transaction() as tx:
        active = active_policy(tx)
        for key, who, score in (("A1", "R1", 60.0), ("A2", "R1", 80.0), ("A3", "R2", 30.0)):
            leases.grant(tx, acc[key], rep[who], clock(), score, active, "test", "test")
    path = tmp_path / "won.csv"
    path.write_text(
        "external_id,account_external_id,stage,amount,close_date\n"
        "O1,A1,closed_won,10000,2027-01-10\n"
        "O2,A2,closed_won,10000,2027-01-11\n"
        "O3,A3,closed_won,5000,2027-01-12\n"
    )
    import_file(ledger, clock, "opportunities", path, pipeline=signal_pipeline())
    return clock


def test_simulation_shows_paid_beside_the_candidate_plan(ledger: Any, tmp_path: Path) -> None:
    clock = _won_deals(ledger, tmp_path)
    flat = {"curve": [[0, "0.10"], [100, "0.10"]]}
    sim = simulate(ledger, clock, flat)  # the current period: 2027-01
    got = [(r.rep, r.deals, str(r.amount), str(r.paid), str(r.simulated)) for r in sim.reps]
    assert got == [
        ("R1", 2, "20000.00", "2050.00", "2000.00"),  # paid 1200.00 + 850.00
        ("R2", 1, "5000.00", "800.00", "500.00"),
    ]
    assert [str(r.difference) for r in sim.reps] == ["-50.00", "-300.00"]
    capped = simulate(ledger, clock, flat | {"period_cap": 1500}, "2026-12", "2027-01")
    assert [str(r.simulated) for r in capped.reps] == ["1500.00", "500.00"]
    assert simulate(ledger, clock, flat, "2027-02", "2027-03").reps == []


def test_simulation_refuses_a_bad_plan_or_range(ledger: Any, tmp_path: Path) -> None:
    clock = _won_deals(ledger, tmp_path)
    with pytest.raises(CompPlanInvalid):
        simulate(ledger, clock, {"curve": [[0, "1.2"], [100, "0.1"]]})
    with pytest.raises(InputInvalid):
        simulate(ledger, clock, {}, "2027-03", "2027-01")
    assert simulate(ledger, clock, {}).reps[0].simulated == D("2050.00")  # the default curve
