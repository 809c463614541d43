"""Ingestion on the in-memory ledger: resolution, idempotency, links, supersession, hook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import AuthError
from dtem.domain.model import Account
from dtem.domain.policy import default_policy
from dtem.domain.ports import LedgerTx
from dtem.domain.signals import SignalRecord
from dtem.services import governance
from dtem.services.governance import ActivePolicy
from dtem.services.scoring import Scored
from dtem.services.signals import SignalPipeline, attach_unmatched, receive_calls
from dtem.services.signals.ingest import Committed, store_only
from dtem.services.signals.messages import SignalRow, parse_call
from dtem.services.signals.sources import create_source, revoke_source


@pytest.fixture
def pipeline() -> SignalPipeline:
    return signal_pipeline()


def _stages(
    score: Callable[[LedgerTx, Committed], object], pipeline: SignalPipeline
) -> SignalPipeline:
    """`pipeline` with `score` in place of its score stage, and nothing routed."""

    def scored(tx: LedgerTx, batch: Committed, _active: ActivePolicy) -> Scored:
        score(tx, batch)
        return Scored()

    return replace(pipeline, score=scored)


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    led = MemoryLedger()
    governance.ensure_policy(led, clock)
    with led.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
    return led


def _track(event: str, **kw: Any) -> Any:
    return parse_call("track", {"userId": "u1", "event": event, **kw})


def _signals(ledger: MemoryLedger) -> list[SignalRecord]:
    with ledger.transaction() as tx:
        return list(tx.s.extra.get("signals", []))


def test_a_resent_message_id_is_stored_once(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    msg = _track("Demo Requested", messageId="m1", properties={"domain": "acme.com"})
    first = receive_calls(ledger, clock, [msg, msg], pipeline)
    again = receive_calls(ledger, clock, [msg], pipeline)
    assert (first.accepted, first.result.duplicates) == (1, ["m1"])
    assert (again.accepted, again.result.duplicates) == (0, ["m1"])
    [stored] = _signals(ledger)
    assert (stored.type, stored.account_id, stored.event_name) == (
        "hand_raise",
        1,
        "Demo Requested",
    )


def test_unknown_events_are_kept_as_other(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    receive_calls(
        ledger, clock, [_track("Webinar Watched", properties={"domain": "acme.com"})], pipeline
    )
    with ledger.transaction() as tx:
        stats = tx.signal_stats()
    assert stats.by_type == {"other": 1} and stats.unknown_events == {"Webinar Watched": 1}


def test_unmatched_signals_keep_their_reason(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    calls = [
        _track("Page Viewed", properties={"domain": "nobody.io"}),
        _track("Page Viewed", properties={"email": "x@gmail.com"}, userId=None, anonymousId="a"),
        _track("Page Viewed", properties={"account_id": "A9"}),
        _track("Page Viewed"),
    ]
    got = receive_calls(ledger, clock, calls, pipeline)
    reasons = sorted(str(r.unmatched_reason) for r in got.result.stored)
    assert reasons == ["unknown_account", "unknown_domain", "unknown_user", "unknown_user"]
    assert got.result.unmatched == 4


def test_a_user_linked_to_a_missing_account_reports_the_links_reason(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    group = parse_call("group", {"userId": "u5", "groupId": "G5", "traits": {"website": "g5.io"}})
    got = receive_calls(ledger, clock, [group, _track("Demo Requested", userId="u5")], pipeline)
    assert [r.unmatched_reason for r in got.result.stored] == ["unknown_domain"]


def test_group_call_links_the_user_and_attaches_earlier_signals(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    receive_calls(ledger, clock, [_track("Pricing Page Viewed", userId="u7")], pipeline)
    group = parse_call("group", {"userId": "u7", "groupId": "A1"})
    got = receive_calls(ledger, clock, [group, _track("Demo Requested", userId="u7")], pipeline)
    assert got.linked_users == ["u7"] and got.attached == 1
    assert [r.account_id for r in _signals(ledger)] == [1, 1]


def test_new_account_attaches_signals_of_its_domain_and_linked_users(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    group = parse_call("group", {"userId": "u8", "groupId": "B2", "traits": {}})
    calls = [
        group,
        _track("Demo Requested", userId="u8"),
        _track("Page Viewed", userId="u9", properties={"domain": "beta.io"}),
    ]
    receive_calls(ledger, clock, calls, pipeline)
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("B2", "Beta", domain="beta.io")], T0)
        attached = attach_unmatched(
            tx,
            default_policy(),
            T0,
            external_ids=["B2"],
            domains=["beta.io"],
            on_committed=store_only,
        )
    assert len(attached) == 2
    assert {r.account_id for r in _signals(ledger)} == {2}


def test_weekly_intent_replaces_last_weeks_per_topic(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    def week(n: int, topic: str, score: float) -> SignalRow:
        return SignalRow(
            domain="acme.com",
            type="intent_surge",
            topic=topic,
            value=score,
            source="bombora",
            occurred_at=T0 + timedelta(days=7 * n),
            snapshot=True,
        )

    receive_calls(ledger, clock, [week(0, "crm", 0.7), week(0, "erp", 0.8)], pipeline)
    receive_calls(ledger, clock, [week(1, "crm", 0.9)], pipeline)
    live = [(r.topic, r.value) for r in _signals(ledger) if not r.superseded]
    assert sorted(live) == [("crm", 0.9), ("erp", 0.8)]


def test_hook_runs_in_the_same_transaction_with_what_was_stored(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    seen: list[list[str]] = []

    def hook(tx: LedgerTx, batch: Committed) -> None:
        seen.append([r.event_id for r in batch.stored])
        assert batch.now == clock()
        tx.append_audit("test", "scored", {"n": len(batch.stored)}, batch.now)

    msg = _track("Demo Requested", messageId="m2", properties={"domain": "acme.com"})
    receive_calls(ledger, clock, [msg], _stages(hook, pipeline))
    assert seen == [["m2"]]  # stored; nothing attached, so the stages ran once
    with ledger.transaction() as tx:
        assert [e.action for e in tx.audit_entries()][-1] == "scored"


def test_hook_gets_the_intent_rows_a_new_week_supersedes(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    retired: list[tuple[str | None, float]] = []

    def hook(_tx: LedgerTx, batch: Committed) -> None:
        retired.extend((r.topic, r.value) for r in batch.superseded)

    def week(n: int, score: float) -> SignalRow:
        return SignalRow(
            domain="acme.com",
            type="intent_surge",
            topic="crm",
            value=score,
            source="bombora",
            occurred_at=T0 + timedelta(days=7 * n),
            snapshot=True,
        )

    receive_calls(ledger, clock, [week(0, 0.7)], _stages(hook, pipeline))
    receive_calls(ledger, clock, [week(1, 0.9)], _stages(hook, pipeline))
    assert retired == [("crm", 0.7)]


def test_a_failing_hook_rolls_back_the_signals(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    def boom(_tx: LedgerTx, _batch: Committed) -> None:
        raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError):
        receive_calls(ledger, clock, [_track("Demo Requested")], _stages(boom, pipeline))
    assert _signals(ledger) == []


def test_only_an_active_write_key_is_accepted(
    ledger: MemoryLedger, clock: FixedClock, pipeline: SignalPipeline
) -> None:
    _, key = create_source(ledger, clock, "website")
    got = receive_calls(ledger, clock, [_track("Demo Requested")], pipeline, write_key=key)
    assert got.result.stored[0].attributes["via"] == "website"
    with pytest.raises(AuthError):
        receive_calls(ledger, clock, [_track("Demo Requested")], pipeline, write_key=key + "x")
    revoke_source(ledger, clock, "website")
    with pytest.raises(AuthError, match="revoked"):
        receive_calls(ledger, clock, [_track("Demo Requested")], pipeline, write_key=key)
