"""The activation gate: baselines on the same holdout rows, and what refuses a version."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.errors import ActivationRefused
from dtem.domain.policy import default_policy
from dtem.domain.ports import Ledger
from dtem.services import governance
from dtem.services.training.baselines import best_base_rate
from dtem.services.training.comparison import Comparison, compare
from dtem.services.training.dataset import Rows, leak_warnings
from dtem.services.training.metrics import auc, auc_difference_interval

CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))


def _rows(seed: int, n: int, rate: float, leak: bool = False) -> tuple[Rows, np.ndarray]:
    """Rows whose wins follow a hidden heat; returns the rows and that heat.

    Origin carries a little of the heat, recency none; with `leak` the industry is
    known only for the winners (a field filled once a deal is won).
    """
    rng = np.random.default_rng(seed)
    heat = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(np.log(rate / (1 - rate)) + 1.5 * heat)))
    y = (rng.random(n) < p).astype(np.int64)
    origin = tuple("web" if h + rng.normal(scale=2.0) > 0 else "event" for h in heat)
    industry = tuple("retail" if (won and leak) else "unknown" for won in y)
    rows = Rows(
        snapshot=date(2025, 1, 1),
        account_ids=np.arange(n, dtype=np.int64),
        log_intensity=np.zeros((n, 1)),
        industries=industry,
        size_bands=("*",) * n,
        labels=y,
        attributes={"origin": origin, "industry": industry},
        last_signal_days=rng.uniform(0, 90, size=n),
    )
    return rows, heat


def _comparison(model_p: np.ndarray, holdout: Rows, train: Rows | None = None) -> Comparison:
    train = train if train is not None else _rows(1, 4000, 0.1)[0]
    return compare(model_p, train, holdout, leak_warnings(train))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1 / (1 + np.exp(-z))
    return out


def test_a_model_that_knows_the_heat_passes_the_gate() -> None:
    holdout, heat = _rows(2, 4000, 0.1)
    c = _comparison(_sigmoid(-2.2 + 1.5 * heat), holdout)
    assert c.verdict.passed, c.verdict.reasons
    assert all(b.interval is not None and b.interval[0] > 0 for b in c.baselines)
    assert c.model.calibration_slope is not None and 0.7 < c.model.calibration_slope < 1.3
    assert c.summary.startswith("better than the base rate by origin by +")


def test_gate_refuses_a_constant_model() -> None:
    holdout, _ = _rows(2, 4000, 0.1)
    c = _comparison(np.full(len(holdout.labels), 0.1), holdout)
    assert not c.verdict.passed
    assert c.model.auc == 0.5 and c.model.calibration_slope is None
    assert any("not above 0" in r for r in c.verdict.reasons)
    assert any("calibration slope" in r and "undefined" in r for r in c.verdict.reasons)


def test_gate_refuses_an_inverted_model() -> None:
    holdout, heat = _rows(2, 4000, 0.1)
    c = _comparison(_sigmoid(-2.2 - 1.5 * heat), holdout)
    assert not c.verdict.passed
    assert c.model.calibration_slope is not None and c.model.calibration_slope < 0
    assert any("calibration slope" in r for r in c.verdict.reasons)
    assert "worse than the base rate by origin" in c.summary


def test_gate_refuses_a_leaky_model_however_high_its_auc() -> None:
    train, _ = _rows(1, 4000, 0.1, leak=True)
    holdout, heat = _rows(2, 4000, 0.1, leak=True)
    c = _comparison(_sigmoid(-2.2 + 1.5 * heat), holdout, train)
    assert not c.verdict.passed
    assert any("leakage warning" in r and "industry" in r for r in c.verdict.reasons)
    # The leaky field is filled for too few rows to be a baseline.
    assert best_base_rate(train, holdout).field == "origin"


def test_gate_refuses_a_model_judged_on_too_few_wins() -> None:
    holdout, heat = _rows(3, 200, 0.03)
    assert int(holdout.labels.sum()) < 30
    c = _comparison(_sigmoid(-3.0 + 1.5 * heat), holdout)
    assert not c.verdict.passed
    assert c.minority == int(holdout.labels.sum())
    assert any("too few to judge" in r for r in c.verdict.reasons)


def test_auc_difference_interval_is_seeded_and_brackets_the_difference() -> None:
    holdout, heat = _rows(4, 2000, 0.1)
    y, good, weak = holdout.labels, heat, heat + np.random.default_rng(0).normal(size=2000)
    first = auc_difference_interval(y, good, weak)
    assert first == auc_difference_interval(y, good, weak)
    assert first[0] < auc(y, good) - auc(y, weak) < first[1]


def _refused_version(ledger: Ledger) -> int:
    governance.ensure_policy(ledger, CLOCK)
    version = governance.store_policy(ledger, default_policy().to_dict(), CLOCK, "t", "trained")
    holdout, _ = _rows(2, 4000, 0.1)
    v = _comparison(np.full(len(holdout.labels), 0.1), holdout).verdict
    governance.record_verdict(ledger, version, v.passed, v.reasons, CLOCK, "t")
    return version


def test_activation_refuses_a_version_its_gate_refused(ledger: Ledger) -> None:
    version = _refused_version(ledger)
    with pytest.raises(ActivationRefused, match="not above 0") as err:
        governance.activate_policy(ledger, version, CLOCK, "admin")
    assert err.value.problems
    with pytest.raises(ActivationRefused, match="needs a --reason"):
        governance.activate_policy(ledger, version, CLOCK, "admin", force=True)
    with ledger.transaction() as tx:
        assert tx.active_policy_version() == 1


def test_forced_activation_is_audited_with_its_reason(ledger: Ledger) -> None:
    version = _refused_version(ledger)
    active = governance.activate_policy(
        ledger, version, CLOCK, "admin", force=True, reason="pilot on one pod"
    )
    assert active.version == version
    with ledger.transaction() as tx:
        entries = [e for e in tx.audit_entries() if e.action == "policy.activate"]
    detail = entries[-1].payload
    assert detail["forced"] is True and detail["reason"] == "pilot on one pod"
    assert any("not above 0" in r for r in detail["refused"])


def test_a_stored_version_without_a_verdict_activates_as_before(ledger: Ledger) -> None:
    governance.ensure_policy(ledger, CLOCK)
    version = governance.store_policy(ledger, default_policy().to_dict(), CLOCK, "t", "hand")
    assert governance.activate_policy(ledger, version, CLOCK, "admin").version == version
