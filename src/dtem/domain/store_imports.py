"""Ledger port.

Imports: opportunities, stage history, activities, import batches, record changes.
"""

from __future__ import annotations

from typing import Protocol


class ImportsStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""
