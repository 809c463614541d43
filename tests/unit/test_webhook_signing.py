"""Signatures subscribers can check, and the retry plan's spread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0

from dtem.domain.webhooks import RETRY_DELAYS, RetryPlan, WebhookEvent, render
from dtem.webhooks import WebhookVerificationError, new_secret, sign, verify

BODY = b'{"id":"evt_1","type":"lease.granted"}'
STAMP = 1_800_000_000


def _headers(secret: str, signature: str | None = None) -> dict[str, str]:
    return {
        "webhook-id": "evt_1",
        "WEBHOOK-TIMESTAMP": str(STAMP),
        "Webhook-Signature": signature or sign(secret, "evt_1", STAMP, BODY),
    }


def test_a_signed_request_verifies_whatever_the_header_case() -> None:
    secret = new_secret()
    event = verify(secret, _headers(secret), BODY, now=STAMP + 299)
    assert event == {"id": "evt_1", "type": "lease.granted"}


def test_one_matching_signature_among_several_is_enough_for_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    both = f"{sign(old, 'evt_1', STAMP, BODY)} {sign(new, 'evt_1', STAMP, BODY)}"
    assert verify(new, _headers(new, both), BODY, now=STAMP)["id"] == "evt_1"


def test_another_secret_a_stale_stamp_or_a_missing_header_is_refused() -> None:
    secret = new_secret()
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(new_secret(), _headers(secret), BODY, now=STAMP)
    with pytest.raises(WebhookVerificationError, match="outside the 300 s window"):
        verify(secret, _headers(secret), BODY, now=STAMP + 301)
    with pytest.raises(WebhookVerificationError, match="webhook-id"):
        verify(secret, {"webhook-timestamp": str(STAMP)}, BODY, now=STAMP)


@given(st.floats(min_value=0, max_value=1, exclude_max=True), st.integers(1, len(RETRY_DELAYS)))
def test_each_retry_waits_its_delay_give_or_take_ten_percent(r: float, attempt: int) -> None:
    wait = RetryPlan(lambda: r).next_retry(attempt, T0)
    assert wait is not None
    delay = RETRY_DELAYS[attempt - 1]
    assert delay * 0.9 <= wait - T0 <= delay * 1.1


def test_the_json_body_is_the_envelope_with_a_utc_time() -> None:
    event = WebhookEvent("evt_1", "score.crossed", T0 + timedelta(hours=1), {"score": 61.5})
    body, content_type = render("json", event)
    assert content_type == "application/json"
    assert body == (
        b'{"created_at":"2027-01-04T10:00:00Z","data":{"score":61.5},'
        b'"id":"evt_1","type":"score.crossed"}'
    )
