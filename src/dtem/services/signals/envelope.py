"""A broker message's body: one event, a Segment batch, or a JSON array of events.

One message may carry many events, so a producer is not held to one publish (and the
worker to one ack) per event:

- one event: a Segment call or a DTEM signal row (see `parse_message`);
- `{"batch": [call, ...], "context": ..., "sentAt": ...}`: Segment calls, as the
  webhook's `/v1/batch` takes them (the envelope's context and `sentAt` are shared);
- `[event, ...]`: Segment calls and DTEM signal rows, each read as a message of its own.

An event of a batch that fails validation is refused on its own, by its position; the
others are kept. A body that is no event and no batch raises ValueError.

>>> env = parse_envelope(b'[{"domain": "acme.com", "type": "hiring",'
...     b' "occurred_at": "2027-01-04T09:00:00Z"}, {"domain": "acme.com"}]')
>>> env.positions, env.rejected
([0], [Rejected(index=1, errors=['occurred_at: Field required'])])
>>> parse_envelope(b'{"batch": []}')
Traceback (most recent call last):
...
ValueError: batch: no events
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dtem.services.signals.messages import (
    Rejected,
    SegmentCall,
    SignalRow,
    load_json,
    parse_batch,
    parse_event,
)


@dataclass(frozen=True)
class Envelope:
    """The events of one message, each with its position, and those refused by position.

    `items` holds a batch's decoded events (to dead-letter one alone); None when the
    message was one event.
    """

    events: list[SegmentCall | SignalRow]
    positions: list[int]
    rejected: list[Rejected]
    items: list[Any] | None = None

    @property
    def batched(self) -> bool:
        return self.items is not None


def parse_envelope(payload: bytes) -> Envelope:
    """Read a message's events; ValueError when it is not JSON, no event and no batch.

    A message of one event that fails validation raises (it is refused whole).
    """
    doc = load_json(payload)
    if isinstance(doc, list):
        return _array(doc)
    if isinstance(doc, dict) and "batch" in doc:
        return _segment_batch(doc)
    return Envelope([parse_event(doc)], [0], [])


def _array(items: list[Any]) -> Envelope:
    if not items:
        raise ValueError("batch: no events")
    events, positions, rejected = [], [], []
    for i, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except ValueError as exc:
            rejected.append(Rejected(i, str(exc).split("; ")))
            continue
        positions.append(i)
    return Envelope(events, positions, rejected, items)


def _segment_batch(doc: dict[str, Any]) -> Envelope:
    calls, rejected = parse_batch(doc)  # ValueError when `batch` is not a list
    items: list[Any] = doc["batch"]
    if not items:
        raise ValueError("batch: no events")
    refused = {r.index for r in rejected}
    positions = [i for i in range(len(items)) if i not in refused]
    return Envelope(list(calls), positions, rejected, items)
