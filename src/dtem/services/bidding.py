"""Quarterly capacity bidding: submit, award (water-filling), and the capacity in force.

A rep's capacity on a date is the award of the quarter containing that date when there
is one, else the rep's own `capacity` (`dtem.domain.capacity`). Routing and the batch
optimiser both read it, so an award takes effect on the quarter's first day.

>>> # submit_bid(ledger, clock, "R1", "2027Q2", 30); award_quarter(ledger, clock, "2027Q2")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from dtem.domain.bidding import (
    CapacityBid,
    Performance,
    TrackRecord,
    parse_quarter,
    performance,
    quarter_of,
    water_fill,
)
from dtem.domain.capacity import capacity_of, rep_capacity
from dtem.domain.clock import Clock
from dtem.domain.errors import InputInvalid, NotFound, RowError
from dtem.domain.model import Rep
from dtem.domain.policy import Policy
from dtem.domain.ports import (
    AuditPort,
    BiddingPort,
    DirectoryPort,
    LedgerOf,
    ListingsPort,
    PolicyPort,
)
from dtem.services.governance import active_policy


class _Bids(BiddingPort, DirectoryPort, ListingsPort, Protocol):
    """Bids and awards with the reps they belong to."""


class _AuditedBids(_Bids, PolicyPort, AuditPort, Protocol):
    """Bids and awards under the active policy, every change audited."""


def effective_capacity(tx: BiddingPort, rep: Rep, day: date, policy: Policy) -> int:
    """Leases the rep may hold on `day`: the quarter's award, else its own capacity."""
    awarded = tx.awarded_capacities(quarter_of(day)).get(rep.id or 0)
    return rep_capacity(rep, awarded, policy)


def _invalid(field: str, value: str, reason: str) -> InputInvalid:
    return InputInvalid([RowError("bid", 1, field, value, reason)], source="capacity bid")


def submit_bid(
    ledger: LedgerOf[_AuditedBids],
    clock: Clock,
    rep: str,
    quarter: str,
    leases: int,
    actor: str = "cli",
) -> CapacityBid:
    """Record (or replace, before the award) a rep's bid for a quarter."""
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise _invalid("quarter", quarter, str(exc)) from exc
    if leases <= 0:
        raise _invalid("leases", str(leases), "a bid must ask for at least one lease")
    with ledger.transaction() as tx:
        found = tx.reps_by_external_id([rep]).get(rep)
        if found is None or found.id is None:
            raise NotFound(f"rep {rep!r} does not exist")
        if any(b.awarded is not None for b in tx.capacity_bids(quarter)):
            raise _invalid("quarter", quarter, "bids for this quarter were already awarded")
        bid = tx.put_capacity_bid(found.id, quarter, leases, clock())
        payload = {"rep": rep, "quarter": quarter, "leases": leases}
        tx.append_audit(actor, "bid.submit", payload, clock())
    return bid


def list_bids(ledger: LedgerOf[_Bids], quarter: str | None = None) -> list[dict[str, object]]:
    """Bids (of one quarter, or all) with rep external ids, oldest quarter first."""
    return [row for _, row in bid_page(ledger, quarter)]


BidKey = tuple[str, int]  # (quarter, rep id): the order of the bids


def bid_page(
    ledger: LedgerOf[_Bids],
    quarter: str | None = None,
    after: BidKey | None = None,
    limit: int | None = None,
) -> list[tuple[BidKey, dict[str, object]]]:
    """Bids by (quarter, rep id) after `after` (`limit` None: every one), each with its
    key and as `list_bids` shows it."""
    with ledger.transaction() as tx:
        bids = tx.bid_page(quarter, after, limit)
        names = {r.id: r.external_id for r in tx.all_reps()} if bids else {}
    return [((b.quarter, b.rep_id), _bid_row(b, names)) for b in bids]


def _bid_row(b: CapacityBid, names: dict[int | None, str]) -> dict[str, object]:
    return {
        "rep": names.get(b.rep_id, str(b.rep_id)),
        "quarter": b.quarter,
        "leases": b.leases,
        "submitted_at": b.submitted_at,
        "awarded": b.awarded,
        "award_reason": b.award_reason,
        "awarded_at": b.awarded_at,
    }


@dataclass(frozen=True)
class AwardLine:
    rep: str
    bid: int
    awarded: int
    close_rate: float
    velocity: float
    index: float
    share: float  # the rep's share of the total capacity before rounding
    capped: bool
    reason: str


@dataclass(frozen=True)
class AwardResult:
    quarter: str
    total_capacity: int
    awarded: int
    lines: list[AwardLine]


def award_quarter(
    ledger: LedgerOf[_AuditedBids],
    clock: Clock,
    quarter: str,
    total: int | None = None,
    actor: str = "cli",
) -> AwardResult:
    """Award a quarter's bids by water-filling on the performance weights; recorded once.

    `total` defaults to the human capacity: Σ capacity of the active reps.
    """
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise _invalid("quarter", quarter, str(exc)) from exc
    with ledger.transaction() as tx:
        policy, now = active_policy(tx).policy, clock()
        bids = tx.capacity_bids(quarter)
        if not bids:
            raise NotFound(f"no bids for {quarter}")
        if any(b.awarded is not None for b in bids):
            raise _invalid("quarter", quarter, "bids for this quarter were already awarded")
        reps = {r.id: r for r in tx.all_reps()}
        capacity = total if total is not None else _human_capacity(reps.values(), policy)
        tracks, team = _track_records(tx, policy)
        perf = [performance(tracks.get(b.rep_id, TrackRecord()), team, policy) for b in bids]
        awards = water_fill([b.leases for b in bids], [p.weight for p in perf], capacity)
        lines = [
            _line(reps[b.rep_id], b, p, a.awarded, a.share / max(capacity, 1), a.capped, policy)
            for b, p, a in zip(bids, perf, awards, strict=True)
        ]
        for b, line in zip(bids, lines, strict=True):
            tx.record_capacity_award(b.rep_id, quarter, line.awarded, line.reason, now)
        result = AwardResult(quarter, capacity, sum(x.awarded for x in lines), lines)
        tx.append_audit(actor, "bid.award", _audit_payload(result), now)
    return result


def _human_capacity(reps: Iterable[Rep], policy: Policy) -> int:
    return sum(capacity_of(r, policy) for r in reps if r.active)


def _track_records(tx: BiddingPort, policy: Policy) -> tuple[dict[int, TrackRecord], TrackRecord]:
    """Per rep and for the whole team: wins, losses, won amount, cycle days of wins."""
    raw: dict[int, list[float]] = {}
    for d in tx.rep_deals(policy.won_stages, policy.lost_stages):
        acc = raw.setdefault(d.rep_id, [0, 0, 0.0, 0.0])
        if d.won:
            acc[0] += 1
            acc[2] += d.amount or 0.0
            acc[3] += d.cycle_days
        else:
            acc[1] += 1
    tracks = {k: TrackRecord(int(v[0]), int(v[1]), v[2], v[3]) for k, v in raw.items()}
    sums = [sum(v[i] for v in raw.values()) for i in range(4)]
    return tracks, TrackRecord(int(sums[0]), int(sums[1]), sums[2], sums[3])


def _line(
    rep: Rep, bid: CapacityBid, p: Performance, awarded: int, share: float, capped: bool,
    policy: Policy,
) -> AwardLine:  # fmt: skip
    cap = "capped at the bid" if capped else "proportional share"
    reason = (
        f"index {p.index:.4g} = close rate {p.close_rate:.1%} × velocity {p.velocity:,.0f}/day; "
        f"weight = index^{policy.bid_exponent:g}; share {share:.1%} of capacity; {cap}"
    )
    return AwardLine(
        rep.external_id, bid.leases, awarded, p.close_rate, p.velocity, p.index, share,
        capped, reason,
    )  # fmt: skip


def _audit_payload(result: AwardResult) -> dict[str, object]:
    return {
        "quarter": result.quarter,
        "total_capacity": result.total_capacity,
        "awarded": result.awarded,
        "awards": {x.rep: {"bid": x.bid, "awarded": x.awarded, "index": round(x.index, 6)}
                   for x in result.lines},
    }  # fmt: skip
