"""Outbound webhooks as an admin drives them: `dtem webhooks …` and `/webhooks` on `dtem serve`.

The server's background dispatcher delivers a signed `lease.granted` to a local
subscriber after a routing call over the API; the CLI adds, tests, lists, reads the log,
replays and removes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dtem.webhooks import verify
from tests.e2e.conftest import DTEM, Server, run_dtem
from tests.e2e.test_market_cli_api import _seed
from tests.webhook_subscriber import Subscriber


def _json(*args: str, db: str) -> Any:
    return json.loads(run_dtem(*args, "--json", db=db, check=True).stdout)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/w.db"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_add_test_log_replay_remove_from_the_command_line(db: str) -> None:
    _seed(db).engine.dispose()
    with Subscriber(statuses=[500, 204]) as sub:
        created = _json("webhooks", "add", "--url", sub.url, "--events", "lease.granted", db=db)
        sub_id = str(created["id"])
        tested = _json("webhooks", "test", sub_id, db=db)
        replayed = _json("webhooks", "replay", str(tested["delivery_id"]), db=db)
        drained = _json("webhooks", "deliver", "--once", db=db)
        first, second = sub.received
    assert created["secret"].startswith("whsec_") and created["events"] == ["lease.granted"]
    assert (tested["delivered"], tested["status_code"]) == (False, 500)  # a test is not retried
    assert drained == {"delivered": 1, "retrying": 0, "failed": 0, "lost": 0}
    for got in (first, second):
        event = verify(created["secret"], got.headers, got.body, now=time.time())
        assert event["type"] == "webhook.test" and event["id"] == tested["event_id"]
    assert replayed == [{"id": 2, "replay_of": 1, "event_id": tested["event_id"]}]
    listed = _json("webhooks", "list", db=db)
    log = _json("webhooks", "deliveries", sub_id, db=db)
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    assert [(d["id"], d["status"], [a["status_code"] for a in d["log"]]) for d in log] == [
        (2, "delivered", [204]),
        (1, "failed", [500]),
    ]
    table = run_dtem("webhooks", "deliveries", sub_id, db=db, check=True).stdout
    assert "webhook.test" in table and "500" in table
    assert _json("webhooks", "remove", sub_id, db=db)["active"] is False
    assert _json("webhooks", "list", db=db) == []
    actions = [e["action"] for e in _json("audit", "list", db=db)]
    for done in ("webhook.subscribe", "webhook.test", "webhook.replay", "webhook.unsubscribe"):
        assert done in actions
    assert created["secret"] not in run_dtem("audit", "list", "--json", db=db).stdout


def test_a_bad_url_is_refused_naming_the_field(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/w.db"
    run_dtem("init", db=db, check=True)
    bad = run_dtem("webhooks", "add", "--url", "https://me:pw@hooks.example.com/x", db=db)
    assert bad.returncode == 2 and "url: must not hold a user name or password" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = run_dtem("webhooks", "deliveries", "9", db=db)
    assert unknown.returncode == 4 and "webhook subscription 9 does not exist" in unknown.stderr


def test_the_server_delivers_a_signed_lease_granted_after_routing(server: Server) -> None:
    _seed(server.db).engine.dispose()
    token = _json("token", "create", "--role", "admin", db=server.db)["token"]
    api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"})
    with Subscriber() as sub, api:
        bad = api.post("/webhooks", json={"url": "ftp://hooks.example.com/x"})
        made = api.post("/webhooks", json={"url": sub.url, "events": ["lease.granted"]})
        assert made.status_code == 201, made.text
        routed = api.post("/routing/HOT-1", json={"trigger": "manual"})
        assert routed.status_code == 200 and routed.json()["outcome"] == "leased", routed.text
        assert sub.arrived.wait(30), "the server's dispatcher delivered nothing in 30 s"
        (got,) = sub.received
        sub_id = made.json()["id"]
        shown = api.get(f"/webhooks/{sub_id}").json()
        log = api.get(f"/webhooks/{sub_id}/deliveries").json()
        removed = api.delete(f"/webhooks/{sub_id}").json()
    assert bad.status_code == 422 and "url: must start with http://" in bad.text
    event = verify(made.json()["secret"], got.headers, got.body, now=time.time())
    assert event["type"] == "lease.granted" and event["data"]["account"] == "HOT-1"
    assert "secret" not in shown and shown["url"] == sub.url
    assert [d["event_id"] for d in log["items"]] == [event["id"]]
    assert removed["active"] is False


def test_the_deliver_loop_sends_what_routing_queued_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/w.db"
    _seed(db).engine.dispose()
    with Subscriber() as sub:
        created = _json("webhooks", "add", "--url", sub.url, db=db)
        loop = subprocess.Popen(
            [*DTEM, "webhooks", "deliver", "--db", db],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DTEM_WEBHOOK_POLL_SECONDS": "0.2"},
        )
        try:
            run_dtem("route", "HOT-1", db=db, check=True)
            assert sub.arrived.wait(60), "the loop delivered nothing in 60 s"
        finally:
            loop.send_signal(signal.SIGTERM)
            _, err = loop.communicate(timeout=30)
        types = [json.loads(r.body)["type"] for r in sub.received]
    assert loop.returncode == 0 and "delivering webhooks from" in err
    assert "lease.granted" in types
    log = _json("webhooks", "deliveries", str(created["id"]), db=db)
    assert {d["status"] for d in log} == {"delivered"}
