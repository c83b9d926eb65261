"""What the bench writes: the learned-IK goals, the README section, numbers as text, plots."""
import numpy as np
import pytest

from ik_nn import load_arm
from ik_nn.bench import report as bench_report
from ik_nn.bench.formatting import percent, si


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


def test_numbers_as_text():
    assert [percent(x) for x in (1.0, 0.9995, 0.929, 0.0)] == ["100 %", "99.95 %", "92.9 %",
                                                               "0.0 %"]
    assert percent(0.5, 2) == "50.00 %" and percent(1.0, 2) == "100.00 %"
    assert percent(None, 2) == "—"
    assert si(1.2e-8, "m") == "12 nm" and si(0.0, "rad") == "0 rad" and si(np.inf, "m") == "∞"


def test_stick_figures_run_from_base_through_the_joints_to_the_tool():
    from ik_nn.bench.plots import stick_figures

    arm = load_arm("ur5")
    assert arm.convention == "standard"
    if not hasattr(arm, "joint_origins"):
        pytest.skip("this runtime's Arm has no joint_origins(q) yet (the stick figures use it)")
    q = arm.random_q(3, np.random.default_rng(1))
    P = stick_figures(arm, q)
    assert P.shape == (3, arm.dof + 2, 3)
    assert np.allclose(P[:, 0], arm.base[:3, 3])
    assert np.allclose(P[:, -1], arm.fk(q)[:, :3, 3])
    # standard DH: joint i+1's origin is Tz(d_i) Tx(a_i) from joint i's, whatever the angles
    links = np.linalg.norm(np.diff(P[:, 1:-1], axis=1), axis=2)
    assert np.allclose(links, np.hypot(arm.dh[:-1, 0], arm.dh[:-1, 1]))
