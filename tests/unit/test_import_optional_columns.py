"""`optional: true` columns: a file without them imports as if they were not mapped."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid, InputInvalid
from dtem.domain.model import Account
from dtem.services.imports import import_file
from dtem.services.imports.mapping import parse_mapping
from dtem.services.imports.readers import SourceBatch
from dtem.services.imports.validate import Validator

MAPPING = parse_mapping(
    {
        "accounts": {
            "fields": {
                "external_id": "Id",
                "name": "Name",
                "industry": {"column": "Industry", "optional": True},
                "do_not_contact": {"column": "Do Not Contact", "optional": True},
                "domain": "Website",
            },
            "attributes": {"source": {"column": "Lead Source", "optional": True}},
        }
    },
    "crm",
)


def test_absent_optional_columns_are_left_out_and_named() -> None:
    section = MAPPING.section("accounts")
    v = Validator(section, "a.csv", ["Id", "Name", "Website"])
    assert v.header_errors(1) == []
    assert v.absent == ["Industry", "Do Not Contact", "Lead Source"]
    out = v.apply(SourceBatch(2, {"Id": ["A1"], "Name": ["Acme"], "Website": ["acme.com"]}))
    assert out.records == [(2, {"external_id": "A1", "name": "Acme", "domain": "acme.com"})]


def test_a_present_optional_column_is_read_and_a_required_one_still_reported() -> None:
    section = MAPPING.section("accounts")
    present = Validator(section, "a.csv", ["Id", "Name", "Website", "Industry"])
    out = present.apply(
        SourceBatch(2, {"Id": ["A1"], "Name": ["A"], "Website": ["a.com"], "Industry": ["Retail"]})
    )
    assert out.records[0][1]["industry"] == "retail" and present.absent == [
        "Do Not Contact",
        "Lead Source",
    ]
    missing = Validator(section, "a.csv", ["Id", "Name"]).header_errors(1)
    assert [(e.row, e.field, e.value) for e in missing] == [(1, "domain", "Website")]


def test_optional_must_be_a_boolean_on_a_column() -> None:
    with pytest.raises(ArgumentInvalid) as err:
        parse_mapping(
            {
                "accounts": {
                    "fields": {
                        "external_id": {"column": "Id", "optional": "yes"},
                        "tier": {"value": 2, "optional": True},
                    }
                }
            },
            "bad",
        )
    text = str(err.value)
    assert "accounts.external_id: 'optional' must be true or false" in text
    assert "accounts.tier: 'optional' needs a 'column'" in text


def test_an_update_without_the_optional_column_keeps_the_stored_value(tmp_path: Path) -> None:
    ledger = MemoryLedger()
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", industry="retail", do_not_contact=True)], T0)
    path = tmp_path / "accounts.csv"
    path.write_text("Id,Name,Website\nA1,Acme,acme.com\n")
    got = import_file(ledger, FixedClock(T0), "accounts", path, MAPPING, pipeline=signal_pipeline())
    with ledger.transaction() as tx:
        acme = tx.accounts_by_external_id(["A1"])["A1"]
    assert got.counts["updated"] == 1
    assert got.absent_columns == ["Industry", "Do Not Contact", "Lead Source"]
    assert (acme.industry, acme.do_not_contact, acme.domain) == ("retail", True, "acme.com")


def test_a_missing_required_column_still_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("Id,Website\nA1,acme.com\n")
    with pytest.raises(InputInvalid) as err:
        import_file(
            MemoryLedger(), FixedClock(T0), "accounts", path, MAPPING, pipeline=signal_pipeline()
        )
    assert [(e.row, e.field) for e in err.value.errors] == [(1, "name")]
