"""The audit chain names the first missing or altered entry, whatever was cut out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtem.domain.audit import GENESIS, AuditEntry, ChainHead, new_entry, verify_chain
from dtem.domain.errors import AuditChainBroken


def _chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for seq in range(1, n + 1):
        prev = entries[-1].hash if entries else GENESIS
        at = f"2027-01-04T09:{seq % 60:02d}:00+00:00"
        entries.append(new_entry(seq, at, "admin", "policy.store", {"version": seq}, prev))
    return entries


def _head(entries: list[AuditEntry]) -> dict[str, ChainHead]:
    return {"the chain head": ChainHead(entries[-1].seq, entries[-1].hash)}


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(1, n)))))
def test_any_deletion_names_the_first_missing_entry(case: tuple[int, set[int]]) -> None:
    n, deleted = case
    chain = _chain(n)
    kept = [e for e in chain if e.seq not in deleted]
    if not deleted:
        assert verify_chain(kept, _head(chain)) == ChainHead(n, chain[-1].hash)
        return
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(kept, _head(chain))
    assert err.value.seq == min(deleted)
    assert f"audit entry #{min(deleted)} is missing" in str(err.value)


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_an_edited_entry_is_named_even_with_its_hash_recomputed(case: tuple[int, int]) -> None:
    n, k = case
    chain = _chain(n)
    edited = replace(chain[k - 1], actor="mallory")
    with pytest.raises(AuditChainBroken) as err:
        verify_chain([*chain[: k - 1], edited, *chain[k:]], _head(chain))
    assert err.value.seq == k and "altered" in str(err.value)
    rehashed = replace(edited, hash=edited.computed_hash())
    with pytest.raises(AuditChainBroken) as err:
        verify_chain([*chain[: k - 1], rehashed, *chain[k:]], _head(chain))
    assert err.value.seq == k


def test_renumbering_after_a_deletion_shows_as_an_altered_entry() -> None:
    chain = _chain(5)
    renumbered = [*chain[:2], *(replace(e, seq=e.seq - 1) for e in chain[3:])]
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(renumbered, {"the chain head": ChainHead(4, renumbered[-1].hash)})
    assert err.value.seq == 3 and "altered" in str(err.value)


def test_a_rewritten_head_is_caught_by_an_older_anchor() -> None:
    chain = _chain(5)
    anchor = ChainHead(5, chain[-1].hash)
    cut = chain[:3]
    assert verify_chain(cut, _head(cut)).entries == 3  # consistent: the head alone is fooled
    with pytest.raises(AuditChainBroken, match=r"#4 is missing \(the anchor records 5"):
        verify_chain(cut, {**_head(cut), "the anchor": anchor})
    forked = [*chain[:4], new_entry(5, chain[4].at, "mallory", "x", {}, chain[3].hash)]
    with pytest.raises(AuditChainBroken, match="#5 was altered: its hash differs from the anchor"):
        verify_chain(forked, {**_head(forked), "the anchor": anchor})


def test_anchor_documents_name_the_bad_field() -> None:
    with pytest.raises(ValueError, match="entries"):
        ChainHead.from_dict({"entries": -1, "last_hash": GENESIS})
    with pytest.raises(ValueError, match="last_hash"):
        ChainHead.from_dict({"entries": 2, "last_hash": "abc"})
    with pytest.raises(ValueError, match="JSON object"):
        ChainHead.from_dict([1, 2])
