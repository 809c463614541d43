"""`dtem import …` as a user types it, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from tests.e2e.conftest import run_dtem

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
TABLES = ("accounts", "opportunities", "audit_log", "record_changes", "import_batches")


def dtem(*args: str) -> Result:
    from dtem.entrypoints.cli.app import app

    return CliRunner().invoke(app, list(args))


def counts(db: str) -> dict[str, int]:
    engine = make_engine(db)
    with SqlLedger(engine).transaction() as tx:
        out = {t: tx.count(t) for t in TABLES}
    engine.dispose()
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


def _import(db: str, kind: str, file: str, *extra: str) -> Result:
    return dtem("import", kind, str(FIXTURES / file), "--db", db, *extra)


def test_accounts_import_reports_counts_as_json(db: str) -> None:
    result = _import(db, "accounts", "sf_accounts.csv", "--mapping", "salesforce", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["counts"] == {"rows": 5, "inserted": 5, "updated": 0, "unchanged": 0, "rejected": 0}
    assert counts(db)["accounts"] == 5 and counts(db)["audit_log"] >= 2  # policy + import


def test_reimport_is_idempotent_and_changed_file_is_recorded(db: str) -> None:
    _import(db, "accounts", "sf_accounts.csv", "-m", "salesforce")
    before = counts(db)
    again = _import(db, "accounts", "sf_accounts.csv", "-m", "salesforce", "--json")
    assert json.loads(again.stdout)["counts"]["unchanged"] == 5
    assert counts(db) == before
    changed = _import(db, "accounts", "sf_accounts_changed.csv", "-m", "salesforce", "--json")
    assert json.loads(changed.stdout)["counts"]["updated"] == 1
    after = counts(db)
    assert after["accounts"] == 6 and after["record_changes"] == before["record_changes"] + 1
    assert after["audit_log"] == before["audit_log"] + 1


def test_bad_rows_exit_3_name_file_row_field_and_write_nothing(db: str) -> None:
    _import(db, "accounts", "sf_accounts.csv", "-m", "salesforce")
    before = counts(db)
    result = _import(db, "accounts", "sf_accounts_bad.csv", "-m", "salesforce")
    assert result.exit_code == 3
    for line in (
        "sf_accounts_bad.csv:3: field 'name' = '': missing required field",
        "sf_accounts_bad.csv:4: field 'annual_revenue' = '-300': negative amount",
        "sf_accounts_bad.csv:5: field 'employees' = 'lots': not a number",
        "sf_accounts_bad.csv:6: field 'external_id' = '0015g00000AbCdEAAV': duplicate id in file",
        "sf_accounts_bad.csv:7: field 'domain' = 'not a domain': not a domain name",
    ):
        assert line in result.stderr
    assert counts(db) == before


def test_opportunity_errors_name_stage_account_date_and_amount(db: str) -> None:
    _import(db, "accounts", "sf_accounts.csv", "-m", "salesforce")
    before = counts(db)
    result = _import(db, "opportunities", "sf_opportunities_bad.csv", "-m", "salesforce")
    assert result.exit_code == 3
    err = result.stderr
    assert "sf_opportunities_bad.csv:2: field 'stage' = 'Daydreaming': unknown stage" in err
    assert "sf_opportunities_bad.csv:3:" not in err  # an unknown account: kept, unattached
    assert "sf_opportunities_bad.csv:4: field 'close_date' = '31/03/2026': unparsable date" in err
    assert "sf_opportunities_bad.csv:5: field 'amount' = '-1,000': negative amount" in err
    assert counts(db) == before


def test_unknown_column_in_mapping_lists_the_file_columns(tmp_path: Path, sqlite_url: str) -> None:
    mapping = tmp_path / "crm.yaml"
    mapping.write_text("accounts:\n  fields:\n    external_id: Id\n    name: Account Name\n")
    result = _import(sqlite_url, "accounts", "sf_accounts.csv", "--mapping", str(mapping))
    assert result.exit_code == 3
    assert "sf_accounts.csv:1: field 'external_id' = 'Id': unknown column 'Id'" in result.stderr
    assert "Account ID, Account Name, Website" in result.stderr


def test_dry_run_counts_and_writes_nothing(sqlite_url: str) -> None:
    result = _import(sqlite_url, "accounts", "sf_accounts.csv", "-m", "salesforce", "--dry-run")
    assert result.exit_code == 0
    assert "would import accounts" in result.stdout and "5 new" in result.stdout
    assert counts(sqlite_url)["accounts"] == 0 and counts(sqlite_url)["import_batches"] == 0


def test_skip_imports_good_rows_and_writes_rejects(tmp_path: Path, db: str) -> None:
    path = tmp_path / "export.csv"
    shutil.copy(FIXTURES / "sf_accounts_bad.csv", path)
    result = dtem(
        "import", "accounts", str(path), "-m", "salesforce", "--on-error", "skip", "--db", db
    )
    assert result.exit_code == 0, result.stderr
    with (tmp_path / "export.rejects.csv").open(newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [(r["row"], r["field"]) for r in rejects] == [
        ("3", "name"),
        ("4", "annual_revenue"),
        ("5", "employees"),
        ("6", "external_id"),
        ("7", "domain"),
    ]
    assert all(r["reason"] for r in rejects) and counts(db)["accounts"] == 1


def test_hubspot_companies_and_deals(sqlite_url: str) -> None:
    assert _import(sqlite_url, "accounts", "hs_companies.csv", "-m", "hubspot").exit_code == 0
    deals = _import(sqlite_url, "opportunities", "hs_deals.csv", "-m", "hubspot", "--json")
    out = json.loads(deals.stdout)
    assert out["counts"]["inserted"] == 3
    stages = {c["opportunity_external_id"]: c["new_stage"] for c in out["stage_changes"]}
    assert stages == {"7701": "prospecting", "7702": "negotiation", "7703": "closed_lost"}
    assert any("Nobody Known" in w for w in out["warnings"])


def test_reps_csv_activities_jsonl_and_accounts_parquet(sqlite_url: str) -> None:
    assert _import(sqlite_url, "reps", "reps.csv").exit_code == 0
    assert _import(sqlite_url, "accounts", "accounts.parquet").exit_code == 0
    assert _import(sqlite_url, "accounts", "sf_accounts.csv", "-m", "salesforce").exit_code == 0
    acts = _import(sqlite_url, "activities", "activities.jsonl", "--json")
    assert json.loads(acts.stdout)["counts"]["inserted"] == 3
    assert counts(sqlite_url)["accounts"] == 8


def test_import_as_typed_in_a_shell(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/shell.db"
    bad = run_dtem(
        "import", "accounts", str(FIXTURES / "sf_accounts_bad.csv"), "-m", "salesforce", db=db
    )
    assert bad.returncode == 3 and "sf_accounts_bad.csv:4: field 'annual_revenue'" in bad.stderr
    ok = run_dtem(
        "import", "accounts", str(FIXTURES / "sf_accounts.csv"), "-m", "salesforce", db=db
    )
    assert ok.returncode == 0 and "5 new, 0 updated" in ok.stdout
