"""A small ledger whose KPIs are worked out by hand (tests/integration/test_kpi_ledger.py).

Window [START, END) = Q1 2027. Reps R1, R2 (capacity 10 each, 50 and 70 an hour: λ = 60)
and R3 (inactive). Every account is smb|retail (10 effort hours by default).

- A1, owner R1: crossed 03-19, R1 touch 03-20; O2 won 4000 (01-05 → 03-06).
- A2, owner R1: hand-raise 02-01, never touched after; O4 won 2000 in 2026; O5 won 6000
  (02-01 → 03-03); an R1 touch in 2026.
- A3, owner R2: crossed 02-10, only an agent touch (03-01); O3 lost 3000.
- A4, owner R2, leased to R1 from 02-01 (active at END): crossed 01-31, R1 touch 02-01
  10:00; O6 open 8000.
- A5, no owner, leased to R2 01-10 00:01 → 02-15 12:00 (won): hand-raise 01-10 00:00,
  R2 touch 00:03; O1 won 10000 (01-12 → 02-15).
- A6: do not contact.
- A7, no owner: agent touch 02-20; hand-raise 03-05 09:00, R2 touch 12:00; O7 open 5000.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from dtem.domain.model import Account, Activity, LeaseState, Opportunity, Rep
from dtem.domain.score_records import ScoreRecord
from dtem.domain.signals import SignalRecord

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2027, 4, 1, tzinfo=UTC)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _account(xid: str, owner: str | None = None, dnc: bool = False) -> Account:
    return Account(
        xid, xid, employees=50, industry="retail", static_owner=owner, do_not_contact=dnc
    )


def score_row(account_id: int, when: datetime, score: float) -> ScoreRecord:
    return ScoreRecord(account_id, when, score, 0.1, 0.2, 100.0, 500.0, 1, "batch")


def _hand_raise(event_id: str, account_id: int, when: datetime) -> SignalRecord:
    return SignalRecord(
        event_id, "x", "id", "hand_raise", when, 1.0, "first_party", when, account_id=account_id
    )


def _touch(xid: str, account: str, when: datetime, actor: str | None) -> Activity:
    kind = "agent" if actor is None else "rep"
    return Activity(xid, account, "email", when, actor_kind=kind, actor_id=actor or "agent-1")


def _deal(
    xid: str, account: str, stage: str, amount: float,
    created: tuple[int, int, int], closed: tuple[int, int, int] | None, rep: str,
) -> Opportunity:  # fmt: skip
    close = date(*closed) if closed else None
    return Opportunity(xid, account, stage, amount, date(*created), close, rep)


def seed(ledger: Any) -> dict[str, int]:
    """Write the ledger above; return account external id -> id."""
    with ledger.transaction() as tx:
        tx.insert_reps(
            [
                Rep("R1", "Rita", capacity=10, hourly_cost=50.0),
                Rep("R2", "Raj", capacity=10, hourly_cost=70.0),
                Rep("R3", "Rosa", capacity=5, active=False),
            ],
            START,
        )
        tx.insert_accounts(
            [_account("A1", "R1"), _account("A2", "R1"), _account("A3", "R2"),
             _account("A4", "R2"), _account("A5"), _account("A6", dnc=True), _account("A7")],
            START,
        )  # fmt: skip
        ids: dict[str, int] = tx.all_account_ids()
        reps = {r.external_id: r.id for r in tx.all_reps()}
        tx.insert_activities([
            _touch("t1", "A1", at(3, 20), "R1"),
            _touch("t2", "A2", at(12, 1, year=2026), "R1"),
            _touch("t3", "A4", at(2, 1, 10), "R1"),
            _touch("t4", "A5", at(1, 10, 0, 3), "R2"),
            _touch("t5", "A7", at(2, 20), None),
            _touch("t6", "A3", at(3, 1), None),
            _touch("t7", "A7", at(3, 5, 12), "R2"),
        ])  # fmt: skip
        tx.insert_opportunities([
            _deal("O1", "A5", "closed_won", 10000.0, (2027, 1, 12), (2027, 2, 15), "R2"),
            _deal("O2", "A1", "closed_won", 4000.0, (2027, 1, 5), (2027, 3, 6), "R1"),
            _deal("O3", "A3", "closed_lost", 3000.0, (2027, 1, 20), (2027, 2, 20), "R2"),
            _deal("O4", "A2", "closed_won", 2000.0, (2026, 10, 1), (2026, 12, 1), "R1"),
            _deal("O5", "A2", "closed_won", 6000.0, (2027, 2, 1), (2027, 3, 3), "R1"),
            _deal("O6", "A4", "proposal", 8000.0, (2027, 2, 5), None, "R1"),
            _deal("O7", "A7", "qualification", 5000.0, (2027, 3, 10), None, "R2"),
        ], START)  # fmt: skip
        tx.append_scores([
            score_row(ids["A4"], at(1, 31), 65.0),
            score_row(ids["A3"], at(2, 10), 70.0),
            score_row(ids["A3"], at(2, 12), 80.0),
            score_row(ids["A1"], at(3, 19), 61.0),
            score_row(ids["A2"], at(12, 15, year=2026), 75.0),  # before the window
            score_row(ids["A2"], at(2, 15), 50.0),  # below the threshold
        ])  # fmt: skip
        tx.insert_signals([
            _hand_raise("h1", ids["A5"], at(1, 10)),
            _hand_raise("h2", ids["A7"], at(3, 5, 9)),
            _hand_raise("h3", ids["A2"], at(2, 1)),
        ])  # fmt: skip
        sprint = timedelta(days=30)
        tx.grant_lease(ids["A4"], reps["R1"], at(2, 1), at(2, 1) + sprint, 65.0, 1, "crossed_up")
        a5 = tx.grant_lease(ids["A5"], reps["R2"], at(1, 10, 0, 1), at(2, 9), 90.0, 1, "hand_raise")
        tx.end_lease(a5.id, a5.version, LeaseState.WON, at(2, 15, 12), "won")
    return ids
