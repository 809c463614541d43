"""Comp plan versions: store (validated and scheduled), list, show. Every store is audited.

The first time a plan is needed and none is stored, the default plan is stored from the
active policy's `comp_points` (in force from 2000-01-01 until a later plan starts), so
every commission line names a stored plan version.

>>> # store_plan(ledger, clock, {"effective_from": "next_quarter", "deal_cap": 5000})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.comp import CompPlan, CompPlanInvalid, next_quarter_start
from dtem.domain.comp_schedule import StoredPlan, plan_in_force, schedule_problems
from dtem.domain.errors import NotFound
from dtem.domain.policy import Policy, default_policy
from dtem.domain.ports import AuditPort, CompPort, LedgerOf, PolicyPort
from dtem.services.governance import active_policy

DEFAULT_FROM = date(2000, 1, 1)


class PlanTx(CompPort, PolicyPort, AuditPort, Protocol):
    """Comp plans, the policy whose comp_points seed the default, the audit log."""


NEXT_QUARTER = "next_quarter"  # `effective_from: next_quarter` = the next fiscal quarter


def default_plan(policy: Policy, policy_version: int | None) -> CompPlan:
    """The plan the policy's `comp_points` describe, with no caps."""
    source = f"policy v{policy_version}" if policy_version else "the default policy"
    doc = {
        "name": f"default (comp_points of {source})",
        "effective_from": DEFAULT_FROM.isoformat(),
        "curve": [[repr(s), repr(r)] for s, r in policy.comp_points],
    }
    return CompPlan.from_dict(doc)


def stored_plans(tx: CompPort) -> list[StoredPlan]:
    """Every stored plan, by version."""
    return [
        StoredPlan(r.version, CompPlan.from_dict(r.document), r.created_at, r.created_by, r.note)
        for r in tx.comp_plans()
    ]


def ensure_plans(tx: PlanTx, at: datetime, actor: str) -> list[StoredPlan]:
    """The stored plans; with none stored, store the default plan first (audited)."""
    plans = stored_plans(tx)
    if plans:
        return plans
    version = tx.active_policy_version()
    policy = active_policy(tx).policy if version is not None else default_policy()
    plan = default_plan(policy, version)
    # None: a concurrent writer stored the default first; theirs is read back below
    _add(tx, plan, at, "system", "default plan from the policy's comp_points")
    return stored_plans(tx)


def store_plan(
    ledger: LedgerOf[PlanTx], clock: Clock, document: dict[str, Any], actor: str, note: str = ""
) -> StoredPlan:
    """Validate and schedule a plan. Raises `CompPlanInvalid` listing every reason."""
    now = clock()
    doc = dict(document)
    if doc.get("effective_from") == NEXT_QUARTER:
        month = doc.get("fiscal_year_start_month", 1)
        month = month if isinstance(month, int) and 1 <= month <= 12 else 1
        doc["effective_from"] = next_quarter_start(now.date(), month).isoformat()
    with ledger.transaction() as tx:
        plans = ensure_plans(tx, now, actor)
        problems, plan = _problems(doc, plans, set(tx.closed_comp_periods()))
        if problems or plan is None:
            raise CompPlanInvalid(problems)
        version = _add(tx, plan, now, actor, note)
        if version is None:  # a concurrent writer stored a plan starting that day first
            raise CompPlanInvalid([f"another plan starts on {plan.effective_from}"])
        return StoredPlan(version, plan, now, actor, note)


def _problems(
    doc: dict[str, Any], plans: list[StoredPlan], closed: set[str]
) -> tuple[list[str], CompPlan | None]:
    """The document's own problems and its scheduling problems, together."""
    try:
        plan: CompPlan | None = CompPlan.from_dict(doc)
        problems: list[str] = []
    except CompPlanInvalid as exc:
        plan, problems = None, list(exc.problems)
    dates = plan or _dates_only(doc)
    if dates is not None:
        problems += schedule_problems(dates, plans, closed)
    return problems, plan


def _dates_only(doc: dict[str, Any]) -> CompPlan | None:
    """The document's dates alone (to check the schedule of an otherwise bad plan)."""
    try:
        start = date.fromisoformat(str(doc.get("effective_from")))
        end = doc.get("effective_to")
        return CompPlan(start, effective_to=date.fromisoformat(str(end)) if end else None)
    except ValueError:
        return None


def _add(tx: PlanTx, plan: CompPlan, at: datetime, actor: str, note: str) -> int | None:
    version = tx.add_comp_plan(plan.to_dict(), plan.effective_from, at, actor, note)
    if version is None:
        return None
    payload = {"version": version, "note": note} | {
        k: v for k, v in plan.to_dict().items() if k in ("effective_from", "effective_to")
    }
    tx.append_audit(actor, "comp.plan.store", payload, at)
    return version


@dataclass(frozen=True)
class PlanListing:
    """Stored plans and which one is in force today (`pending_default`: none stored yet)."""

    plans: list[StoredPlan]
    in_force: int | None
    pending_default: CompPlan | None = None


def list_plans(ledger: LedgerOf[PlanTx], clock: Clock) -> PlanListing:
    with ledger.transaction() as tx:
        plans = stored_plans(tx)
        if not plans:
            version = tx.active_policy_version()
            policy = active_policy(tx).policy if version is not None else default_policy()
            return PlanListing([], None, default_plan(policy, version))
    current = plan_in_force(plans, clock().date())
    return PlanListing(plans, current.version if current else None)


def show_plan(ledger: LedgerOf[CompPort], version: int) -> StoredPlan:
    with ledger.transaction() as tx:
        found = [p for p in stored_plans(tx) if p.version == version]
    if not found:
        raise NotFound(f"comp plan version {version} does not exist")
    return found[0]
