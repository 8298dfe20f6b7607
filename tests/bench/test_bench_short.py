"""``make bench`` still runs: the short mode, end to end, writing its results where asked.

Its figures are not checked here (speed is judged by the full benchmark, never by a timed test);
only that every scenario ran and produced its figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(960)  # every scenario's short run, stacks included (about 4 min here, more on a busy CI)
def test_bench_short_mode_runs(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--short", "--out", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    [result] = list(tmp_path.glob("*-short.json"))
    doc = json.loads(result.read_text())
    for scenario in ("idle_cpu_percent", "reply_hop_light", "periodic", "first_contact", "set_with_connection_request", "memory", "codec"):
        assert doc["results"].get(scenario), scenario
    assert doc["results"]["periodic"]["sessions_ok"] > 0 and doc["results"]["periodic"]["sessions_failed"] == 0
    assert doc["results"]["first_contact"]["rpcs_per_session_median"] >= 1  # a BOOTSTRAP session discovers
    assert doc["results"]["set_with_connection_request"]["completed_200"] > 0
    assert (tmp_path / result.name.replace(".json", ".md")).exists()
