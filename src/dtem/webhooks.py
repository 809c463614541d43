"""Sign and verify DTEM's outbound webhooks (Standard Webhooks style). Stdlib only.

Every delivery carries three headers:

- `Webhook-Id`: the event id (the same on every retry and replay: deduplicate on it);
- `Webhook-Timestamp`: Unix seconds when this attempt was signed;
- `Webhook-Signature`: `v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`, where
  the key is the base64 part of the subscription's secret (`whsec_<base64>`). Several
  signatures may be listed, separated by spaces; one valid signature is enough.

A subscriber checks a request with `verify` before trusting its body:

    from dtem.webhooks import verify, WebhookVerificationError
    try:
        event = verify(SECRET, request.headers, request.body)  # the raw bytes received
    except WebhookVerificationError:
        return 400
    print(event["type"], event["data"])

This module imports nothing else of DTEM, so a subscriber may copy it as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300  # a signature older or newer than this is refused (replayed request)


class WebhookVerificationError(Exception):
    """A request that does not carry a valid, fresh signature for this secret."""


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `Webhook-Signature` value of one request.

    >>> sign("whsec_" + "a2V5", "evt_1", 1700000000, b"{}")
    'v1,qlxS+Rx59BdwbM0DVnBBVM2EZr7V1DuM8yaNlT+iZiY='
    """
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The event (`{id, type, created_at, data}`) if the request is signed with `secret`.

    Raises `WebhookVerificationError` when a header is missing, the timestamp is further
    than `tolerance` seconds from `now` (default: the current time), or no signature
    matches. `headers` may use any case (`webhook-id` or `Webhook-Id`).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, stamp = lower["webhook-id"], lower["webhook-timestamp"]
        given = lower["webhook-signature"].split()
        timestamp = int(stamp)
    except (KeyError, ValueError) as exc:
        raise WebhookVerificationError(f"missing or malformed webhook header: {exc}") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(f"timestamp {timestamp} is outside the {tolerance} s window")
    expected = sign(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, sig) for sig in given):
        raise WebhookVerificationError("no signature matches this secret")
    event: dict[str, Any] = json.loads(body)
    return event
