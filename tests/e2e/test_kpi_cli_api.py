"""KPIs, the TAM audit and the pilot as users drive them: CLI text, JSON, CSV, bad input, API."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Activity, Opportunity, Rep, Tier
from dtem.services import access
from tests import kpi_ledger
from tests.e2e.conftest import Server, run_dtem
from tests.market_seed import put_score, seed

NOW = datetime.now(UTC)  # the CLI and the server use the real clock
Q1 = ("--from", "2027-01-01", "--to", "2027-04-01")


@pytest.fixture(params=["sqlite", "postgres"])
def kpi_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The hand-computed ledger of tests/kpi_ledger.py behind a URL the CLI opens."""
    db = (
        f"sqlite:///{tmp_path}/k.db"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    run_dtem("init", db=db, check=True)
    ledger = SqlLedger(make_engine(db))
    kpi_ledger.seed(ledger)
    ledger.engine.dispose()
    return db


def _no_traceback(out: Any) -> None:
    assert "Traceback" not in out.stderr + out.stdout


def test_kpi_json_gives_the_hand_computed_numbers(kpi_db: str) -> None:
    out = run_dtem("kpi", *Q1, "--json", db=kpi_db)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["kpis"]
    # worked out in tests/integration/test_kpi_ledger.py from the table of tests/kpi_ledger.py
    assert got["phantom equity"]["detail"]["static"] == {"untouched_owned": 2, "owned": 3}
    assert got["dead zones"]["detail"]["static"] == {"unworked_crossings": 1, "crossings": 2}
    assert got["coverage"]["detail"]["dtem"] == {"touched": 5, "contactable": 6}
    assert (got["CAC"]["static"], got["CAC"]["dtem"]) == (1200.0, 1204.0)
    assert (got["cycle length"]["static"], got["cycle length"]["dtem"]) == (45.0, 34.0)


def test_kpi_table_shows_both_sides(kpi_db: str) -> None:
    out = run_dtem("kpi", *Q1, db=kpi_db)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if "phantom equity" in x)
    assert "66.7%" in line and "0.0%" in line
    assert "lead decay" in out.stdout and "< 5 min" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2027-13-01"), "--from: '2027-13-01' is not a date"),
        (("--to", "yesterday"), "--to: 'yesterday' is not a date"),
        (("--from", "2027-04-01", "--to", "2027-01-01"), "must be after --from"),
    ],
)
def test_kpi_bad_dates_are_usage_errors(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    db = f"sqlite:///{tmp_path}/k.db"
    run_dtem("init", db=db, check=True)
    out = run_dtem("kpi", *args, db=db)
    assert out.returncode == 2 and message in out.stderr
    _no_traceback(out)
    as_json = run_dtem("kpi", *args, "--json", db=db)
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["code"] == 2


def _audit_ledger(db: str) -> None:
    """As of now: HOT is scored 80 and nobody works it; OWNED is R1's and untouched;
    WORKED is R1's and touched yesterday; AI is tier 3."""
    ledger = SqlLedger(make_engine(db))
    accounts = [
        Account("HOT", "Hot"),
        Account("OWNED", "Owned", static_owner="R1"),
        Account("WORKED", "Worked", static_owner="R1"),
        Account("AI", "Bot", tier=Tier.AI_ONLY),
    ]
    acc, _ = seed(ledger, FixedClock(NOW), accounts, [Rep("R1", "Rita")])
    put_score(ledger, acc["HOT"], 80.0, NOW - timedelta(hours=1))
    put_score(ledger, acc["WORKED"], 40.0, NOW - timedelta(hours=1))
    with ledger.transaction() as tx:
        tx.insert_activities(
            [Activity("t1", "WORKED", "call", NOW - timedelta(days=1), "rep", "R1")]
        )
    ledger.engine.dispose()


def test_audit_tam_writes_every_account_to_csv_and_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/a.db"
    run_dtem("init", db=db, check=True)
    _audit_ledger(db)
    path = tmp_path / "tam.csv"
    out = run_dtem("audit-tam", "--csv", str(path), "--json", db=db)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert (body["accounts"], body["owned"], body["phantom"], body["dead_zones"]) == (4, 2, 1, 1)
    assert body["tiers"] == {"1": 0, "2": 3, "3": 1}
    assert body["top"][:2] == ["HOT", "WORKED"]  # by score; unscored last
    rows = {r["account"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}
    assert set(rows) == {"HOT", "OWNED", "WORKED", "AI"}
    assert (rows["HOT"]["dead_zone"], rows["HOT"]["phantom"]) == ("True", "False")
    assert (rows["OWNED"]["phantom"], rows["WORKED"]["phantom"]) == ("True", "False")
    assert rows["AI"]["tier"] == "3" and "tier 3" in rows["AI"]["tier_reason"]
    assert rows["WORKED"]["last_human_touch"].startswith(
        (NOW - timedelta(days=1)).date().isoformat()
    )
    text = run_dtem("audit-tam", db=db)
    assert "phantom equity 1/2 owned (50.0%)" in text.stdout and "dead zones 1" in text.stdout


def test_audit_tam_to_an_unwritable_csv_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/a.db"
    run_dtem("init", db=db, check=True)
    out = run_dtem("audit-tam", "--csv", str(tmp_path / "no" / "such" / "dir.csv"), db=db)
    assert out.returncode == 2 and "--csv" in out.stderr and "cannot write" in out.stderr
    _no_traceback(out)
    bad = run_dtem("audit-tam", "--at", "31/12/2027", db=db)
    assert bad.returncode == 2 and "--at: '31/12/2027' is not a date" in bad.stderr
    _no_traceback(bad)


def _pilot_ledger(db: str) -> None:
    """Three reps; deals closed today: R1 (pod) won two quickly, R3 (floor) won one, lost two."""
    ledger = SqlLedger(make_engine(db))
    accounts = [Account(f"A{i}", f"A{i}") for i in range(5)]
    seed(ledger, FixedClock(NOW), accounts, [Rep("R1", "A"), Rep("R2", "B"), Rep("R3", "C")])
    today = NOW.date()

    def deal(i: int, stage: str, amount: float, days: int, rep: str) -> Opportunity:
        return Opportunity(
            f"O{i}", f"A{i}", stage, amount, today - timedelta(days=days), today, rep
        )

    with ledger.transaction() as tx:
        tx.insert_opportunities([
            deal(0, "closed_won", 5000.0, 10, "R1"), deal(1, "closed_won", 3000.0, 20, "R1"),
            deal(2, "closed_won", 4000.0, 40, "R3"), deal(3, "closed_lost", 1000.0, 30, "R3"),
            deal(4, "closed_lost", 1000.0, 50, "R3"),
        ], NOW)  # fmt: skip
    ledger.engine.dispose()


def test_pilot_create_report_and_every_mistake(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    run_dtem("init", db=db, check=True)
    _pilot_ledger(db)
    made = run_dtem("pilot", "create", "--name", "tank", "--reps", "R1,R2", db=db)
    assert made.returncode == 0 and "R1, R2" in made.stdout, made.stderr
    out = run_dtem("pilot", "report", "tank", "--json", db=db)
    assert out.returncode == 0, out.stderr
    rows = {m["metric"]: m for m in json.loads(out.stdout)["comparisons"]}
    assert (rows["win rate"]["pod"], rows["win rate"]["floor"]) == (1.0, 1 / 3)
    assert rows["velocity"]["pod"] == pytest.approx(8000 / 30)  # won amount ÷ cycle days
    assert rows["velocity"]["floor"] == pytest.approx(4000 / 40)
    assert rows["cycle days"]["pod"] == 15.0 and rows["cycle days"]["floor"] == 40.0
    low, high = rows["win rate"]["low"], rows["win rate"]["high"]
    assert low <= rows["win rate"]["difference"] <= high
    text = run_dtem("pilot", "report", "tank", db=db)
    assert "95% interval" in text.stdout and "win rate" in text.stdout
    for args, code, message in [
        (("pilot", "create", "--name", "tank", "--reps", "R3"), 10, "already exists"),
        (("pilot", "create", "--name", "t2", "--reps", "R3,R9"), 4, "unknown rep(s): R9"),
        (("pilot", "create", "--name", "t3", "--reps", "R2"), 2, "already in running pilot"),
        (("pilot", "create", "--name", "t4", "--reps", " , "), 2, "--reps names no rep"),
        (("pilot", "report", "nope"), 4, "pilot 'nope' does not exist"),
        (("pilot", "end", "nope"), 4, "pilot 'nope' does not exist"),
    ]:
        bad = run_dtem(*args, db=db)
        assert (bad.returncode, message in bad.stderr) == (code, True), (args, bad.stderr)
        _no_traceback(bad)
    ended = run_dtem("pilot", "end", "tank", db=db)
    assert ended.returncode == 0 and "ended" in ended.stdout
    listed = json.loads(run_dtem("pilot", "list", "--json", db=db).stdout)
    assert [(p["name"], p["reps"], p["ended_at"] is not None) for p in listed] == [
        ("tank", ["R1", "R2"], True)
    ]


def test_api_kpis_audit_and_pilot_report(server: Server) -> None:
    ledger = SqlLedger(make_engine(server.db))
    kpi_ledger.seed(ledger)
    _, token = access.create_token(ledger, FixedClock(NOW), "viewer", "v")
    ledger.engine.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    got = httpx.get(f"{server.base_url}/kpis", params={"from": "2027-01-01", "to": "2027-04-01"},
                    headers=auth)  # fmt: skip
    assert got.status_code == 200, got.text
    assert got.json()["kpis"]["win rate"]["detail"]["static"] == {"won": 2, "closed": 3}
    bad = httpx.get(f"{server.base_url}/kpis", params={"from": "soon"}, headers=auth)
    assert bad.status_code == 422 and "from: 'soon' is not a date" in bad.text
    audit = httpx.get(f"{server.base_url}/tam-audit", params={"top": 3, "at": "2027-04-01"},
                      headers=auth)  # fmt: skip
    assert audit.status_code == 200, audit.text
    assert (audit.json()["top"], audit.json()["phantom"]) == (["A3", "A4", "A1"], 2)
    missing = httpx.get(f"{server.base_url}/pilots/nope/report", headers=auth)
    assert missing.status_code == 404
    assert httpx.get(f"{server.base_url}/kpis").status_code == 401
    assert date.fromisoformat(got.json()["from"][:10]) == date(2027, 1, 1)
