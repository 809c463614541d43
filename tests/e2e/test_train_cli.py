"""`dtem train` on the real Olist sample, through the CLI as a user types it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_dtem

OLIST = Path(__file__).resolve().parents[2] / "examples" / "olist"
LEADS = OLIST / "olist_marketing_qualified_leads_dataset.csv"


@pytest.fixture(scope="module")
def olist_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Olist sample imported, origins declared as signal types, leads as signals."""
    where = tmp_path_factory.mktemp("train")
    db = f"sqlite:///{where}/olist.db"
    # the smallest simulation the demo allows: only its Olist import matters here; run in
    # a folder of its own, so its data/ and out/ never meet another test's
    run_dtem("demo", "--sample", str(OLIST), "--accounts", "50", "--reps", "1", "--days", "7",
             "--seeds", "1", "--json", db=db, check=True, cwd=where)  # fmt: skip
    stored = run_dtem("policy", "store", str(OLIST / "olist-policy.yaml"), "--json", db=db,
                      check=True)  # fmt: skip
    version = json.loads(stored.stdout)["version"]
    run_dtem("policy", "activate", str(version), db=db, check=True)
    run_dtem("import", "signals", str(LEADS), "--mapping", "olist-signals", db=db, check=True)
    return db


@pytest.fixture(scope="module")
def report(olist_db: str) -> dict[str, Any]:
    out = run_dtem("train", "--snapshot", "2018-02-01", "--horizon", "90d", "--fit-terms",
                   "none", "--json", db=olist_db, check=True)  # fmt: skip
    parsed: dict[str, Any] = json.loads(out.stdout)
    return parsed


def test_olist_model_ranks_holdout_leads_better_than_chance(report: dict[str, Any]):
    auc = report["model"]["auc"]
    assert isinstance(auc, float) and 0.5 < auc <= 1.0
    assert auc > report["baseline"]["auc"]
    assert report["holdout"]["positives"] > 0 and report["train"]["positives"] > 0
    assert report["train"]["label_to"] <= report["holdout"]["label_from"]


def test_report_has_a_ten_bin_calibration_table_over_the_holdout(report: dict[str, Any]):
    bins = report["model"]["calibration"]
    assert len(bins) == 10
    assert sum(b["count"] for b in bins) == report["holdout"]["rows"]
    assert sum(b["positives"] for b in bins) == report["holdout"]["positives"]
    assert len(report["baseline"]["calibration"]) == 10


def test_trained_version_is_stored_with_origin_weights_but_not_active(
    olist_db: str, report: dict[str, Any]
):
    version = report["version"]
    listed = json.loads(run_dtem("policy", "list", "--json", db=olist_db, check=True).stdout)
    assert [v["active"] for v in listed if v["version"] == version] == [False]
    shown = run_dtem("policy", "show", str(version), "--json", db=olist_db, check=True)
    policy = json.loads(shown.stdout)["policy"]
    weights = report["coefficients"]["weights"]
    assert policy["signal_types"]["origin_organic_search"]["weight"] == pytest.approx(
        weights["origin_organic_search"], abs=1e-6
    )
    assert policy["b0"] == pytest.approx(report["coefficients"]["b0"], abs=1e-6)
    assert report["activate_with"] == f"dtem policy activate {version}"


def test_training_an_empty_ledger_exits_9_and_stores_nothing(tmp_path: Path):
    db = f"sqlite:///{tmp_path}/empty.db"
    run_dtem("init", db=db, check=True)
    out = run_dtem("train", "--snapshot", "2018-02-01", db=db)
    assert out.returncode == 9 and "training: the ledger has no accounts" in out.stderr
    listed = json.loads(run_dtem("policy", "list", "--json", db=db, check=True).stdout)
    assert [v["version"] for v in listed] == [1]


def test_a_malformed_horizon_is_a_usage_error(tmp_path: Path):
    out = run_dtem(
        "train", "--snapshot", "2018-02-01", "--horizon", "ninety", db=f"sqlite:///{tmp_path}/x.db"
    )
    assert out.returncode == 2 and "90d" in out.stderr


def test_olist_comparison_puts_three_scorers_on_the_same_holdout(report: dict[str, Any]):
    cmp = report["comparison"]
    names = [c["name"] for c in cmp["baselines"]]
    assert names == ["base rate by origin", "recency of the last signal"]
    assert cmp["model"]["auc"] == pytest.approx(report["model"]["auc"])
    for c in cmp["baselines"]:
        lo, hi = c["interval"]
        assert lo < c["difference"] < hi
    assert cmp["baselines"][0]["interval"][0] > 0  # the origin base rate is beaten
    assert cmp["baselines"][1]["interval"][0] < 0  # recency is not
    assert "no better than the recency of the last signal" in cmp["summary"]
    assert cmp["verdict"]["passed"] is False


def test_olist_version_is_refused_on_activation_unless_forced_with_a_reason(
    olist_db: str, report: dict[str, Any]
):
    version = str(report["version"])
    refused = run_dtem("policy", "activate", version, db=olist_db)
    assert refused.returncode == 6 and "recency of the last signal" in refused.stderr
    assert "Traceback" not in refused.stderr
    no_reason = run_dtem("policy", "activate", version, "--force", db=olist_db)
    assert no_reason.returncode == 6 and "--reason" in no_reason.stderr
    forced = run_dtem("policy", "activate", version, "--force", "--reason", "pilot",
                      db=olist_db, check=True)  # fmt: skip
    assert f"v{version} is now active" in forced.stdout
