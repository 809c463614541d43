"""The migration builds exactly the schema in tables.py, and running it twice is harmless."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.tables import metadata


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migration_matches_tables_and_is_idempotent(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    first = migrate(engine)
    second = migrate(engine)
    assert first == second == "0001"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    engine.dispose()
