"""Opportunities without an account on the in-memory ledger: kept, attached by id, domain or
name when the account arrives or by hand, never detached, counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import NotFound
from dtem.domain.policy import default_policy
from dtem.services import governance, stages
from dtem.services.imports import import_file
from dtem.services.imports.service import ImportResult
from dtem.services.imports.unattached import attach_opportunity, list_unattached
from dtem.services.summary import funnel_summary

OPPS = (
    "external_id,account_external_id,account_domain,account_name,stage,amount\n"
    "O1,A1,,,proposal,100\n"  # attached at once
    "O2,,globex.io,,proposal,200\n"  # by domain, later
    "O3,,,Initech,negotiation,300\n"  # by name, later
    "O4,,,Twin Co,proposal,400\n"  # a name two accounts share: stays waiting
    "O5,,,,closed_won,500\n"  # names nothing: only by hand
    "O6,A9,,Umbrella,prospecting,600\n"  # an unknown id; its name comes later
)


def _import(ledger: MemoryLedger, kind: str, path: Path, **kw: object) -> ImportResult:
    return import_file(ledger, FixedClock(T0), kind, path, pipeline=signal_pipeline(), **kw)  # type: ignore[arg-type]


def _accounts(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,domain\n" + rows)
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> MemoryLedger:
    led = MemoryLedger()
    governance.ensure_policy(led, FixedClock(T0))
    _import(led, "accounts", _accounts(tmp_path, "A1,Acme,acme.com\n"))
    path = tmp_path / "opps.csv"
    path.write_text(OPPS)
    got = _import(led, "opportunities", path)
    assert (got.counts["inserted"], got.counts["unattached"], got.errors) == (6, 5, [])
    return led


def _accounts_of(ledger: MemoryLedger) -> dict[str, str | None]:
    with ledger.transaction() as tx:
        return {o.external_id: o.account_external_id for o in tx.all_opportunities()}


def test_waiting_opportunities_keep_their_best_key(ledger: MemoryLedger) -> None:
    waiting = {w.opportunity: (w.key_kind, w.account_key) for w in list_unattached(ledger)}
    assert waiting == {
        "O2": ("domain", "globex.io"),
        "O3": ("name", "Initech"),
        "O4": ("name", "Twin Co"),
        "O5": (None, None),
        "O6": ("id", "A9"),  # the id is trusted over the name; the name is not kept
    }


def test_accounts_arriving_attach_by_domain_and_name_but_not_an_ambiguous_name(
    ledger: MemoryLedger, tmp_path: Path
) -> None:
    rows = "A2,Globex,https://www.globex.io\nA3,INITECH,\nA4,Twin Co,\nA5,twin co,\nA6,Umbrella,\n"
    got = _import(ledger, "accounts", _accounts(tmp_path, rows))
    assert sorted(got.attached) == ["O2", "O3"]
    assert _accounts_of(ledger) == {
        "O1": "A1", "O2": "A2", "O3": "A3", "O4": None, "O5": None, "O6": None,
    }  # fmt: skip
    with ledger.transaction() as tx:
        (entry,) = [e for e in tx.audit_entries() if e.action == "opportunity.attach"]
    assert {a["opportunity"]: a["key_kind"] for a in entry.payload["attached"]} == {
        "O2": "domain",
        "O3": "name",
    }


def test_a_dry_run_attaches_nothing(ledger: MemoryLedger, tmp_path: Path) -> None:
    got = _import(ledger, "accounts", _accounts(tmp_path, "A2,Globex,globex.io\n"), dry_run=True)
    assert got.attached == [] and _accounts_of(ledger)["O2"] is None


def test_attach_by_hand_by_id_domain_or_name_and_reimport_never_detaches(
    ledger: MemoryLedger, tmp_path: Path
) -> None:
    clock = FixedClock(T0)
    assert attach_opportunity(ledger, clock, "O5", "ACME.com", "ops").account_external_id == "A1"
    assert attach_opportunity(ledger, clock, "O4", "acme", "ops").account_external_id == "A1"
    assert attach_opportunity(ledger, clock, "O6", "A1", "ops").account_external_id == "A1"
    assert attach_opportunity(ledger, clock, "O6", "A1", "ops").account_external_id == "A1"
    with pytest.raises(NotFound):
        attach_opportunity(ledger, clock, "O2", "no such account", "ops")
    with pytest.raises(NotFound):
        attach_opportunity(ledger, clock, "O99", "A1", "ops")
    path = tmp_path / "opps.csv"
    again = _import(ledger, "opportunities", path)
    assert (again.counts["unchanged"], again.counts["unattached"]) == (6, 2)
    assert again.batch_id is None
    assert _accounts_of(ledger) == {
        "O1": "A1", "O2": None, "O3": None, "O4": "A1", "O5": "A1", "O6": "A1",
    }  # fmt: skip


def test_a_stage_change_on_a_waiting_opportunity_is_kept_without_a_lease(
    ledger: MemoryLedger,
) -> None:
    result = stages.change_stage(ledger, FixedClock(T0), "O3", "closed_won", "api")
    assert (result.stage, result.previous_stage, result.leases) == ("closed_won", "negotiation", [])
    with ledger.transaction() as tx:
        assert [h.stage for h in tx.stage_history("O3")] == ["negotiation", "closed_won"]


def test_the_summary_counts_waiting_pipeline_apart(ledger: MemoryLedger) -> None:
    summary = funnel_summary(ledger, default_policy())
    assert (summary.opportunities, summary.won) == (1, 0)
    assert (summary.unattached, summary.unattached_open) == (5, 4)
    assert summary.unattached_amount == 200 + 300 + 400 + 600
