"""The published JSON Schema of a policy document (`dtem policy schema`).

Generated from the `Policy` dataclass itself, so it cannot drift from what `from_dict`
accepts; each field's description is the unit comment beside it in the source.
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from dtem.domain.opportunity_model import OpportunityModel
from dtem.domain.policy import LambdaController, Policy, SignalType

_COMMENT = re.compile(r"^\s+(\w+):[^#\n]*#\s*(.+)$", re.M)

DESCRIPTION = (
    "Every tunable of the DTEM model. A stored version is a full document; a document "
    "given to `dtem policy store` (or POST /policies) is a JSON Merge Patch (RFC 7396) on "
    "the active policy: mappings merge key by key at every depth, null removes a key "
    "(a field returns to its default), other values replace. Validation beyond types "
    "(ranges, references between fields) is reported by `dtem policy store` with every "
    "problem at once."
)


@cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a full policy document."""
    schema = TypeAdapter(Policy).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "DTEM policy"
    schema["description"] = DESCRIPTION
    _describe(schema, Policy)
    for cls in (SignalType, LambdaController, OpportunityModel):
        _describe(schema["$defs"][cls.__name__], cls)
    for node in [schema, *schema["$defs"].values()]:
        node["additionalProperties"] = False
    return schema


def _describe(node: dict[str, Any], cls: type) -> None:
    """Copy the source comment of each field into its `description`."""
    comments = dict(_COMMENT.findall(inspect.getsource(cls)))
    for name, prop in node.get("properties", {}).items():
        if name in comments:
            prop["description"] = comments[name].strip()
