"""Imports over HTTP: a file uploaded with a mapping gets the CLI's validation and report;
a bad row answers every row error and writes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest

from tests.e2e.inprocess import Api, serve

EXAMPLES = Path(__file__).parents[2] / "examples"
GOOD = "external_id,name,employees\nA1,Acme,120\nA2,Globex,40\n"
BAD = "external_id,name,employees\nA1,Acme,120\nA2,Globex,many\nA3,Initech,-5\n"


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    yield from serve(request)


def _accounts(api: Api) -> list[str]:
    with api.c.ledger.transaction() as tx:
        return sorted(tx.all_account_ids())


def _upload(api: Api, kind: str, text: str, role: str = "manager", **form: str) -> httpx.Response:
    files = {"file": ("accounts.csv", text.encode(), "text/csv")}
    return api.post(f"/imports/{kind}", role, files=files, data=form)


def test_an_upload_imports_and_reports_as_the_cli_does(api: Api) -> None:
    got = _upload(api, "accounts", GOOD)
    assert got.status_code == 200, got.text
    report = got.json()
    assert report["counts"]["inserted"] == 2 and report["file"] == "accounts.csv"
    assert report["batch_id"] is not None and report["errors"] == []
    assert _accounts(api) == ["A1", "A2"]
    again = _upload(api, "accounts", GOOD).json()
    assert again["counts"]["unchanged"] == 2 and again["batch_id"] is None
    listed = api.get("/imports", "viewer").json()
    assert [(x["kind"], x["file"]) for x in listed["items"]] == [("accounts", "accounts.csv")]


def test_a_bad_row_answers_every_row_error_and_writes_nothing(api: Api) -> None:
    got = _upload(api, "accounts", BAD)
    assert got.status_code == 422
    rows = got.json()["rows"]
    assert [(r["file"], r["row"], r["field"]) for r in rows] == [
        ("accounts.csv", 3, "employees"),
        ("accounts.csv", 4, "employees"),
    ]
    assert all(r["reason"] for r in rows) and rows[0]["value"] == "many"
    assert _accounts(api) == []
    assert api.get("/imports").json()["items"] == []


def test_skip_keeps_the_good_rows_and_reports_the_bad_ones(api: Api) -> None:
    report = _upload(api, "accounts", BAD, on_error="skip").json()
    assert report["counts"]["inserted"] == 1 and len(report["errors"]) == 2
    assert _accounts(api) == ["A1"]


def test_a_dry_run_writes_nothing(api: Api) -> None:
    report = _upload(api, "accounts", GOOD, dry_run="true").json()
    assert report["dry_run"] is True and report["counts"]["inserted"] == 2
    assert _accounts(api) == []


def test_a_shipped_mapping_or_an_uploaded_one_maps_the_columns(api: Api) -> None:
    text = (EXAMPLES / "salesforce" / "accounts.csv").read_text()
    shipped = _upload(api, "accounts", text, mapping="salesforce")
    assert shipped.status_code == 200, shipped.text
    yaml_text = (resources.files("dtem") / "mappings" / "salesforce.yaml").read_bytes()
    files = {
        "file": ("accounts.csv", text.encode(), "text/csv"),
        "mapping_file": ("mine.yaml", yaml_text, "application/yaml"),
    }
    uploaded = api.post("/imports/accounts", "manager", files=files)
    assert uploaded.status_code == 200, uploaded.text
    inserted = shipped.json()["counts"]["inserted"]
    assert inserted > 0 and uploaded.json()["counts"]["unchanged"] == inserted


def test_a_mapping_is_a_shipped_name_never_a_server_path_and_roles_hold(api: Api) -> None:
    for name in ["/etc/passwd", "../mappings/salesforce.yaml", "nope"]:
        got = _upload(api, "accounts", GOOD, mapping=name)
        assert got.status_code == 422 and "mapping" in got.text
    assert _upload(api, "accounts", GOOD, role="viewer").status_code == 403
    assert _upload(api, "widgets", GOOD).status_code == 422
    assert _accounts(api) == []
