"""Mappings: shipped ones load, bad ones list every problem, headers are checked first."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtem.domain.policy import default_policy
from dtem.services.imports.mapping import (
    identity_mapping,
    load_mapping,
    parse_mapping,
    shipped_mappings,
)
from dtem.services.imports.readers import SourceBatch, read_batches
from dtem.services.imports.validate import Validator, duplicate_errors

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"


def test_shipped_mappings_load_by_name() -> None:
    assert {"salesforce", "hubspot", "olist", "olist-deals"} <= set(shipped_mappings())
    sf = load_mapping("salesforce")
    assert sf.section("accounts").fields["static_owner"].column == "Account Owner"
    assert sf.section("opportunities").fields["stage"].map["Needs Analysis"] == "discovery"


def test_every_shipped_stage_name_maps_to_a_policy_stage() -> None:
    policy = default_policy()
    for name in ("salesforce", "hubspot"):
        stage_map = load_mapping(name).section("opportunities").fields["stage"].map
        assert set(stage_map.values()) <= set(policy.stages), name


def test_missing_section_names_the_sections_there_are() -> None:
    with pytest.raises(
        ValueError, match=r"no 'activities' section \(it has: accounts, opportunities"
    ):
        load_mapping("hubspot").section("activities")


def test_invalid_mapping_lists_every_problem() -> None:
    doc = {"accounts": {"fields": {"nmae": "Name", "domain": {"transform": ["shout"]}}}}
    with pytest.raises(ValueError) as err:
        parse_mapping(doc, "bad")
    text = str(err.value)
    assert "unknown field 'nmae'" in text
    assert "unknown transform 'shout'" in text
    assert "needs 'column' or 'value'" in text


def test_unknown_mapping_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match=r"shipped mappings: .*salesforce"):
        load_mapping("pipedrive")


def test_identity_mapping_matches_columns_named_like_fields() -> None:
    m = identity_mapping("accounts", ["External ID", "name", "Annual-Revenue", "colour"])
    assert {f: r.column for f, r in m.fields.items()} == {
        "external_id": "External ID",
        "name": "name",
        "annual_revenue": "Annual-Revenue",
    }


def test_header_errors_name_the_column_and_list_the_available_ones() -> None:
    m = load_mapping("salesforce").section("accounts")
    v = Validator(m, "a.csv", ["Account ID", "Account Name", "Web site"])
    errors = v.header_errors(header_row=1)
    website = next(e for e in errors if e.field == "domain")
    assert website.row == 1 and website.value == "Website"
    assert "unknown column 'Website'" in website.reason and "Web site" in website.reason


def test_rows_with_errors_are_dropped_and_every_error_is_reported() -> None:
    m = load_mapping("salesforce").section("accounts")
    (batch,) = read_batches(FIXTURES / "sf_accounts_bad.csv")
    out = Validator(m, "bad.csv", list(batch.data)).apply(batch)
    got = {(e.row, e.field) for e in out.errors}
    assert got == {(3, "name"), (4, "annual_revenue"), (5, "employees"), (7, "domain")}
    records, dupes = duplicate_errors(out.records, "external_id", "bad.csv")
    assert [(e.row, e.field) for e in dupes] == [(6, "external_id")]
    assert [row for row, _ in records] == [2]


def test_stage_labels_map_through_the_mapping_then_the_policy() -> None:
    m = load_mapping("hubspot").section("opportunities")
    data = {c: ["x"] * 3 for c in m.columns}
    data["Deal Stage"] = ["closedwon", "Contract Sent", "lunch"]
    data["Amount"] = ["1", "2", "3"]
    for col in ("Close Date", "Create Date"):
        data[col] = ["2027-01-02"] * 3
    out = Validator(m, "d.csv", list(data), default_policy()).apply(SourceBatch(2, data))
    assert [r["stage"] for _, r in out.records] == ["closed_won", "negotiation"]
    (err,) = out.errors
    assert err.row == 4 and err.field == "stage" and "unknown stage" in err.reason
