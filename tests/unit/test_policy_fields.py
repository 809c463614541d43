"""The policy fields marked "not used yet" are exactly the ones no code reads."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

from dtem.domain.policy import NOT_USED_YET, Policy

SRC = Path(__file__).resolve().parents[2] / "src" / "dtem"
POLICY_FILE = SRC / "domain" / "policy.py"
# Policy methods that only validate or serialise a document: they do not use a field.
NOT_A_USE = {"from_dict", "to_dict", "problems"}


def _code_outside_policy() -> str:
    return "\n".join(p.read_text() for p in SRC.rglob("*.py") if p != POLICY_FILE)


def _is_read(field: str, outside: str) -> bool:
    """Read as `x.field` outside policy.py, or by a Policy method that code outside calls."""
    if re.search(rf"\.{field}\b", outside):
        return True
    for name, method in inspect.getmembers(Policy, inspect.isfunction):
        if name.startswith("_") or name in NOT_A_USE:
            continue
        if f"self.{field}" not in inspect.getsource(method):
            continue
        if re.search(rf"\.{name}\(", outside):
            return True
    return False


def test_fields_marked_not_used_yet_are_exactly_the_unread_ones() -> None:
    outside = _code_outside_policy()
    fields = [f.name for f in dataclasses.fields(Policy)]
    assert set(NOT_USED_YET) <= set(fields)
    unread = {name for name in fields if not _is_read(name, outside)}
    assert unread == set(NOT_USED_YET)
