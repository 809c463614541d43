"""Policy versions: store (a full document or a merge patch), diff, activate, roll back.

Every change is audited. Versions are never edited: a rollback activates a new version
holding the earlier document, so the history reads in order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from dtem.domain.capacity import threshold_in_force
from dtem.domain.clock import Clock
from dtem.domain.errors import ActivationRefused, ArgumentInvalid, NotFound
from dtem.domain.listings import IdPage
from dtem.domain.policy import Policy, default_policy
from dtem.domain.policy_docs import Change, diff_documents, merge_patch
from dtem.domain.ports import (
    AuditPort,
    LedgerOf,
    ListingsPort,
    OutboxPort,
    PolicyPort,
    PolicySchedule,
    PolicyVersion,
)
from dtem.services import webhook_events
from dtem.services.tiering import TierTx, refresh_tiers


class _AuditedPolicies(PolicyPort, AuditPort, Protocol):
    """Policy versions, every change audited in the same transaction."""


class _Activation(_AuditedPolicies, TierTx, OutboxPort, Protocol):
    """An activation also recomputes every account's stored tier and tells subscribers."""


@dataclass(frozen=True)
class ActivePolicy:
    """The policy in force: `policy` carries the threshold in force (moved by the λ
    controller, `lambda_ratio` = λ now ÷ the policy's λ); `stored` is the document as
    stored, for anything that shows, diffs or stores a policy."""

    version: int
    policy: Policy
    stored: Policy
    lambda_ratio: float = 1.0

    @classmethod
    def of(cls, version: int, stored: Policy, ratio: float = 1.0) -> ActivePolicy:
        if ratio == 1.0:
            return cls(version, stored, stored)
        moved = threshold_in_force(stored.threshold, ratio)
        return cls(version, replace(stored, threshold=moved), stored, ratio)


def ensure_policy(
    ledger: LedgerOf[_Activation], clock: Clock, actor: str = "system"
) -> ActivePolicy:
    """Make sure a policy is active (the first run stores and activates the defaults) and
    apply scheduled activations that fell due."""
    with ledger.transaction() as tx:
        if tx.active_policy_version() is None:
            version = _store(tx, default_policy().to_dict(), clock, actor, "default policy")
            tx.activate_policy(version, clock(), actor)
            tx.append_audit(actor, "policy.activate", {"version": version}, clock())
            refresh_tiers(tx, active_policy(tx).policy, version, clock())
            webhook_events.policy_activated(tx, version, None, clock(), actor)
        due = any(x.at <= clock() for x in tx.policy_schedules(pending_only=True))
    if due:  # a scheduled activation fell due: the first caller at or after it applies it
        apply_due_activations(ledger, clock)
    with ledger.transaction() as tx:
        return active_policy(tx)


def active_policy(tx: PolicyPort, cache: PolicyCache | None = None) -> ActivePolicy:
    """The policy in force now, with its version; parsed once per version with a `cache`."""
    in_force = tx.policy_in_force()
    if in_force is None:
        raise NotFound("no active policy: run `dtem init`")
    version, ratio = in_force
    if cache is None:
        return ActivePolicy.of(version, Policy.from_dict(tx.policy_document(version)), ratio)
    return cache.get(tx, version, ratio)


class PolicyCache:
    """Validated policies by version, for one ledger: a stored version never changes.

    Activating another version changes only which one `active_policy` looks up; a λ step
    only which threshold is in force.

    >>> cache = PolicyCache()  # one per ledger; bootstrap gives it to the signal pipeline
    """

    def __init__(self) -> None:
        self._by_version: dict[tuple[int, float], ActivePolicy] = {}

    def get(self, tx: PolicyPort, version: int, ratio: float = 1.0) -> ActivePolicy:
        """Version `version` at λ ratio `ratio`, read and validated the first time only."""
        hit = self._by_version.get((version, ratio))
        if hit is None:
            stored = next(
                (a.stored for (v, _), a in self._by_version.items() if v == version), None
            ) or Policy.from_dict(tx.policy_document(version))
            if len(self._by_version) > 64:  # a ratio a day: keep the cache small
                self._by_version.clear()
            hit = ActivePolicy.of(version, stored, ratio)
            self._by_version[(version, ratio)] = hit
        return hit


_CACHES: WeakKeyDictionary[object, PolicyCache] = WeakKeyDictionary()


def policy_cache(ledger: object) -> PolicyCache:
    """The `PolicyCache` of a ledger, made on first use (routing parses a version once).

    Only what a unit of work read as committed goes in (the version in force), and a
    stored version never changes, so the cache is right for every process's writes.
    """
    cache = _CACHES.get(ledger)
    if cache is None:
        cache = _CACHES[ledger] = PolicyCache()
    return cache


def store_policy(
    ledger: LedgerOf[_AuditedPolicies],
    document: dict[str, Any],
    clock: Clock,
    actor: str,
    note: str = "",
    merge: bool = False,
    base: int | None = None,
) -> int:
    """Validate and store a new version (not activated). Raises `PolicyInvalid`.

    With `merge`, `document` is a JSON Merge Patch on version `base` (the active one by
    default): what it leaves out stays as it is there. Without it, `document` is the whole
    policy and what it leaves out takes the default.
    """
    with ledger.transaction() as tx:
        if merge:
            version = base if base is not None else tx.active_policy_version()
            start = tx.policy_document(version) if version is not None else {}
            document = merge_patch(start, document)
        return _store(tx, document, clock, actor, note)


@dataclass(frozen=True)
class PolicyDiff:
    """What changes from version `a` to version `b`, field by field."""

    a: int
    b: int
    changes: list[Change]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "changes": [c.to_dict() for c in self.changes]}


def diff_policies(ledger: LedgerOf[PolicyPort], a: int, b: int | None = None) -> PolicyDiff:
    """Field-by-field differences between two stored versions (`b`: the active one).

    Both documents are read through `Policy` so that a field one version leaves to its
    default compares equal to the same default written out. Raises `NotFound`."""
    with ledger.transaction() as tx:
        b = b if b is not None else tx.active_policy_version()
        if b is None:
            raise NotFound("no active policy: run `dtem init`")
        docs = [Policy.from_dict(tx.policy_document(v)).to_dict() for v in (a, b)]
    return PolicyDiff(a, b, diff_documents(docs[0], docs[1]))


def rollback_policy(
    ledger: LedgerOf[_Activation],
    clock: Clock,
    actor: str,
    reason: str = "",
    to: int | None = None,
) -> ActivePolicy:
    """Activate again the version in force before the current one (or version `to`, which
    must have been active before), as a new version: history is never rewritten.

    Audited as `policy.rollback` with the versions and the reason. Raises `NotFound` when
    no earlier version was ever active (or `to` never was)."""
    with ledger.transaction() as tx:
        history = [a.version for a in tx.policy_activations()]
        current = history[-1] if history else None
        earlier = [v for v in history if v != current]
        if to is None:
            if not earlier:
                raise NotFound("nothing to roll back to: no other version was ever active")
            to = earlier[-1]
        elif to not in earlier:
            raise NotFound(
                f"policy v{to} was never active before v{current}; "
                f"versions active before: {sorted(set(earlier)) or 'none'}"
            )
        note = f"rollback of v{current} to v{to}" + (f": {reason}" if reason else "")
        version = _store(tx, tx.policy_document(to), clock, actor, note)
        tx.activate_policy(version, clock(), actor)
        active = active_policy(tx)
        refresh_tiers(tx, active.policy, version, clock())
        tx.append_audit(
            actor,
            "policy.rollback",
            {"from": current, "to": to, "version": version, "reason": reason},
            clock(),
        )
        webhook_events.policy_activated(tx, version, current, clock(), actor, rollback_to=to)
        return active


def _store(
    tx: _AuditedPolicies, document: dict[str, Any], clock: Clock, actor: str, note: str
) -> int:
    canonical = Policy.from_dict(document).to_dict()
    version = tx.add_policy(canonical, clock(), actor, note)
    tx.append_audit(actor, "policy.store", {"version": version, "note": note}, clock())
    return version


def record_verdict(
    ledger: LedgerOf[_AuditedPolicies], version: int, passed: bool, reasons: list[str],
    clock: Clock, actor: str = "system",
) -> None:  # fmt: skip
    """Keep the holdout verdict on a trained version; `activate_policy` reads it."""
    with ledger.transaction() as tx:
        check = {"passed": passed, "reasons": reasons}
        tx.add_policy_check(version, check, clock())
        tx.append_audit(actor, "policy.check", {"version": version, **check}, clock())


def activate_policy(
    ledger: LedgerOf[_Activation],
    version: int,
    clock: Clock,
    actor: str,
    force: bool = False,
    reason: str = "",
) -> ActivePolicy:
    """Make a stored version the active one (audited).

    A trained version the gate refused is activated only with `force` and a `reason`
    (both audited). Raises `NotFound`, `PolicyInvalid`, `ActivationRefused`.
    """
    with ledger.transaction() as tx:
        return _activate(tx, version, clock, actor, force, reason)


def _activate(
    tx: _Activation,
    version: int,
    clock: Clock,
    actor: str,
    force: bool = False,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> ActivePolicy:
    previous = tx.active_policy_version()
    Policy.from_dict(tx.policy_document(version))
    refused = _refusals(tx.policy_check(version))
    if refused and not force:
        raise ActivationRefused(version, refused)
    if force and not reason.strip():
        raise ActivationRefused(version, [*refused, "--force needs a --reason"])
    tx.activate_policy(version, clock(), actor)
    detail: dict[str, Any] = {"version": version, "previous": previous, **(extra or {})}
    if force:
        detail |= {"forced": True, "reason": reason, "refused": refused}
    active = active_policy(tx)
    detail["tiers_changed"] = refresh_tiers(tx, active.policy, version, clock())
    tx.append_audit(actor, "policy.activate", detail, clock())
    webhook_events.policy_activated(tx, version, previous, clock(), actor)
    return active


# --- scheduled activation (dtem policy activate N --at TS) -------------------------------
def schedule_activation(
    ledger: LedgerOf[_AuditedPolicies], version: int, at: datetime, clock: Clock, actor: str
) -> PolicySchedule:
    """Activate `version` at `at` (a future instant): applied by the first review, worker
    tick, command or API call at or after it (`apply_due_activations`). Audited."""
    now = clock()
    if at.tzinfo is None:
        raise ArgumentInvalid(f"--at {at.isoformat()} needs a time zone (e.g. …Z or +02:00)")
    if at <= now:
        raise ArgumentInvalid(
            f"--at {at.isoformat()} is not in the future (now {now.isoformat(timespec='seconds')}):"
            " activate without --at"
        )
    with ledger.transaction() as tx:
        Policy.from_dict(tx.policy_document(version))  # NotFound, PolicyInvalid
        sid = tx.schedule_policy(version, at, now, actor)
        detail = {"version": version, "at": at.isoformat(), "schedule": sid}
        tx.append_audit(actor, "policy.schedule", detail, now)
        return next(x for x in tx.policy_schedules() if x.id == sid)


def cancel_schedule(
    ledger: LedgerOf[_AuditedPolicies], schedule_id: int, clock: Clock, actor: str
) -> None:
    """Cancel a pending scheduled activation (audited); NotFound when none is pending."""
    with ledger.transaction() as tx:
        if not tx.close_schedule(schedule_id, clock(), "cancelled"):
            raise NotFound(f"no pending scheduled activation {schedule_id}")
        tx.append_audit(actor, "policy.schedule_cancel", {"schedule": schedule_id}, clock())


def pending_schedules(ledger: LedgerOf[PolicyPort]) -> list[PolicySchedule]:
    """Scheduled activations not yet applied nor cancelled, soonest first."""
    with ledger.transaction() as tx:
        return tx.policy_schedules(pending_only=True)


def apply_due_activations(
    ledger: LedgerOf[_Activation], clock: Clock, actor: str = "scheduler"
) -> list[int]:
    """Activate every version whose time has come, in order; the versions activated.

    Each schedule is closed in the unit of work that activates it, so with several
    processes exactly one applies it. A trained version its gate refuses is closed as
    `refused` and audited, never forced.
    """
    with ledger.transaction() as tx:
        due = [x for x in tx.policy_schedules(pending_only=True) if x.at <= clock()]
    applied: list[int] = []
    for x in due:
        extra = {"schedule": x.id, "scheduled_at": x.at.isoformat(), "scheduled_by": x.actor}
        try:
            with ledger.transaction() as tx:
                if tx.close_schedule(x.id, clock(), "applied"):
                    _activate(tx, x.version, clock, actor, extra=extra)
                    applied.append(x.version)
        except ActivationRefused as exc:
            with ledger.transaction() as tx:
                if tx.close_schedule(x.id, clock(), "refused"):
                    detail = {**extra, "version": x.version, "refused": exc.problems}
                    tx.append_audit(actor, "policy.schedule_refused", detail, clock())
    return applied


def _refusals(check: dict[str, Any] | None) -> list[str]:
    if check is None or check.get("passed", True):
        return []
    return [str(r) for r in check.get("reasons", [])]


def list_policies(
    ledger: LedgerOf[ListingsPort], after: int | None = None, limit: int | None = None
) -> list[PolicyVersion]:
    """Stored versions, oldest first (versions above `after`; `limit` None: every one),
    the active one marked. Example: `list_policies(ledger, limit=20)`."""
    with ledger.transaction() as tx:
        return tx.policy_page(IdPage(after=after, limit=limit))
