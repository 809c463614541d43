"""Rows of the opportunity model: every opportunity open at a snapshot S, as known at S.

An opportunity is *open at S* when it was opened on or before S (its created date, else
its first stage-history line) and not closed by S. It is *closed* when its current stage
is won or lost, on its close date, else on the first stage-history line in a closed
stage; one closed without any date cannot be placed in time and is left out. (The close
date of an open opportunity is only its expected close: it is not read.)

Its features are what was known at S: the stage of its last stage-history line at or
before the end of day S ("unknown" when there is none — never the current stage, which
may be the outcome), its age, amount and product, its owner's closed record at S, and
the account's propensity at S under the active policy. Its label is 1 when it is won
with a close in (S, S + H].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from dtem.domain.opportunity_model import OpenOpportunity, product_key
from dtem.domain.policy import Policy
from dtem.domain.store_training import OpportunityFact
from dtem.services.training.dataset import History, IntArray, build_rows, day_end
from dtem.services.training.fit import Coefficients


@dataclass(frozen=True)
class OpportunityRows:
    snapshot: date
    account_ids: IntArray
    facts: tuple[OpenOpportunity, ...]
    account_p: tuple[float, ...]
    labels: IntArray
    total: int  # opportunities in the ledger (with an account)
    events: int  # of them, won with a close in (S, S + H]
    horizon_days: int

    def shortage(self, role: str, min_positives: int) -> str | None:
        """Which condition left too few rows or wins (None: enough)."""
        s, n, k = self.snapshot, len(self.labels), int(self.labels.sum())
        window = f"(S, S+{self.horizon_days}d] after {s}"
        why = None
        if self.total == 0:
            why = "the ledger has no opportunity with an account"
        elif n == 0:
            why = (
                f"none of the {self.total} opportunities was open at {s} (opened on or before S "
                "and not closed by S)"
            )
        elif self.events == 0:
            why = f"no opportunity was won in {window}"
        elif k < min_positives:
            why = f"{k} of the {n} opportunities open at {s} were won in {window}: "
            why += f"need {min_positives}"
        elif k == n:
            why = f"all {n} opportunities open at {s} were won in {window}: "
            why += "no lost deal to tell apart"
        return f"{role}: {why}" if why else None


def opened_on(o: OpportunityFact) -> date | None:
    if o.created_date is not None:
        return o.created_date
    return o.stages[0][1].date() if o.stages else None


def closed_on(o: OpportunityFact, closed: Sequence[str]) -> date | None:
    """When a closed opportunity closed (None: still open, or closed at no known date)."""
    if o.stage not in closed:
        return None
    if o.close_date is not None:
        return o.close_date
    return next((at.date() for s, at in o.stages if s in closed), None)


def stage_at(o: OpportunityFact, snapshot: date, closed: Sequence[str]) -> str:
    end = day_end(snapshot)
    known = [s for s, at in o.stages if at < end and s not in closed]
    return known[-1] if known else "unknown"


def opportunity_rows(
    h: History, policy: Policy, types: Sequence[str], snapshot: date, horizon_days: int
) -> OpportunityRows:
    """The rows at `snapshot` (see the module docstring)."""
    closed = (*policy.won_stages, *policy.lost_stages)
    account_p = account_propensities(h, policy, types, snapshot)
    records = _owner_records(h.opportunities, closed, policy.won_stages, snapshot)
    end = snapshot + timedelta(days=horizon_days)
    accounts, facts, ps, labels = [], [], [], []
    events = 0
    for o in h.opportunities:
        opened, shut = opened_on(o), closed_on(o, closed)
        won_in_window = o.stage in policy.won_stages and shut is not None and snapshot < shut <= end
        events += won_in_window
        undated = o.stage in closed and shut is None
        if (
            opened is None
            or opened > snapshot
            or undated
            or (shut is not None and shut <= snapshot)
        ):
            continue
        wins, losses = records.get(o.rep_id, (0, 0)) if o.rep_id is not None else (0, 0)
        facts.append(OpenOpportunity(
            stage_at(o, snapshot, closed), float((snapshot - opened).days), o.amount, wins, losses,
            product_key(o.product),
        ))  # fmt: skip
        accounts.append(o.account_id)
        ps.append(account_p.get(o.account_id, 0.0))
        labels.append(int(won_in_window))
    return OpportunityRows(
        snapshot, np.array(accounts, dtype=np.int64), tuple(facts), tuple(ps),
        np.array(labels, dtype=np.int64), len(h.opportunities), events, horizon_days,
    )  # fmt: skip


def account_propensities(
    h: History, policy: Policy, types: Sequence[str], snapshot: date
) -> dict[int, float]:
    """Each account's P at `snapshot` under `policy`: the scoring formula on its signals."""
    half_lives = {t: st.half_life_days for t, st in policy.signal_types.items()}
    rows = build_rows(h, snapshot, policy.horizon_days, half_lives, types, "all", "won")
    weights = {t: policy.signal_types[t].weight for t in types}
    coef = Coefficients(policy.b0, weights, policy.fit_industry, policy.fit_size_band)
    p = coef.probability(rows, types)
    return {int(a): float(v) for a, v in zip(rows.account_ids, p, strict=True)}


def _owner_records(
    opps: Sequence[OpportunityFact], closed: Sequence[str], won: Sequence[str], snapshot: date
) -> dict[int, tuple[int, int]]:
    """Rep id -> (wins, losses) of the opportunities it closed on or before `snapshot`."""
    out: dict[int, tuple[int, int]] = {}
    for o in opps:
        shut = closed_on(o, closed)
        if o.rep_id is None or shut is None or shut > snapshot:
            continue
        w, lo = out.get(o.rep_id, (0, 0))
        out[o.rep_id] = (w + 1, lo) if o.stage in won else (w, lo + 1)
    return out


def stack_rows(parts: Sequence[OpportunityRows]) -> OpportunityRows:
    """Several snapshots' rows as one training set (rolling origin)."""
    return OpportunityRows(
        max(p.snapshot for p in parts),
        np.concatenate([p.account_ids for p in parts]),
        tuple(f for p in parts for f in p.facts),
        tuple(x for p in parts for x in p.account_p),
        np.concatenate([p.labels for p in parts]),
        parts[0].total,
        sum(p.events for p in parts),
        parts[0].horizon_days,
    )
