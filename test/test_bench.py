"""ik-nn bench produces real numbers (speed goals are measured by the bench, not asserted here)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ik_nn import load_arm
from ik_nn.bench import report as bench_report, run as bench


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


def test_judge_uses_our_fk_and_limits():
    arm = load_arm("rrr")
    q, T = bench.make_targets(arm, 4)
    answers = q.copy()
    answers[1, 0] += 1e-3                     # off target
    answers[2] = [np.nan] * 3                 # a peer that returned garbage
    answers[3, 0] = arm.upper[0] + 2 * np.pi  # same pose on a periodic wrap, outside limits
    v = bench.judge(arm, T, answers)
    assert v["strict"].tolist() == [True, False, False, False]
    assert v["loose"].tolist() == [True, True, False, False]
    assert v["within_limits"].tolist() == [True, True, False, False]


def test_ratios_to_fastest_peer():
    rows = {"nn_refine": {"latency_p50_us": 50.0, "batch_solves_per_s": 1000.0},
            "rtb_ik_LM": {"latency_p50_us": 100.0, "batch_solves_per_s": 100.0},
            "ikpy": {"latency_p50_us": 1e4, "batch_solves_per_s": 200.0}}
    assert bench.add_ratios(rows) == {"latency": "rtb_ik_LM", "throughput": "ikpy"}
    assert rows["nn_refine"]["speedup_p50"] == 2.0
    assert rows["nn_refine"]["throughput_ratio"] == 5.0
    assert bench.add_ratios({"nn_refine": rows["nn_refine"]}) is None


def test_learned_ik_goals_are_checked_against_the_measured_rows():
    def row(success=1.0, pos=1e-9, rot=1e-9, p50=40.0, p99=90.0, rate=6e4):
        return {"success_1e-6": success, "within_limits": 1.0, "pos_err_median": pos,
                "rot_err_median": rot, "latency_p50_us": p50, "latency_p99_us": p99,
                "batch_solves_per_s": rate, "targets": 10_000}

    results = {
        "rrr": {"rows": {"nn_refine": row(), "nn_basin": row(success=0.9995),
                         "nn_alone": row(success=0.0, pos=0.4e-3, rot=np.radians(0.45))}},
        "ur5": {"rows": {"nn_refine": row(rate=4.3e4, p99=350.0), "nn_basin": row(0.998),
                         "nn_alone": row(success=0.0, pos=11e-3, rot=np.radians(1.0))}},
    }
    lines = bench_report.goals(results).splitlines()
    assert len(lines) == 2 and "missed" not in lines[0]
    assert "basin 99.95 %" in lines[0] and "network alone 0.40 mm / 0.45°" in lines[0]
    missed = lines[1].count("**missed:")
    assert missed == 4  # basin, network alone, latency p99, throughput
    assert "**missed: throughput 43,000/s" in lines[1]
    assert "**missed: network alone 11.00 mm / 1.00°" in lines[1]


def test_single_queries_are_timed_in_interleaved_rounds():
    calls = []

    class Fake:
        def __init__(self, name, m):
            self.name, self.lat = name, np.zeros(m)

        def time_range(self, a, b):
            calls.append((self.name, a, b))
            self.lat[a:b] = 1.0

    a, b = Fake("a", 10), Fake("b", 4)
    bench.time_interleaved([a, b], rounds=2)
    assert calls == [("a", 0, 5), ("b", 0, 2), ("a", 5, 10), ("b", 2, 4)]
    assert a.lat.all() and b.lat.all()  # every target timed exactly once per method


def test_replace_section(tmp_path):
    md = tmp_path / "README.md"
    md.write_text(f"# x\n\nbefore\n{bench_report.START}\nold\n{bench_report.END}\nafter\n")
    assert bench_report.replace_section(md, "new table")
    assert md.read_text() == (f"# x\n\nbefore\n{bench_report.START}\nnew table\n"
                              f"{bench_report.END}\nafter\n")
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not bench_report.replace_section(plain, "t")
    assert plain.read_text() == "no markers\n"


def test_quick_compare_end_to_end(tmp_path):
    """--quick on tiny sizes: table, JSON, plots, README section; peers only if installed."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "bench"
    md = tmp_path / "README.md"
    md.write_text(f"intro\n{bench_report.START}\n{bench_report.END}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ik_nn.cli", "bench", "--quick", "--arms", "rrr", "ur5",
         "--targets", "40", "--single", "10", "--ikpy-targets", "3",
         "--out", str(out), "--report", str(md)],
        capture_output=True, text=True, check=True)
    assert "| rrr | ik_nn NN + refine | 40 |" in proc.stdout
    for name in ("results.json", "table.md", *bench_report.PLOTS):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "results.json").read_text())
    assert report["command"].startswith("ik-nn bench --quick")
    for arm in ("rrr", "ur5"):
        res = report["results"][arm]
        ours = res["rows"]["nn_refine"]
        assert ours["targets"] == 40 and ours["single_queries"] == 10
        assert ours["success_1e-6"] >= 0.95 and ours["within_limits"] == 1.0
        assert ours["pos_err_median"] <= 1e-6 and ours["rot_err_median"] <= 1e-6
        assert res["rows"]["nn_alone"]["success_1mm_1deg"] <= 1.0
        assert res["rows"]["nn_basin"]["success_1e-6"] <= ours["success_1e-6"]
        for peer in ("rtb_ik_LM", "ikpy"):
            assert peer in res["rows"] or peer in res["notes"]
        if "ikpy" in res["rows"]:
            assert res["rows"]["ikpy"]["targets"] == 3 and res["rows"]["ikpy"]["of"] == 40
    text = md.read_text()
    assert text.startswith("intro\n") and "| ur5 | ik_nn NN + refine |" in text
    assert "Learned-IK goals" in text and "- ur5: success" in text
    # the section regenerates from the saved JSON alone (no measuring)
    md.write_text(f"{bench_report.START}\n{bench_report.END}\n")
    subprocess.run([sys.executable, "-m", "ik_nn.cli", "bench", "--from-json",
                    str(out / "results.json"), "--report", str(md)], check=True,
                   capture_output=True)
    assert "| rrr | ik_nn NN + refine | 40 |" in md.read_text()


def test_report_without_markers_fails_loudly(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("nothing\n")
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps({
        "machine": bench.machine() | {"loadavg_start": 1.0, "loadavg_end": 1.0},
        "command": "ik-nn bench", "targets": 1, "seed": 1, "results": {}}))
    proc = subprocess.run([sys.executable, "-m", "ik_nn.cli", "bench", "--from-json", str(saved),
                           "--report", str(md)], capture_output=True, text=True)
    assert proc.returncode == 2 and "markers" in proc.stdout
    assert md.read_text() == "nothing\n"
