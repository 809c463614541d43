"""Several dispatcher processes on one PostgreSQL outbox deliver each event exactly once.

Three `dtem webhooks deliver --once` processes drain the same outbox at the same time; the
subscriber answers slowly so that their rounds overlap. Claims are taken `FOR UPDATE SKIP
LOCKED`, so no event reaches the subscriber twice and none is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

from dtem.domain.clock import system_clock
from dtem.domain.webhooks import DELIVERED, DeliveryFilter, WebhookEvent
from dtem.services import webhooks
from tests.conftest import sql_ledger
from tests.webhook_subscriber import Subscriber

EVENTS = 120
PROCESSES = 3


def _deliver_once(db: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "dtem.entrypoints.cli.app", "webhooks", "deliver", "--once"]
    return subprocess.Popen(
        [*cmd, "--json", "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_dispatcher_processes_deliver_every_event_exactly_once(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    now = datetime.now(UTC)
    with Subscriber(hang=0.1) as sub:  # slow answers: the processes' rounds overlap
        webhooks.subscribe(ledger, system_clock, sub.url, [], "cli")
        events = [WebhookEvent.new("lease.granted", now, {"n": n}) for n in range(EVENTS)]
        with ledger.transaction() as tx:
            assert tx.enqueue_webhook_events(events) == EVENTS
        procs = [_deliver_once(pg_url) for _ in range(PROCESSES)]
        outputs = [p.communicate(timeout=240) for p in procs]
        received = Counter(r.headers["Webhook-Id"] for r in sub.received)
    assert [p.returncode for p in procs] == [0] * PROCESSES, [err for _, err in outputs]
    counts = [json.loads(out) for out, _ in outputs]
    assert sum(c["delivered"] for c in counts) == EVENTS, counts
    assert sum(c["lost"] + c["retrying"] + c["failed"] for c in counts) == 0, counts
    assert sum(1 for c in counts if c["delivered"]) >= 2, counts  # they did share the work
    assert received == Counter({e.id: 1 for e in events})  # each event once, none missing
    with ledger.transaction() as tx:
        statuses = {d.status for d in tx.webhook_deliveries(DeliveryFilter(limit=1000))}
    assert statuses == {DELIVERED}
    ledger.engine.dispose()
