"""Implausible dates in imports are row errors naming the field, on every backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import InputInvalid
from dtem.services.imports import import_file, load_mapping
from tests.conftest import T0

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
SF = load_mapping("salesforce")
HEADER = (
    "Opportunity ID,Account ID,Opportunity Name,Stage,Amount,Close Date,Created Date,"
    "Opportunity Owner"
)
ACME = "0015g00000AbCdEAAV"


def _opportunities(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "deals.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_implausible_deal_dates_are_refused_with_row_and_field(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(T0)  # 2027-01-04
    import_file(
        ledger, clock, "accounts", FIXTURES / "sf_accounts.csv", SF, pipeline=signal_pipeline()
    )
    path = _opportunities(
        tmp_path,
        f"O1,{ACME},won typo,Closed Won,12000,12/31/9999,11/2/2026,Jane",
        f"O2,{ACME},old,Prospecting,1000,3/31/2027,12/31/1969,Jane",
        f"O3,{ACME},far plan,Qualification,1000,1/1/2040,1/2/2027,Jane",
        f"O4,{ACME},created ahead,Qualification,1000,3/31/2027,6/1/2027,Jane",
        f"O5,{ACME},fine open,Qualification,1000,6/30/2028,1/2/2027,Jane",
        f"O6,{ACME},fine lost,Closed Lost,1000,1/4/2027,12/1/2026,Jane",
    )
    with pytest.raises(InputInvalid) as err:
        import_file(ledger, clock, "opportunities", path, SF, pipeline=signal_pipeline())
    assert [(e.row, e.field, e.value) for e in err.value.errors] == [
        (2, "close_date", "9999-12-31"),
        (3, "created_date", "1969-12-31"),
        (4, "close_date", "2040-01-01"),
        (5, "created_date", "2027-06-01"),
    ]
    reasons = [e.reason for e in err.value.errors]
    assert reasons[0] == (
        "implausible date: after the import (2027-01-04), and this field records a fact"
    )
    assert reasons[1] == "implausible date: before 1970-01-01"
    assert reasons[2] == "implausible date: more than 5 years after the import (2027-01-04)"
    with ledger.transaction() as tx:
        assert tx.count("opportunities") == 0  # all or nothing
    skipped = import_file(
        ledger, clock, "opportunities", path, SF, on_error="skip", pipeline=signal_pipeline()
    )
    assert (skipped.counts["inserted"], skipped.counts["rejected"]) == (2, 4)


def test_an_activity_after_the_import_is_refused(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(T0)
    import_file(
        ledger, clock, "accounts", FIXTURES / "sf_accounts.csv", SF, pipeline=signal_pipeline()
    )
    path = tmp_path / "activities.jsonl"
    rows = [{"account_external_id": ACME, "kind": "call", "occurred_at": at}
            for at in ("2027-01-03T10:00:00Z", "2099-01-03T10:00:00Z")]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = import_file(
        ledger, clock, "activities", path, on_error="skip", pipeline=signal_pipeline()
    )
    assert [(e.row, e.field) for e in got.errors] == [(2, "occurred_at")]
    assert got.counts["inserted"] == 1
