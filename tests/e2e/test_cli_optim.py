"""Rebalance, capacity bids and the CRM export from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.entrypoints.cli.app import app
from tests.conftest import T0, sql_ledger
from tests.e2e.conftest import run_dtem
from tests.optim_seed import score, seed

runner = CliRunner()


def _market(tmp_path: Path) -> tuple[str, SqlLedger]:
    """Six hot accounts, two reps with four seats between them (one without CRM id)."""
    db = f"sqlite:///{tmp_path}/m.db"
    ledger = sql_ledger(db)
    accounts = [Account(f"A{i}", f"Acct {i}", potential_value=1000.0 * (i + 1)) for i in range(6)]
    reps = [Rep("R1", "Rita", capacity=3, crm_user_id="005R1"), Rep("R2", "Raj", capacity=1)]
    acc, _ = seed(ledger, FixedClock(T0), accounts, reps)
    for key, account_id in acc.items():
        score(ledger, account_id, 70.0 + int(key[1:]), T0)
    return db, ledger


def dtem(*args: str, db: str) -> dict[str, object] | list[object]:
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    out: dict[str, object] | list[object] = json.loads(result.stdout)
    return out


def test_review_with_rebalance_fills_capacity_and_reports_the_bound(tmp_path: Path) -> None:
    db, ledger = _market(tmp_path)
    dry = dtem("rebalance", "--dry-run", "--json", db=db)
    assert isinstance(dry, dict) and dry["granted"] == 4 and dry["applied"] is False
    out = dtem("review", "--rebalance", "--move-leases", "--json", db=db)
    assert isinstance(out, dict)
    report = out["rebalance"]
    assert isinstance(report, dict)
    assert (report["granted"], report["left_unassigned"], report["moved"]) == (4, 2, 0)
    assert abs(report["lp_bound"] - report["objective"]) < 1e-6
    assert report["greedy_objective"] <= report["objective"]
    with ledger.transaction() as tx:
        assert len(tx.active_leases()) == 4


def test_hour_mode_json_stays_clean_when_run_as_a_process(tmp_path: Path) -> None:
    db, _ = _market(tmp_path)
    proc = run_dtem("rebalance", "--hours", "--time-limit", "5", "--json", db=db, check=True)
    report = json.loads(proc.stdout)  # the solver's banner must not reach stdout
    assert report["method"] == "highs_mip" and report["granted"] == 4


def test_bids_are_validated_awarded_and_listed(tmp_path: Path) -> None:
    db, _ = _market(tmp_path)
    bad = runner.invoke(app, ["bid", "submit", "--rep", "R1", "--quarter", "2027Q7",
                              "--leases", "5", "--db", db])  # fmt: skip
    assert bad.exit_code == 3 and "YYYYQn" in bad.output
    missing = runner.invoke(app, ["bid", "submit", "--rep", "R9", "--quarter", "2027Q2",
                                  "--leases", "5", "--db", db])  # fmt: skip
    assert missing.exit_code == 4
    for rep, n in (("R1", 10), ("R2", 1)):
        dtem("bid", "submit", "--rep", rep, "--quarter", "2027Q2", "--leases", str(n), "--json",
             db=db)  # fmt: skip
    award = dtem("bid", "award", "--quarter", "2027Q2", "--json", db=db)
    assert isinstance(award, dict) and award["total_capacity"] == 4
    awarded = {x["rep"]: x["awarded"] for x in award["lines"]}  # type: ignore[union-attr]
    assert awarded == {"R1": 3, "R2": 1}
    listed = dtem("bid", "list", "--quarter", "2027Q2", "--json", db=db)
    assert [r["awarded"] for r in listed] == [3, 1]  # type: ignore[index]


def test_export_names_reps_without_crm_id_then_writes_only_changes(tmp_path: Path) -> None:
    db, ledger = _market(tmp_path)
    dtem("rebalance", "--json", db=db)
    out = tmp_path / "owners.csv"
    blocked = runner.invoke(
        app, ["export", "assignments", "--format", "salesforce", "--out", str(out), "--db", db]
    )
    assert blocked.exit_code == 3 and "R2" in blocked.output and not out.exists()
    with ledger.transaction() as tx:
        tx.update_reps([Rep("R2", "Raj", capacity=1, crm_user_id="005R2")], T0)
    first = dtem("export", "assignments", "--format", "salesforce", "--out", str(out), "--json",
                 db=db)  # fmt: skip
    lines = out.read_text().splitlines()
    assert lines[0] == "Id,OwnerId" and len(lines) == 5 and first["rows"] == 4  # type: ignore[index]
    assert {ln.split(",")[1] for ln in lines[1:]} == {"005R1", "005R2"}
    again = dtem("export", "assignments", "--format", "salesforce", "--json", db=db)
    assert again["rows"] == 0 and again["csv"] == "Id,OwnerId\n"  # type: ignore[index]
