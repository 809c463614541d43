"""Signal ingestion: the webhook, the broker worker and file imports share this service.

The entry points are `receive_calls` (parsed messages, one unit of work),
`attach_unmatched` (for account imports and identity links) and the source functions.
What runs after signals are stored is the `SignalPipeline` bootstrap builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.ports import LedgerOf, SignalSourcesPort
from dtem.domain.signals import PIPELINE_SCOPE, source_scope
from dtem.services.retries import retry_conflicts
from dtem.services.signals.ingest import (
    IngestResult,
    IngestTx,
    OnCommitted,
    attach_unmatched,
    ingest,
)
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.signals.receive import Message, Received, receive
from dtem.services.signals.sources import authenticate_source

__all__ = [
    "IngestResult",
    "Message",
    "OnCommitted",
    "Received",
    "SignalPipeline",
    "attach_unmatched",
    "ingest",
    "receive",
    "receive_calls",
]


class _Receiving(IngestTx, SignalSourcesPort, Protocol):
    """A delivery: the sender's source, then ingest and the pipeline's stages."""


def receive_calls(
    ledger: LedgerOf[_Receiving],
    clock: Clock,
    messages: Sequence[Message],
    pipeline: SignalPipeline,
    *,
    write_key: str | None = None,
    via: str = "api",
) -> Received:
    """Store a delivery and run `pipeline` on it in one unit of work, committed on return.

    With `write_key`, the sender must hold an active source's key (`AuthError`); the
    source's name is recorded as the channel, and its message ids are deduplicated
    within that source only (as Segment does). Otherwise (NATS) within the pipeline.
    A unit of work that collided with a concurrent writer (`WriteConflict`) runs again,
    a bounded number of times.
    """

    def unit_of_work() -> Received:
        with ledger.transaction() as tx:
            channel, scope = via, PIPELINE_SCOPE
            if write_key is not None:
                channel = authenticate_source(tx, write_key).name
                scope = source_scope(channel)
            active = pipeline.active(tx)
            then = pipeline.after_ingest(active)
            return receive(tx, messages, active.policy, clock(), channel, then, scope=scope)

    return retry_conflicts(unit_of_work)
