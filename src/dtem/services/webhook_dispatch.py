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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import timedelta

from dtem.domain.clock import Clock
from dtem.domain.digest_mail import EMAIL_FORMAT
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
    mailer: WebhookSender | None = None  # sends `email` deliveries (SMTP); None: not set up

    def deliver_due(self, only: int | None = None) -> DispatchReport:
        """One round: claim up to `batch` due deliveries (or just `only`), POST, record."""
        claimed = self._claim(self.batch, only)
        report = DispatchReport()
        if not claimed:
            return report
        with ThreadPoolExecutor(min(self.concurrency, len(claimed))) as pool:
            for done in as_completed([pool.submit(self._deliver, *job) for job in claimed]):
                report.add(*done.result())
        return report

    def _claim(self, limit: int, only: int | None = None) -> list[_Job]:
        """Due deliveries, held for this dispatcher, each with its subscription."""
        claim = DeliveryClaim.new(self.clock(), self.hold, limit, only)
        with self.ledger.transaction() as tx:
            claimed = tx.claim_webhook_deliveries(self.clock(), claim)
            subs = {d.subscription_id: tx.webhook_subscription(d.subscription_id) for d in claimed}
        return [(d, subs[d.subscription_id], claim.token) for d in claimed]

    def _deliver(
        self, d: WebhookDelivery, sub: WebhookSubscription, token: str
    ) -> tuple[WebhookAttempt, bool]:
        """POST one delivery and record the attempt (False: the claim was lost meanwhile)."""
        attempt = self._attempt(d, sub)
        with self.ledger.transaction() as tx:
            return attempt, tx.record_webhook_attempt(attempt, token)

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
            status = self._sender(sub).post(sub.url, body, headers, self.timeout)
        except WebhookSendFailed as exc:
            error = str(exc)
        took = round((time.monotonic() - started) * 1000)
        at, number = self.clock(), d.attempts + 1
        ok = status is not None and 200 <= status < 300
        again = None if ok or d.event.type == TEST_EVENT else self.retries.next_retry(number, at)
        return WebhookAttempt(d.id, number, at, status, error, took, again)

    def _sender(self, sub: WebhookSubscription) -> WebhookSender:
        if sub.format != EMAIL_FORMAT:
            return self.sender
        if self.mailer is None:
            raise WebhookSendFailed("no SMTP server set up: set DTEM_SMTP_HOST")
        return self.mailer

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set, keeping up to `concurrency` POSTs in flight.

        A free slot is filled as soon as a POST ends, so a subscriber that hangs holds one
        slot for one timeout, not the others' deliveries. A claim or a record that fails
        (the database is away) is logged and tried again after `idle_seconds`: the outbox
        keeps what was not recorded, and lapsed claims are taken again."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook") as pool:
            flying: set[Future[tuple[WebhookAttempt, bool]]] = set()
            while not stop.is_set():
                free = self.concurrency - len(flying)
                jobs = self._claim_or_log(free) if free else []
                flying |= {pool.submit(self._deliver, *job) for job in jobs}
                if not flying:
                    stop.wait(idle_seconds)
                    continue
                done, flying = wait(flying, idle_seconds, return_when=FIRST_COMPLETED)
                for post in done:
                    if post.exception() is not None:
                        log.error("recording a webhook attempt failed", exc_info=post.exception())
            wait(flying)

    def _claim_or_log(self, limit: int) -> list[_Job]:
        try:
            return self._claim(limit)
        except Exception:
            log.exception("claiming webhook deliveries failed; trying again shortly")
            return []


_Job = tuple[WebhookDelivery, WebhookSubscription, str]  # a delivery, where, the claim token
