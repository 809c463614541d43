"""The Segment-compatible webhook over real HTTP, as a Segment or RudderStack SDK calls it."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.store_radar import SignalStats
from dtem.entrypoints.api.app import create_app
from dtem.services import governance
from dtem.services.signals import reports, sources
from tests.e2e.conftest import free_port


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(base URL, write key, db URL) of the real app on a loopback port, for this module."""
    tmp: Path = tmp_path_factory.mktemp("segment")
    db = f"sqlite:///{tmp}/api.db"
    c = build(Settings(), db)
    governance.ensure_policy(c.ledger, c.clock)
    _, key = sources.create_source(c.ledger, c.clock, "web")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(c), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base)
        yield base, key, db
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        c.engine.dispose()


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError("server did not start in 30 s")


def _post(api: tuple[str, str, str], path: str, body: Any, **kw: Any) -> httpx.Response:
    base, key, _ = api
    kw.setdefault("auth", (key, ""))
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{base}{path}", content=content, timeout=10, **kw)


def _stats(api: tuple[str, str, str]) -> SignalStats:
    c = build(Settings(), api[2], create=False)
    try:
        return reports.signal_stats(c.ledger)
    finally:
        c.engine.dispose()


def test_track_is_stored_and_a_resent_message_id_is_not_counted_twice(
    api: tuple[str, str, str],
) -> None:
    event = f"Demo Requested {uuid.uuid4().hex[:6]}"  # unique: counted on its own
    msg = {"userId": "u1", "event": event, "messageId": uuid.uuid4().hex}
    first, again = _post(api, "/v1/track", msg), _post(api, "/v1/track", msg)
    assert first.status_code == again.status_code == 200
    assert first.json() == {"success": True, "duplicate": False}
    assert again.json()["duplicate"] is True
    assert _stats(api).unknown_events[event] == 1


def test_wrong_or_missing_write_key_is_401(api: tuple[str, str, str]) -> None:
    body = {"userId": "u1", "event": "Demo Requested"}
    assert _post(api, "/v1/track", body, auth=("not-a-key", "")).status_code == 401
    missing = httpx.post(f"{api[0]}/v1/track", json=body, timeout=10)
    assert missing.status_code == 401 and "Basic" in missing.headers["www-authenticate"]


def test_malformed_json_and_missing_fields_are_400_naming_the_problem(
    api: tuple[str, str, str],
) -> None:
    bad_json = _post(api, "/v1/track", b'{"userId": "u1",')
    assert bad_json.status_code == 400 and "malformed JSON" in bad_json.json()["detail"]
    no_event = _post(api, "/v1/track", {"userId": "u1"})
    assert no_event.status_code == 400 and no_event.json()["errors"] == ["event: Field required"]
    no_group = _post(api, "/v1/group", {"userId": "u1", "groupId": 5.5, "traits": []})
    assert no_group.status_code == 400 and "traits" in no_group.json()["detail"]


def test_gzip_bodies_are_accepted(api: tuple[str, str, str]) -> None:
    body = gzip.compress(json.dumps({"anonymousId": "a1", "name": "Pricing"}).encode())
    got = _post(api, "/v1/page", body, headers={"Content-Encoding": "gzip"})
    assert got.status_code == 200, got.text


def test_bodies_over_500_kb_are_413_raw_or_decompressed(api: tuple[str, str, str]) -> None:
    calls = [{"type": "track", "userId": "u", "event": "x" * 200}] * 3000  # about 700 KB
    raw = json.dumps({"batch": calls}).encode()
    assert _post(api, "/v1/batch", raw).status_code == 413
    small = gzip.compress(raw)
    assert len(small) < 500 * 1024
    assert _post(api, "/v1/batch", small, headers={"Content-Encoding": "gzip"}).status_code == 413


def test_batch_stores_valid_calls_and_lists_rejected_ones(api: tuple[str, str, str]) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    batch = {
        "batch": [
            {"type": "group", "userId": user, "groupId": "G1", "traits": {"website": "g1.io"}},
            {"type": "track", "userId": user, "event": "Pricing Page Viewed"},
            {"type": "track", "event": "Demo Requested"},
            {"type": "page", "userId": user, "properties": {"path": "/pricing"}},
            {"type": "nonsense", "userId": user},
        ]
    }
    got = _post(api, "/v1/batch", batch)
    assert got.status_code == 200
    body = got.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [2, 4]
    assert body["rejected"][0]["errors"] == ["userId or anonymousId is required"]


def test_a_batch_with_nothing_valid_is_400(api: tuple[str, str, str]) -> None:
    got = _post(api, "/v1/batch", {"batch": [{"type": "track"}]})
    assert got.status_code == 400 and got.json()["accepted"] == 0
    assert _post(api, "/v1/batch", {"calls": []}).status_code == 400
