"""`train_policy` on a synthetic history whose true propensity coefficients are known."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from tests.conftest import sql_ledger

from dtem.adapters.ledger import tables
from dtem.adapters.ledger.memory import MemoryLedger
from dtem.adapters.ledger.sql import SqlTx
from dtem.domain.clock import FixedClock
from dtem.domain.errors import TrainingDataInsufficient
from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.policy import Policy
from dtem.domain.ports import Ledger, LedgerTx
from dtem.domain.scoring import account_score, epoch_seconds, intensities_of
from dtem.domain.segments import Economics
from dtem.domain.signals import SignalRecord
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.training import TrainingReport, TrainOptions, train_policy
from dtem.services.training.dataset import build_rows, day_end, load_history
from dtem.services.training.fit import fit_propensity
from dtem.services.training.service import _apply

START = date(2025, 1, 1)
SNAPSHOT = date(2025, 7, 1)
HOLDOUT = SNAPSHOT + timedelta(days=90)
TRUE_B0 = -3.6
TRUE_W = {"hand_raise": 1.6, "web_visit": 0.7, "form_fill": 1.1}
TRUE_INDUSTRY = {"software": 0.5, "retail": -0.5}
TRUE_BAND = {"smb": -0.3, "enterprise": 0.3}
N_ACCOUNTS = 4000


def _signals(rng: np.random.Generator, account_id: int, heat: float) -> list[SignalRecord]:
    out = []
    days = (HOLDOUT + timedelta(days=90) - START).days
    for kind, rate in (("hand_raise", 0.015), ("web_visit", 0.03), ("form_fill", 0.012)):
        for k in range(rng.poisson(rate * heat * days)):
            at = datetime.combine(START, datetime.min.time(), UTC) + timedelta(
                days=float(rng.uniform(0, days))
            )
            key = f"{account_id}-{kind}-{k}"
            out.append(SignalRecord(key, f"id:{account_id}", "id", kind, at, 1.0,
                                    "first_party", at, account_id=account_id))  # fmt: skip
    return out


def _true_p(acc: Account, sigs: list[SignalRecord], on: date) -> float:
    now = epoch_seconds(day_end(on))
    intensity = intensities_of(Policy(), [s for s in sigs if s.occurred_at <= day_end(on)], now)
    band = "smb" if (acc.employees or 0) < 100 else "enterprise"
    logit = TRUE_B0 + TRUE_INDUSTRY[acc.industry or ""] + TRUE_BAND[band]
    logit += sum(w * math.log1p(intensity.get(t, 0.0)) for t, w in TRUE_W.items())
    return 1.0 / (1.0 + math.exp(-logit))


def _win(rng: np.random.Generator, acc: Account, sigs: list[SignalRecord]) -> date | None:
    """Draw a win in the training window, else in the holdout window, from the true P."""
    for origin in (SNAPSHOT, HOLDOUT):
        if rng.random() < _true_p(acc, sigs, origin):
            return origin + timedelta(days=int(rng.integers(1, 91)))
    return None


def synthetic_ledger(
    seed: int = 7, reps: int = 0, url: str | None = None, n: int = N_ACCOUNTS
) -> Ledger:
    """The synthetic market in SQLite at `url` (the in-memory fake when None)."""
    rng = np.random.default_rng(seed)
    ledger: Ledger = sql_ledger(url) if url else MemoryLedger()
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    ensure_policy(ledger, clock)
    accounts = [
        Account(f"A{i}", f"Account {i}", industry=str(rng.choice(["software", "retail"])),
                employees=int(rng.choice([40, 4000])))
        for i in range(n)
    ]  # fmt: skip
    with ledger.transaction() as tx:
        tx.insert_accounts(accounts, clock())
        tx.insert_reps([Rep(f"R{i}", f"Rep {i}", capacity=25) for i in range(reps)], clock())
        stored = tx.accounts_by_external_id([a.external_id for a in accounts])
        opps, records = [], []
        for acc in sorted(stored.values(), key=lambda a: a.id or 0):  # same draws on any backend
            assert acc.id is not None
            sigs = _signals(rng, acc.id, heat=float(rng.gamma(1.0, 1.0)))
            records += sigs
            won = _win(rng, acc, sigs)
            if won:
                opps.append(Opportunity(f"O{acc.id}", acc.external_id, "closed_won",
                                        close_date=won))  # fmt: skip
        _insert_signals(tx, records)
        tx.insert_opportunities(opps, clock())
    return ledger


def _insert_signals(tx: LedgerTx, records: list[SignalRecord]) -> None:
    """Bulk rows straight into the table on SQL ledgers: the fixture needs volume, and
    the ingestion path is tested by the signal store's own contract tests."""
    if not isinstance(tx, SqlTx):
        tx.insert_signals(records)
        return
    rows = [
        {"event_id": r.event_id, "account_id": r.account_id, "account_key": r.account_key,
         "key_kind": r.key_kind, "type": r.type, "source": r.source, "value": r.value,
         "occurred_at": r.occurred_at, "received_at": r.received_at, "attributes": {}}
        for r in records
    ]  # fmt: skip
    tx.conn.execute(sa.insert(tables.signals), rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ledger, TrainingReport]:
    db = tmp_path_factory.mktemp("train") / "ledger.db"
    ledger = synthetic_ledger(reps=4, url=f"sqlite:///{db}")
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    report = train_policy(ledger, clock, TrainOptions(snapshot=SNAPSHOT), "test")
    return ledger, report


def test_training_recovers_the_true_coefficients(trained: tuple[Ledger, TrainingReport]):
    c = trained[1].coefficients
    for t, w in TRUE_W.items():
        assert c.weights[t] == pytest.approx(w, abs=0.4), t
    spread = c.fit_industry["software"] - c.fit_industry["retail"]
    assert spread == pytest.approx(1.0, abs=0.4)
    assert c.fit_size_band["enterprise"] - c.fit_size_band["smb"] == pytest.approx(0.6, abs=0.4)


def test_model_beats_the_segment_base_rate_on_the_holdout(
    trained: tuple[Ledger, TrainingReport],
):
    r = trained[1]
    assert r.model.auc > r.baseline.auc + 0.05
    assert r.model.brier < r.baseline.brier
    assert len(r.model.calibration) == 10
    assert sum(b.count for b in r.model.calibration) == r.holdout.rows


def test_holdout_labels_start_after_training_labels_end(
    trained: tuple[Ledger, TrainingReport],
):
    r = trained[1]
    assert r.train.label_to <= r.holdout.snapshots[0] == r.holdout.label_from
    assert r.holdout.positives > 0 and r.train.positives > 0


def test_trained_policy_is_stored_but_not_active(trained: tuple[Ledger, TrainingReport]):
    ledger, r = trained
    with ledger.transaction() as tx:
        active = active_policy(tx)
        doc = tx.policy_document(r.version)
    assert active.version == r.based_on_version != r.version
    assert not r.activated and r.activate_with == f"dtem policy activate {r.version}"
    assert Policy.from_dict(doc).b0 == pytest.approx(r.coefficients.b0, abs=1e-6)


def test_stored_policy_scores_like_the_evaluated_model(
    trained: tuple[Ledger, TrainingReport],
):
    """The scoring code, reading the stored policy, gives the probabilities that were evaluated."""
    ledger, r = trained
    with ledger.transaction() as tx:
        policy = Policy.from_dict(tx.policy_document(r.version))
        history = load_history(tx, HOLDOUT, policy.won_stages)
    types = list(policy.signal_types)
    half_lives = {t: s.half_life_days for t, s in policy.signal_types.items()}
    rows = build_rows(history, HOLDOUT, 90, half_lives, types)
    expected = r.coefficients.probability(rows, types)
    by_id = {int(a): i for i, a in enumerate(history.account_ids)}
    for k in range(0, len(rows.labels), 97):
        i = by_id[int(rows.account_ids[k])]
        intensity = dict(zip(types, np.expm1(rows.log_intensity[k]), strict=True))
        s = account_score(policy, Economics(), history.industries[i], history.employees[i],
                          intensity)  # fmt: skip
        assert s.propensity == pytest.approx(expected[k], rel=1e-4, abs=1e-7)


def test_policy_of_the_raw_fit_reproduces_sklearn_predict_proba(
    trained: tuple[Ledger, TrainingReport],
):
    ledger = trained[0]
    with ledger.transaction() as tx:
        policy = active_policy(tx).policy
        history = load_history(tx, HOLDOUT, policy.won_stages)
    types = list(policy.signal_types)
    half_lives = {t: s.half_life_days for t, s in policy.signal_types.items()}
    rows = build_rows(history, SNAPSHOT, 90, half_lives, types)
    fitted = fit_propensity(rows, types)
    raw_policy = _apply(policy, fitted.raw)
    sk = fitted.model.predict_proba(fitted.levels.matrix(rows))[:, 1]
    by_id = {int(a): i for i, a in enumerate(history.account_ids)}
    for k in range(0, len(rows.labels), 53):
        i = by_id[int(rows.account_ids[k])]
        intensity = dict(zip(types, np.expm1(rows.log_intensity[k]), strict=True))
        s = account_score(raw_policy, Economics(), history.industries[i],
                          history.employees[i], intensity)  # fmt: skip
        assert s.propensity == pytest.approx(sk[k], rel=1e-4)


def test_proposed_e_half_puts_as_many_accounts_over_the_threshold_as_reps_can_hold(
    trained: tuple[Ledger, TrainingReport],
):
    r = trained[1]
    assert r.e_half.capacity == 4 * 25
    assert r.e_half.proposed is not None and r.e_half.stored == r.e_half.proposed
    assert r.e_half.at_or_above_threshold == r.e_half.capacity


def test_without_reps_e_half_is_kept():
    ledger = synthetic_ledger(seed=3, reps=0, n=600)  # the in-memory fake
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    report = train_policy(ledger, clock, TrainOptions(snapshot=SNAPSHOT), "test")
    assert report.e_half.proposed is None
    assert report.e_half.stored == report.e_half.previous == Policy().e_half


def test_a_snapshot_before_any_win_is_refused():
    ledger = synthetic_ledger(seed=5, n=300)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(TrainingDataInsufficient):
        train_policy(ledger, clock, TrainOptions(snapshot=date(2024, 6, 1)), "test")


def test_training_keeps_its_gate_verdict_with_the_version(trained: tuple[Ledger, TrainingReport]):
    ledger, r = trained
    with ledger.transaction() as tx:
        check = tx.policy_check(r.version)
    v = r.comparison.verdict
    assert check == {"passed": v.passed, "reasons": v.reasons}
    assert [b.name for b in r.comparison.baselines][1] == "recency of the last signal"
