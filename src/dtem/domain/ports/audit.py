"""Audit port: the hash-chained log every audited change appends to."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.audit import AuditEntry, AuditNote, ChainHead


class AuditPort(Protocol):
    """Append to and read the audit chain and its head (appends take turns at its end)."""

    def append_audit(
        self, actor: str, action: str, payload: dict[str, Any], at: datetime
    ) -> AuditEntry: ...
    def append_audits(self, notes: Sequence[AuditNote]) -> list[AuditEntry]:
        """Append many entries in order, chained as one append each, with bulk statements."""
        ...

    def audit_entries(self, after_seq: int = 0) -> Iterator[AuditEntry]: ...
    def audit_head(self) -> ChainHead | None: ...  # None until the first append
