"""In-memory implementation of `ImportsStore` for unit tests.

Imports: opportunities, stage history, activities, import batches, record changes.
"""

from __future__ import annotations

from typing import Any


class ImportsMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds this feature's rows by table name."""

    s: Any
