"""ik-nn bench produces real numbers (speed goals are measured by the bench, not asserted here)."""
import json
import subprocess
import sys


def test_solver_only_bench_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ik_nn.cli", "bench", "--solver-only", "--arms", "rrr", "ur5",
         "--targets", "200", "--json", str(out)],
        capture_output=True, text=True, check=True)
    assert "| ur5 | 200 |" in proc.stdout
    rows = json.loads(out.read_text())["results"]["solver_only"]
    for name in ("rrr", "ur5"):
        assert rows[name]["targets"] == 200
        assert rows[name]["success"] >= 0.99
        assert rows[name]["within_limits"]
        assert rows[name]["latency_p50_us"] > 0
