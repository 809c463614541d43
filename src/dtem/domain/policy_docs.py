"""Policy documents as data: merge a partial document into a full one, and diff two.

A partial document is a JSON Merge Patch (RFC 7396) on a base policy: a mapping merges
key by key at every depth (so `{"signal_types": {"hand_raise": {"weight": 8}}}` changes
one weight and keeps every other type and field), `null` removes a key (a top-level field
goes back to its default; an entry of a mapping such as `fit_industry` goes away), and any
other value — a number, text or list — replaces what was there.

>>> base = {"threshold": 60, "signal_types": {"hand_raise": {"weight": 6, "half_life_days": 7},
...                                           "web_visit": {"weight": 0.4, "half_life_days": 14}}}
>>> merged = merge_patch(base, {"signal_types": {"hand_raise": {"weight": 8}}})
>>> merged["signal_types"]["hand_raise"], merged["signal_types"]["web_visit"]["weight"]
({'weight': 8, 'half_life_days': 7}, 0.4)
>>> [str(c) for c in diff_documents(base, merged)]
['signal_types.hand_raise.weight: 6 → 8']
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """`target` with `patch` applied (RFC 7396); neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@dataclass(frozen=True)
class Change:
    """One field that differs: its dotted path, and the value before and after (None when
    the field is absent on that side)."""

    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.before)} → {_show(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


def diff_documents(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Every leaf that differs between two documents, in sorted path order. Mappings are
    compared key by key at every depth; lists and scalars as whole values."""
    return sorted(_diff(a, b, ""), key=lambda c: c.path)


def _diff(a: Any, b: Any, path: str) -> Iterator[Change]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() | b.keys():
            sub = f"{path}.{key}" if path else str(key)
            if key not in b:
                yield Change(sub, a[key], None)
            elif key not in a:
                yield Change(sub, None, b[key])
            else:
                yield from _diff(a[key], b[key], sub)
    elif a != b:
        yield Change(path, a, b)


def _show(value: Any) -> str:
    return "(absent)" if value is None else repr(value) if isinstance(value, str) else str(value)
