"""`dtem demo`: the simulated comparison (a small market here), its report and ledger, and
the same Olist funnel as the CSVs counted by hand (csv module)."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

SAMPLE = Path(__file__).parents[2] / "examples" / "olist"
SMALL = ["--accounts", "150", "--reps", "3", "--days", "14", "--seeds", "2"]


def _expected() -> dict[str, Any]:
    """The demo's numbers, computed straight from the files."""
    with (SAMPLE / "olist_marketing_qualified_leads_dataset.csv").open(newline="") as fh:
        leads = {r["mql_id"]: r for r in csv.DictReader(fh)}
    with (SAMPLE / "olist_closed_deals_dataset.csv").open(newline="") as fh:
        deals = list(csv.DictReader(fh))
    origin = {k: (r["origin"].strip().lower() or "unknown") for k, r in leads.items()}
    by_origin = Counter(origin.values())
    won_origin = Counter(origin[d["mql_id"]] for d in deals)
    days = [
        (
            datetime.strptime(d["won_date"], "%m/%d/%Y %H:%M").date()
            - datetime.strptime(leads[d["mql_id"]]["first_contact_date"], "%m/%d/%Y").date()
        ).days
        for d in deals
    ]
    return {
        "accounts": len(leads),
        "reps": len({d["seller_id"] for d in deals}),
        "won": len(deals),
        "won_by_segment": Counter(
            d["business_segment"].strip().lower() or "unknown" for d in deals
        ),
        "leads_by_origin": by_origin,
        "won_by_origin": won_origin,
        "conversion_by_origin": {o: won_origin[o] / n for o, n in by_origin.items()},
        "median_days_to_won": statistics.median(days),
    }


def test_demo_json_matches_the_csv_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dtem.entrypoints.cli.app import app

    monkeypatch.chdir(tmp_path)  # the demo ledger is data/demo.db under the working directory
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--sample", str(SAMPLE), "--json", *SMALL])
    assert first.exit_code == 0, first.stderr
    again = runner.invoke(app, ["demo", "--sample", str(SAMPLE), "--json", *SMALL])
    got, expected = json.loads(again.stdout), _expected()
    assert got == json.loads(first.stdout)  # recreated, not accumulated; same seeds, same market
    assert (tmp_path / "data" / "demo.db").exists()
    sim = got.pop("simulation")
    assert set(sim["policies"]) == {"static", "dtem"} and sim["seeds"] == [0, 1]
    assert (tmp_path / sim["report"]).read_text().startswith("<!doctype html>")
    assert sim["ledger"] == "data/dtem.db" and (tmp_path / "data" / "dtem.db").exists()
    for key in ("accounts", "reps", "won", "median_days_to_won"):
        assert got[key] == expected[key], key
    for key in ("won_by_segment", "leads_by_origin", "won_by_origin"):
        assert got[key] == dict(expected[key]), key
    assert got["conversion_by_origin"] == pytest.approx(expected["conversion_by_origin"])


def test_demo_prints_a_readable_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dtem.entrypoints.cli.app import app

    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path}/demo.db"
    result = CliRunner().invoke(app, ["demo", "--sample", str(SAMPLE), "--db", db, *SMALL])
    assert result.exit_code == 0, result.stderr
    assert "Static territories vs DTEM" in result.stdout and "revenue lift" in result.stdout
    assert "accounts (leads): 8,000" in result.stdout
    assert "won opportunities: 380" in result.stdout
    assert "By lead origin" in result.stdout and "Won deals by segment" in result.stdout
