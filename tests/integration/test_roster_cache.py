"""Routing caches the policy by version and the rep roster by roster version; a change
made after the cache was filled — in this process or another — decides the very next
decision: a rep who left or went on leave gets nothing, a new policy decides at once.
Runs on memory, SQLite and PostgreSQL (the other process: SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.services import availability, governance, pilots, routing
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed

CLOCK = FixedClock(T0 + timedelta(hours=1))
REPS = [Rep("R1", "Rita", capacity=10), Rep("R2", "Raj", capacity=10)]


def _market(ledger: Any) -> dict[str, int]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="retail") for i in range(4)]
    acc, _ = seed(ledger, FixedClock(T0), accounts, REPS)
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, T0)
    return acc


def _leave(ledger: Any, rep: str) -> None:
    availability.add_leave(ledger, CLOCK, rep, T0, T0 + timedelta(days=3), "PTO", "admin")


def _leave_the_company(ledger: Any, rep: str) -> None:
    with ledger.transaction() as tx:
        gone = replace(tx.reps_by_external_id([rep])[rep], active=False)
        tx.update_reps([gone], CLOCK())


def _raise_the_bar(ledger: Any) -> int:
    version = governance.store_policy(ledger, {"threshold": 95.0}, CLOCK, "admin", merge=True)
    governance.activate_policy(ledger, version, CLOCK, "admin")
    return version


CHANGES = {"left": _leave_the_company, "on_leave": _leave}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_rep_changed_after_the_roster_was_cached_gets_nothing(ledger: Any, change: str) -> None:
    _market(ledger)
    first = routing.route(ledger, CLOCK, "A0", "crossed_up")  # fills the caches
    assert first.outcome == "leased" and first.rep is not None
    CHANGES[change](ledger, first.rep)
    for key in ("A1", "A2", "A3"):
        res = routing.route(ledger, CLOCK, key, "crossed_up")
        assert res.outcome == "leased" and res.rep != first.rep
        assert first.rep in res.exclusions


def test_a_policy_activated_after_routing_decides_the_next_decision(ledger: Any) -> None:
    _market(ledger)
    assert routing.route(ledger, CLOCK, "A0", "crossed_up").policy_version == 1
    version = _raise_the_bar(ledger)
    res = routing.route(ledger, CLOCK, "A1", "crossed_up")
    assert res.policy_version == version and res.outcome != "leased"


def _other_process(url: str, change: str, rep: str) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    try:
        if change == "policy":
            _raise_the_bar(ledger)
        else:
            CHANGES[change](ledger, rep)
    finally:
        ledger.engine.dispose()


def _in_another_process(url: str, change: str, rep: str = "") -> None:
    proc = mp.get_context("spawn").Process(target=_other_process, args=(url, change, rep))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_rep_changed_by_another_process_gets_nothing_next(shared_url: str, change: str) -> None:
    ledger = sql_ledger(shared_url)
    _market(ledger)
    first = routing.route(ledger, CLOCK, "A0", "crossed_up")
    assert first.outcome == "leased" and first.rep is not None
    _in_another_process(shared_url, change, first.rep)
    for key in ("A1", "A2", "A3"):
        res = routing.route(ledger, CLOCK, key, "crossed_up")
        assert res.outcome == "leased" and res.rep != first.rep
    ledger.engine.dispose()


def test_a_policy_activated_by_another_process_decides_next(shared_url: str) -> None:
    ledger = sql_ledger(shared_url)
    _market(ledger)
    assert routing.route(ledger, CLOCK, "A0", "crossed_up").policy_version == 1
    _in_another_process(shared_url, "policy")
    res = routing.route(ledger, CLOCK, "A1", "crossed_up")
    assert res.policy_version == 2 and res.outcome != "leased"
    ledger.engine.dispose()


def test_records_refreshed_after_routing_are_read(ledger: Any) -> None:
    _market(ledger)
    routing.route(ledger, CLOCK, "A0", "crossed_up")
    with ledger.transaction() as tx:
        reps = {r.external_id: r.id for r in tx.all_reps()}
        tx.replace_rep_records({(reps["R2"], "smb|retail"): (9, 0)}, CLOCK())
    res = routing.route(ledger, CLOCK, "A1", "crossed_up")
    chosen = next(c for c in res.candidates if c["rep"] == "R2")
    assert chosen["q"] > 1.0  # nine wins read, not the cached empty record


def test_a_pilot_started_or_ended_after_routing_decides_the_next_decision(ledger: Any) -> None:
    _market(ledger)
    first = routing.route(ledger, CLOCK, "A0", "crossed_up")
    assert first.outcome == "leased" and first.rep is not None
    other = "R2" if first.rep == "R1" else "R1"
    pilots.create_pilot(ledger, CLOCK, "pod", [first.rep], "admin")
    res = routing.route(ledger, CLOCK, "A1", "crossed_up")
    assert res.rep == first.rep and res.exclusions.get(other) == "outside_pilot_pod"
    pilots.end_pilot(ledger, CLOCK, "pod", "admin")
    res = routing.route(ledger, CLOCK, "A2", "crossed_up")
    assert other not in res.exclusions
