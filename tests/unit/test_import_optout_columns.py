"""Opt-out columns of Salesforce and HubSpot exports feed do-not-contact: `any_of` reads
yes when any column says yes, absent optional columns are skipped and reported, and a
file without them leaves a stored do-not-contact alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid
from dtem.services import accounts
from dtem.services.governance import ensure_policy
from dtem.services.imports.mapping import load_mapping, parse_mapping
from dtem.services.imports.service import import_file

PIPE = signal_pipeline()
FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
SF_HEAD = (
    "Account ID,Account Name,Website,Industry,Annual Revenue,Employees,Billing Country,"
    "Account Owner,Email Opt Out,Do Not Call\n"
)
HS_HEAD = (
    "Record ID,Company name,Company Domain Name,Industry,Annual Revenue,"
    "Number of Employees,Country/Region,Company owner,hs_email_optout\n"
)
FILL = ",,,,,,"  # website … owner left empty


def _ledger() -> tuple[MemoryLedger, FixedClock]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    ensure_policy(ledger, clock)
    return ledger, clock


def _dnc(ledger: MemoryLedger) -> dict[str, bool]:
    with ledger.transaction() as tx:
        return {k: a.do_not_contact for k, a in tx.all_accounts().items()}


def test_salesforce_opt_outs_make_an_account_do_not_contact(tmp_path: Path) -> None:
    ledger, clock = _ledger()
    csv = tmp_path / "sf.csv"
    rows = [
        f"S1,Email out{FILL},true,false",
        f"S2,Calls out{FILL},0,1",
        f"S3,Reachable{FILL},false,false",
        f"S4,Blank{FILL},,",
    ]
    csv.write_text(SF_HEAD + "\n".join(rows) + "\n")
    result = import_file(ledger, clock, "accounts", csv, load_mapping("salesforce"), pipeline=PIPE)
    assert result.errors == [] and result.absent_columns == []
    assert _dnc(ledger) == {"S1": True, "S2": True, "S3": False, "S4": False}


def test_an_opt_out_value_that_is_not_yes_or_no_is_rejected_with_row_and_field(
    tmp_path: Path,
) -> None:
    ledger, clock = _ledger()
    csv = tmp_path / "sf.csv"
    csv.write_text(SF_HEAD + f"S1,Odd{FILL},maybe,no\n")
    result = import_file(
        ledger, clock, "accounts", csv, load_mapping("salesforce"), pipeline=PIPE,
        on_error="skip",
    )  # fmt: skip
    (error,) = result.errors
    assert (error.row, error.field, error.value) == (2, "do_not_contact", "maybe")


def test_a_file_without_opt_out_columns_imports_and_keeps_a_stored_mark(tmp_path: Path) -> None:
    ledger, clock = _ledger()
    sf = load_mapping("salesforce")
    import_file(ledger, clock, "accounts", FIXTURES / "sf_accounts.csv", sf, pipeline=PIPE)
    key = sorted(_dnc(ledger))[0]
    accounts.set_do_not_contact(ledger, clock, key, True, "ana")
    changed = tmp_path / "again.csv"
    changed.write_text(
        (FIXTURES / "sf_accounts.csv").read_text().replace("Acme Corporation", "Acme")
    )
    result = import_file(ledger, clock, "accounts", changed, sf, pipeline=PIPE)
    assert "Email Opt Out" in result.absent_columns and "DoNotCall" in result.absent_columns
    assert result.counts["updated"] == 1 and _dnc(ledger)[key] is True


def test_hubspot_reads_the_internal_property_name_too(tmp_path: Path) -> None:
    ledger, clock = _ledger()
    csv = tmp_path / "hs.csv"
    csv.write_text(HS_HEAD + f"H1,One{FILL},true\nH2,Two{FILL},false\n")
    import_file(ledger, clock, "accounts", csv, load_mapping("hubspot"), pipeline=PIPE)
    assert _dnc(ledger) == {"H1": True, "H2": False}


def test_any_of_is_a_list_of_columns_instead_of_column() -> None:
    bad = {"accounts": {"fields": {"external_id": "Id", "name": "Name",
           "do_not_contact": {"column": "A", "any_of": ["B"]}}}}  # fmt: skip
    with pytest.raises(ArgumentInvalid, match="'any_of' is a list of columns"):
        parse_mapping(bad, "bad")
