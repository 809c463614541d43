"""Shared by the batch benchmarks: generated signals as Parquet and the raw DuckDB reference.

`generate` writes N signals over accounts 1..M (the ids a fresh ledger gives M imported
accounts) as Parquet in chunks, once: the file is kept and reused by later runs.
`run_raw` is the reference the product is measured against: the same decayed GROUP BY
and sigmoid written by hand in DuckDB SQL, on the same file.

    path = generate(10_000_000, 100_000, TypeParams.of(default_policy()), TMP)
    table = run_raw(path, account_params(100_000), types, policy.e_half)
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dtem.adapters.batch.tables import accounts_table, types_table
from dtem.domain.batch import AccountParams, TypeParams

AS_OF = datetime(2027, 1, 4, tzinfo=UTC)
CHUNK = 5_000_000
TMP = Path(__file__).parent / "tmp"
SCHEMA = pa.schema(
    [("account_id", pa.int64()), ("type", pa.dictionary(pa.int8(), pa.string())),
     ("occurred_at", pa.timestamp("us")), ("value", pa.float64())]
)  # fmt: skip


# a market's shape (`market=True`): a few accounts hold most signals (account rank drawn
# as u^SKEW), hand-raises are rare and web visits and e-mail opens common; on the default
# policy about 7% of accounts then score at or above the threshold
SKEW = 8
MIX = {
    "hand_raise": 0.002, "pricing_visit": 0.03, "web_visit": 0.45, "form_fill": 0.01,
    "product_usage": 0.08, "email_engagement": 0.3, "intent_surge": 0.05, "hiring": 0.02,
}  # fmt: skip


def generate(
    events: int, accounts: int, types: TypeParams, folder: Path = TMP, market: bool = False
) -> Path:
    """Signals spread over the 180 days before AS_OF; written once, reused afterwards.

    Without `market` every account and type is equally likely (every account is hot).
    """
    shape = "_market" if market else ""
    path = folder / f"signals_{events}_{accounts}{shape}.parquet"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    with pq.ParquetWriter(path.with_suffix(".tmp"), SCHEMA) as writer:
        for start in range(0, events, CHUNK):
            n = min(CHUNK, events - start)
            writer.write_table(_chunk(rng, n, accounts, types, market), row_group_size=1_000_000)
            print(f"  signals written: {start + n:,} / {events:,} "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)  # fmt: skip
    path.with_suffix(".tmp").rename(path)
    return path


def _chunk(
    rng: np.random.Generator, n: int, accounts: int, types: TypeParams, market: bool
) -> pa.Table:
    names = pa.array(types.names, pa.string())
    end_us = int(AS_OF.timestamp() * 1e6)
    if market:
        mix = np.array([MIX.get(name, 0.0) for name in types.names])
        mix[types.names.index("other")] = max(1.0 - mix.sum(), 0.0)
        kinds = rng.choice(len(names), n, p=mix / mix.sum()).astype(np.int8)
        rank = np.floor(accounts * rng.random(n) ** SKEW).astype(np.int64)
        account_id = (rank * 7919) % accounts + 1  # spread the busy ranks over the ids
    else:
        kinds = rng.integers(0, len(names), n).astype(np.int8)
        account_id = rng.integers(1, accounts + 1, n)
    ages = rng.integers(0, 180 * 86_400 * 10**6, n)
    return pa.table(
        {
            "account_id": account_id,
            "type": pa.DictionaryArray.from_arrays(kinds, names),
            "occurred_at": pa.array(end_us - ages).cast(pa.timestamp("us")),
            "value": rng.exponential(1.0, n),
        },
        schema=SCHEMA,
    )


def account_params(accounts: int) -> AccountParams:
    """Per-account constants drawn at random (for benchmarks without a ledger)."""
    rng = np.random.default_rng(11)
    return AccountParams(
        np.arange(1, accounts + 1, dtype=np.int64),
        rng.normal(-4.0, 0.5, accounts),
        rng.uniform(50.0, 500.0, accounts),
        rng.uniform(200.0, 2000.0, accounts),
    )


def raw_sql(types: TypeParams, e_half: float, path: Path) -> str:
    """The same computation written by hand."""
    as_of = f"TIMESTAMP '{AS_OF.replace(tzinfo=None).isoformat(sep=' ')}'"
    per_type = ",\n".join(
        f"  sum(i) FILTER (WHERE type = '{n}') AS I_{k}" for k, n in enumerate(types.names)
    )
    return f"""
WITH by_type AS (
  SELECT e.account_id, e.type, t.weight,
         sum(e.value * exp(-t.rate_us * date_diff('microsecond', e.occurred_at, {as_of}))) AS i
  FROM read_parquet('{path}') e JOIN types t ON e.type = t.type
  WHERE e.occurred_at <= {as_of}
  GROUP BY e.account_id, e.type, t.weight
), behaviour AS (
  SELECT account_id, sum(weight * ln(1 + i)) AS behaviour,
{per_type}
  FROM by_type GROUP BY account_id
), scored AS (
  SELECT a.account_id, a.base_logit + coalesce(b.behaviour, 0) AS logit, a.velocity, a.cost
  FROM accounts a LEFT JOIN behaviour b ON a.account_id = b.account_id
), eq AS (
  SELECT *, 1 / (1 + exp(-logit)) AS p FROM scored
)
SELECT account_id, logit, p, velocity, cost, p * velocity / cost AS equity,
       100 * (p * velocity / cost) / (p * velocity / cost + {e_half}) AS score
FROM eq
"""


def run_raw(
    path: Path,
    params: AccountParams,
    types: TypeParams,
    e_half: float,
    memory_limit: str | None = None,
) -> Any:
    """The reference: raw DuckDB SQL, 2 threads, result as an Arrow table."""
    config: dict[str, Any] = {"threads": 2}
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(config=config)
    con.register("accounts", accounts_table(params))
    con.register("types", types_table(types))
    result = con.sql(raw_sql(types, e_half, path)).to_arrow_table()
    con.close()
    return result


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process incl. DuckDB's threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def maxrss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def max_relative_difference(ref_ids: Any, ref: Any, got_ids: Any, got: Any) -> float:
    """Largest |got − ref| / |ref| after aligning both score columns by account id."""
    a, b = np.argsort(ref_ids), np.argsort(got_ids)
    if not np.array_equal(np.asarray(ref_ids)[a], np.asarray(got_ids)[b]):
        raise AssertionError("the two runs scored different accounts")
    return float(
        np.max(np.abs(np.asarray(got)[b] - np.asarray(ref)[a]) / np.abs(np.asarray(ref)[a]))
    )
