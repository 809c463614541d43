"""Stateful property: any sequence of routing, releases, reassignments, advances, clock
moves and reviews (expiry) through the public services keeps the market sound, on
SQLite and PostgreSQL: at most one active lease per account, and every lease's state is
the one its `lease_events` history ends in."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dtem.adapters.ledger.engine import make_engine
from dtem.domain.clock import FixedClock
from dtem.domain.errors import LeaseConflict, LeaseTransitionInvalid
from dtem.domain.model import Account, LeaseState, Rep
from dtem.domain.store_market import LeaseFilter
from dtem.services import leases, review, routing
from dtem.services.governance import active_policy
from tests.conftest import PG_URL, T0, sql_ledger
from tests.market_seed import put_score, seed

ACCOUNTS = ("A1", "A2", "A3", "A4")
REPS = ("R1", "R2", "R3")
STAGES = ("prospecting", "discovery", "proposal", "closed_won", "closed_lost")
ACTIVE = {LeaseState.GRANTED, LeaseState.ADVANCED}
REFUSED = (LeaseConflict, LeaseTransitionInvalid)  # refusals are part of the game


class _Fresh:
    """A new, migrated ledger per example: a SQLite file or a PostgreSQL schema."""

    def __init__(self, backend: str) -> None:
        self.backend, self.schema = backend, f"s_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            self.tmp = tempfile.TemporaryDirectory()
            self.ledger = sql_ledger(f"sqlite:///{self.tmp.name}/l.db")
            return
        assert PG_URL
        with make_engine(PG_URL).begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        self.ledger = sql_ledger(f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}")

    def close(self) -> None:
        self.ledger.engine.dispose()
        if self.backend == "sqlite":
            self.tmp.cleanup()
            return
        assert PG_URL
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        engine.dispose()


class LeaseMarket(RuleBasedStateMachine):
    backend = "sqlite"
    leases_seen: ClassVar[list[int]] = []  # leases each example ended with (the run is not vacuous)

    def __init__(self) -> None:
        super().__init__()
        self.fresh = _Fresh(self.backend)
        self.ledger = self.fresh.ledger
        self.clock = FixedClock(T0)
        accounts = [Account(a, a, employees=50, industry="retail") for a in ACCOUNTS]
        self.acc, self.rep = seed(self.ledger, self.clock, accounts, [Rep(r, r) for r in REPS])
        for account_id in self.acc.values():
            put_score(self.ledger, account_id, 80.0, T0)

    def teardown(self) -> None:
        with self.ledger.transaction() as tx:
            self.leases_seen.append(len(tx.find_leases(LeaseFilter(limit=10_000))))
        self.fresh.close()

    def _active_lease(self, account: str) -> Any:
        with self.ledger.transaction() as tx:
            return tx.active_lease(self.acc[account])

    @rule(account=st.sampled_from(ACCOUNTS), trigger=st.sampled_from(["manual", "hand_raise"]))
    def route(self, account: str, trigger: str) -> None:
        routing.route(self.ledger, self.clock, account, trigger, actor="router")

    @rule(account=st.sampled_from(ACCOUNTS))
    def release(self, account: str) -> None:
        lease = self._active_lease(account)
        if lease is not None:
            with contextlib.suppress(*REFUSED):
                leases.release_lease(self.ledger, self.clock, lease.id, "rep", "pto")

    @rule(account=st.sampled_from(ACCOUNTS), to_rep=st.sampled_from(REPS))
    def reassign(self, account: str, to_rep: str) -> None:
        lease = self._active_lease(account)
        if lease is not None:
            with contextlib.suppress(*REFUSED):
                leases.reassign_lease(self.ledger, self.clock, lease.id, to_rep, "move", "mgr")

    @rule(account=st.sampled_from(ACCOUNTS), stage=st.sampled_from(STAGES))
    def advance(self, account: str, stage: str) -> None:
        change = leases.StageChange(self.acc[account], stage, None, self.clock(), "api")
        with self.ledger.transaction() as tx:
            leases.record_advances(tx, [change], active_policy(tx), "crm")

    @rule(days=st.integers(1, 45))
    def time_passes_and_the_review_runs(self, days: int) -> None:
        self.clock.advance(days=days)
        review.run_review(self.ledger, self.clock, actor="review")

    @invariant()
    def one_active_lease_per_account_and_states_follow_events(self) -> None:
        with self.ledger.transaction() as tx:
            active = tx.active_leases()
            assert len({x.account_id for x in active}) == len(active)
            for lease in tx.find_leases(LeaseFilter(limit=10_000)):
                kinds = [e.kind for e in tx.lease_events(lease.id)]
                assert kinds and kinds[0] == "granted", (lease, kinds)
                if lease.ended_at is None:
                    assert lease.state in ACTIVE and kinds[-1] in ("granted", "advanced")
                else:
                    assert lease.state not in ACTIVE and kinds[-1] == lease.state.value


def _run(backend: str, examples: int) -> None:
    seen: list[int] = []
    machine = type(f"LeaseMarket_{backend}", (LeaseMarket,), {"backend": backend,
                                                             "leases_seen": seen})  # fmt: skip
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert sum(seen) > 0, "no example granted a lease"


@pytest.mark.slow
def test_lease_market_stays_sound_under_any_command_sequence_on_sqlite() -> None:
    _run("sqlite", examples=12)


@pytest.mark.slow
@pytest.mark.postgres
def test_lease_market_stays_sound_under_any_command_sequence_on_postgres() -> None:
    if not PG_URL:
        pytest.skip("DTEM_TEST_POSTGRES_URL not set")
    _run("postgres", examples=6)
