"""`dtem train --label …` and `--model opportunity` on a generated CRM where every account
has already bought once, through the CLI as a user types it (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sql_ledger
from tests.crm_history import generate_crm
from tests.e2e.conftest import run_dtem

TRAIN = ("train", "--snapshot", "2025-08-15", "--horizon", "45d")


@pytest.fixture(scope="module")
def crm_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = f"sqlite:///{tmp_path_factory.mktemp('crm')}/crm.db"
    ledger = sql_ledger(db)
    generate_crm(ledger, seed=3, n_accounts=500)
    ledger.engine.dispose()
    return db


def test_first_win_on_repeat_buyers_exits_9_naming_the_excluded_customers(crm_db: str) -> None:
    out = run_dtem(*TRAIN, "--label", "first-win", db=crm_db)
    assert out.returncode == 9
    assert "had already won by 2025-08-15 and --label first-win excludes them" in out.stderr
    assert "Traceback" not in out.stderr


def test_won_trains_on_repeat_wins(crm_db: str) -> None:
    out = run_dtem(*TRAIN, "--json", db=crm_db, check=True)
    report: dict[str, Any] = json.loads(out.stdout)
    assert report["label"] == "won" and report["train"]["positives"] > 0
    assert report["model"]["auc"] > 0.6


def test_the_opportunity_model_is_stored_in_a_policy_version(crm_db: str) -> None:
    out = run_dtem(*TRAIN, "--model", "opportunity", "--json", db=crm_db, check=True)
    report: dict[str, Any] = json.loads(out.stdout)
    assert report["model_kind"] == "opportunity" and report["model"]["auc"] > 0.6
    names = [b["name"] for b in report["comparison"]["baselines"]]
    assert names == ["stage base rate", "account propensity"]
    shown = run_dtem("policy", "show", str(report["version"]), "--json", db=crm_db, check=True)
    stored = json.loads(shown.stdout)["policy"]["opportunity_model"]
    assert stored["b0"] == pytest.approx(report["coefficients"]["b0"])
    activated = run_dtem("policy", "activate", str(report["version"]), db=crm_db)
    assert activated.returncode == (0 if report["comparison"]["verdict"]["passed"] else 6)


def test_a_label_the_opportunity_model_does_not_have_is_a_usage_error(crm_db: str) -> None:
    out = run_dtem(*TRAIN, "--model", "opportunity", "--label", "advanced", db=crm_db)
    assert out.returncode == 2 and "one label" in out.stderr


def test_an_unknown_label_is_a_usage_error(tmp_path: Path) -> None:
    out = run_dtem(*TRAIN, "--label", "bought", db=f"sqlite:///{tmp_path}/x.db")
    assert out.returncode == 2 and "--label must be one of won, first-win, advanced" in out.stderr
