"""Opportunity product and amount, rep manager/team/region: imported, folded, kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.services.imports import import_file
from dtem.services.imports import transforms as tf
from dtem.services.imports.mapping import parse_mapping

PRODUCTS = parse_mapping(
    {
        "opportunities": {
            "fields": {
                "external_id": "Id",
                "account_external_id": "Account",
                "stage": "Stage",
                "amount": "Amount",
                "product": {
                    "column": "Product",
                    "map": {"Analytics-Pro": "analytics pro", "AP": "analytics pro"},
                },
            }
        }
    },
    "products",
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _ledger() -> MemoryLedger:
    ledger = MemoryLedger()
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme")], T0)
    return ledger


def test_product_variants_fold_to_one_label_and_amounts_are_cents(tmp_path: Path) -> None:
    ledger = _ledger()
    path = _write(
        tmp_path / "opps.csv",
        "Id,Account,Stage,Amount,Product\n"
        'O1,A1,prospecting,"$1,234.565",Analytics Pro\n'
        "O2,A1,prospecting,10,ANALYTICS  PRO\n"
        "O3,A1,prospecting,,analytics-pro\n"
        "O4,A1,prospecting,7.1,ap\n"
        "O5,A1,prospecting,1,Data Hub\n",
    )
    clock, pipeline = FixedClock(T0), signal_pipeline()
    first = import_file(ledger, clock, "opportunities", path, PRODUCTS, pipeline=pipeline)
    with ledger.transaction() as tx:
        opps = tx.opportunities_by_external_id(["O1", "O2", "O3", "O4", "O5"])
    assert first.counts["inserted"] == 5
    assert {o: opps[o].product for o in opps} == {
        "O1": "analytics pro",
        "O2": "analytics pro",
        "O3": "analytics pro",
        "O4": "analytics pro",
        "O5": "data hub",
    }
    assert opps["O1"].amount == 1234.57 and opps["O3"].amount is None
    again = import_file(ledger, clock, "opportunities", path, PRODUCTS, pipeline=pipeline)
    assert again.counts["unchanged"] == 5 and again.batch_id is None


def test_rep_manager_team_and_region_are_imported(tmp_path: Path) -> None:
    ledger = MemoryLedger()
    path = _write(
        tmp_path / "reps.csv",
        "external_id,name,manager,team,region\nR1,Rita,Mona Lee,Enterprise,EMEA\nR2,Raj,,,\n",
    )
    import_file(ledger, FixedClock(T0), "reps", path, pipeline=signal_pipeline())
    with ledger.transaction() as tx:
        reps = tx.reps_by_external_id(["R1", "R2"])
    assert (reps["R1"].manager, reps["R1"].team, reps["R1"].region) == (
        "Mona Lee",
        "Enterprise",
        "EMEA",
    )
    assert (reps["R2"].manager, reps["R2"].team, reps["R2"].region) == (None, None, None)


@pytest.mark.parametrize(
    ("raw", "cents"),
    [("0.005", 0.01), ("12.344", 12.34), ("$9,999,999,999,999.99", 9_999_999_999_999.99)],
)
def test_amounts_round_half_up_to_cents(raw: str, cents: float) -> None:
    assert tf.parse_cents(raw) == cents


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("10,000,000,000,000", "amount too large"),
        ("1E30", "amount too large"),
        ("-5", "negative amount"),
    ],
)
def test_amounts_cents_cannot_hold_exactly_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        tf.parse_cents(raw)
