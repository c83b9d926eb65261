"""Chain analysis finds the study's defects by measurement."""
import subprocess
import sys

from ik_nn.analysis import analyse


def test_rrrrrr_joints_3_and_4_are_coaxial_rank_5():
    rep = analyse("rrrrrr", samples=500)
    assert rep.rank == 5
    assert rep.coaxial == [(3, 4, 1)]
    assert rep.position_rank == 3


def test_rrr_joint_3_never_moves_the_position_and_lives_on_a_sphere():
    rep = analyse("rrr", samples=500)
    assert rep.no_position == [3]
    assert rep.on_sphere and abs(rep.dist_max - 0.05) < 1e-12
    assert rep.rank == 3 and rep.position_rank == 2


def test_ur5_full_rank_no_coaxial():
    rep = analyse("ur5", samples=500)
    assert rep.rank == 6 and rep.coaxial == []
    assert set(rep.parallel) == {(2, 3), (2, 4), (3, 4)}


def test_cli_info_prints_the_coaxial_pair_and_rank():
    out = subprocess.run([sys.executable, "-m", "ik_nn.cli", "info", "rrrrrr"],
                         capture_output=True, text=True, check=True).stdout
    assert "coaxial joints 3-4" in out and "only θ3 + θ4 matters" in out
    assert "rank (generic, over 2000 samples): 5 of 6" in out


def test_info_on_a_bad_file_prints_one_line_naming_it(tmp_path, capsys):
    import argparse

    from ik_nn.analysis import run

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nconvention: standard\njoints: [{name: j, a: fast}]\n")
    assert run(argparse.Namespace(arm=str(bad), samples=10)) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and str(bad) in out[0] and "joint 1 (joints[0])" in out[0]
