"""Whatever time a signal claims, the live (incremental) score equals the DuckDB batch score.

Signals arrive with random claimed times — long past, now, next week, decades ahead —
through the real ingestion path (dating, storing, the scoring hook); at any time from the
last receipt on, each account's incremental score equals the batch engine's.
"""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.batch import TypeParams, account_params
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.scoring import epoch_seconds
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.scoring import current_economics, state_score
from dtem.services.signals import receive_calls
from dtem.services.signals.messages import SignalRow
from tests.conftest import T0

Row = tuple[int, str, float, float, bool]  # account, type, claimed offset, value, sent_at?
Plan = list[tuple[float, list[Row]]]
TYPES = ("hand_raise", "pricing_visit", "web_visit", "intent_surge", "hiring")
DAY = 86_400.0
claimed_offsets = st.one_of(  # seconds from the receipt: past, now, ahead, decades ahead
    st.floats(-400 * DAY, 0.0),
    st.just(0.0),
    st.floats(1.0, 30 * DAY),
    st.floats(20 * 365 * DAY, 60 * 365 * DAY),
)
deliveries = st.lists(
    st.tuples(
        st.floats(0.0, 30 * DAY),  # when it is received, after the previous delivery
        st.lists(
            st.tuples(
                st.integers(1, 3),
                st.sampled_from(TYPES),
                claimed_offsets,
                st.floats(0.0, 50.0),
                st.booleans(),  # sent with the producer's `sent_at` (its clock 1 h ahead)
            ),
            min_size=1,
            max_size=6,
        ),
    ),
    min_size=1,
    max_size=5,
)


def _ledger() -> MemoryLedger:
    ledger = MemoryLedger()
    ensure_policy(ledger, FixedClock(T0))
    with ledger.transaction() as tx:
        accounts = [Account(f"A{i}", f"A {i}", industry="saas", employees=50) for i in (1, 2, 3)]
        tx.insert_accounts(accounts, T0)
    return ledger


def _deliver(ledger: MemoryLedger, plan: Plan) -> float:
    """Receive each delivery at its time; return the last receive time (epoch seconds)."""
    received, n = T0, 0
    for gap, rows in plan:
        received += timedelta(seconds=gap)
        msgs = []
        for acc, kind, offset, value, with_sent_at in rows:
            n += 1
            claimed = received + timedelta(seconds=offset)
            skew = timedelta(hours=1)  # the producer's clock runs an hour ahead
            msgs.append(
                SignalRow(event_id=f"e{n}", account_id=f"A{acc}", type=kind, value=value,
                          occurred_at=claimed + skew if with_sent_at else claimed,
                          sent_at=received + skew if with_sent_at else None)
            )  # fmt: skip
        got = receive_calls(ledger, FixedClock(received), msgs, signal_pipeline(), via="nats")
        assert got.accepted == len(msgs) and not got.refused
    return epoch_seconds(received)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=deliveries, later=st.lists(st.floats(0.0, 400 * DAY), min_size=1, max_size=3))
def test_incremental_and_duckdb_batch_scores_agree_for_any_claimed_time(
    plan: Plan, later: list[float]
) -> None:
    ledger = _ledger()
    last = _deliver(ledger, plan)
    with ledger.transaction() as tx:
        active, eco = active_policy(tx), current_economics(tx)
        facts = tx.scoring_accounts()
        states = tx.account_states([f.id for f in facts])
        # nothing is dated after its receipt
        assert all(d[1] <= last for by_type in states.values() for d in by_type.values())
        for offset in [0.0, *later]:
            as_of = T0 + timedelta(seconds=last - epoch_seconds(T0) + offset)
            batch = DuckDbScorer(threads=1).score(
                tx.signal_columns(as_of),
                account_params(active.policy, eco, facts),
                TypeParams.of(active.policy),
                active.policy.e_half,
                as_of,
            )
            by_account = dict(zip(batch.account_id.tolist(), batch.score.tolist(), strict=True))
            for f in facts:
                live = state_score(
                    active.policy, eco, f, states.get(f.id, {}), epoch_seconds(as_of)
                ).score
                assert math.isclose(live, by_account[f.id], rel_tol=1e-9, abs_tol=1e-12), f.id
