"""`dtem score` and `dtem explain` as a user types them, and the score endpoints over HTTP."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.model import Account
from dtem.domain.signals import SignalRecord
from dtem.entrypoints.cli.app import app
from dtem.services.signals.ingest import Committed
from tests.e2e.conftest import Server, run_dtem

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def _seed(db: str, hot: str = "HOT") -> dict[str, int]:
    """Three accounts; HOT raised its hand yesterday; signals go through the ingest hook."""
    run_dtem("init", db=db, check=True)
    ledger = SqlLedger(make_engine(db))
    rng = random.Random(3)
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(x, x, industry="retail", employees=50) for x in (hot, "WARM", "COLD")], NOW
        )
        ids = tx.all_account_ids()
        sigs = [
            SignalRecord(f"e{i}", "k", "id", kind, at, value, "x", NOW, ids[acc])
            for i, (acc, kind, value) in enumerate(
                [(hot, "hand_raise", 4.0), (hot, "pricing_visit", 2.0)]
                + [("WARM", "web_visit", rng.uniform(0, 2)) for _ in range(20)]
            )
            if (at := NOW - timedelta(days=1 + i % 5))
        ]
        tx.insert_signals(sigs)
        pipeline = signal_pipeline()
        pipeline.after_ingest(pipeline.active(tx))(tx, Committed(sigs, [], NOW))
    ledger.engine.dispose()
    return ids


def test_score_then_explain_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    _seed(db)
    out = run_dtem("score", "--as-of", NOW.isoformat(), "--json", "--top", "3", db=db, check=True)
    summary = json.loads(out.stdout)
    assert summary["accounts"] == 3 and summary["signals"] == 22 and summary["engine"] == "duckdb"
    assert summary["top"][0][0] == "HOT" and summary["at_or_above_threshold"] == 1
    assert summary["crossed_up"] == 0  # the ingest hook already recorded HOT's crossing
    out = run_dtem("explain", "HOT", "--as-of", NOW.isoformat(), "--json", db=db, check=True)
    why = json.loads(out.stdout)
    assert abs(why["score"] - summary["top"][0][1]) < 1e-9
    assert abs(sum(why["logit_terms"].values()) - why["logit"]) < 1e-12
    assert why["top_signals"][0]["type"] == "hand_raise" and why["policy_version"] == 1
    assert why["last_recorded"]["method"] == "batch"


def test_score_reads_a_parquet_dataset_of_signals(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    ids = _seed(db)
    pq.write_table(
        pa.table(
            {
                "account_id": [ids["COLD"]] * 3,
                "type": ["hand_raise"] * 3,
                "occurred_at": pa.array([NOW.replace(tzinfo=None)] * 3, pa.timestamp("us")),
                "value": [5.0, 5.0, 5.0],
            }
        ),
        tmp_path / "part-0.parquet",
    )
    path = str(tmp_path / "*.parquet")
    out = run_dtem("score", "--signals", path, "--as-of", NOW.isoformat(), "--json", db=db)
    summary = json.loads(out.stdout)
    assert summary["signals"] is None and summary["top"][0][0] == "COLD"
    assert summary["crossed_up"] == 1 and summary["crossed_down"] == 1  # COLD up, HOT down


def test_explain_of_an_unknown_account_exits_4_and_help_has_an_example(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/u.db"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", db]).exit_code == 0
    missing = runner.invoke(app, ["explain", "NOPE", "--db", db])
    assert missing.exit_code == 4 and "NOPE" in missing.output
    for command in ("score", "explain"):
        assert "Example:" in runner.invoke(app, [command, "--help"]).output
    assert runner.invoke(app, ["score", "--engine", "nope", "--db", db]).exit_code == 2


def test_score_endpoints_over_http(server: Server) -> None:
    _seed(server.db)
    token = json.loads(
        run_dtem("token", "create", "--role", "viewer", "--json", db=server.db, check=True).stdout
    )["token"]
    headers = {"Authorization": f"Bearer {token}"}
    params = {"as_of": NOW.isoformat()}
    score = httpx.get(f"{server.base_url}/accounts/HOT/score", headers=headers, params=params)
    why = httpx.get(f"{server.base_url}/accounts/HOT/explain", headers=headers, params=params)
    assert score.status_code == 200 and why.status_code == 200
    assert score.json()["score"] == why.json()["score"] >= 60
    assert len(why.json()["top_signals"]) == 2
    missing = httpx.get(f"{server.base_url}/accounts/NOPE/score", headers=headers)
    assert missing.status_code == 404
    assert httpx.get(f"{server.base_url}/accounts/HOT/score").status_code == 401
