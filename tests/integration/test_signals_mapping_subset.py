"""The shipped `signals` mapping reads any subset of its columns (at least one account key),
on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import InputInvalid
from dtem.domain.model import Account
from dtem.services import governance
from dtem.services.imports.mapping import load_mapping
from dtem.services.signals.files import import_signals
from tests.conftest import T0

SUBSETS = {
    "domain": ("domain,event\nacme.com,Demo Requested\nglobex.com,Pricing Page\n", 2, 0),
    "account id and time": (
        "account_id,event,timestamp\nA1,Demo Requested,2027-01-03T09:00:00Z\nZZ,Webinar,\n",
        2,
        1,
    ),
    "email and user": (
        "email,user_id,event,value\nana@acme.com,,Demo Requested,3\n,u-9,Webinar,\n",
        2,
        1,
    ),
}


def _ledger(ledger: Any, clock: FixedClock) -> Any:
    with ledger.transaction() as tx:
        acme, globex = Account("A1", "Acme", domain="acme.com"), Account("A2", "Globex")
        tx.insert_accounts([acme, replace(globex, domain="globex.com")], T0)
    return governance.ensure_policy(ledger, clock).policy


@pytest.mark.parametrize("subset", list(SUBSETS))
def test_any_subset_of_identity_columns_imports(ledger: Any, tmp_path: Path, subset: str) -> None:
    clock = FixedClock(T0)
    policy = _ledger(ledger, clock)
    text, stored, unmatched = SUBSETS[subset]
    path = tmp_path / "events.csv"
    path.write_text(text)
    mapping = load_mapping("signals")
    got = import_signals(ledger, clock, path, mapping, policy, signal_pipeline())
    assert (got.counts["stored"], got.counts["unmatched"], got.errors) == (stored, unmatched, [])
    again = import_signals(ledger, clock, path, mapping, policy, signal_pipeline())
    assert (again.counts["stored"], again.counts["duplicates"]) == (0, stored)


def test_a_file_with_no_account_column_is_refused_by_its_header(
    ledger: Any, tmp_path: Path
) -> None:
    clock = FixedClock(T0)
    policy = _ledger(ledger, clock)
    path = tmp_path / "events.csv"
    path.write_text("event,timestamp\nDemo Requested,2027-01-03T09:00:00Z\n")
    with pytest.raises(InputInvalid) as err:
        import_signals(ledger, clock, path, load_mapping("signals"), policy, signal_pipeline())
    (error,) = err.value.errors
    assert (error.row, error.field) == (1, "account_id")
    assert "no column for any of account_id, domain, email, user_id" in error.reason
