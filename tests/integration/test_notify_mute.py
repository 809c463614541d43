"""Muting over real HTTP on SQLite and PostgreSQL: a kind a rep muted never reaches their
Slack (no delivery is even written), the company's JSON hook still gets it, and unmuting
lets the next one through. The digest can be muted too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from dtem.adapters.ledger.sql import SqlLedger
from dtem.adapters.webhooks.http_sender import HttpxSender
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.model import Account, Rep
from dtem.domain.webhooks import RetryPlan
from dtem.services import digest, notification_mutes, routing, webhooks
from dtem.services.webhook_dispatch import Dispatcher
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed
from tests.webhook_subscriber import Subscriber

ACCOUNTS = [Account(f"A{i}", f"Acme {i}", employees=50, industry="retail") for i in range(1, 4)]
REPS = [Rep("R1", "Rita", email="rita@acme.test", capacity=50, team="east")]


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


def test_a_muted_kind_is_not_sent_to_the_reps_slack_and_unmuting_lets_it_through(
    market: Any,
) -> None:
    ledger, clock = market
    with Subscriber() as slack, Subscriber() as crm:
        webhooks.subscribe(ledger, clock, slack.url, [], "cli", "slack", rep="R1")
        webhooks.subscribe(ledger, clock, crm.url, ["lease.granted"], "cli")
        muted = notification_mutes.mute(ledger, clock, "R1", "lease.granted", "token:3:R1")
        assert routing.route(ledger, clock, "A1", "crossed_up").lease is not None
        _deliver(ledger, clock)
        assert (len(slack.received), len(crm.received)) == (0, 1)
        left = notification_mutes.unmute(ledger, clock, "R1", "lease.granted", "token:3:R1")
        assert routing.route(ledger, clock, "A2", "crossed_up").lease is not None
        _deliver(ledger, clock)
    assert muted == ["lease.granted"] and left == []
    (heard,) = [json.loads(r.body)["text"] for r in slack.received]
    assert heard.startswith("Lease granted to R1: A2")
    assert len(crm.received) == 2
    with ledger.transaction() as tx:
        actions = [e.action for e in tx.audit_entries() if e.action.startswith("notify.")]
    assert actions == ["notify.mute", "notify.unmute"]


def test_a_muted_digest_is_not_queued(market: Any) -> None:
    ledger, clock = market
    notification_mutes.mute(ledger, clock, "R1", "rep.digest", "cli")
    notification_mutes.mute(ledger, clock, "R1", "rep.digest", "cli")  # again: no change
    run = digest.queue_digests(ledger, clock, date(2027, 1, 5), actor="worker")
    assert len(run.digests) == 1 and run.queued == 0
    assert notification_mutes.muted_kinds(ledger, "R1") == ["rep.digest"]


def test_only_notification_kinds_of_known_reps_can_be_muted(market: Any) -> None:
    ledger, clock = market
    with pytest.raises(ArgumentInvalid, match=r"kind: cannot mute 'score\.crossed'"):
        notification_mutes.mute(ledger, clock, "R1", "score.crossed", "cli")
    with pytest.raises(ArgumentInvalid, match="rep: no rep 'R9'"):
        notification_mutes.mute(ledger, clock, "R9", "lease.granted", "cli")
