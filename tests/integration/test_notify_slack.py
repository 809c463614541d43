"""Reps' Slack notifications over real HTTP: a `slack` subscription scoped to a rep or a
team receives that rep's or team's lease events only, on SQLite and PostgreSQL.

Each local receiver stands for one Slack incoming webhook (a rep's DM, a team channel).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from dtem.adapters.ledger.sql import SqlLedger
from dtem.adapters.webhooks.http_sender import HttpxSender
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.model import Account, Rep
from dtem.domain.webhooks import RetryPlan
from dtem.services import leases, review, routing, webhooks
from dtem.services.webhook_dispatch import Dispatcher
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed
from tests.webhook_subscriber import Subscriber

ACCOUNTS = [Account(f"A{i}", f"Acme {i}", employees=50, industry="retail") for i in range(1, 5)]
REPS = [
    Rep("R1", "Rita", capacity=50, team="east"),
    Rep("R2", "Raj", capacity=50, team="west"),
]


@pytest.fixture(params=["sqlite", "postgres"])
def market(request: pytest.FixtureRequest) -> Iterator[tuple[SqlLedger, FixedClock]]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    ledger, clock = sql_ledger(url), FixedClock(T0)
    acc, _ = seed(ledger, clock, ACCOUNTS, REPS)
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, T0)
    yield ledger, clock
    ledger.engine.dispose()


def _deliver(ledger: SqlLedger, clock: FixedClock) -> None:
    Dispatcher(ledger, HttpxSender(), clock, RetryPlan(lambda: 0.5)).deliver_due()


def _messages(receiver: Subscriber) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.received]


def _rep_of(lease: Any) -> str:
    return {1: "R1", 2: "R2"}[lease.rep_id]


def test_a_reps_slack_gets_their_lease_granted_and_the_other_rep_nothing(market: Any) -> None:
    ledger, clock = market
    with Subscriber() as mine, Subscriber() as theirs:
        lease = routing.route(ledger, clock, "A1", "crossed_up").lease
        assert lease is not None
        owner, other = _rep_of(lease), {"R1": "R2", "R2": "R1"}[_rep_of(lease)]
        for rep, receiver in ((owner, mine), (other, theirs)):
            webhooks.subscribe(
                ledger, clock, receiver.url, ["lease.granted"], "cli", "slack", rep=rep
            )
        assert routing.route(ledger, clock, "A2", "crossed_up").lease is not None
        _deliver(ledger, clock)
        with ledger.transaction() as tx:
            granted = [x for x in tx.active_leases() if x.rep_id == lease.rep_id]
    got = _messages(mine)
    assert len(got) == len(granted) - 1  # the lease granted before the subscription: none
    for msg in got:
        assert msg["text"].startswith(f"Lease granted to {owner}: A")
        assert msg["blocks"][0]["type"] == "section" and "lease.granted" in str(msg["blocks"][1])
    others = _messages(theirs)
    assert all(m["text"].startswith(f"Lease granted to {other}") for m in others)
    assert len(got) + len(others) == 1  # A2 went to one rep, and only their Slack heard it


def test_a_reassignment_tells_the_old_reps_team_and_the_new_reps_team(market: Any) -> None:
    ledger, clock = market
    with Subscriber() as east, Subscriber() as west, Subscriber() as everyone:
        webhooks.subscribe(ledger, clock, east.url, [], "cli", "slack", team="east")
        webhooks.subscribe(ledger, clock, west.url, [], "cli", "slack", team="west")
        webhooks.subscribe(ledger, clock, everyone.url, ["policy.activated"], "cli", "slack")
        lease = routing.route(ledger, clock, "A3", "crossed_up").lease
        assert lease is not None and lease.id is not None
        to = {"R1": "R2", "R2": "R1"}[_rep_of(lease)]
        leases.reassign_lease(ledger, clock, lease.id, to, "covering a holiday", "manager")
        _deliver(ledger, clock)
    old_team, new_team = (east, west) if to == "R2" else (west, east)
    heard = sorted(m["text"] for m in _messages(old_team))  # sent in parallel: any order
    assert [t.split(":")[0] for t in heard] == [
        "Lease granted to " + _rep_of(lease),
        "Lease reassigned",
    ]
    assert "covering a holiday" in heard[1]
    assert [m["text"] for m in _messages(new_team)] == [
        f"Lease granted to {to}: A3 is yours until 2027-02-03 (score 80)."
    ]
    assert everyone.received == []  # a lease event is not a type it takes


def test_a_scope_names_a_known_rep_and_not_both_a_rep_and_a_team(market: Any) -> None:
    ledger, clock = market
    with pytest.raises(ArgumentInvalid, match="rep: no rep 'R9'"):
        webhooks.subscribe(ledger, clock, "https://hooks.example.com/x", [], "cli", "slack", "R9")
    with pytest.raises(ArgumentInvalid, match="team: give a rep or a team, not both"):
        webhooks.subscribe(
            ledger, clock, "https://hooks.example.com/x", [], "cli", "slack", "R1", "east"
        )


def test_the_daily_review_announces_a_sprint_ending_within_3_days_once(market: Any) -> None:
    ledger, clock = market
    with Subscriber() as mine:
        lease = routing.route(ledger, clock, "A4", "crossed_up").lease  # ends 2027-02-03 09:00
        assert lease is not None
        rep = _rep_of(lease)
        webhooks.subscribe(ledger, clock, mine.url, ["lease.sprint_ending"], "cli", "slack", rep)
        written = []
        for day in (31, 32, 32, 33):  # 2027-01-31 is 3 days 3 h before the end: too early
            on = date(2027, 1, 1) + timedelta(days=day - 1)
            clock.now = datetime.combine(on, time(7), tzinfo=UTC)
            written.append(review.run_review(ledger, clock, on).sprints_ending)
        _deliver(ledger, clock)
    assert written == [0, 1, 0, 0]  # announced once, by the 2027-02-01 review
    (msg,) = _messages(mine)
    assert msg["text"] == (
        f"Sprint ending: {rep}'s lease on A4 ends 2027-02-03, 3 day(s) left to advance it."
    )


def test_a_hand_raise_on_a_leased_account_reaches_the_holders_slack(market: Any) -> None:
    ledger, clock = market
    with Subscriber() as mine, Subscriber() as theirs:
        lease = routing.route(ledger, clock, "A2", "crossed_up").lease
        assert lease is not None
        rep, other = _rep_of(lease), {"R1": "R2", "R2": "R1"}[_rep_of(lease)]
        webhooks.subscribe(ledger, clock, mine.url, ["account.hand_raise"], "cli", "slack", rep)
        webhooks.subscribe(ledger, clock, theirs.url, ["account.hand_raise"], "cli", "slack", other)
        clock.advance(hours=2)
        routing.route(ledger, clock, "A2", "hand_raise")  # the holder keeps it
        routing.route(ledger, clock, "A3", "hand_raise")  # no lease yet: nobody to tell
        _deliver(ledger, clock)
    (msg,) = _messages(mine)
    assert msg["text"] == (
        f"Hand-raise on A2 ({rep}'s lease): hand_raise at 2027-01-04T11:00:00+00:00."
    )
    assert theirs.received == []
