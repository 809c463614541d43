"""The audit chain: each entry carries the SHA-256 of its predecessor, so an edit shows.

>>> e = new_entry(1, "2027-01-01T00:00:00+00:00", "admin", "policy.activate", {"v": 2}, GENESIS)
>>> verify_chain([e])
1
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dtem.domain.errors import AuditChainBroken

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO-8601 UTC, as stored (the hash covers this exact text)
    actor: str
    action: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str  # as stored; verify_chain recomputes it

    def computed_hash(self) -> str:
        return entry_hash(self.prev_hash, self.seq, self.at, self.actor, self.action, self.payload)


def new_entry(
    seq: int, at: str, actor: str, action: str, payload: dict[str, Any], prev_hash: str
) -> AuditEntry:
    """An entry whose stored hash is computed from its content and predecessor."""
    h = entry_hash(prev_hash, seq, at, actor, action, payload)
    return AuditEntry(seq, at, actor, action, payload, prev_hash, h)


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, payload: dict[str, Any]
) -> str:
    """SHA-256 over the previous hash and a canonical JSON of this entry."""
    body = json.dumps(
        [prev_hash, seq, at, actor, action, payload],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def verify_chain(entries: Iterable[AuditEntry]) -> int:
    """Walk the chain in order; return how many entries were checked.

    Raises `AuditChainBroken` naming the first entry that was altered: one whose content
    no longer hashes to its stored hash, or whose stored hash is not what its successor
    recorded (content and hash both rewritten), or that was deleted or reordered.
    """
    expected_prev = GENESIS
    previous: AuditEntry | None = None
    count = 0
    for entry in entries:
        if entry.prev_hash != expected_prev:
            culprit = previous.seq if previous is not None else entry.seq
            raise AuditChainBroken(
                culprit, f"its hash does not match what entry #{entry.seq} recorded"
            )
        if entry.computed_hash() != entry.hash:
            raise AuditChainBroken(entry.seq, "its content does not match its stored hash")
        expected_prev = entry.hash
        previous = entry
        count += 1
    return count
