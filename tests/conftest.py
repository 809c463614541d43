"""Shared fixtures: a ledger on every backend, a fixed clock.

PostgreSQL tests use DTEM_TEST_POSTGRES_URL (`.ci/run` always sets it); each test gets a
fresh schema so tests can run in parallel.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.memory import MemoryLedger
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock

PG_URL = os.environ.get("DTEM_TEST_POSTGRES_URL")
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/ledger.db"  # type: ignore[str-bytes-safe]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    if not PG_URL:
        pytest.skip("DTEM_TEST_POSTGRES_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def sql_ledger(url: str) -> SqlLedger:
    engine = make_engine(url)
    migrate(engine)
    return SqlLedger(engine)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest) -> Iterator[object]:
    """The same contract, every backend."""
    if request.param == "memory":
        yield MemoryLedger()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    led = sql_ledger(url)
    yield led
    led.engine.dispose()


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """ONE local Spark session per test process (the JVM takes 10–25 s to start).

    Spark tests also carry `@pytest.mark.xdist_group("spark")` so that under
    `-n 2 --dist loadgroup` they all run in the same worker, hence one JVM per run.
    """
    pytest.importorskip("pyspark")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark needs a JVM: no java on PATH and no JAVA_HOME")
    from dtem.adapters.batch.spark_engine import spark_session

    session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
