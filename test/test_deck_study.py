"""The deck's experiments redone: the metrics are computed as documented."""
import numpy as np

import ik_nn
from ik_nn.bench import deck_study


def test_joint_accuracy_wraps_periodic_joints():
    arm = ik_nn.load_arm("rrr_full")  # ±180°: periodic joints
    q = np.array([[3.1, 0.0, 0.0], [0.0, 0.0, 0.0]])
    hat = np.array([[-3.1, 0.0, 0.0], [0.0, 0.005, 0.0]])
    acc = deck_study.joint_accuracy(arm, hat, q, thresholds=(0.1, 0.01))
    assert acc == {0.1: 1.0, 0.01: 0.5}  # 3.1 vs -3.1 is 0.083 rad apart, not 6.2
    arm = ik_nn.load_arm("rrr")  # ±90°: not periodic
    assert deck_study.joint_accuracy(arm, np.array([[1.5, 0, 0]]), np.array([[-1.5, 0, 0]]),
                                     thresholds=(0.5,)) == {0.5: 0.0}


def test_small_study_runs_and_refinement_is_exact():
    rows = deck_study.run_study(n=60, single=5)
    assert [r["arm"] for r in rows] == ["rrr_full", "rrr", "rrrrrr"]
    for r in rows:
        assert r["ik_nn_refined"]["success_1e-6"] >= 0.98
        assert r["ik_nn_refined"]["within_limits"]
        assert 0 <= r["ik_nn"]["joint_accuracy"][0.5] <= 1
        # the network alone is not exact: refinement is what reaches 1e-6
        assert r["ik_nn"]["success_1e-6"] < r["ik_nn_refined"]["success_1e-6"]
    text = deck_study.format_study(rows)
    assert "99.78 %" in text and "159.57 ms" in text


def test_cli_deck_study(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "study.json"
    text = subprocess.run([sys.executable, "-m", "ik_nn.cli", "bench", "--deck-study",
                           "--targets", "40", "--single", "5", "--json", str(out)],
                          capture_output=True, text=True, check=True).stdout
    assert "The slide deck's experiments, redone" in text
    rows = json.loads(out.read_text())["deck_study"]
    assert {r["arm"] for r in rows} == {"rrr", "rrr_full", "rrrrrr"}
