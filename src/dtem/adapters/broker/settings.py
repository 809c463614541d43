"""Where the worker reads signals and writes dead letters (no NATS client needed to read it).

Kept apart from `nats.py` so the CLI can show the defaults without loading nats-py.

>>> BrokerSettings().dlq_stream
'DTEM_SIGNALS_DLQ'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BrokerSettings:
    """Where the worker reads signals and writes dead letters."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "DTEM_SIGNALS"
    subject: str = "dtem.signals.>"
    durable: str = "dtem-worker"
    dlq_subject: str = "dtem.dlq.signals"
    max_deliver: int = 5
    ack_wait_s: float = 30.0

    @property
    def dlq_stream(self) -> str:
        return f"{self.stream}_DLQ"
