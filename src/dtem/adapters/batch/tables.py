"""Arrow tables of the batch inputs, shared by the DuckDB and Spark engines.

>>> import numpy as np
>>> from dtem.domain.batch import TypeParams
>>> from dtem.domain.policy import Policy
>>> types_table(TypeParams.of(Policy())).column_names
['type', 'weight', 'rate_us']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from dtem.adapters.batch.expression import intensity_column
from dtem.domain.batch import AccountParams, BatchScores, TypeParams
from dtem.domain.score_records import SignalColumns


def events_table(signals: SignalColumns) -> pa.Table:
    """The ledger's signals as an Arrow table (timestamps in µs, naive UTC)."""
    return pa.table(
        {
            "account_id": pa.array(signals.account_id, pa.int64()),
            "type": pa.array(signals.type, pa.string()),
            "occurred_at": pa.array(signals.occurred_us, pa.int64()).cast(pa.timestamp("us")),
            "value": pa.array(signals.value, pa.float64()),
        }
    )


def accounts_table(accounts: AccountParams) -> pa.Table:
    return pa.table(
        {
            "account_id": pa.array(accounts.account_id, pa.int64()),
            "base_logit": pa.array(accounts.base_logit, pa.float64()),
            "velocity": pa.array(accounts.velocity, pa.float64()),
            "cost": pa.array(accounts.cost, pa.float64()),
        }
    )


def types_table(types: TypeParams) -> pa.Table:
    """Weights and decay rates per microsecond (ages are counted in µs)."""
    return pa.table(
        {
            "type": pa.array(types.names, pa.string()),
            "weight": pa.array(types.weights, pa.float64()),
            "rate_us": pa.array(types.rates / 1e6, pa.float64()),
        }
    )


def batch_scores(result: pa.Table, types: TypeParams) -> BatchScores:
    """Read the expression's result back into aligned numpy columns."""

    def col(name: str) -> Any:
        return np.asarray(result.column(name).to_numpy(), dtype=np.float64)

    return BatchScores(
        account_id=np.asarray(result.column("account_id").to_numpy(), dtype=np.int64),
        intensities={n: col(intensity_column(i)) for i, n in enumerate(types.names)},
        logit=col("logit"),
        propensity=col("propensity"),
        velocity=col("velocity"),
        cost=col("cost"),
        equity=col("equity"),
        score=col("score"),
    )
