"""The import use case on the in-memory ledger: idempotent, transactional, audited."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import InputInvalid
from dtem.services.imports import import_file, load_mapping

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
SF = load_mapping("salesforce")


def _counts(ledger: MemoryLedger) -> dict[str, int]:
    with ledger.transaction() as tx:
        tables = ("accounts", "audit_log", "record_changes", "import_batches", "opportunities")
        return {t: tx.count(t) for t in tables}


def _accounts(ledger: MemoryLedger) -> None:
    import_file(
        ledger,
        FixedClock(T0),
        "accounts",
        FIXTURES / "sf_accounts.csv",
        SF,
        pipeline=signal_pipeline(),
    )


def test_dirty_salesforce_accounts_are_cleaned() -> None:
    ledger = MemoryLedger()
    result = import_file(
        ledger,
        FixedClock(T0),
        "accounts",
        FIXTURES / "sf_accounts.csv",
        SF,
        pipeline=signal_pipeline(),
    )
    assert result.counts == {"rows": 5, "inserted": 5, "updated": 0, "unchanged": 0, "rejected": 0}
    with ledger.transaction() as tx:
        acme = tx.accounts_by_external_id(["0015g00000AbCdEAAV"])["0015g00000AbCdEAAV"]
        industries = {a.industry for a in tx.all_accounts().values()}
    assert (acme.domain, acme.industry, acme.employees) == ("acme.com", "retail", 1200)
    assert acme.annual_revenue == 1_234_567 and acme.country == "United States"
    assert acme.static_owner == "Jane Smith"
    assert industries == {"retail", "technology", "healthcare", "manufacturing"}


def test_reimporting_the_same_file_changes_nothing() -> None:
    ledger = MemoryLedger()
    _accounts(ledger)
    before = _counts(ledger)
    again = import_file(
        ledger,
        FixedClock(T0),
        "accounts",
        FIXTURES / "sf_accounts.csv",
        SF,
        pipeline=signal_pipeline(),
    )
    assert again.counts["unchanged"] == 5 and again.batch_id is None
    assert _counts(ledger) == before


def test_changed_file_updates_by_external_id_and_records_each_change() -> None:
    ledger = MemoryLedger()
    _accounts(ledger)
    path = FIXTURES / "sf_accounts_changed.csv"
    result = import_file(
        ledger, FixedClock(T0), "accounts", path, SF, actor="ops", pipeline=signal_pipeline()
    )
    assert (result.counts["inserted"], result.counts["updated"], result.counts["unchanged"]) == (
        1,
        1,
        4,
    )
    with ledger.transaction() as tx:
        (change,) = tx.record_changes(result.batch_id)
        batch = tx.import_batches()[-1]
        entry = list(tx.audit_entries())[-1]
    assert change.external_id == "0015g00000AbCdEAAV"
    assert change.changes == {
        "employees": [1200, 1250],
        "static_owner": ["Jane Smith", "Bob Jones"],
    }
    assert batch.sha256 == result.sha256 and batch.actor == "ops"
    assert entry.action == "import.accounts" and entry.payload["sha256"] == result.sha256
    assert entry.payload["counts"]["updated"] == 1


def test_one_bad_row_writes_nothing_and_every_bad_row_is_listed() -> None:
    ledger = MemoryLedger()
    with pytest.raises(InputInvalid) as err:
        import_file(
            ledger,
            FixedClock(T0),
            "accounts",
            FIXTURES / "sf_accounts_bad.csv",
            SF,
            pipeline=signal_pipeline(),
        )
    rows = sorted({e.row for e in err.value.errors})
    assert rows == [3, 4, 5, 6, 7]
    assert all(e.file == "sf_accounts_bad.csv" for e in err.value.errors)
    assert _counts(ledger) == dict.fromkeys(_counts(ledger), 0)


def test_dry_run_counts_and_writes_nothing() -> None:
    ledger = MemoryLedger()
    path = FIXTURES / "sf_accounts_bad.csv"
    result = import_file(
        ledger, FixedClock(T0), "accounts", path, SF, dry_run=True, pipeline=signal_pipeline()
    )
    assert result.counts == {"rows": 6, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 5}
    assert _counts(ledger)["accounts"] == 0


def test_skip_imports_good_rows_and_writes_rejects_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    shutil.copy(FIXTURES / "sf_accounts_bad.csv", path)
    ledger = MemoryLedger()
    result = import_file(
        ledger, FixedClock(T0), "accounts", path, SF, on_error="skip", pipeline=signal_pipeline()
    )
    assert result.counts["inserted"] == 1 and result.rejects_file == str(
        tmp_path / "accounts.rejects.csv"
    )
    with open(result.rejects_file, newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [r["row"] for r in rejects] == ["3", "4", "5", "6", "7"]
    assert "negative amount" in rejects[1]["reason"] and rejects[1]["Account Name"] == "Pied Piper"
    assert "duplicate id in file" in rejects[3]["reason"]


def test_opportunity_stage_changes_append_history_and_are_returned() -> None:
    ledger = MemoryLedger()
    _accounts(ledger)
    clock = FixedClock(T0)
    first = import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities.csv",
        SF,
        pipeline=signal_pipeline(),
    )
    assert [(c.old_stage, c.new_stage) for c in first.stage_changes] == [
        (None, "prospecting"),
        (None, "discovery"),
        (None, "closed_won"),
    ]
    clock.advance(days=3)
    moved = import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities_advanced.csv",
        SF,
        pipeline=signal_pipeline(),
    )
    (change,) = moved.stage_changes
    assert (change.opportunity_external_id, change.old_stage, change.new_stage) == (
        "0065g00000XyZ1AAAQ",
        "prospecting",
        "proposal",
    )
    with ledger.transaction() as tx:
        history = tx.stage_history("0065g00000XyZ1AAAQ")
        acme_id = tx.all_account_ids()["0015g00000AbCdEAAV"]
    assert change.account_id == acme_id
    assert [(h.stage, h.source) for h in history] == [
        ("prospecting", "import"),
        ("proposal", "import"),
    ]


def test_opportunity_errors_cover_stage_account_date_and_amount() -> None:
    ledger = MemoryLedger()
    _accounts(ledger)
    with pytest.raises(InputInvalid) as err:
        import_file(
            ledger,
            FixedClock(T0),
            "opportunities",
            FIXTURES / "sf_opportunities_bad.csv",
            SF,
            pipeline=signal_pipeline(),
        )
    got = {(e.row, e.field): e.reason for e in err.value.errors}
    assert "unknown stage" in got[(2, "stage")]
    assert (3, "account_external_id") not in got  # an unknown account: stored unattached
    assert "unparsable date" in got[(4, "close_date")]
    assert "negative amount" in got[(5, "amount")]


def test_reps_get_policy_capacity_by_default_and_owners_match_by_name() -> None:
    ledger = MemoryLedger()
    clock = FixedClock(T0)
    import_file(ledger, clock, "reps", FIXTURES / "reps.csv", pipeline=signal_pipeline())
    _accounts(ledger)
    opps = import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities.csv",
        SF,
        pipeline=signal_pipeline(),
    )
    with ledger.transaction() as tx:
        reps = {r.external_id: r for r in tx.all_reps()}
        owners = {o.external_id: o.rep_external_id for o in tx.all_opportunities()}
    assert reps["R-002"].capacity == 25 and reps["R-001"].capacity == 20
    assert reps["R-001"].segments == ("smb|retail", "mid|retail") and reps["R-003"].active is False
    assert reps["R-001"].hourly_cost == 85 and reps["R-001"].email == "jane.smith@example.com"
    assert owners["0065g00000XyZ2AAAQ"] == "R-002" and opps.warnings == []


def test_activities_without_ids_get_stable_ids_and_reimport_is_a_no_op() -> None:
    ledger = MemoryLedger()
    _accounts(ledger)
    path = FIXTURES / "activities.jsonl"
    first = import_file(ledger, FixedClock(T0), "activities", path, pipeline=signal_pipeline())
    again = import_file(ledger, FixedClock(T0), "activities", path, pipeline=signal_pipeline())
    assert first.counts["inserted"] == 3 and again.counts["unchanged"] == 3
    with ledger.transaction() as tx:
        kinds = sorted(a.kind for a in tx.s.extra["activities"])
    assert kinds == ["call", "email", "meeting"]


def test_parquet_values_keep_their_types() -> None:
    ledger = MemoryLedger()
    result = import_file(
        ledger,
        FixedClock(T0),
        "accounts",
        FIXTURES / "accounts.parquet",
        pipeline=signal_pipeline(),
    )
    with ledger.transaction() as tx:
        accounts = tx.all_accounts()
    assert result.counts["inserted"] == 3
    assert accounts["P-101"].do_not_contact is True and accounts["P-102"].do_not_contact is False
    assert {a.country for a in accounts.values()} == {"Brazil", "United States"}
    assert accounts["P-102"].name == "Arrow Airlines" and accounts["P-102"].industry == "logistics"
