"""Webhook delivery over real HTTP to a local subscriber, on SQLite and PostgreSQL.

A signed `lease.granted` reaches the subscriber and verifies; a failing subscriber is
retried on the backoff schedule (a fixed clock moved by hand) until it answers 2xx; a
hanging subscriber costs routing nothing, even while a dispatcher is waiting on it.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from dtem.adapters.ledger.sql import SqlLedger
from dtem.adapters.webhooks.http_sender import HttpxSender
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.webhooks import DELIVERED, FAILED, PENDING, DeliveryFilter, RetryPlan
from dtem.services import leases, routing, webhooks
from dtem.services.governance import active_policy
from dtem.services.webhook_dispatch import Dispatcher
from dtem.webhooks import WebhookVerificationError, verify
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed
from tests.webhook_subscriber import Subscriber

ACCOUNTS = [Account(f"A{i}", f"Acme {i}", employees=50, industry="retail") for i in range(1, 13)]
REPS = [Rep("R1", "Rita", capacity=50), Rep("R2", "Raj", capacity=50)]


@pytest.fixture(params=["sqlite", "postgres"])
def market(request: pytest.FixtureRequest) -> Iterator[tuple[SqlLedger, FixedClock]]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    ledger, clock = sql_ledger(url), FixedClock(T0)
    acc, _ = seed(ledger, clock, ACCOUNTS, REPS)
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, T0)
    yield ledger, clock
    ledger.engine.dispose()


def _dispatcher(ledger: SqlLedger, clock: FixedClock, timeout: float = 5.0) -> Dispatcher:
    return Dispatcher(ledger, HttpxSender(), clock, RetryPlan(lambda: 0.5), timeout=timeout)


def _deliveries(ledger: SqlLedger) -> list[Any]:
    with ledger.transaction() as tx:
        return tx.webhook_deliveries(DeliveryFilter())


def test_a_signed_lease_granted_reaches_the_subscriber_and_verifies(market: Any) -> None:
    ledger, clock = market
    with Subscriber() as sub:
        created = webhooks.subscribe(ledger, clock, sub.url, ["lease.granted"], "cli")
        lease = routing.route(ledger, clock, "A1", "crossed_up").lease
        report = _dispatcher(ledger, clock).deliver_due()
        (got,) = sub.received
    assert lease is not None and report.delivered == 1
    event = verify(created.secret, got.headers, got.body, now=clock().timestamp())
    assert event["type"] == "lease.granted" and event["id"] == got.headers["Webhook-Id"]
    assert event["created_at"] == "2027-01-04T09:00:00Z"
    assert event["data"]["lease_id"] == lease.id and event["data"]["account"] == "A1"
    assert got.headers["Webhook-Timestamp"] == str(int(T0.timestamp()))
    assert got.headers["Content-Type"] == "application/json"
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(created.secret, got.headers, got.body.replace(b"A1", b"A2"), now=T0.timestamp())
    with pytest.raises(WebhookVerificationError, match="outside the 300 s window"):
        verify(created.secret, got.headers, got.body)  # years after T0: a replayed request
    (done,) = webhooks.delivery_log(ledger, created.subscription.id)
    assert done.delivery.status == DELIVERED and [a.status_code for a in done.attempts] == [204]


def test_a_failing_subscriber_is_retried_on_the_backoff_schedule_then_delivered(
    market: Any,
) -> None:
    ledger, clock = market
    with Subscriber(statuses=[500, 503, 200]) as sub:
        created = webhooks.subscribe(ledger, clock, sub.url, [], "cli")
        routing.route(ledger, clock, "A1", "crossed_up")
        dispatcher = _dispatcher(ledger, clock)
        first = dispatcher.deliver_due()
        clock.advance(seconds=59)
        early = dispatcher.deliver_due()  # the first retry waits 1 minute
        clock.advance(seconds=1)
        second = dispatcher.deliver_due()
        clock.advance(minutes=4, seconds=59)
        still = dispatcher.deliver_due()  # the second retry waits 5 minutes
        clock.advance(seconds=1)
        third = dispatcher.deliver_due()
        ids = {r.headers["Webhook-Id"] for r in sub.received}
    assert (first.retrying, early.claimed, second.retrying, still.claimed) == (1, 0, 1, 0)
    assert third.delivered == 1 and len(sub.received) == 3 and len(ids) == 1  # one event
    (log,) = webhooks.delivery_log(ledger, created.subscription.id)
    assert [(a.attempt, a.status_code) for a in log.attempts] == [(1, 500), (2, 503), (3, 200)]
    assert [a.next_retry_at for a in log.attempts] == [
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=6),
        None,
    ]
    assert log.delivery.status == DELIVERED and log.delivery.attempts == 3


def test_a_subscriber_that_never_answers_2xx_fails_after_the_last_attempt(market: Any) -> None:
    ledger, clock = market
    with Subscriber(statuses=[500]) as sub:
        created = webhooks.subscribe(ledger, clock, sub.url, ["lease.granted"], "cli")
        routing.route(ledger, clock, "A1", "crossed_up")
        dispatcher = _dispatcher(ledger, clock)
        plan = dispatcher.retries
        for _ in range(plan.max_attempts):
            assert dispatcher.deliver_due().claimed == 1
            clock.advance(hours=11)
        assert dispatcher.deliver_due().claimed == 0
    (log,) = webhooks.delivery_log(ledger, created.subscription.id)
    assert log.delivery.status == FAILED and len(log.attempts) == plan.max_attempts == 8
    assert len(sub.received) == 8 and log.attempts[-1].next_retry_at is None


def _grant_seconds(ledger: SqlLedger, clock: FixedClock, accounts: list[str]) -> list[float]:
    took = []
    for key in accounts:
        started = time.perf_counter()
        assert routing.route(ledger, clock, key, "crossed_up").outcome == "leased"
        took.append(time.perf_counter() - started)
    return took


def test_a_hanging_subscriber_never_slows_routing(market: Any) -> None:
    ledger, clock = market
    baseline = _grant_seconds(ledger, clock, [f"A{i}" for i in range(1, 5)])
    with Subscriber(hang=30) as sub:
        created = webhooks.subscribe(ledger, clock, sub.url, ["lease.granted"], "cli")
        dispatcher = _dispatcher(ledger, clock, timeout=20)
        stop = threading.Event()
        worker = threading.Thread(target=dispatcher.run, args=(stop, 0.05), daemon=True)
        worker.start()
        first = routing.route(ledger, clock, "A5", "crossed_up")
        assert sub.arrived.wait(10)  # the dispatcher is now waiting on the subscriber
        hanging = _grant_seconds(ledger, clock, [f"A{i}" for i in range(6, 10)])
        log = webhooks.delivery_log(ledger, created.subscription.id)
        sub.release()
        stop.set()
        worker.join(30)
    assert first.outcome == "leased" and not worker.is_alive()
    # every grant committed (its lease is readable) and its outbox row waits, pending
    assert len(log) == 5 and {entry.delivery.status for entry in log} == {PENDING}
    assert [entry.attempts for entry in log] == [[]] * 5  # none answered yet
    assert max(hanging) < 2.0, hanging  # the subscriber hangs for 30 s
    ceiling = 3 * statistics.median(baseline) + 0.1  # room for a loaded test machine
    assert statistics.median(hanging) < ceiling, (baseline, hanging)


def test_the_body_sent_is_the_json_envelope_and_nothing_else(market: Any) -> None:
    ledger, clock = market
    with Subscriber() as sub:
        webhooks.subscribe(ledger, clock, sub.url, ["lease.granted"], "cli")
        routing.route(ledger, clock, "A2", "crossed_up")
        _dispatcher(ledger, clock).deliver_due()
        (got,) = sub.received
    body = json.loads(got.body)
    assert sorted(body) == ["created_at", "data", "id", "type"]
    assert got.path == "/hook" and body["id"].startswith("evt_")


def test_a_hanging_subscriber_does_not_hold_back_another_subscribers_events(market: Any) -> None:
    ledger, clock = market
    with Subscriber(hang=30) as stuck, Subscriber() as fine:
        webhooks.subscribe(ledger, clock, stuck.url, ["lease.granted"], "cli")
        webhooks.subscribe(ledger, clock, fine.url, ["lease.granted"], "cli")
        stop = threading.Event()
        dispatcher = _dispatcher(ledger, clock, timeout=20)
        worker = threading.Thread(target=dispatcher.run, args=(stop, 0.05), daemon=True)
        worker.start()
        routing.route(ledger, clock, "A1", "crossed_up")
        assert stuck.arrived.wait(10)
        routing.route(ledger, clock, "A2", "crossed_up")  # while the first POST hangs
        deadline = time.monotonic() + 10
        while len(fine.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        accounts = [json.loads(r.body)["data"]["account"] for r in fine.received]
        still_hanging = len(stuck.received)
        stuck.release()
        stop.set()
        worker.join(30)
    assert sorted(accounts) == ["A1", "A2"] and still_hanging >= 1 and not worker.is_alive()


def test_an_event_rolls_back_with_the_change_that_wrote_it(market: Any) -> None:
    ledger, clock = market
    webhooks.subscribe(ledger, clock, "https://hooks.example.com/a", ["lease.granted"], "cli")
    with pytest.raises(RuntimeError, match="after the grant"), ledger.transaction() as tx:
        account_id = tx.accounts_by_external_id(["A1"])["A1"].id
        leases.grant(tx, account_id, 1, T0, 80.0, active_policy(tx), "manual", "cli")
        assert len(tx.webhook_deliveries(DeliveryFilter())) == 1  # written in this unit
        raise RuntimeError("the unit of work fails after the grant")
    with ledger.transaction() as tx:
        assert tx.active_leases() == [] and tx.webhook_deliveries(DeliveryFilter()) == []
