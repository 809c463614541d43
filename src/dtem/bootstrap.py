"""The one place where adapters are built and wired to services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.config import Settings
from dtem.domain.batch import BatchScorer
from dtem.domain.clock import Clock, system_clock


@dataclass
class Container:
    """What entrypoints need: settings, the ledger and a clock."""

    settings: Settings
    engine: Engine
    ledger: SqlLedger
    clock: Clock = field(default=system_clock)


def build(settings: Settings, database_url: str | None = None, *, create: bool = True) -> Container:
    """Open the ledger at `database_url` (or the settings' URL); migrate it when `create`."""
    url = database_url or settings.resolved_database_url()
    engine = make_engine(url)
    if create:
        migrate(engine)
    return Container(settings=settings, engine=engine, ledger=SqlLedger(engine))


def batch_scorer(engine: str) -> BatchScorer:
    """The batch scoring engine by name: `duckdb` (embedded default) or `spark`."""
    if engine == "duckdb":
        from dtem.adapters.batch.duckdb_engine import DuckDbScorer

        return DuckDbScorer()
    if engine == "spark":
        from dtem.adapters.batch.spark_engine import SparkScorer

        return SparkScorer()
    raise ValueError(f"unknown engine {engine!r}: use duckdb or spark")
