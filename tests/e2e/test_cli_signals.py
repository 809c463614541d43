"""`dtem source`, `dtem import signals` and `dtem signals` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dtem.entrypoints.cli.app import app

runner = CliRunner()


def dtem(*args: str, db: str, code: int = 0) -> Any:
    """Run a command with --db; parse its JSON when it printed some."""
    got = runner.invoke(app, [*args, "--db", db])
    assert got.exit_code == code, got.output
    return json.loads(got.stdout) if "--json" in args else got.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    dtem("init", db=url)
    return url


def _csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


SURGE = "Domain,Company Name,Topic,Category,Composite Score"


def test_source_key_is_printed_once_and_never_listed(db: str) -> None:
    created = dtem("source", "create", "website", "--json", db=db)
    assert created["write_key"].startswith("dtem_wk_")
    listed = dtem("source", "list", "--json", db=db)
    assert [s["name"] for s in listed] == ["website"]
    assert created["write_key"] not in json.dumps(listed)
    assert "exists" in runner.invoke(app, ["source", "create", "website", "--db", db]).output


def test_weekly_surge_file_replaces_last_weeks_intent(db: str, tmp_path: Path) -> None:
    week1 = _csv(
        tmp_path / "w1.csv",
        SURGE,
        "acme.com,Acme,CRM,Software,72",
        "www.acme.com,Acme,ERP,Software,40",
    )
    week2 = _csv(tmp_path / "w2.csv", SURGE, "acme.com,Acme,CRM,Software,65")
    first = dtem(
        "import",
        "signals",
        str(week1),
        "--mapping",
        "bombora_surge",
        "--as-of",
        "2027-01-04",
        "--json",
        db=db,
    )
    assert first["counts"]["stored"] == 2 and first["counts"]["unmatched"] == 2
    again = dtem("import", "signals", str(week1), "--mapping", "bombora_surge", "--json", db=db)
    assert (again["counts"]["stored"], again["counts"]["duplicates"]) == (0, 2)
    dtem(
        "import",
        "signals",
        str(week2),
        "--mapping",
        "bombora_surge",
        "--as-of",
        "2027-01-11",
        db=db,
    )
    stats = dtem("signals", "stats", "--json", db=db)
    assert stats["by_type"] == {"intent_surge": 3} and stats["superseded"] == 1


def test_invalid_rows_abort_the_import_and_are_listed(db: str, tmp_path: Path) -> None:
    rows = _csv(
        tmp_path / "s.csv",
        "domain,event_name,type,occurred_at,value",
        "acme.com,Demo Requested,,2027-01-04,1",
        "acme.com,,,2027-01-04,1",
        "acme.com,Page Viewed,,yesterday,1",
    )
    got = runner.invoke(app, ["import", "signals", str(rows), "--db", db])
    assert got.exit_code == 3
    assert "s.csv:3" in got.output and "type or event_name is required" in got.output
    assert "s.csv:4" in got.output and "occurred_at" in got.output
    assert dtem("signals", "stats", "--json", db=db)["total"] == 0


def test_unmatched_signals_attach_when_their_account_is_imported(db: str, tmp_path: Path) -> None:
    events = _csv(tmp_path / "e.jsonl", "", "")
    events.write_text(
        '{"email": "ana@beta.io", "event_name": "Demo Requested", "occurred_at": "2027-01-04"}\n'
        '{"email": "bo@gmail.com", "event_name": "Webinar", "occurred_at": "2027-01-04"}\n'
    )
    dtem("import", "signals", str(events), db=db)
    before = dtem("signals", "unmatched", "--json", db=db)
    assert before["by_reason"] == {"unknown_domain": 1, "free_mail": 1}
    accounts = _csv(tmp_path / "a.csv", "external_id,name,domain", "B1,Beta,https://beta.io/")
    dtem("import", "accounts", str(accounts), db=db)
    after = dtem("signals", "unmatched", "--json", db=db)
    assert after["by_reason"] == {"free_mail": 1} and after["total"] == 1
