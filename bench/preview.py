"""Policy preview at scale: `preview_policy` on a ledger of N accounts vs a batch score.

Seeds a SQLite ledger (N accounts, 10 signals each on average over 90 days, 500 reps,
a fifth of the accounts leased), stores a candidate policy (threshold 55, hand-raise
weight 8, a tier-1 value cut, a different comp curve), then times in the same run:

* the reference: `run_batch` — one DuckDB scoring pass over the same ledger, plus
  writing every score (what `dtem score` does);
* the preview: two scoring passes (active and candidate policy), crossings, tiers for
  every account, rep loads, commission and λ — and nothing written (checked: the score
  and policy tables hold the same row counts after it).

Target: 100k accounts previewed in under 30 s.

    .venv/bin/python bench/preview.py                 # 100k accounts
    .venv/bin/python bench/preview.py --accounts 20000
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.services.governance import ensure_policy, store_policy
from dtem.services.preview import preview_policy
from dtem.services.score_batch import run_batch

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
INDUSTRIES = ("retail", "software", "finance", "health", "energy")
TYPES = ("hand_raise", "pricing_visit", "web_visit", "form_fill", "intent_surge", "hiring")
REPS = 500
CANDIDATE = {
    "threshold": 55,
    "signal_types": {"hand_raise": {"weight": 8}},
    "tier1_value_cut": 400_000,
    "comp_points": [[0, 0.18], [55, 0.10], [100, 0.04]],
}


def seed(url: str, accounts: int) -> SqlLedger:
    engine = make_engine(url)
    migrate(engine)
    ledger = SqlLedger(engine)
    ensure_policy(ledger, FixedClock(NOW))
    rng = random.Random(7)
    with engine.begin() as conn:
        conn.execute(sa.insert(t.accounts), [
            {"id": i + 1, "external_id": f"A{i}", "name": f"Account {i}",
             "industry": INDUSTRIES[i % 5], "employees": (40, 400, 4000)[i % 3],
             "potential_value": float(rng.choice((20_000, 80_000, 250_000, 600_000))),
             "tier": 2, "do_not_contact": i % 97 == 0, "created_at": NOW, "updated_at": NOW}
            for i in range(accounts)
        ])  # fmt: skip
        conn.execute(sa.insert(t.reps), [
            {"id": r + 1, "external_id": f"R{r}", "name": f"Rep {r}", "segments": [],
             "languages": ["en"], "capacity": accounts // REPS // 4 + 10, "hourly_cost": 80.0,
             "active": True, "created_at": NOW, "updated_at": NOW}
            for r in range(REPS)
        ])  # fmt: skip
        conn.execute(sa.insert(t.leases), [
            {"account_id": i + 1, "rep_id": i // 5 % REPS + 1, "state": "granted",
             "granted_at": NOW - timedelta(days=10), "expires_at": NOW + timedelta(days=20),
             "score_at_grant": 70.0, "policy_version": 1, "reason": "seed"}  # 40 a rep
            for i in range(0, accounts, 5)
        ])  # fmt: skip
        for start in range(0, accounts * 10, 200_000):
            conn.execute(
                sa.insert(t.signals),
                [_signal(rng, n, accounts) for n in range(start, start + 200_000)],
            )
    with ledger.transaction() as tx:
        tx.rebuild_rep_loads()
    return ledger


def _signal(rng: random.Random, n: int, accounts: int) -> dict[str, object]:
    at = NOW - timedelta(seconds=rng.uniform(0, 90 * 86_400))
    kind = TYPES[min(int(rng.expovariate(0.6)), len(TYPES) - 1)]
    return {"scope": "pipeline", "event_id": f"e{n}", "account_id": rng.randrange(accounts) + 1,
            "account_key": "k", "key_kind": "id", "type": kind, "source": "first_party",
            "occurred_at": at, "value": 1.0, "attributes": {}, "received_at": at}  # fmt: skip


def counts(ledger: SqlLedger) -> tuple[int, ...]:
    with ledger.engine.connect() as conn:
        return tuple(
            int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in (t.scores, t.score_events, t.policies, t.policy_activations, t.leases)
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ledger = seed(f"sqlite:///{tmp}/preview.db", args.accounts)
        print(f"seeded {args.accounts:,} accounts, {args.accounts * 10:,} signals, {REPS} reps "
              f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        clock = FixedClock(NOW)
        version = store_policy(ledger, CANDIDATE, clock, "bench", "candidate", merge=True)
        scorer = DuckDbScorer()
        t0 = time.perf_counter()
        batch = run_batch(ledger, scorer, clock)
        batch_s = time.perf_counter() - t0
        before = counts(ledger)
        t0 = time.perf_counter()
        p = preview_policy(ledger, version, scorer, clock)
        preview_s = time.perf_counter() - t0
        assert counts(ledger) == before, "the preview wrote to the ledger"
    print(f"{'run':<44}{'seconds':>9}")
    print(f"{'reference: batch score (1 pass + writes)':<44}{batch_s:>9.1f}")
    print(f"{'preview (2 passes, tiers, loads; no writes)':<44}{preview_s:>9.1f}")
    print(f"ratio preview / batch score: {preview_s / batch_s:.2f}; "
          f"target < 30 s: {'met' if preview_s < 30 else 'MISSED'}")  # fmt: skip
    print(f"batch: {batch.accounts:,} accounts, {batch.at_or_above_threshold:,} at or above "
          f"the threshold")  # fmt: skip
    print(
        f"preview: hot {p.hot_before:,} → {p.hot_after:,} (up {p.crossed_up:,}, down "
        f"{p.crossed_down:,}); tiers {p.tier_changes}; overflow {p.overflow:,}; "
        f"commission {p.commission_before:,.0f} → {p.commission_after:,.0f}; "
        f"λ {p.lambda_before:g} → {p.lambda_after:g} "
        f"(controller step {p.lambda_controller_step:.1f})"
    )
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
