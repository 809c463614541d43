"""`dtem notify digest` as an admin types it, then `dtem webhooks deliver --once` with
`DTEM_SMTP_*` set sends the digests to a local SMTP server (aiosmtpd). SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from tests.conftest import T0
from tests.e2e.conftest import run_dtem
from tests.market_seed import seed
from tests.smtp_inbox import SmtpInbox


def _ledger(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path}/n.db"
    engine = make_engine(db)
    migrate(engine)
    reps = [Rep("R1", "Rita", email="rita@acme.test"), Rep("R2", "Raj")]
    seed(SqlLedger(engine), FixedClock(T0), [Account("A1", "Acme", employees=5)], reps)
    engine.dispose()
    return db


def _json(*args: str, db: str) -> Any:
    return json.loads(run_dtem(*args, "--json", db=db, check=True).stdout)


def test_digest_is_queued_by_the_cli_and_sent_by_the_dispatcher_over_smtp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpInbox() as inbox:
        _queue_and_send(tmp_path, inbox.port, monkeypatch)
    ((sender, rcpts, body),) = inbox.messages
    assert (sender, rcpts) == ("dtem@acme.test", ["rita@acme.test"])
    assert b"Subject: DTEM 2027-01-05: 0 leases" in body


def _queue_and_send(tmp_path: Path, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _ledger(tmp_path)
    dry = _json("notify", "digest", "--date", "2027-01-05", "--dry-run", db=db)
    assert dry["queued"] == 0 and [d["email"] for d in dry["digests"]] == ["rita@acme.test"]
    done = _json("notify", "digest", "--date", "2027-01-05", db=db)
    assert done["queued"] == 1
    for name, value in {"HOST": "127.0.0.1", "PORT": str(port), "FROM": "dtem@acme.test"}.items():
        monkeypatch.setenv(f"DTEM_SMTP_{name}", value)
    sent = _json("webhooks", "deliver", "--once", db=db)
    assert sent["delivered"] == 1


def test_a_digest_date_that_is_not_a_date_names_the_field(tmp_path: Path) -> None:
    proc = run_dtem("notify", "digest", "--date", "5 Jan", db=_ledger(tmp_path))
    assert proc.returncode == 2 and "date: expected YYYY-MM-DD, got '5 Jan'" in proc.stderr


def test_mute_and_unmute_from_the_command_line(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    muted = _json("notify", "mute", "--rep", "R1", "--kind", "lease.granted", db=db)
    listed = run_dtem("notify", "mutes", "--rep", "R1", db=db, check=True).stdout
    unmuted = _json("notify", "unmute", "--rep", "R1", "--kind", "lease.granted", db=db)
    bad = run_dtem("notify", "mute", "--rep", "R1", "--kind", "policy.activated", db=db)
    assert muted == {"rep": "R1", "muted": ["lease.granted"]}
    assert listed.strip() == "R1 muted: lease.granted" and unmuted["muted"] == []
    assert bad.returncode == 2 and "kind: cannot mute 'policy.activated'" in bad.stderr
