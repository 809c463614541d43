"""Event times as Segment's clients send them: skew corrected, never after the receipt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from dtem.domain.clock import as_utc
from dtem.services.governance import active_policy
from dtem.services.scoring import explain
from tests.conftest import T0
from tests.e2e.webhook_app import Hook, hook_on

HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgres"])
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    yield from hook_on(request)


def _demo(at: object, **kw: object) -> dict[str, object]:
    return {
        "type": "track",
        "userId": "u1",
        "event": "Demo Requested",
        "properties": {"domain": "acme.com"},
        "timestamp": str(at),
        **kw,
    }


def test_a_future_event_is_dated_at_its_receipt_and_its_claim_kept(hook: Hook) -> None:
    claimed = T0 + timedelta(days=365)  # the clock is at T0: a year ahead
    got = hook.post("/v1/track", _demo(claimed.isoformat()))
    assert got.status_code == 200, got.text
    [row] = hook.signals()
    assert as_utc(row["occurred_at"]) == T0
    assert row["attributes"]["original_timestamp"] == claimed.isoformat()
    with hook.c.ledger.transaction() as tx:  # the live score is the one explain gives
        live = tx.latest_scores()[row["account_id"]].score
        assert live == pytest.approx(explain(tx, "A1", active_policy(tx), T0).score.score)


def test_events_decades_ahead_are_stored_with_the_rest_of_their_batch(hook: Hook) -> None:
    batch = [_demo((T0 - i * HOUR).isoformat(), messageId=f"m{i}") for i in range(45)]
    batch += [_demo(f"{year}-01-01T00:00:00Z", messageId=f"y{year}") for year in
              (2050, 2100, 3000, 9000, 9999)]  # fmt: skip
    got = hook.post("/v1/batch", {"batch": batch})
    assert got.status_code == 200, got.text
    assert (got.json()["accepted"], got.json()["rejected"]) == (50, [])
    assert max(as_utc(r["occurred_at"]) for r in hook.signals()) == T0


def test_sent_at_corrects_a_device_clock_running_ahead(hook: Hook) -> None:
    # the device's clock is 3 h ahead: it stamped the event at 11:00 and sent it at 12:00
    single = _demo((T0 + 2 * HOUR).isoformat(), sentAt=(T0 + 3 * HOUR).isoformat())
    assert hook.post("/v1/track", single).status_code == 200
    envelope = {"batch": [_demo((T0 + HOUR).isoformat())], "sentAt": (T0 + 3 * HOUR).isoformat()}
    assert hook.post("/v1/batch", envelope).json()["accepted"] == 1
    first, second = hook.signals()
    assert as_utc(first["occurred_at"]) == T0 - HOUR  # it happened at 8:00
    assert as_utc(second["occurred_at"]) == T0 - 2 * HOUR
    assert first["attributes"]["original_timestamp"] == (T0 + 2 * HOUR).isoformat()
