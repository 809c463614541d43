"""The one place where adapters are built and wired to services.

A stored signal goes through `signal_pipeline()`: ingest → score → route, in the unit of
work that stores it (the webhook, the NATS worker and file imports all run it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.config import Settings
from dtem.domain.batch import BatchScorer
from dtem.domain.clock import Clock, system_clock
from dtem.services.governance import PolicyCache
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.signals.stages import route_triggered, score_committed


def signal_pipeline() -> SignalPipeline:
    """What happens to stored signals, in the unit of work that stores them.

    1. ingest (`services/signals/ingest.py`): resolve accounts, skip resent event ids,
       supersede last week's intent rows;
    2. score (`score_committed`): fold them into each account's decayed state, append the
       new scores and their triggers (threshold crossings, hand-raises);
    3. route (`route_triggered`): lease each account that crossed up or raised its hand.

    One pipeline per ledger: its policy cache parses each policy version once.
    """
    return SignalPipeline(PolicyCache(), score=score_committed, route=route_triggered)


@dataclass
class Container:
    """What entrypoints need: settings, the ledger, the signal pipeline and a clock."""

    settings: Settings
    engine: Engine
    ledger: SqlLedger
    pipeline: SignalPipeline
    clock: Clock = field(default=system_clock)


def build(settings: Settings, database_url: str | None = None, *, create: bool = True) -> Container:
    """Open the ledger at `database_url` (or the settings' URL); migrate it when `create`."""
    url = database_url or settings.resolved_database_url()
    engine = make_engine(url)
    if create:
        migrate(engine)
    ledger = SqlLedger(engine)
    return Container(settings, engine, ledger, signal_pipeline())


def batch_scorer(engine: str) -> BatchScorer:
    """The batch scoring engine by name: `duckdb` (embedded default) or `spark`."""
    if engine == "duckdb":
        from dtem.adapters.batch.duckdb_engine import DuckDbScorer

        return DuckDbScorer()
    if engine == "spark":
        from dtem.adapters.batch.spark_engine import SparkScorer

        return SparkScorer()
    raise ValueError(f"unknown engine {engine!r}: use duckdb or spark")
