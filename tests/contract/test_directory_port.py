"""DirectoryPort: accounts and reps read by id the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from dtem.adapters.ledger import sql_market
from dtem.domain.model import Account, Rep, Tier
from tests.conftest import T0


def _seed(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account("A1", "Acme", domain="acme.com", tier=Tier.HUMAN_ONLY),
                Account("A2", "Globex", industry="retail"),
            ],
            T0,
        )
        tx.insert_reps([Rep("R1", "Rita", segments=("smb|retail",), capacity=5)], T0)


def test_reps_round_trip_lists(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        (rep,) = tx.all_reps()
    assert rep.segments == ("smb|retail",) and rep.capacity == 5 and rep.languages == ()


def test_all_accounts_returns_every_field(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        accounts = tx.all_accounts()
    assert set(accounts) == {"A1", "A2"}
    assert accounts["A2"].industry == "retail" and accounts["A2"].id is not None


def test_accounts_and_reps_are_found_by_either_id(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        ids = tx.all_account_ids()
        by_key = tx.accounts_by_external_id(["A1", "missing"])
        by_id = tx.accounts_by_id([ids["A2"], ids["A2"] + 1000])
        reps = tx.reps_by_external_id(["R1", "R9"])
    assert set(ids) == {"A1", "A2"} and ids["A1"] != ids["A2"]
    assert list(by_key) == ["A1"] and by_key["A1"].id == ids["A1"]
    assert by_key["A1"].tier is Tier.HUMAN_ONLY and by_key["A1"].domain == "acme.com"
    assert list(by_id) == [ids["A2"]] and by_id[ids["A2"]].external_id == "A2"
    assert list(reps) == ["R1"] and reps["R1"].id is not None


def test_accounts_by_id_scans_for_many_ids_and_finds_the_same(
    ledger: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        ids = tx.all_account_ids()
        asked = [ids["A1"], ids["A2"], ids["A2"] + 1000]
        by_lists = tx.accounts_by_id(asked)
        monkeypatch.setattr(sql_market, "_SCAN_ABOVE", 1)  # SQL backends scan the table now
        assert tx.accounts_by_id(asked) == by_lists
        assert tx.accounts_by_id([ids["A1"], ids["A1"] + 1000]) == {ids["A1"]: by_lists[ids["A1"]]}
