"""Policy versions: store, show, activate. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ActivationRefused, NotFound
from dtem.domain.policy import Policy, default_policy
from dtem.domain.ports import AuditPort, LedgerOf, PolicyPort


class _AuditedPolicies(PolicyPort, AuditPort, Protocol):
    """Policy versions, every change audited in the same transaction."""


@dataclass(frozen=True)
class ActivePolicy:
    version: int
    policy: Policy


def ensure_policy(
    ledger: LedgerOf[_AuditedPolicies], clock: Clock, actor: str = "system"
) -> ActivePolicy:
    """Make sure a policy is active; the first run stores and activates the defaults."""
    with ledger.transaction() as tx:
        if tx.active_policy_version() is None:
            version = _store(tx, default_policy().to_dict(), clock, actor, "default policy")
            tx.activate_policy(version, clock(), actor)
            tx.append_audit(actor, "policy.activate", {"version": version}, clock())
        return active_policy(tx)


def active_policy(tx: PolicyPort, cache: PolicyCache | None = None) -> ActivePolicy:
    """The policy in force now, with its version; parsed once per version with a `cache`."""
    version = tx.active_policy_version()
    if version is None:
        raise NotFound("no active policy: run `dtem init`")
    if cache is None:
        return ActivePolicy(version, Policy.from_dict(tx.policy_document(version)))
    return cache.get(tx, version)


class PolicyCache:
    """Validated policies by version, for one ledger: a stored version never changes.

    Activating another version changes only which one `active_policy` looks up.

    >>> cache = PolicyCache()  # one per ledger; bootstrap gives it to the signal pipeline
    """

    def __init__(self) -> None:
        self._by_version: dict[int, ActivePolicy] = {}

    def get(self, tx: PolicyPort, version: int) -> ActivePolicy:
        """Version `version`, read and validated the first time only."""
        hit = self._by_version.get(version)
        if hit is None:
            hit = ActivePolicy(version, Policy.from_dict(tx.policy_document(version)))
            self._by_version[version] = hit
        return hit


def store_policy(
    ledger: LedgerOf[_AuditedPolicies],
    document: dict[str, Any],
    clock: Clock,
    actor: str,
    note: str = "",
) -> int:
    """Validate and store a new version (not activated). Raises `PolicyInvalid`."""
    with ledger.transaction() as tx:
        return _store(tx, document, clock, actor, note)


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
    ledger: LedgerOf[_AuditedPolicies],
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
        previous = tx.active_policy_version()
        Policy.from_dict(tx.policy_document(version))
        refused = _refusals(tx.policy_check(version))
        if refused and not force:
            raise ActivationRefused(version, refused)
        if force and not reason.strip():
            raise ActivationRefused(version, [*refused, "--force needs a --reason"])
        tx.activate_policy(version, clock(), actor)
        detail: dict[str, Any] = {"version": version, "previous": previous}
        if force:
            detail |= {"forced": True, "reason": reason, "refused": refused}
        tx.append_audit(actor, "policy.activate", detail, clock())
        return active_policy(tx)


def _refusals(check: dict[str, Any] | None) -> list[str]:
    if check is None or check.get("passed", True):
        return []
    return [str(r) for r in check.get("reasons", [])]
