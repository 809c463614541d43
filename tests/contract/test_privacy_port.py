"""PrivacyPort: the same rows are found and erased on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

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
        "attributes": {},
    }
    return SignalRecord(event_id=event_id, **(base | kw))


def _seed(tx: Any) -> int:
    tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
    acc = int(tx.accounts_by_external_id(["A1"])["A1"].id)
    web = source_scope("website")
    tx.insert_signals(
        [
            _record("e1", account_id=acc, attributes={"properties": {"email": "Ana_1@Acme.com"}}),
            _record("e2", account_id=acc, attributes={"user_id": "u-42", "via": "webhook"}),
            _record("e3", account_key="u-42", key_kind="user_id", unmatched_reason="unknown_user"),
            _record("e4", account_id=acc, attributes={"note": "write to ana_1@acme.com."}),
            _record(
                "e7", account_id=acc, attributes={"a": "ana_1@acme.com.br", "b": "xana_1@acme.com"}
            ),
            _record("e5", account_id=acc, attributes={"user_id": "u-420", "topic": "u-42"}),
            _record("e6", account_id=acc, attributes={"x": ["mailto:ANA_1@acme.com"]}),
        ]
    )
    tx.insert_signals([_record("e1", scope=web, attributes={"userId": "u-42"})])
    return acc


def _keys(records: list[SignalRecord]) -> list[tuple[str, str]]:
    return [(r.scope, r.event_id) for r in records]


def test_signals_naming_an_email_or_a_user_id_are_found_exactly(ledger: Any) -> None:
    with ledger.transaction() as tx:
        _seed(tx)
    with ledger.transaction() as tx:
        by_mail = tx.signals_naming("ana_1@acme.com", [])
        by_user = tx.signals_naming(None, ["u-42"])
        nobody = tx.signals_naming("ana_1@acme.co", ["u-4"])
    # a text holding the whole address names the person; a longer address does not
    assert _keys(by_mail) == [("pipeline", "e1"), ("pipeline", "e4"), ("pipeline", "e6")]
    web = source_scope("website")
    assert _keys(by_user) == [("pipeline", "e2"), ("pipeline", "e3"), (web, "e1")]
    assert _keys(nobody) == []  # "_" and "%" are not wildcards, and a prefix is not a match


def test_erasing_signals_and_links_counts_what_was_deleted(ledger: Any) -> None:
    with ledger.transaction() as tx:
        _seed(tx)
        tx.link_identities({"u-42": "domain:acme.com", "u-7": "domain:acme.com"}, T0, True)
    with ledger.transaction() as tx:
        assert tx.erase_signals([("pipeline", "e2"), ("pipeline", "e3"), ("pipeline", "zz")]) == 2
        assert tx.erase_identity_links(["u-42", "nobody"]) == 1
    with ledger.transaction() as tx:
        assert _keys(tx.signals_naming(None, ["u-42"])) == [(source_scope("website"), "e1")]
        assert tx.identity_links(["u-42", "u-7"]) == {"u-7": "domain:acme.com"}
        assert tx.erase_signals([]) == 0 and tx.erase_identity_links(["u-42"]) == 0


def test_replace_account_states_drops_the_types_left_out(ledger: Any) -> None:
    with ledger.transaction() as tx:
        acc = _seed(tx)
        tx.insert_accounts([Account("B1", "Beta", domain="beta.com")], T0)
        other = int(tx.accounts_by_external_id(["B1"])["B1"].id)
        tx.save_account_states(
            {acc: {"web_visit": (2.0, 10.0), "hand_raise": (1.0, 5.0)}, other: {"x": (3.0, 1.0)}}
        )
    with ledger.transaction() as tx:
        tx.replace_account_states({acc: {"web_visit": (1.5, 20.0)}})
    with ledger.transaction() as tx:
        states = tx.account_states([acc, other])
    assert states == {acc: {"web_visit": (1.5, 20.0)}, other: {"x": (3.0, 1.0)}}
