"""SQL implementation of `ImportsStore`.

Imports: opportunities, stage history, activities, import batches, record changes.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


class ImportsSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection
