"""bench/scale.py --quick runs every stage through the product and agrees with the reference."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_scale_bench_quick_runs_every_stage(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--quick", "--no-spark",
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    ).stdout  # fmt: skip
    for stage in ("import accounts", "dtem score (DuckDB), end to end", "raw DuckDB SQL",
                  "dtem review", "rebalance --move-leases"):  # fmt: skip
        assert re.search(rf"^{re.escape(stage)}.*\d", out, re.MULTILINE), out
    assert re.search(r"^import accounts\s+10,000\s", out, re.MULTILINE), out
    diff = re.search(
        r"raw DuckDB SQL \(reference\): max relative score difference .* (\S+) \(", out
    )
    assert diff and float(diff.group(1)) <= 1e-9, out
    scored = re.search(r"dtem score: 10,000 accounts scored, ([\d,]+) at or above", out)
    assert scored and 0 < int(scored.group(1).replace(",", "")) < 10_000, out
