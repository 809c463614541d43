"""Compensation as users drive it: the CLI statement in csv/json, closing, and the API by role."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.comp_schedule import next_period, period_of
from dtem.domain.model import Account, Rep
from dtem.services import access
from tests.e2e.conftest import Server, run_dtem
from tests.market_seed import put_score, seed

NOW = datetime.now(UTC)  # the CLI and the server use the real clock
PERIOD = period_of(NOW.date())


def _leased(db: str, tmp_path: Path) -> Path:
    """R1 (team east) holds a lease on HOT-1 at score 82; returns a won-deal file for it."""
    ledger = SqlLedger(make_engine(db))
    reps = [Rep("R1", "Rita", pod="east"), Rep("R2", "Raj", pod="west", active=False)]
    acc, _ = seed(ledger, FixedClock(NOW), [Account("HOT-1", "Hot One")], reps)
    put_score(ledger, acc["HOT-1"], 82.0, NOW - timedelta(hours=1))
    run_dtem("route", "HOT-1", db=db, check=True)
    return _deal_file(tmp_path, "12345.67")


def _deal_file(tmp_path: Path, amount: str) -> Path:
    path = tmp_path / "won.csv"
    header = "external_id,account_external_id,stage,amount,close_date\n"
    path.write_text(header + f"O-1,HOT-1,closed_won,{amount},{NOW.date().isoformat()}\n")
    return path


def test_cli_statement_csv_and_json_then_close_and_adjust(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/c.db"
    run_dtem("init", db=db, check=True)
    won = _leased(db, tmp_path)
    run_dtem("import", "opportunities", str(won), db=db, check=True)
    run_dtem("import", "opportunities", str(won), db=db, check=True)  # idempotent
    out = run_dtem("comp", "statement", "--rep", "R1", "--period", PERIOD, "--format", "csv", db=db)
    assert out.returncode == 0, out.stderr
    (row,) = list(csv.DictReader(io.StringIO(out.stdout)))
    # 82.00 → 0.12 − 22/40 × 0.07 = 0.0815; 12345.67 × 0.0815 = 1006.172105 → 1006.17
    assert (row["kind"], row["opportunity"], row["account"]) == ("deal", "O-1", "HOT-1")
    assert (row["score_at_grant"], row["rate"], row["amount"], row["commission"]) == (
        "82.00", "0.081500", "12345.67", "1006.17",
    )  # fmt: skip
    flat = tmp_path / "flat.yaml"
    flat.write_text("effective_from: next_quarter\ncurve: [[0, 0.1], [100, 0.1]]\n")
    sim = run_dtem("comp", "simulate", "--plan", str(flat), "--json", db=db)
    (rep_row,) = json.loads(sim.stdout)["reps"]
    assert (rep_row["paid"], rep_row["simulated"], rep_row["difference"]) == (
        "1006.17", "1234.57", "228.40",
    )  # fmt: skip
    closed = run_dtem("comp", "close", "--period", PERIOD, db=db)
    assert closed.returncode == 0 and "closed" in closed.stdout, closed.stderr
    run_dtem("import", "opportunities", str(_deal_file(tmp_path, "20000")), db=db, check=True)
    locked = json.loads(
        run_dtem(
            "comp", "statement", "--rep", "R1", "--period", PERIOD, "--format", "json", db=db
        ).stdout
    )
    assert locked["locked"] and locked["total_commission"] == "1006.17"
    later = next_period(PERIOD)
    adjusted = json.loads(
        run_dtem(
            "comp", "statement", "--rep", "R1", "--period", later, "--format", "json", db=db
        ).stdout
    )
    (adj,) = adjusted["lines"]
    # 20000 × 0.0815 = 1630.00; minus 1006.17 paid
    assert (adj["kind"], adj["amount"], adj["commission"]) == ("adjustment", "7654.33", "623.83")
    assert adjusted["total_commission"] == "623.83" and not adjusted["locked"]


def test_cli_refuses_a_bad_plan_with_every_reason(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/c.db"
    run_dtem("init", db=db, check=True)
    plan = tmp_path / "bad.yaml"
    plan.write_text("effective_from: 2027-02-01\ncurve: [[0, 0.2], [60, 1.5], [50, 0.1]]\n")
    out = run_dtem("comp", "plan", "store", str(plan), db=db)
    assert out.returncode == 6
    message = " ".join(out.stderr.split())
    assert "rate 1.5 is outside [0, 1]" in message
    assert "strictly increasing" in message and "first day of a fiscal quarter" in message


def test_api_statement_by_role_over_http(server: Server, tmp_path: Path) -> None:
    won = _leased(server.db, tmp_path)
    run_dtem("import", "opportunities", str(won), db=server.db, check=True)
    ledger = SqlLedger(make_engine(server.db))
    clock = FixedClock(NOW)

    def token(role: str, subject: str | None = None) -> dict[str, str]:
        _, secret = access.create_token(ledger, clock, role, role, subject=subject)
        return {"Authorization": f"Bearer {secret}"}

    def get(rep: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.get(f"{server.base_url}/comp/statements/{rep}/{PERIOD}", headers=headers)

    own = get("R1", token("rep", "R1"))
    assert own.status_code == 200, own.text
    body = own.json()
    assert (body["total_commission"], body["lines"][0]["rate"]) == ("1006.17", "0.081500")
    assert get("R2", token("rep", "R1")).status_code == 403  # another rep's
    assert get("R1", token("manager", "east")).status_code == 200  # their team
    assert get("R2", token("manager", "east")).status_code == 403  # not their team
    assert get("R2", token("manager")).status_code == 200  # no team: all
    assert get("R1", token("agent", "bot")).status_code == 403
    assert get("NOPE", token("admin")).status_code == 404
    assert get("R1", {}).status_code == 401
    bad = httpx.get(f"{server.base_url}/comp/statements/R1/2027-13", headers=token("admin"))
    assert bad.status_code == 422
    refused = httpx.post(
        f"{server.base_url}/comp/plans",
        json={"effective_from": "2027-02-01", "curve": [[0, 0.2], [60, 2]]},
        headers=token("admin"),
    )
    assert refused.status_code == 422
    assert len(refused.json()["problems"]) == 2
