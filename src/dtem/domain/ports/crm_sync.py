"""CRM sync port: watermarks and the accounts whose lease changed since the last export."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class CrmSyncPort(Protocol):
    """What an incremental owner export to the CRM reads and remembers."""

    def watermark(self, name: str) -> datetime | None: ...
    def set_watermark(self, name: str, at: datetime) -> None: ...
    def accounts_with_lease_changes(self, since: datetime, until: datetime) -> list[int]:
        """Accounts with a lease granted or ended in (since, until]."""
        ...
