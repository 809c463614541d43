"""The webhook dispatcher: claim due deliveries, POST them signed, record every attempt.

It runs beside the API (`dtem serve` starts one) or alone (`dtem webhooks deliver`),
never inside a request that changes the ledger. Each round holds the database only for
two short transactions per delivery (the claim, then the attempt); the HTTP calls run
outside any transaction, several at a time, so one hanging subscriber delays no one else
by more than the timeout. Several dispatchers may run at once: a claim is exclusive.

>>> # Dispatcher(ledger, HttpxSender(), system_clock, RetryPlan(random.random)).deliver_due()
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta

from dtem.domain.clock import Clock
from dtem.domain.ports import LedgerOf, OutboxPort
from dtem.domain.webhooks import (
    DELIVERED,
    FAILED,
    TEST_EVENT,
    DeliveryClaim,
    RetryPlan,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSender,
    WebhookSendFailed,
    WebhookSubscription,
    render,
)
from dtem.webhooks import sign

log = logging.getLogger("dtem.webhooks")


@dataclass
class DispatchReport:
    """What one round did: attempts made, by outcome; `lost`: claims that lapsed meanwhile."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.delivered + self.retrying + self.failed + self.lost

    def absorb(self, other: DispatchReport) -> None:
        """Add another round's counts to these (a drain of several rounds)."""
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed
        self.lost += other.lost
        self.attempts += other.attempts

    def add(self, attempt: WebhookAttempt, recorded: bool) -> None:
        self.attempts.append(attempt)
        if not recorded:
            self.lost += 1
        elif attempt.delivery_status == DELIVERED:
            self.delivered += 1
        elif attempt.delivery_status == FAILED:
            self.failed += 1
        else:
            self.retrying += 1


@dataclass
class Dispatcher:
    """Delivers the outbox. `timeout`: seconds per HTTP phase; `batch`: deliveries per
    claim; `concurrency`: POSTs in flight; `hold`: how long a claim lasts (a dispatcher
    that dies mid-round leaves its deliveries to another after that)."""

    ledger: LedgerOf[OutboxPort]
    sender: WebhookSender
    clock: Clock
    retries: RetryPlan
    timeout: float = 5.0
    batch: int = 20
    concurrency: int = 8
    hold: timedelta = timedelta(minutes=5)

    def deliver_due(self, only: int | None = None) -> DispatchReport:
        """One round: claim up to `batch` due deliveries (or just `only`), POST, record."""
        claim = DeliveryClaim.new(self.clock(), self.hold, self.batch, only)
        with self.ledger.transaction() as tx:
            claimed = tx.claim_webhook_deliveries(self.clock(), claim)
            subs = {d.subscription_id: tx.webhook_subscription(d.subscription_id) for d in claimed}
        report = DispatchReport()
        if not claimed:
            return report
        with ThreadPoolExecutor(min(self.concurrency, len(claimed))) as pool:
            posts = [pool.submit(self._attempt, d, subs[d.subscription_id]) for d in claimed]
            for done in as_completed(posts):
                attempt = done.result()
                with self.ledger.transaction() as tx:
                    report.add(attempt, tx.record_webhook_attempt(attempt, claim.token))
        return report

    def _attempt(self, d: WebhookDelivery, sub: WebhookSubscription) -> WebhookAttempt:
        assert d.id is not None
        body, content_type = render(sub.format, d.event)
        stamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": content_type,
            "Webhook-Id": d.event.id,
            "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": sign(sub.secret, d.event.id, stamp, body),
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            status = self.sender.post(sub.url, body, headers, self.timeout)
        except WebhookSendFailed as exc:
            error = str(exc)
        took = round((time.monotonic() - started) * 1000)
        at, number = self.clock(), d.attempts + 1
        ok = status is not None and 200 <= status < 300
        again = None if ok or d.event.type == TEST_EVENT else self.retries.next_retry(number, at)
        return WebhookAttempt(d.id, number, at, status, error, took, again)

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set; wait `idle_seconds` between rounds with nothing due.

        A round that fails (the database is away) is logged and tried again after the wait:
        the outbox keeps what was not recorded, and lapsed claims are taken again."""
        while not stop.is_set():
            try:
                busy = self.deliver_due().claimed > 0
            except Exception:
                log.exception("webhook delivery round failed; retrying in %s s", idle_seconds)
                busy = False
            if not busy:
                stop.wait(idle_seconds)
