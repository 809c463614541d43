"""Policy versions: store, show, activate. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import NotFound
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


def activate_policy(
    ledger: LedgerOf[_AuditedPolicies], version: int, clock: Clock, actor: str
) -> ActivePolicy:
    """Make a stored version the active one (audited). Raises `NotFound`, `PolicyInvalid`."""
    with ledger.transaction() as tx:
        previous = tx.active_policy_version()
        Policy.from_dict(tx.policy_document(version))
        tx.activate_policy(version, clock(), actor)
        tx.append_audit(
            actor, "policy.activate", {"version": version, "previous": previous}, clock()
        )
        return active_policy(tx)
