"""The daily review: expire and re-route stale leases, retry overflow, consume triggers.

Everything the review does is stamped with the review time of its date (the policy's
`review_hour_utc`), and each step consumes what it handles, so running the review twice
for the same date leaves the ledger as the first run left it:

- raw signals past their source's retention are deleted, and the accounts that lost one
  re-scored from what remains (`dtem.services.retention`), before anything reads a score;
- leases past their sprint end (`expires_at <= review time`) are revoked, or returned to
  the pool when the score fell below the threshold, then re-routed to a faster rep; a
  lease that moved meanwhile (an advance committed during the review) is read and
  decided again (`REVIEW_ATTEMPTS`), never overwritten;
- overflow entries queued before the review time are retried (the old entry is resolved
  as `retried`; a still unroutable account is queued again at the review time);
- unconsumed `score_events` up to the review time: crossed_up / hand_raise route the
  account, crossed_down needs nothing now (the sprint end checks the score); all consumed.

>>> from datetime import date
>>> from dtem.domain.policy import default_policy
>>> review_time(date(2027, 1, 4), default_policy()).isoformat()
'2027-01-04T06:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from dtem.domain.capacity import blended_hourly_cost, price_of_capacity
from dtem.domain.clock import Clock
from dtem.domain.eligibility import is_hot
from dtem.domain.errors import LeaseVersionConflict
from dtem.domain.model import LeaseState, segment_of
from dtem.domain.policy import Policy
from dtem.domain.ports import (
    BiddingPort,
    EconomicsPort,
    KpiFactsPort,
    LedgerOf,
    PolicyPort,
    PrivacyPort,
    RetentionPort,
    ScoresPort,
)
from dtem.domain.routing import TRIGGERS
from dtem.services import capacity_rate, leases
from dtem.services.governance import active_policy
from dtem.services.retention import RetentionSweep, sweep_signals
from dtem.services.routing import RoutingTx, rep_velocity, route_in_tx
from dtem.services.sprint_notices import announce_sprints_ending

Progress = Callable[[str, int, int], None]  # step, done, total
REVIEW_ATTEMPTS = 3  # reads of one lease before a stale write is reported, not retried
# Crossings routed in one unit of work: fewer commits and policy reads a crossing, while
# the write lock is held for tens of milliseconds, not seconds (a hand-raise waits on it).
TRIGGERS_PER_UNIT = 25


class _Review(
    RoutingTx, PolicyPort, ScoresPort, EconomicsPort, RetentionPort, PrivacyPort, BiddingPort,
    KpiFactsPort, Protocol,
):  # fmt: skip
    """The daily review: leases due, records, retention, overflow and triggers; λ's step."""


@dataclass
class ReviewReport:
    date: date
    at: datetime
    policy_version: int = 0
    lambda_hourly: float = 0.0  # λ in force after the review's step
    lambda_before: float = 0.0
    utilisation: float = 0.0
    threshold_in_force: float = 0.0
    lowered_routed: int = 0  # unleased accounts routed because the bar fell
    revoked: int = 0
    expired_to_pool: int = 0
    overflow_retried: int = 0
    triggers_consumed: int = 0
    conflicts_retried: int = 0  # leases read again because they moved during the review
    sprints_ending: int = 0  # lease.sprint_ending deliveries written (within 3 days)
    outcomes: dict[str, int] = field(default_factory=dict)  # routing outcome -> count
    retention: RetentionSweep = field(default_factory=RetentionSweep)

    @property
    def changed(self) -> bool:
        return (
            bool(self.revoked or self.expired_to_pool or self.overflow_retried)
            or bool(self.triggers_consumed or self.retention.signals or self.lowered_routed)
            or bool(self.lambda_before)
        )


def review_time(on: date, policy: Policy) -> datetime:
    """When the review of a date runs (and the time it stamps on what it does)."""
    return datetime.combine(on, time(policy.review_hour_utc), tzinfo=UTC)


def next_run(now: datetime, policy: Policy) -> datetime:
    """The next review time strictly after `now` (for the worker's schedule).

    >>> from dtem.domain.policy import default_policy
    >>> next_run(datetime(2027, 1, 4, 7, tzinfo=UTC), default_policy()).isoformat()
    '2027-01-05T06:00:00+00:00'
    """
    today = review_time(now.astimezone(UTC).date(), policy)
    return today if today > now else today + timedelta(days=1)


def run_review(
    ledger: LedgerOf[_Review],
    clock: Clock,
    on: date | None = None,
    actor: str = "review",
    progress: Progress | None = None,
) -> ReviewReport:
    """Run the review of `on` (default: today in UTC). Idempotent for a date."""
    with ledger.transaction() as tx:
        active = active_policy(tx)
        reps = tx.all_reps()
    day = on or clock().astimezone(UTC).date()
    report = ReviewReport(day, review_time(day, active.policy), active.version)
    report.lambda_hourly = price_of_capacity(active.stored, blended_hourly_cost(reps))
    report.lambda_hourly *= active.lambda_ratio
    report.threshold_in_force = active.policy.threshold
    refresh_rep_records(ledger, report.at)
    report.retention = sweep_signals(ledger, report.at, clock, actor)
    _expire_leases(ledger, report, actor, progress)
    _retry_overflow(ledger, report, actor, progress)
    _consume_triggers(ledger, report, actor, progress)
    _step_lambda(ledger, report, actor, progress)
    report.sprints_ending = announce_sprints_ending(ledger, report.at)
    if report.changed:
        with ledger.transaction() as tx:
            summary = {"date": day.isoformat(), **_summary(report)}
            tx.append_audit(actor, "review.run", summary, report.at)
    return report


def refresh_rep_records(ledger: LedgerOf[_Review], at: datetime) -> int:
    """Recount won/lost deals per rep and segment (read by every routing decision)."""
    with ledger.transaction() as tx:
        policy = active_policy(tx).policy
        records: dict[tuple[int, str], tuple[int, int]] = {}
        for deal in tx.closed_deals(policy.won_stages, policy.lost_stages):
            key = (deal.rep_id, segment_of(deal.employees, deal.industry))
            wins, losses = records.get(key, (0, 0))
            won = deal.stage in policy.won_stages
            records[key] = (wins + won, losses + (not won))
        tx.replace_rep_records(records, at)
        tx.rebuild_rep_loads()  # repairs any drift of the per-rep counts routing reads
    return len(records)


def _expire_leases(
    ledger: LedgerOf[_Review], report: ReviewReport, actor: str, progress: Progress | None
) -> None:
    with ledger.transaction() as tx:
        due = [x.id for x in tx.leases_due(report.at)]
    for i, lease_id in enumerate(due):
        _review_lease(ledger, lease_id, report, actor)
        if progress:
            progress("expiries", i + 1, len(due))


def _review_lease(
    ledger: LedgerOf[_Review], lease_id: int, report: ReviewReport, actor: str
) -> None:
    """Expire or revoke one lease, deciding again on fresh state if it moved meanwhile.

    A stage advance (or a release) that commits between this read and this write makes
    the write stale (`LeaseVersionConflict`): the unit of work rolls back and the lease is
    read and decided again — an advanced lease is then inside a new sprint, so it stays.
    """
    for attempt in range(1, REVIEW_ATTEMPTS + 1):
        try:
            with ledger.transaction() as tx:
                ended, outcome = _expire_one(tx, lease_id, report, actor)
        except LeaseVersionConflict:
            if attempt == REVIEW_ATTEMPTS:
                raise
            report.conflicts_retried += 1
            continue
        if ended is LeaseState.EXPIRED:
            report.expired_to_pool += 1
        elif ended is LeaseState.REVOKED:
            report.revoked += 1
        if outcome is not None:
            _count(report, outcome)
        return


def _expire_one(
    tx: _Review, lease_id: int, report: ReviewReport, actor: str
) -> tuple[LeaseState | None, str | None]:
    """(the state the lease ended in or None, the re-routing outcome or None)."""
    active, lease = active_policy(tx), tx.lease(lease_id)
    if lease.ended_at is not None:
        return None, None  # ended meanwhile (a release, a won/lost stage)
    account = tx.accounts_by_id([lease.account_id])[lease.account_id]
    score = tx.routing_score(lease.account_id)
    to_pool = score is None or score.score < active.policy.threshold
    ended = leases.expire(tx, lease, report.at, to_pool, active)
    if ended.state is not LeaseState.REVOKED:
        return (ended.state if ended.ended_at else None), None
    q = rep_velocity(tx, lease.rep_id, account, active)
    res = route_in_tx(tx, account, "revocation", report.at, actor, active, q)
    return ended.state, res.outcome


def _retry_overflow(
    ledger: LedgerOf[_Review], report: ReviewReport, actor: str, progress: Progress | None
) -> None:
    with ledger.transaction() as tx:
        entries = tx.overflow_entries(open_only=True, queued_before=report.at)
    for i, entry in enumerate(entries):
        with ledger.transaction() as tx:
            active = active_policy(tx)
            tx.resolve_overflow(entry.id, report.at, "retried")
            account = tx.accounts_by_id([entry.account_id])[entry.account_id]
            res = route_in_tx(tx, account, "overflow_retry", report.at, actor, active)
            report.overflow_retried += 1
            _count(report, res.outcome)
        if progress:
            progress("overflow", i + 1, len(entries))


def _consume_triggers(
    ledger: LedgerOf[_Review], report: ReviewReport, actor: str, progress: Progress | None
) -> None:
    with ledger.transaction() as tx:
        pending = [e for e in tx.score_events(unconsumed=True) if e.at <= report.at]
    for start in range(0, len(pending), TRIGGERS_PER_UNIT):
        chunk = pending[start : start + TRIGGERS_PER_UNIT]
        outcomes: list[str] = []
        with ledger.transaction() as tx:
            active = active_policy(tx)
            routed = [x for x in chunk if x.kind in TRIGGERS]  # crossed_up, hand_raise
            accounts = tx.accounts_by_id({x.account_id for x in routed}) if routed else {}
            for trigger in routed:
                account = accounts[trigger.account_id]
                res = route_in_tx(tx, account, trigger.kind, report.at, actor, active)
                outcomes.append(res.outcome)
            tx.consume_score_events([x.id for x in chunk if x.id is not None], report.at)
        for outcome in outcomes:  # counted once the unit of work committed
            _count(report, outcome)
        report.triggers_consumed += len(chunk)
        if progress:
            progress("triggers", start + len(chunk), len(pending))


def _step_lambda(
    ledger: LedgerOf[_Review], report: ReviewReport, actor: str, progress: Progress | None
) -> None:
    """λ's step for the date; when the bar falls, route what now clears it."""
    with ledger.transaction() as tx:
        was = active_policy(tx).policy.threshold
        moved = capacity_rate.step(tx, report.date, report.at)
    if moved is None:
        return  # this date's step was taken by an earlier run of its review
    report.lambda_before, report.lambda_hourly = moved.lambda_before, moved.lambda_after
    report.utilisation, report.threshold_in_force = moved.utilisation, moved.threshold_in_force
    if moved.threshold_in_force >= was:
        return
    with ledger.transaction() as tx:
        held = {x.account_id for x in tx.active_leases()}
        scores = tx.latest_scores()
        ids = sorted(
            a for a, s in scores.items()
            if a not in held and moved.threshold_in_force <= s.score < was
        )  # fmt: skip
    for start in range(0, len(ids), TRIGGERS_PER_UNIT):
        chunk = ids[start : start + TRIGGERS_PER_UNIT]
        outcomes: list[str] = []
        with ledger.transaction() as tx:
            accounts = tx.accounts_by_id(chunk)
            active = active_policy(tx)
            for account_id in chunk:
                account = accounts[account_id]
                if not is_hot(account, scores[account_id].score, active.policy):
                    continue  # do-not-contact, tier 3, or leased meanwhile
                res = route_in_tx(tx, account, "threshold_lowered", report.at, actor, active)
                outcomes.append(res.outcome)
        for outcome in outcomes:  # counted once the unit of work committed
            report.lowered_routed += 1
            _count(report, outcome)
        if progress:
            progress("threshold lowered", start + len(chunk), len(ids))


def _count(report: ReviewReport, outcome: str) -> None:
    report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1


def _summary(r: ReviewReport) -> dict[str, object]:
    return {
        "policy_version": r.policy_version,
        "lambda_hourly": r.lambda_hourly,
        "lambda_before": r.lambda_before,
        "utilisation": r.utilisation,
        "threshold_in_force": r.threshold_in_force,
        "lowered_routed": r.lowered_routed,
        "revoked": r.revoked,
        "expired_to_pool": r.expired_to_pool,
        "overflow_retried": r.overflow_retried,
        "triggers_consumed": r.triggers_consumed,
        "conflicts_retried": r.conflicts_retried,
        "outcomes": dict(r.outcomes),
        "retention": r.retention.as_dict(),
    }
