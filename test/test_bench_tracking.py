"""The tracking bench (``ik-nn bench --track``): a short real run, its judging and its report.

One arm, one path, 100 Hz, ~3 s with and without sim_arm's joint_states, the arm starting on
the path: ik_node in a subprocess, real DDS. Every target must get a status, and the commands
must neither flip a joint by 2π nor step further than the path itself moves (or than the
velocity limits allow over one approach period).
"""
import json

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs the ROS 2 Python packages (pip install .[ros])")

from ros_helpers import isolate_ros_env  # noqa: E402

isolate_ros_env()  # before rclpy.init

from ik_nn import load_arm  # noqa: E402
from ik_nn.bench import tracking  # noqa: E402
from ik_nn.cli import main as cli_main  # noqa: E402

SLACK = 0.01  # rad


@pytest.fixture(scope="module")
def report():
    return tracking.measure(["ur5"], ["circle"], [100.0], 3.0, feedback=("with", "without"),
                            starts=("on",), log=lambda s: None)


def test_every_target_gets_a_status_and_the_commands_follow_the_path(report):
    arm = load_arm("ur5")
    rows = {r["feedback"]: r for r in report["rows"]}
    assert set(rows) == {True, False}, report["skipped"]
    for fb, r in rows.items():
        assert r["targets"] == 300
        assert r["no_status"] == 0, r
        assert r["exit_codes"] == ({"ik_node": 0, "sim_arm": 0} if fb else {"ik_node": 0}), r
        assert r["commanded"] >= 0.95, r
        assert r["flips"] == 0, r
        assert r["commands"] >= 0.95 * r["targets"], r
        # on the path from the start: no step beyond the path's own or one approach step
        bound = max(2 * r["own_max_step"], float(arm.velocity.max()) * 0.02 + SLACK)
        assert r["max_step"] <= bound, (r["max_step"], bound)
        assert r["beyond_path"] == 0, r
        assert r["track_samples"] > 200 and r["track_p95"] <= 2e-3, r
    assert rows[True]["first_seed"] == "joint_states"   # it knew where the arm was
    assert rows[True]["joint_states_reseeds"] == 0       # and the arm kept up with it
    assert rows[False]["first_seed"] == "network"        # nothing to go by: the network's guess
    assert rows[True]["statuses"]["solved"] >= 0.95 * 300


def test_the_report_renders_and_the_command_rewrites_the_marked_section(report, tmp_path):
    text = tracking.section(report)
    assert tracking.TABLE_HEAD in text
    assert "\n| ur5 | circle | yes | on | 100 Hz |" in text
    assert "\n| ur5 | circle | no | — | 100 Hz |" in text
    brief = tracking.section(report, brief=True)
    assert "| ur5 | 2 |" in brief
    tracking.write_json(tmp_path / "track.json", report)
    assert json.loads((tmp_path / "track.json").read_text())["rows"]
    md = tmp_path / "doc.md"
    quoted = f"prose quoting `{tracking.START}` and `{tracking.END}` is left alone\n"
    md.write_text(f"before\n{quoted}{tracking.START}\nstale text\n{tracking.END}\nafter\n")
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    out = tmp_path / "bench"
    code = cli_main(["bench", "--track", "--from-json", str(tmp_path / "track.json"),
                     "--out", str(out), "--report", str(md)])
    assert code == 0
    doc = md.read_text()
    assert doc.startswith("before\n" + quoted) and doc.endswith("after\n")
    assert "stale text" not in doc
    assert "| ur5 | circle | yes | on | 100 Hz |" in doc
    assert "![tracking ur5](bench/track_ur5.png)" in doc
    assert (out / "track_ur5.png").stat().st_size > 10_000
    # absent markers: said, the file left alone, exit code 2
    code = cli_main(["bench", "--track", "--from-json", str(tmp_path / "track.json"),
                     "--report", str(readme)])
    assert code == 2 and readme.read_text() == "no markers here\n"


def test_flips_and_steps_beyond_the_path_are_counted():
    """The judging alone, on a made-up record: one joint wraps by 2π once."""
    arm = load_arm("ur5")
    path = tracking.make_path(arm, "circle")
    case = tracking.Case("ur5", "circle", False, "-", 100.0)
    n = 50
    t = np.arange(n) / 100.0
    q = path.joints(t)
    q[30:, 5] += 2 * np.pi
    raw = {"n": n, "t_target": t, "poses": path.poses(t),
           "sent_ns": (t * 1e9).astype(np.int64), "cmd_ns": (t * 1e9).astype(np.int64) + 10**6,
           "cmd_idx": np.arange(n), "cmd_q": q, "st_ns": np.zeros(n, dtype=np.int64),
           "st_idx": np.arange(n), "st_code": ["solved"] * (n - 1) + ["superseded"],
           "st_seed": ["network"] + ["last_command"] * (n - 1), "st_jump": np.zeros(n),
           "ee_ns": np.zeros(0, dtype=np.int64), "ee_p": np.zeros((0, 3)),
           "exit_codes": {"ik_node": 0}}
    row, series = tracking.analyse(path, case, raw)
    assert row["flips"] == 1 and row["beyond_path"] == 1 and row["steps_over_0.1"] == 1
    assert row["commanded"] == pytest.approx((n - 1) / n) and row["no_status"] == 0
    assert row["statuses"]["superseded"] == 1
    assert row["verdict"] == ["1 flips", "1 steps beyond the path"]
    assert len(series["q_cmd"]) == n


def test_without_joint_states_the_start_is_one_case():
    cases = tracking.case_list(["ur5"], ["circle", "line"], rates=[100.0, 1000.0])
    assert len(cases) == 2 * (2 + 1) * 2
    assert {c.start for c in cases if not c.feedback} == {"-"}
