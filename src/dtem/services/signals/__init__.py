"""Signal ingestion: the webhook, the broker worker and file imports share this service.

The entry points are `receive_calls` (parsed messages, one unit of work),
`attach_unmatched` (for account imports and identity links) and the source functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtem.domain.clock import Clock
from dtem.domain.ports import Ledger
from dtem.domain.signals import PIPELINE_SCOPE, source_scope
from dtem.services.governance import active_policy
from dtem.services.signals.hooks import on_signals_committed
from dtem.services.signals.ingest import IngestResult, OnCommitted, attach_unmatched, ingest
from dtem.services.signals.receive import Message, Received, receive
from dtem.services.signals.sources import authenticate_source

__all__ = [
    "IngestResult",
    "Message",
    "OnCommitted",
    "Received",
    "attach_unmatched",
    "ingest",
    "on_signals_committed",
    "receive",
    "receive_calls",
]


def receive_calls(
    ledger: Ledger,
    clock: Clock,
    messages: Sequence[Message],
    *,
    write_key: str | None = None,
    via: str = "api",
    on_committed: OnCommitted = on_signals_committed,
) -> Received:
    """Store a delivery in one unit of work: it commits before this returns.

    With `write_key`, the sender must hold an active source's key (`AuthError`); the
    source's name is recorded as the channel, and its message ids are deduplicated
    within that source only (as Segment does). Otherwise (NATS) within the pipeline.
    """
    with ledger.transaction() as tx:
        scope = PIPELINE_SCOPE
        if write_key is not None:
            via = authenticate_source(tx, write_key).name
            scope = source_scope(via)
        policy = active_policy(tx).policy
        return receive(tx, messages, policy, clock(), via, on_committed, scope=scope)
