"""The webhook as Segment's clients use it: per-source deduplication, analytics.js in a
browser (short paths, `writeKey` in a text/plain body, CORS), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dtem.config import Settings
from dtem.services.signals import sources
from tests.e2e.webhook_app import Hook, hook_on

SITE = "https://www.acme.com"


@pytest.fixture(params=["sqlite", "postgres"])
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    yield from hook_on(request, Settings(cors_origins=(SITE,)))


def _analytics_js(key: str, **call: object) -> bytes:
    """A body as analytics.js (analytics-next) posts it from a page on SITE."""
    return json.dumps({
        "timestamp": "2027-01-04T08:59:58.120Z",
        "integrations": {},
        "userId": None,
        "anonymousId": "0b7c9e1e-4f5a-4c52-9d1a-6f2b1e0d9a11",
        "context": {
            "page": {"path": "/pricing", "referrer": "", "search": "", "title": "Pricing",
                     "url": f"{SITE}/pricing"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            "locale": "en-US",
            "library": {"name": "analytics.js", "version": "npm:next-1.72.0"},
            "traits": {"company": {"domain": "acme.com"}},
        },
        "messageId": "ajs-next-1735981198120-8f1e6a3c-2c9d-4e8b-a3b1-7d0c5e9f4a21",
        "writeKey": key,
        "sentAt": "2027-01-04T08:59:58.125Z",
        "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []},
        **call,
    }).encode()  # fmt: skip


BROWSER = {"Content-Type": "text/plain;charset=UTF-8", "Origin": SITE}


def test_analytics_js_posting_from_a_browser_is_stored_and_allowed_by_cors(hook: Hook) -> None:
    body = _analytics_js(hook.key, type="track", event="Demo Requested", properties={})
    got = hook.client.post("/v1/t", content=body, headers=BROWSER)
    assert got.status_code == 200, got.text
    assert got.headers["access-control-allow-origin"] == SITE
    page = _analytics_js(hook.key, type="page", name="Pricing", properties={}, messageId="p1")
    assert hook.client.post("/v1/p", content=page, headers=BROWSER).status_code == 200
    batched = json.loads(_analytics_js(hook.key, type="track", event="Pricing Page Viewed"))
    envelope = {"batch": [{**batched, "messageId": "b1"}], "writeKey": hook.key}
    got_b = hook.client.post("/v1/b", content=json.dumps(envelope), headers=BROWSER)
    assert got_b.json()["accepted"] == 1
    stored = hook.signals()
    assert [(s["type"], s["account_id"]) for s in stored] == [
        ("hand_raise", 1),
        ("pricing_visit", 1),
        ("pricing_visit", 1),
    ]
    assert all("writeKey" not in json.dumps(s["attributes"]) for s in stored)
    assert {s["attributes"]["via"] for s in stored} == {"web"}


def test_a_pre_flight_is_answered_for_configured_origins_only(hook: Hook) -> None:
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    ok = hook.client.options("/v1/track", headers={"Origin": SITE, **ask})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == SITE
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    other = hook.client.options("/v1/track", headers={"Origin": "https://evil.example", **ask})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    health = hook.client.get("/health", headers={"Origin": SITE})
    assert "access-control-allow-origin" not in health.headers  # only the tracking API


def test_a_browser_call_without_a_key_or_with_an_unknown_one_is_401(hook: Hook) -> None:
    body = json.loads(_analytics_js("", type="track", event="Demo Requested"))
    del body["writeKey"]
    assert hook.client.post("/v1/t", json=body, headers=BROWSER).status_code == 401
    wrong = _analytics_js("dtem_wk_nope", type="track", event="Demo Requested")
    assert hook.client.post("/v1/t", content=wrong, headers=BROWSER).status_code == 401
    assert hook.signals() == []


def test_each_source_deduplicates_its_own_message_ids(hook: Hook) -> None:
    _, app_key = sources.create_source(hook.c.ledger, hook.c.clock, "app")
    call = {"userId": "u1", "event": "Demo Requested", "messageId": "m-1",
            "properties": {"domain": "acme.com"}}  # fmt: skip
    web, app = hook.post("/v1/track", call), hook.post("/v1/track", call, key=app_key)
    again = hook.post("/v1/track", call)
    assert [r.json()["duplicate"] for r in (web, app, again)] == [False, False, True]
    assert [(s["scope"], s["event_id"]) for s in hook.signals()] == [
        ("source:web", "m-1"),
        ("source:app", "m-1"),
    ]
