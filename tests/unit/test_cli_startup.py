"""The CLI starts without loading the heavy libraries only some commands need.

Every `dtem` invocation (and every subprocess e2e test) pays for what
`dtem.entrypoints.cli.app` imports, so scikit-learn, Ibis, Spark, the solvers, NATS,
SQLAlchemy/Alembic and the web server load inside the commands that use them.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "sklearn",
    "scipy",
    "ibis",
    "duckdb",
    "pyspark",
    "ortools",
    "highspy",
    "nats",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
)

_PROBE = (
    "import json, sys\n"
    "import dtem.entrypoints.cli.app\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
)


def _top_level_modules_after_cli_import() -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _top_level_modules_after_cli_import()
    assert "typer" in loaded  # the probe really imported the CLI
    assert sorted(loaded & set(HEAVY)) == []
