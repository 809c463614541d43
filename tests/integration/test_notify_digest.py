"""The reps' daily digest over real SMTP (a local aiosmtpd server), through the outbox, on
SQLite and PostgreSQL: one e-mail per rep with an address; a dead SMTP server leaves the
delivery pending for a retry and routing unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from dtem.adapters.ledger.sql import SqlLedger
from dtem.adapters.webhooks.http_sender import HttpxSender
from dtem.adapters.webhooks.smtp_sender import SmtpMailer
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.webhooks import DELIVERED, PENDING, DeliveryFilter, RetryPlan
from dtem.services import digest, routing
from dtem.services.webhook_dispatch import Dispatcher
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed
from tests.smtp_inbox import SmtpInbox, free_port

ACCOUNTS = [Account(f"A{i}", f"Acme {i}", employees=50, industry="retail") for i in range(1, 5)]
REPS = [
    Rep("R1", "Rita", email="rita@acme.test", capacity=50),
    Rep("R2", "Raj", email="raj@acme.test", capacity=50),
    Rep("R3", "Rob", capacity=50),  # no address: no digest
]
DAY = date(2027, 1, 5)  # covers 2027-01-04, the day of T0


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    with SmtpInbox() as inbox:
        yield inbox


@pytest.fixture(params=["sqlite", "postgres"])
def market(request: pytest.FixtureRequest) -> Iterator[tuple[SqlLedger, FixedClock]]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    ledger, clock = sql_ledger(url), FixedClock(T0)
    acc, _ = seed(ledger, clock, ACCOUNTS, REPS)
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, T0)
    yield ledger, clock
    ledger.engine.dispose()


def _dispatcher(ledger: SqlLedger, clock: FixedClock, port: int) -> Dispatcher:
    mailer = SmtpMailer("127.0.0.1", port, "dtem@acme.test")
    return Dispatcher(ledger, HttpxSender(), clock, RetryPlan(lambda: 0.5), mailer=mailer)


def test_each_rep_with_an_address_gets_one_digest_email_over_smtp(
    market: Any, smtp: SmtpInbox
) -> None:
    ledger, clock = market
    inbox, port = smtp, smtp.port
    lease = routing.route(ledger, clock, "A1", "crossed_up").lease
    assert lease is not None
    owner = {r.id: r for r in _reps(ledger)}[lease.rep_id]
    clock.advance(days=1)
    run = digest.queue_digests(ledger, clock, DAY, actor="worker")
    report = _dispatcher(ledger, clock, port).deliver_due()
    assert run.queued == 2 and report.delivered == 2
    by_rcpt = {
        rcpts[0]: message_from_bytes(body, policy=policy.default)
        for _, rcpts, body in inbox.messages
    }
    assert sorted(by_rcpt) == ["raj@acme.test", "rita@acme.test"]
    mail = by_rcpt[owner.email or ""]
    assert mail["From"] == "dtem@acme.test"
    assert mail["Subject"] == "DTEM 2027-01-05: 1 lease, 1 gained, 0 lost, 0 hand-raises"
    text = mail.get_content()
    assert "A1 Acme 1: 30 day(s) left (until 2027-02-03)" in text and "+ A1 Acme 1" in text
    other = next(m for r, m in by_rcpt.items() if r != owner.email)
    assert other["Subject"] == "DTEM 2027-01-05: 0 leases, 0 gained, 0 lost, 0 hand-raises"


def test_a_dry_run_shows_the_digests_and_queues_nothing(market: Any) -> None:
    ledger, clock = market
    run = digest.queue_digests(ledger, clock, DAY, actor="cli", dry_run=True)
    assert [d["rep"] for d in run.digests] == ["R1", "R2"] and run.queued == 0
    with ledger.transaction() as tx:
        assert tx.webhook_deliveries(DeliveryFilter()) == []
        assert tx.webhook_subscriptions() == []


def test_a_dead_smtp_server_leaves_the_digest_pending_and_routing_unaffected(
    market: Any,
) -> None:
    ledger, clock = market
    digest.queue_digests(ledger, clock, DAY, actor="worker")
    report = _dispatcher(ledger, clock, free_port()).deliver_due()  # nothing listens there
    assert report.retrying == 2 and report.delivered == 0
    assert routing.route(ledger, clock, "A2", "crossed_up").lease is not None
    with ledger.transaction() as tx:
        rows = tx.webhook_deliveries(DeliveryFilter())
        attempts = tx.webhook_attempts([d.id for d in rows if d.id is not None])
    assert {d.status for d in rows} == {PENDING}
    assert all(d.next_attempt_at == T0 + timedelta(minutes=1) for d in rows)
    assert all(a.error and "SMTP 127.0.0.1" in a.error for a in attempts)


def test_a_digest_retried_after_smtp_comes_back_is_delivered(market: Any, smtp: SmtpInbox) -> None:
    ledger, clock = market
    inbox, port = smtp, smtp.port
    digest.queue_digests(ledger, clock, DAY, actor="worker")
    assert _dispatcher(ledger, clock, free_port()).deliver_due().retrying == 2
    clock.advance(minutes=1)
    assert _dispatcher(ledger, clock, port).deliver_due().delivered == 2
    with ledger.transaction() as tx:
        assert {d.status for d in tx.webhook_deliveries(DeliveryFilter())} == {DELIVERED}
    assert len(inbox.messages) == 2


def _reps(ledger: SqlLedger) -> list[Rep]:
    with ledger.transaction() as tx:
        return tx.all_reps()


def test_a_reps_digest_of_a_day_is_queued_once_however_often_it_runs(market: Any) -> None:
    ledger, clock = market
    first = digest.queue_digests(ledger, clock, DAY, actor="worker")
    again = digest.queue_digests(ledger, clock, DAY, actor="cli")
    next_day = digest.queue_digests(ledger, clock, DAY + timedelta(days=1), actor="worker")
    assert (first.queued, again.queued, next_day.queued) == (2, 0, 2)
