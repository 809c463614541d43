"""Audit port: the hash-chained log every audited change appends to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.audit import AuditEntry


class AuditPort(Protocol):
    """Append to and read the audit chain (appends take turns at the end of the chain)."""

    def append_audit(
        self, actor: str, action: str, payload: dict[str, Any], at: datetime
    ) -> AuditEntry: ...
    def audit_entries(self, after_seq: int = 0) -> Iterator[AuditEntry]: ...
