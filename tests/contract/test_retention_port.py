"""RetentionPort: the same rules, labels and rows on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.model import Account
from dtem.domain.signals import SignalRecord, source_scope
from tests.conftest import T0


def _record(event_id: str, days: int, **kw: Any) -> SignalRecord:
    at = T0 + timedelta(days=days)
    base: dict[str, Any] = {"account_key": "acme.com", "key_kind": "domain", "type": "web_visit",
                            "occurred_at": at, "value": 1.0, "source": "first_party",
                            "received_at": at, "attributes": {}}  # fmt: skip
    return SignalRecord(event_id=event_id, **(base | kw))


def _seed(tx: Any) -> tuple[int, int]:
    tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
    tx.insert_accounts([Account("B1", "Beta", domain="beta.io")], T0)
    ids = tx.accounts_by_external_id(["A1", "B1"])
    a, b = int(ids["A1"].id), int(ids["B1"].id)
    tx.insert_signals(
        [
            _record("p1", 0, account_id=a, source="bombora"),
            _record("p2", 10, account_id=b, source="bombora"),
            _record("p3", 0, source="bombora", unmatched_reason="unknown_domain"),
            _record("p4", 0, account_id=b),  # first_party: another source
        ]
    )
    web = source_scope("website")
    tx.insert_signals([_record("w1", 0, account_id=b, scope=web, source="first_party")])
    tx.insert_signals([_record("w2", 20, account_id=a, scope=web, source="first_party")])
    # a webhook signal labelled "bombora" is the website's, not the pipeline label's
    tx.insert_signals([_record("w3", 0, account_id=b, scope=web, source="bombora")])
    return a, b


def test_rules_are_set_replaced_and_removed(ledger: Any) -> None:
    with ledger.transaction() as tx:
        assert tx.signal_retention() == {}
        tx.set_signal_retention("bombora", 30, T0)
        tx.set_signal_retention("website", 7, T0)
        tx.set_signal_retention("bombora", 90, T0 + timedelta(days=1))
    with ledger.transaction() as tx:
        assert tx.signal_retention() == {"bombora": 90, "website": 7}
        tx.set_signal_retention("website", None, T0)
        tx.set_signal_retention("never-set", None, T0)
    with ledger.transaction() as tx:
        assert tx.signal_retention() == {"bombora": 90}


def test_labels_are_those_of_pipeline_signals_only(ledger: Any) -> None:
    with ledger.transaction() as tx:
        _seed(tx)
    with ledger.transaction() as tx:
        assert tx.signal_labels() == {"bombora", "first_party"}


def test_a_source_reaches_its_scope_or_its_label_before_the_cutoff(ledger: Any) -> None:
    with ledger.transaction() as tx:
        a, b = _seed(tx)
    cut = T0 + timedelta(days=5)
    with ledger.transaction() as tx:
        assert tx.accounts_with_signals_before("bombora", cut) == {a}  # p3 is unmatched
        assert tx.accounts_with_signals_before("website", cut) == {b}
        assert tx.accounts_with_signals_before("website", T0) == set()  # strictly before
        assert tx.accounts_with_signals_before("nobody", cut) == set()
    with ledger.transaction() as tx:
        assert tx.delete_signals_before("bombora", cut) == 2  # p1, p3 (p2 is newer)
        assert tx.delete_signals_before("website", cut) == 2  # w1, w3 (w2 is newer)
        assert tx.delete_signals_before("website", cut) == 0
    with ledger.transaction() as tx:
        end = T0 + timedelta(days=99)
        days = {acc: sorted((f.occurred_at - T0).days for f in tx.account_signals(acc, end))
                for acc in (a, b)}  # fmt: skip
        assert days == {a: [20], b: [0, 10]}  # w2; p4, p2
        assert tx.signal_stats().total == 3


def test_a_deletion_rolls_back_with_its_unit_of_work(ledger: Any) -> None:
    with ledger.transaction() as tx:
        _seed(tx)
    try:
        with ledger.transaction() as tx:
            tx.delete_signals_before("bombora", T0 + timedelta(days=99))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with ledger.transaction() as tx:
        assert tx.signal_stats().total == 7
