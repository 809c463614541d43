"""A broker message carries one event, a Segment batch or a JSON array of events."""

from __future__ import annotations

import json

import pytest

from dtem.services.signals.envelope import parse_envelope
from dtem.services.signals.messages import SignalRow, Track

ROW = {"domain": "acme.com", "type": "hiring", "occurred_at": "2027-01-04T09:00:00Z"}
TRACK = {"type": "track", "userId": "u1", "event": "Demo Requested", "messageId": "m1"}


def test_one_event_is_a_message_of_one_and_not_batched() -> None:
    env = parse_envelope(json.dumps(ROW).encode())
    assert (env.positions, env.rejected, env.batched) == ([0], [], False)
    assert isinstance(env.events[0], SignalRow)


def test_an_invalid_single_event_refuses_the_whole_message() -> None:
    with pytest.raises(ValueError, match="userId or anonymousId is required"):
        parse_envelope(json.dumps({"type": "track", "event": "x"}).encode())


def test_a_json_array_mixes_calls_and_rows_and_refuses_only_its_bad_events() -> None:
    items = [TRACK, {"type": "track", "event": "x"}, ROW, "not an event"]
    env = parse_envelope(json.dumps(items).encode())
    assert [type(e) for e in env.events] == [Track, SignalRow]
    assert env.positions == [0, 2]
    assert [(r.index, r.errors) for r in env.rejected] == [
        (1, ["userId or anonymousId is required"]),
        (3, ["expected a JSON object"]),
    ]
    assert env.items == items


def test_a_segment_batch_shares_its_context_and_sent_at() -> None:
    body = {
        "batch": [{"type": "track", "event": "x"}, TRACK],
        "context": {"traits": {"domain": "acme.com"}},
        "sentAt": "2027-01-04T09:00:00Z",
    }
    env = parse_envelope(json.dumps(body).encode())
    assert env.positions == [1]
    assert [r.index for r in env.rejected] == [0]
    call = env.events[0]
    assert isinstance(call, Track)
    assert call.context["traits"] == {"domain": "acme.com"}
    assert call.sent_at_utc is not None and call.sent_at_utc.isoformat().startswith("2027-01-04")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[]", "batch: no events"),
        (b'{"batch": []}', "batch: no events"),
        (b'{"batch": {"type": "track"}}', "batch: expected an object with a 'batch' list"),
        (b"[1, 2", "not JSON"),
    ],
)
def test_a_body_that_is_no_event_and_no_batch_is_refused_whole(payload: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("'", ".")):
        parse_envelope(payload)
