"""What a received document may hold, checked before anything is stored, per call.

PostgreSQL refuses a NUL character in text and NaN or Infinity in JSON, while SQLite
stores them; a document nested thousands of levels deep makes Python recurse until it
fails. So every call (and signal row) is walked once, without recursion, and refused
with the path of the first offending field — the same answer on every database.

>>> for problem in json_problems({"properties": {"name": "a\\x00b", "n": float("nan")}}):
...     print(problem)
(('properties', 'name'), 'contains a NUL character')
(('properties', 'n'), 'must be a finite number')
>>> json_problems({"a": [[[1]]]}, max_depth=2)
[(('a', 0), 'nested deeper than 2 levels')]
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

MAX_DEPTH = 32  # objects and arrays inside a call; Segment's own payloads use about 4
Loc = tuple[str | int, ...]
_NUL = "contains a NUL character"


def json_problems(doc: Any, max_depth: int = MAX_DEPTH) -> list[tuple[Loc, str]]:
    """Each unsafe field of a parsed JSON document: (path, problem), in document order."""
    if _is_safe(doc, max_depth):  # the common case, without building a path per field
        return []
    return unsafe_fields(doc, max_depth)


def unsafe_fields(doc: Any, max_depth: int = MAX_DEPTH) -> list[tuple[Loc, str]]:
    """`json_problems` by the full walk, a path built for every field (slower)."""
    problems: list[tuple[Loc, str]] = []
    stack: list[tuple[Loc, Any]] = [((), doc)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, dict | list) and len(loc) > max_depth:
            problems.append((loc[:max_depth], f"nested deeper than {max_depth} levels"))
            continue
        if isinstance(value, dict):
            items: list[tuple[str | int, Any]] = list(value.items())
            nul_keys = [k for k, _ in items if isinstance(k, str) and "\x00" in k]
            problems += [((*loc, k.replace("\x00", "\\0")), _NUL) for k in nul_keys]
            stack.extend(((*loc, k), v) for k, v in reversed(items))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, str) and "\x00" in value:
            problems.append((loc, _NUL))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((loc, "must be a finite number"))
    return _first_per_path(problems)


def _is_safe(doc: Any, max_depth: int) -> bool:
    """No NUL, no NaN or Infinity, nothing nested deeper than `max_depth`: a fast pass in C.

    Conservative: the JSON text escapes a NUL as `\\u0000` and refuses NaN; every
    object or array adds a bracket, so with at most `max_depth` of them (strings' own
    brackets counted too) nothing is nested deeper. Any doubt leaves it to the full walk.
    """
    try:
        text = json.dumps(doc, allow_nan=False, check_circular=False)
    except (ValueError, TypeError, RecursionError):
        return False
    return "\\u0000" not in text and text.count("{") + text.count("[") <= max_depth


def _first_per_path(problems: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    seen: set[tuple[Loc, str]] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def refusal(title: str, problems: list[tuple[Loc, str]], doc: Any = None) -> ValidationError:
    """A pydantic ValidationError naming each problem's field, as model validation would."""
    details = [
        InitErrorDetails(type=PydanticCustomError("unsafe_input", msg), loc=loc, input=doc)
        for loc, msg in problems
    ]
    return ValidationError.from_exception_data(title, details)


def check_json(title: str, doc: Any) -> None:
    """Raise `refusal` when the document holds an unsafe field (see `json_problems`)."""
    problems = json_problems(doc)
    if problems:
        raise refusal(title, problems, doc)
