"""Unattached opportunities on memory, SQLite and PostgreSQL: kept by an opportunities
import, attached by id, domain or name when an accounts import brings the account (not by
a name two accounts share), by hand, never detached by a re-import, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid
from dtem.services import governance
from dtem.services.imports import import_file
from dtem.services.imports.service import ImportResult
from dtem.services.imports.unattached import attach_opportunity, list_unattached
from tests.conftest import T0

OPPS = (
    "external_id,account_external_id,account_domain,account_name,stage,amount,product\n"
    "O1,A1,,,proposal,100.10,Analytics Pro\n"
    "O2,,www.globex.io,,proposal,200,analytics-pro\n"
    "O3,,,Initech,negotiation,300,\n"
    "O4,,,Twin Co,proposal,400,\n"
    "O5,,,,prospecting,500,\n"
)


def _run(ledger: Any, kind: str, path: Path) -> ImportResult:
    return import_file(ledger, FixedClock(T0), kind, path, pipeline=signal_pipeline())


def _accounts(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    path.write_text("external_id,name,domain\n" + rows)
    return path


def _where(ledger: Any) -> dict[str, str | None]:
    with ledger.transaction() as tx:
        return {o.external_id: o.account_external_id for o in tx.all_opportunities()}


def test_waiting_opportunities_attach_as_their_accounts_arrive(ledger: Any, tmp_path: Path) -> None:
    governance.ensure_policy(ledger, FixedClock(T0))
    _run(ledger, "accounts", _accounts(tmp_path, "a.csv", "A1,Acme,acme.com\n"))
    opps = tmp_path / "opps.csv"
    opps.write_text(OPPS)
    first = _run(ledger, "opportunities", opps)
    assert (first.counts["inserted"], first.counts["unattached"]) == (5, 4)
    assert [w.opportunity for w in list_unattached(ledger)] == ["O2", "O3", "O4", "O5"]
    again = _run(ledger, "opportunities", opps)
    assert (again.counts["unchanged"], again.batch_id) == (5, None)

    rows = "A2,Globex,globex.io\nA3,initech,\nA4,Twin Co,\nA5,TWIN CO,\n"
    later = _run(ledger, "accounts", _accounts(tmp_path, "b.csv", rows))
    assert sorted(later.attached) == ["O2", "O3"]
    assert _where(ledger) == {"O1": "A1", "O2": "A2", "O3": "A3", "O4": None, "O5": None}

    clock = FixedClock(T0)
    attach_opportunity(ledger, clock, "O5", "globex.io", "ops")
    with pytest.raises(ArgumentInvalid):
        attach_opportunity(ledger, clock, "O5", "A1", "ops")
    final = _run(ledger, "opportunities", opps)
    assert (final.counts["unchanged"], final.counts["unattached"]) == (5, 1)
    assert _where(ledger) == {"O1": "A1", "O2": "A2", "O3": "A3", "O4": None, "O5": "A2"}
    with ledger.transaction() as tx:
        opps_now = tx.opportunities_by_external_id(["O1", "O2"])
        actions = [e.action for e in tx.audit_entries()]
    # case and spaces fold by themselves; "analytics-pro" needs a mapping `map` (no map here)
    assert [o.product for o in opps_now.values()] == ["analytics pro", "analytics-pro"]
    assert opps_now["O1"].amount == 100.1
    assert actions.count("opportunity.attach") == 2
