"""The batch score as ONE Ibis expression, compiled to DuckDB or Spark unchanged.

    events ⋈ types  →  decayed = value × e^(−rate × age)          (age in µs)
    GROUP BY account, type      →  I_t = Σ decayed
    GROUP BY account            →  behaviour = Σ w_t × ln(1 + I_t), and I_t by type
    accounts ⟕ behaviour        →  logit, P = σ(logit), E = P × V / C, S = 100 E / (E + E_half)

Accounts without signals keep their firmographic score (left join). Signals after
`as_of` are left out, so a past `as_of` reproduces the score of that day.

>>> import ibis
>>> ev = ibis.table({"account_id": "int64", "type": "string",
...                  "occurred_at": "timestamp", "value": "float64"}, name="ev")
>>> acc = ibis.table({"account_id": "int64", "base_logit": "float64",
...                   "velocity": "float64", "cost": "float64"}, name="acc")
>>> ty = ibis.table({"type": "string", "weight": "float64", "rate_us": "float64"}, name="ty")
>>> from datetime import datetime
>>> expr = score_expression(ev, acc, ty, ["web_visit"], 0.05, datetime(2027, 1, 1))
>>> expr.columns[:3]
('account_id', 'I_0', 'logit')
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import ibis

SCORE_COLUMNS = ("logit", "propensity", "velocity", "cost", "equity", "score")


def intensity_column(index: int) -> str:
    """Column name of the index-th signal type's intensity (type names may be any text)."""
    return f"I_{index}"


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def _naive_timestamp(column: Any) -> Any:
    """The column as a naive timestamp; no cast when it is one already (Parquet `us`).

    A cast from `timestamp(6)` to `timestamp` is a no-op that Ibis still writes into the
    SQL, on every row, in front of the time filter.
    """
    dtype = column.type()
    if dtype.is_timestamp() and dtype.timezone is None:
        return column
    return column.cast("timestamp")


def score_expression(
    events: Any,
    accounts: Any,
    types: Any,
    type_names: Sequence[str],
    e_half: float,
    as_of: datetime,
) -> Any:
    """Build the expression; inputs are Ibis tables of any backend.

    events: account_id, type, occurred_at, value; accounts: account_id, base_logit,
    velocity, cost; types: type, weight, rate_us (decay per microsecond).
    """
    as_of_lit = ibis.literal(_naive_utc(as_of), type="timestamp")
    ev = events.select(
        account_id=events.account_id.cast("int64"),
        type=events.type.cast("string"),
        occurred_at=_naive_timestamp(events.occurred_at),
        value=events.value.cast("float64"),
    )
    # No `account_id IS NOT NULL` filter: a NULL account forms its own group, which the
    # left join from accounts never matches, so it cannot reach a score.
    ev = ev.filter(ev.occurred_at <= as_of_lit)
    ev = ev.join(types, "type")
    age_us = as_of_lit.delta(ev.occurred_at, unit="microsecond").cast("float64")
    decayed = ev.mutate(decayed=ev.value * (-(ev.rate_us * age_us)).exp())
    by_type = decayed.group_by(["account_id", "type", "weight"]).aggregate(
        intensity=decayed.decayed.sum()
    )
    per_type = {
        intensity_column(i): by_type.intensity.sum(where=by_type.type == name)
        for i, name in enumerate(type_names)
    }
    behaviour = by_type.group_by("account_id").aggregate(
        behaviour=(by_type.weight * (by_type.intensity + 1.0).ln()).sum(), **per_type
    )
    return _finish(accounts, behaviour, len(type_names), e_half)


def _finish(accounts: Any, behaviour: Any, n_types: int, e_half: float) -> Any:
    joined = accounts.left_join(behaviour, "account_id")
    logit = joined.base_logit + joined.behaviour.coalesce(0.0)
    propensity = 1.0 / (1.0 + (-logit).exp())
    equity = propensity * joined.velocity / joined.cost
    intensities = {
        intensity_column(i): joined[intensity_column(i)].coalesce(0.0) for i in range(n_types)
    }
    return joined.select(
        account_id=joined.account_id,
        **intensities,
        logit=logit,
        propensity=propensity,
        velocity=joined.velocity,
        cost=joined.cost,
        equity=equity,
        score=100.0 * equity / (equity + e_half),
    )
