"""SignalsPort: signal ingestion behaves the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.model import Account
from dtem.domain.signals import SignalRecord, source_scope
from tests.conftest import T0


def _record(event_id: str, **kw: Any) -> SignalRecord:
    base: dict[str, Any] = {
        "account_key": "acme.com",
        "key_kind": "domain",
        "type": "web_visit",
        "occurred_at": T0,
        "value": 1.0,
        "source": "first_party",
        "received_at": T0,
        "attributes": {"path": "/pricing"},
    }
    return SignalRecord(event_id=event_id, **(base | kw))


def test_a_resent_event_id_is_not_inserted_twice(ledger: Any) -> None:
    with ledger.transaction() as tx:
        assert tx.insert_signals([_record("e1"), _record("e2")]) == {"e1", "e2"}
    with ledger.transaction() as tx:
        assert tx.insert_signals([_record("e2"), _record("e3")]) == {"e3"}
        assert tx.count("signals") == 3


def test_an_event_id_is_unique_per_scope_and_attached_within_it(ledger: Any) -> None:
    web, app = source_scope("web"), source_scope("app")
    with ledger.transaction() as tx:
        assert tx.insert_signals([_record("m1", scope=web)]) == {"m1"}
        assert tx.insert_signals([_record("m1", scope=app)]) == {"m1"}  # another source
        assert tx.insert_signals([_record("m1", scope=web)]) == set()  # a resend
        with pytest.raises(ValueError, match="one scope"):
            tx.insert_signals([_record("m2", scope=web), _record("m3", scope=app)])
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
        tx.attach_signals({(web, "m1"): tx.account_ids_by_domain(["acme.com"])["acme.com"]})
    with ledger.transaction() as tx:
        assert [(r.scope, r.event_id) for r in tx.unmatched_signals()] == [(app, "m1")]
        assert tx.count("signals") == 2


def test_unmatched_signals_are_listed_and_attached(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
        tx.insert_signals(
            [
                _record("e1", unmatched_reason="unknown_domain"),
                _record(
                    "e2", account_key="u1", key_kind="user_id", unmatched_reason="unknown_user"
                ),
            ]
        )
        account_id = tx.account_ids_by_domain(["acme.com", "nope.io"])
        assert list(account_id) == ["acme.com"]
        assert [r.event_id for r in tx.unmatched_signals("domain", ["acme.com"])] == ["e1"]
        tx.attach_signals({("pipeline", "e1"): account_id["acme.com"]})
    with ledger.transaction() as tx:
        left = tx.unmatched_signals()
        assert [r.event_id for r in left] == ["e2"]
        assert left[0].occurred_at == T0 and left[0].attributes == {"path": "/pricing"}
        stats = tx.signal_stats()
    assert stats.total == 2 and stats.unmatched == {"unknown_user": 1}


def test_only_the_latest_intent_per_key_topic_source_stays_live(ledger: Any) -> None:
    week = timedelta(days=7)
    with ledger.transaction() as tx:
        tx.insert_signals(
            [
                _record("w1", topic="crm", source="bombora", type="intent_surge"),
                _record("w2", topic="crm", source="bombora", occurred_at=T0 + week),
                _record("w0", topic="crm", source="bombora", occurred_at=T0 - week),
                _record("x1", topic="erp", source="bombora"),
            ]
        )
        retired = tx.supersede_signals([("acme.com", "crm", "bombora")])
        assert sorted(r.event_id for r in retired) == ["w0", "w1"]
        assert not any(r.superseded for r in retired)  # as they were: scoring retracts them
        assert tx.supersede_signals([("acme.com", "crm", "bombora")]) == []
        assert tx.signal_stats().superseded == 2


def test_identity_links_keep_or_replace(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.link_identities({"u1": "id:A1", "u2": "domain:acme.com"}, T0, replace=True)
        tx.link_identities({"u1": "id:B2"}, T0, replace=False)
        assert tx.identity_links(["u1", "u3"]) == {"u1": "id:A1"}
        tx.link_identities({"u1": "id:B2"}, T0, replace=True)
        assert tx.identity_links(["u1"]) == {"u1": "id:B2"}
        assert tx.users_linked_to(["domain:acme.com", "id:B2"]) == ["u1", "u2"]


def test_account_ids_by_name_match_any_case_and_only_one_account(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account("N1", "Acme Corp"),
                Account("N2", "Twin Co"),
                Account("N3", "twin co"),
                Account("N4", " Initech "),
                Account("N5", "ÑANDÚ Café"),
            ],
            T0,
        )
        ids = tx.all_account_ids()
        found = tx.account_ids_by_name(
            ["ACME CORP", "Twin Co", "initech", "Nobody", " ", "ñandú café"]
        )
    assert found == {  # twin co: two accounts; non-ASCII letters fold on every database
        "acme corp": ids["N1"], "initech": ids["N4"], "ñandú café": ids["N5"],
    }  # fmt: skip
