"""Policy versions end to end on every backend: a partial document merges with the
active one, diff names what changed, rollback re-activates as a new version — audited."""

from __future__ import annotations

from typing import Any

import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.errors import NotFound, PolicyInvalid
from dtem.services import audit, governance
from tests.conftest import T0

CLOCK = FixedClock(T0)


def _setup(ledger: Any) -> int:
    return governance.ensure_policy(ledger, CLOCK).version


def test_a_partial_signal_types_document_changes_only_what_it_names(ledger: Any) -> None:
    v1 = _setup(ledger)
    patch = {"threshold": 55, "signal_types": {"hand_raise": {"weight": 8}}}
    v2 = governance.store_policy(ledger, patch, CLOCK, "admin", "lower", merge=True)
    with ledger.transaction() as tx:
        before, after = tx.policy_document(v1), tx.policy_document(v2)
    assert after["signal_types"]["hand_raise"] == {**before["signal_types"]["hand_raise"],
                                                   "weight": 8}  # fmt: skip
    assert set(after["signal_types"]) == set(before["signal_types"])  # 9 types kept
    changes = {
        c.path: (c.before, c.after) for c in governance.diff_policies(ledger, v1, v2).changes
    }
    assert changes == {"threshold": (60.0, 55), "signal_types.hand_raise.weight": (6.0, 8)}


def test_null_removes_a_mapping_entry_and_resets_a_field(ledger: Any) -> None:
    _setup(ledger)
    v2 = governance.store_policy(
        ledger, {"fit_industry": {"retail": 0.3, "pet": 0.1}, "sprint_days": 21}, CLOCK, "a",
        merge=True,
    )  # fmt: skip
    v3 = governance.store_policy(
        ledger, {"fit_industry": {"pet": None}, "sprint_days": None}, CLOCK, "a", merge=True,
        base=v2,
    )  # fmt: skip
    with ledger.transaction() as tx:
        doc = tx.policy_document(v3)
    assert doc["fit_industry"] == {"retail": 0.3} and doc["sprint_days"] == 30


def test_a_bad_partial_document_is_refused_with_each_problem_once(ledger: Any) -> None:
    _setup(ledger)
    patch = {"signal_types": {"hand_raise": {"weight": "x"}, "demo": {"weight": 1}}}
    with pytest.raises(PolicyInvalid) as err:
        governance.store_policy(ledger, patch, CLOCK, "admin", merge=True)
    assert err.value.problems == [
        "signal_types.hand_raise.weight must be a number, got 'x'",
        "signal type 'demo': half_life_days is required",
    ]
    with ledger.transaction() as tx:
        assert [v.version for v in tx.policy_versions()] == [1]  # nothing stored


def test_rollback_activates_the_previous_version_again_as_a_new_one(ledger: Any) -> None:
    v1 = _setup(ledger)
    v2 = governance.store_policy(ledger, {"threshold": 55}, CLOCK, "admin", merge=True)
    governance.activate_policy(ledger, v2, CLOCK, "admin")
    rolled = governance.rollback_policy(ledger, CLOCK, "admin", "flooded the reps")
    assert rolled.version == 3 and rolled.policy.threshold == 60.0
    assert governance.diff_policies(ledger, v1, 3).changes == []
    with ledger.transaction() as tx:
        assert [a.version for a in tx.policy_activations()] == [v1, v2, 3]
        entry = list(tx.audit_entries())[-1]
    assert entry.action == "policy.rollback"
    assert entry.payload == {"from": v2, "to": v1, "version": 3, "reason": "flooded the reps"}
    assert audit.verify_audit(ledger) > 0
    again = governance.rollback_policy(ledger, CLOCK, "admin")  # undo the rollback
    assert again.version == 4 and again.policy.threshold == 55


def test_rollback_with_no_earlier_version_or_a_never_active_one_is_refused(ledger: Any) -> None:
    _setup(ledger)
    with pytest.raises(NotFound, match="nothing to roll back"):
        governance.rollback_policy(ledger, CLOCK, "admin")
    v2 = governance.store_policy(ledger, {"threshold": 55}, CLOCK, "admin", merge=True)
    with pytest.raises(NotFound, match=f"v{v2} was never active"):
        governance.rollback_policy(ledger, CLOCK, "admin", to=v2)
