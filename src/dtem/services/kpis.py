"""Every KPI of docs/kpis.md from the ledger: the static baseline beside DTEM.

One ledger holds one history, so the two columns split its facts by who was
responsible: a fact (an owned account, a threshold crossing, a hand-raise, a deal, a
touch) counts for **DTEM** when its account was under a lease at that time (for a
crossing or hand-raise: within `dead_zone_days` after it), and for the **static**
baseline otherwise, where the imported owners were in charge. Coverage compares rep
touches alone (static territories have no agents) with rep and agent touches (DTEM).

>>> # report = kpi_report(ledger, start, end); report.rows[0].name -> 'phantom equity'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from dtem.domain import kpis
from dtem.domain.capacity import blended_hourly_cost, capacity_of, price_of_capacity
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.kpis import Deal, LeaseSpan, Touch
from dtem.domain.model import Account, Rep, segment_of
from dtem.domain.policy import Policy
from dtem.domain.ports import DirectoryPort, KpiFactsPort, LedgerOf, PolicyPort
from dtem.services.governance import active_policy

SIDES = ("static", "dtem")
_FAR = datetime(2200, 1, 1, tzinfo=UTC)  # touches after the window still answer its leads


class KpiTx(KpiFactsPort, DirectoryPort, PolicyPort, Protocol):
    """What the KPIs read: their facts, accounts and reps, the active policy."""


@dataclass(frozen=True)
class KpiRow:
    """One KPI on both sides: the value and the counts behind it (None = nothing to count)."""

    name: str
    unit: str
    static: float | None
    dtem: float | None
    detail: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class KpiReport:
    start: datetime
    end: datetime
    policy_version: int
    rows: list[KpiRow]
    lead_decay: dict[str, list[kpis.DecayBucket]]
    velocity_by_rep: dict[str, dict[str, float]]
    price_of_capacity: float


@dataclass(frozen=True)
class _Facts:
    accounts: dict[int, Account]
    reps: list[Rep]
    touches: list[Touch]
    deals: list[Deal]
    spans: list[LeaseSpan]
    crossings: dict[int, datetime]
    hand_raises: list[tuple[int, datetime]]
    policy: Policy
    deals_by_side: dict[str, list[Deal]] = field(default_factory=dict)


def kpi_report(ledger: LedgerOf[KpiTx], start: datetime, end: datetime) -> KpiReport:
    """Every KPI over [start, end) for the static baseline and DTEM (one read)."""
    if end <= start:
        raise ArgumentInvalid(f"--to ({end:%Y-%m-%d}) must be after --from ({start:%Y-%m-%d})")
    with ledger.transaction() as tx:
        active = active_policy(tx)
        policy = active.policy
        earliest = min(start, end - timedelta(days=kpis.PHANTOM_DAYS))
        facts = _Facts(
            {a.id: a for a in tx.all_accounts().values() if a.id is not None},
            tx.all_reps(),
            tx.kpi_touches(earliest, _FAR),
            tx.kpi_deals(policy.won_stages, policy.lost_stages),
            tx.lease_spans(),
            tx.first_crossings(policy.threshold, start, end),
            tx.hand_raises(start, end),
            policy,
        )
    spans = _spans_by_account(facts.spans)
    for side in SIDES:
        facts.deals_by_side[side] = []
    for d in facts.deals:
        facts.deals_by_side[deal_side(d, spans, end.date())].append(d)
    return _report(facts, start, end, active.version)


def _report(f: _Facts, start: datetime, end: datetime, version: int) -> KpiReport:
    hourly = price_of_capacity(f.policy, blended_hourly_cost(f.reps))
    vel = {side: rep_velocity(f, side, start, end) for side in SIDES}
    rows = [
        phantom_row(f, end),
        dead_zone_row(f),
        coverage_row(f, start, end),
        win_rate_row(f, start, end),
        cycle_row(f, start, end),
        KpiRow("velocity", "money/day", vel["static"][0], vel["dtem"][0]),
        cac_row(f, start, end, hourly),
        bloat_row(f, end),
        utilisation_row(f, end),
    ]
    decay = {side: lead_decay(f, side) for side in SIDES}
    by_rep = {side: vel[side][1] for side in SIDES}
    return KpiReport(start, end, version, rows, decay, by_rep, hourly)


# --- which side a fact belongs to -------------------------------------------------------
def leased_at(spans: Iterable[LeaseSpan], at: datetime) -> set[int]:
    """Accounts under a lease at the instant `at`."""
    return {s.account_id for s in spans if s.overlaps(at, at)}


def _side(leased: bool) -> str:
    return "dtem" if leased else "static"


def _spans_by_account(spans: Iterable[LeaseSpan]) -> dict[int, list[LeaseSpan]]:
    out: dict[int, list[LeaseSpan]] = {}
    for s in spans:
        out.setdefault(s.account_id, []).append(s)
    return out


def _leased(by_account: dict[int, list[LeaseSpan]], account: int, a: datetime, b: datetime) -> bool:
    return any(s.overlaps(a, b) for s in by_account.get(account, ()))


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def deal_side(deal: Deal, by_account: dict[int, list[LeaseSpan]], at: date) -> str:
    """DTEM when a lease covered the account between the deal's creation and its close
    (or `at` while it is open)."""
    first = _day_start(deal.created) if deal.created else _day_start(deal.closed or at)
    last = _day_start(deal.closed or at) + timedelta(days=1)
    return _side(_leased(by_account, deal.account_id, first, last))


def deals_of(f: _Facts, side: str) -> list[Deal]:
    """The deals counted for one side (split once per report by `deal_side`)."""
    return f.deals_by_side[side]


# --- the KPIs ---------------------------------------------------------------------------
def phantom_row(f: _Facts, end: datetime) -> KpiRow:
    leased = leased_at(f.spans, end)
    owned = {
        "static": {i for i, a in f.accounts.items() if a.static_owner and i not in leased},
        "dtem": leased,
    }
    got = {s: kpis.phantom_equity(owned[s], f.touches, end) for s in SIDES}
    return _ratio_row("phantom equity", got, "untouched_owned", "owned")


def dead_zone_row(f: _Facts) -> KpiRow:
    spans, reach = _spans_by_account(f.spans), timedelta(days=f.policy.dead_zone_days)
    split: dict[str, dict[int, datetime]] = {s: {} for s in SIDES}
    for account, at in f.crossings.items():
        split[_side(_leased(spans, account, at, at + reach))][account] = at
    got = {s: kpis.dead_zones(split[s], f.touches, f.policy.dead_zone_days) for s in SIDES}
    return _ratio_row("dead zones", got, "unworked_crossings", "crossings")


def lead_decay(f: _Facts, side: str) -> list[kpis.DecayBucket]:
    spans, reach = _spans_by_account(f.spans), timedelta(days=f.policy.dead_zone_days)
    raises = [
        (a, at) for a, at in f.hand_raises if _side(_leased(spans, a, at, at + reach)) == side
    ]
    won = kpis.won_dates(f.deals)
    return kpis.lead_decay(raises, f.touches, won, f.policy.horizon_days)


def coverage_row(f: _Facts, start: datetime, end: datetime) -> KpiRow:
    contactable = {i for i, a in f.accounts.items() if not a.do_not_contact}
    human = [t for t in f.touches if t.human]
    got = {
        "static": kpis.coverage(contactable, human, start, end),
        "dtem": kpis.coverage(contactable, f.touches, start, end),
    }
    return _ratio_row("coverage", got, "touched", "contactable")


def win_rate_row(f: _Facts, start: datetime, end: datetime) -> KpiRow:
    a, b = start.date(), end.date()
    got = {s: kpis.win_rate(deals_of(f, s), a, b) for s in SIDES}
    return _ratio_row("win rate", got, "won", "closed")


def cycle_row(f: _Facts, start: datetime, end: datetime) -> KpiRow:
    a, b = start.date(), end.date()
    got = {s: kpis.cycle_length(deals_of(f, s), a, b) for s in SIDES}
    return KpiRow("cycle length", "days", got["static"], got["dtem"])


def rep_velocity(
    f: _Facts, side: str, start: datetime, end: datetime
) -> tuple[float | None, dict[str, float]]:
    deals = deals_of(f, side)
    return kpis.rep_velocity(deals, start.date(), end.date(), f.policy.shrinkage_strength)


def cac_row(f: _Facts, start: datetime, end: datetime, hourly: float) -> KpiRow:
    spans = _spans_by_account(f.spans)
    worked: dict[str, set[int]] = {s: set() for s in SIDES}
    agent_touches = 0
    for t in f.touches:
        if start <= t.at < end:
            if t.human:
                worked[_side(_leased(spans, t.account_id, t.at, t.at))].add(t.account_id)
            else:
                agent_touches += 1
    won = {s: kpis.new_customers(deals_of(f, s), start.date(), end.date()) for s in SIDES}
    agents = {"static": 0, "dtem": agent_touches}  # static territories have no agents
    got = {
        s: kpis.cac(
            _effort_hours(f, worked[s]), hourly, agents[s], f.policy.agent_touch_cost, len(won[s])
        )
        for s in SIDES
    }
    detail = {
        s: {
            "human_cost": c.human_cost,
            "agent_cost": c.agent_cost,
            "new_customers": c.won,
        }
        for s, c in got.items()
    }
    return KpiRow("CAC", "money/customer", got["static"].value, got["dtem"].value, detail)


def _effort_hours(f: _Facts, account_ids: Iterable[int]) -> float:
    """Hours to work these accounts: the policy's effort hours of each one's segment."""
    hours = f.policy.effort_hours
    segments = (segment_of(f.accounts[i].employees, f.accounts[i].industry) for i in account_ids)
    return sum(hours.get(s, f.policy.default_effort_hours) for s in segments)


def bloat_row(f: _Facts, end: datetime) -> KpiRow:
    capacity = total_capacity(f.reps, f.policy)
    won = [d.amount for d in f.deals if d.outcome == "won" and d.amount is not None]
    mean_deal = sum(won) / len(won) if won else f.policy.default_deal_value
    at = end.date()
    leased = leased_at(f.spans, end)
    open_amount = {
        "static": kpis.open_pipeline([d for d in f.deals if d.account_id not in leased], at),
        "dtem": kpis.open_pipeline([d for d in f.deals if d.account_id in leased], at),
    }
    got = {s: kpis.pipeline_bloat(open_amount[s], capacity, mean_deal) for s in SIDES}
    detail = {
        s: {"open_pipeline": open_amount[s], "capacity": capacity, "mean_deal": mean_deal}
        for s in SIDES
    }
    return KpiRow("pipeline bloat", "ratio", got["static"], got["dtem"], detail)


def total_capacity(reps: Sequence[Rep], policy: Policy) -> int:
    """Leases the active reps may hold at once."""
    return sum(capacity_of(r, policy) for r in reps if r.active)


def utilisation_row(f: _Facts, end: datetime) -> KpiRow:
    ratio = kpis.utilisation(len(leased_at(f.spans, end)), total_capacity(f.reps, f.policy))
    detail = {"dtem": {"active_leases": ratio.numerator, "capacity": ratio.denominator}}
    return KpiRow("utilisation", "share", None, ratio.value, detail)


def _ratio_row(name: str, got: dict[str, kpis.Ratio], top: str, bottom: str) -> KpiRow:
    detail = {s: {top: r.numerator, bottom: r.denominator} for s, r in got.items()}
    return KpiRow(name, "share", got["static"].value, got["dtem"].value, detail)
