"""The cluster batch engine: the same Ibis score expression compiled to Spark SQL.

By default a local Spark runs in this process (`local[2]`). To use a cluster, set
`SPARK_REMOTE=sc://host:15002` (Spark Connect) or `DTEM_SPARK_MASTER=spark://host:7077`
(or `yarn`, `k8s://…`); the expression does not change.

>>> SparkScorer.__name__
'SparkScorer'
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Any

import ibis

from dtem.adapters.batch.expression import score_expression
from dtem.adapters.batch.tables import accounts_table, batch_scores, events_table, types_table
from dtem.domain.batch import AccountParams, BatchScores, TypeParams
from dtem.domain.score_records import SignalColumns


def spark_session(master: str | None = None) -> Any:
    """A Spark session in UTC; Spark Connect when SPARK_REMOTE is set."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("dtem-score")
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        builder = builder.remote(remote)
    else:
        url = master or os.environ.get("DTEM_SPARK_MASTER", "local[2]")
        builder = builder.master(url)
        builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
        if url.startswith("local"):  # one machine: no UI, few shuffle partitions; a
            # cluster keeps its own settings (spark-defaults.conf, --conf)
            builder = builder.config("spark.ui.enabled", "false")
            builder = builder.config("spark.ui.showConsoleProgress", "false")
            builder = builder.config("spark.sql.shuffle.partitions", "4")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    return builder.getOrCreate()


class SparkScorer:
    """Scores every account in one Spark job; pass a session to share one (tests do)."""

    name = "spark"

    def __init__(self, session: Any | None = None) -> None:
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = spark_session()
        return self._session

    def _view(self, frame: Any) -> str:
        name = f"dtem_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(name)
        return name

    def score(
        self,
        signals: SignalColumns | str,
        accounts: AccountParams,
        types: TypeParams,
        e_half: float,
        as_of: datetime,
    ) -> BatchScores:
        spark = self.session
        con = ibis.pyspark.connect(spark)
        if isinstance(signals, str):
            ev_frame = spark.read.parquet(signals)
        else:
            ev_frame = spark.createDataFrame(events_table(signals))
        names = [
            self._view(ev_frame),
            self._view(spark.createDataFrame(accounts_table(accounts))),
            self._view(spark.createDataFrame(types_table(types))),
        ]
        try:
            ev, acc, ty = (con.table(n) for n in names)
            expr = score_expression(ev, acc, ty, types.names, e_half, as_of)
            return batch_scores(con.to_pyarrow(expr), types)
        finally:
            for n in names:
                spark.catalog.dropTempView(n)
