"""SignalSourcesPort: webhook sources behave the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from dtem.domain.errors import NotFound, SourceExists
from dtem.domain.store_radar import SignalSource
from tests.conftest import T0


def test_signal_source_names_are_unique_and_revocable(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.add_signal_source(SignalSource("web", "h1", T0))
        with pytest.raises(SourceExists):
            tx.add_signal_source(SignalSource("web", "h2", T0))
        tx.revoke_signal_source("web", T0)
        found = tx.signal_source_by_hash("h1")
        assert found is not None and found.revoked_at == T0
        with pytest.raises(NotFound):
            tx.revoke_signal_source("web", T0)
        assert [s.name for s in tx.signal_sources()] == ["web"]
