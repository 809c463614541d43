"""Every score, trigger, routing decision, lease, lease transition, agent claim, λ step and
commission line records the policy version in force when it was written — on SQLite and
PostgreSQL, through a whole scenario: signals imported and scored, accounts routed and
leased, an advance, a revocation (and a λ step) by the review, an agent claim, a win paying
commission; a new version is activated and everything written afterwards carries it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dtem.adapters.ledger import tables as t
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.services import routing, stages
from dtem.services.agents import claim_accounts
from dtem.services.governance import (
    activate_policy,
    active_policy,
    ensure_policy,
    store_policy,
)
from dtem.services.imports.service import import_file
from dtem.services.review import run_review
from dtem.services.signals import files
from tests.conftest import sql_ledger

START = datetime(2027, 1, 4, 9, tzinfo=UTC)
VERSIONED = {  # table -> its column naming the policy version a row was written under
    t.scores: "policy_version",
    t.score_events: "policy_version",
    t.routing_decisions: "policy_version",
    t.leases: "policy_version",  # the version at grant
    t.lease_events: "policy_version",
    t.agent_claims: "policy_version",
    t.comp_lines: "policy_version",
    t.lambda_steps: "policy_version",  # the capacity interest rate's step at each review
}


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Any]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    led = sql_ledger(url)
    yield led
    led.engine.dispose()


class Rows:
    """The rows each versioned table gained since the last look, with their versions."""

    def __init__(self, ledger: Any) -> None:
        self.engine, self.seen = ledger.engine, dict.fromkeys(VERSIONED, 0)
        self.written: dict[str, list[int | None]] = {}

    def new(self) -> dict[str, list[int | None]]:
        out: dict[str, list[int | None]] = {}
        with self.engine.connect() as conn:
            for table, column in VERSIONED.items():
                q = sa.select(table.c.id, table.c[column]).where(table.c.id > self.seen[table])
                rows = conn.execute(q.order_by(table.c.id)).all()
                if rows:
                    self.seen[table] = rows[-1][0]
                    out[table.name] = [r[1] for r in rows]
        for name, versions in out.items():
            self.written.setdefault(name, []).extend(versions)
        return out

    def all_carry(self, version: int) -> dict[str, int]:
        """Assert every new row carries `version`; return how many each table gained."""
        new = self.new()
        wrong = {k: v for k, v in new.items() if any(x != version for x in v)}
        assert wrong == {}, f"rows not at policy v{version}: {wrong}"
        return {k: len(v) for k, v in new.items()}


def _signals(path: Path, rows: list[tuple[str, str, str, datetime, float]]) -> Path:
    lines = ["event_id,account_id,event_name,occurred_at,value"]
    lines += [f"{e},{a},{ev},{at.isoformat()},{v}" for e, a, ev, at, v in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _import_signals(ledger: Any, clock: FixedClock, path: Path) -> None:
    with ledger.transaction() as tx:
        policy = active_policy(tx).policy
    files.import_signals(ledger, clock, path, None, policy, signal_pipeline())


def _opportunities(path: Path, rows: list[str]) -> Path:
    path.write_text("external_id,account_external_id,stage,amount,close_date\n" + "\n".join(rows))
    return path


def test_every_decision_records_the_policy_version_in_force(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(START)
    pipeline = signal_pipeline()
    ensure_policy(ledger, clock)  # v1
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"A{i}", f"Acme {i}", employees=200) for i in range(1, 5)],
                           START)  # fmt: skip
        tx.insert_reps([Rep("R1", "Rita"), Rep("R2", "Raj")], START)
    rows = Rows(ledger)

    # import: A1 and A2 raise hands (scored, routed and leased at once); A3 browses
    hot = [(f"h{i}", acc, "Demo Requested", START, 5.0) for i, acc in enumerate(["A1", "A2"])]
    cold = [("c1", "A3", "Page Viewed", START, 1.0), ("c2", "A4", "Page Viewed", START, 1.0)]
    _import_signals(ledger, clock, _signals(tmp_path / "s1.csv", hot + cold))
    got = rows.all_carry(1)
    assert {"scores", "score_events", "routing_decisions", "leases", "lease_events"} <= set(got)
    routing.route(ledger, clock, "A3", "manual", "ana")  # a decision (pool: score too low)
    assert rows.all_carry(1)["routing_decisions"] == 1

    # an advance on A1 (a first opportunity); an agent claims what agents may work
    clock.now = START + timedelta(days=3)
    import_file(ledger, clock, "opportunities",
                _opportunities(tmp_path / "o1.csv", ["O1,A1,qualification,50000,"]),
                pipeline=pipeline)  # fmt: skip
    assert rows.all_carry(1)["lease_events"] == 1  # advanced
    assert claim_accounts(ledger, clock, "nurture-bot", 5).claims
    assert rows.all_carry(1)["agent_claims"] >= 1

    # a new version: a lower threshold, partial document merged on the active one
    v2 = store_policy(ledger, {"threshold": 50}, clock, "ana", merge=True)
    activate_policy(ledger, v2, clock, "ana")
    assert v2 == 2

    # the review, past A2's sprint: revoked (no advance) and re-routed, under v2
    clock.now = START + timedelta(days=31)  # A2 expired on day 30; A1 advanced on day 3
    report = run_review(ledger, clock, clock.now.date(), actor="review")
    assert report.policy_version == 2 and report.revoked + report.expired_to_pool >= 1
    got = rows.all_carry(2)
    assert {"lease_events", "routing_decisions", "lambda_steps"} <= set(got)

    # a win on A1: the commission line and the lease's close, under v2
    stages.change_stage(ledger, clock, "O1", "closed_won", actor="crm")
    got = rows.all_carry(2)
    assert got["comp_lines"] == 1 and got["lease_events"] == 1
    # new signals are scored under v2 too
    hand = [("h9", "A4", "Demo Requested", clock.now, 5.0)]
    _import_signals(ledger, clock, _signals(tmp_path / "s2.csv", hand))
    assert {"scores", "routing_decisions", "leases"} <= set(rows.all_carry(2))

    assert set(rows.written) == {table.name for table in VERSIONED}  # every table was written
    assert all(v is not None for versions in rows.written.values() for v in versions)
