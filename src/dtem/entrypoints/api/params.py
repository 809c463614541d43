"""Request value types whose runtime check is exactly what the OpenAPI document says.

(Times: `pagination.IsoTime`, an RFC 3339 date-time with its offset.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

# A version or id: 1 up to 2**53 - 1, which every JSON reader holds exactly
VersionNumber = Annotated[int, Field(ge=1, le=2**53 - 1)]
VersionPath = Annotated[int, Path(ge=1, le=2**53 - 1)]
