"""PilotsPort: pilots, their pods and their end, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from dtem.domain.errors import NotFound
from dtem.domain.model import Rep
from dtem.domain.pilots import PilotConflict
from tests.conftest import T0


def _reps(ledger: Any) -> dict[str, int]:
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "A"), Rep("R2", "B"), Rep("R3", "C")], T0)
        return {r.external_id: r.id for r in tx.all_reps()}


def test_a_pilot_is_stored_with_its_pod_and_its_name_is_unique(ledger: Any) -> None:
    reps = _reps(ledger)
    with ledger.transaction() as tx:
        made = tx.add_pilot("tank", [reps["R2"], reps["R1"]], T0, "ann")
    with ledger.transaction() as tx:
        got = tx.pilot("tank")
        assert tx.pilot("nope") is None
        with pytest.raises(PilotConflict):
            tx.add_pilot("tank", [reps["R3"]], T0, "bob")
    assert got == made
    assert got.rep_ids == tuple(sorted([reps["R1"], reps["R2"]]))
    assert (got.started_at, got.created_by, got.running) == (T0, "ann", True)


def test_the_pod_is_the_reps_of_running_pilots(ledger: Any) -> None:
    reps = _reps(ledger)
    with ledger.transaction() as tx:
        assert tx.pilot_pod() == frozenset()
        tx.add_pilot("one", [reps["R1"]], T0, "ann")
        tx.add_pilot("two", [reps["R2"]], T0, "ann")
    with ledger.transaction() as tx:
        assert tx.pilot_pod() == {reps["R1"], reps["R2"]}
        ended = tx.end_pilot("one", T0)
        again = tx.end_pilot("one", T0.replace(year=2030))  # already ended: kept as is
    with ledger.transaction() as tx:
        assert tx.pilot_pod() == {reps["R2"]}
        assert [p.name for p in tx.pilots()] == ["one", "two"]
        with pytest.raises(NotFound):
            tx.end_pilot("nope", T0)
    assert ended.ended_at == T0 and again.ended_at == T0 and not ended.running
