"""Training path: losses, a tiny run that learns, export round trip, CLI, DDP with 2 processes."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from ik_nn import encoding, load_arm  # noqa: E402
from ik_nn.seeder import Seeder, read_metadata  # noqa: E402
from ik_nn.training import network  # noqa: E402
from ik_nn.training.cli import TINY  # noqa: E402
from ik_nn.training.export import check_onnx, export_onnx  # noqa: E402
from ik_nn.training.train import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def test_wta_loss_picks_the_winner_and_wraps_angles():
    arm = load_arm("rrr_full")  # all joints periodic
    lt = network.LayoutTensors(arm)
    zero = np.zeros(1)  # azimuth of the target (rrr_full factors it out)
    q = np.array([[np.pi - 0.01, 0.5, -1.0]])
    target = torch.from_numpy(encoding.encode_joints(q, arm, zero))
    near = encoding.encode_joints(np.array([[-np.pi + 0.01, 0.5, -1.0]]), arm, zero)  # 0.02 rad
    far = encoding.encode_joints(np.array([[0.0, -0.5, 1.0]]), arm, zero)
    raw = torch.from_numpy(np.concatenate([far, near], 1))
    L = network.hypothesis_losses(raw, target, lt)
    assert L[0, 1] == pytest.approx(0.02 ** 2, rel=1e-3)  # wrapped: 0.02 rad, not 2π - 0.02
    assert L[0, 0] > 1.0
    loss, best = network.wta_loss(raw, target, lt, eps=0.0)
    assert float(best[0]) == pytest.approx(float(L[0, 1]))
    relaxed, _ = network.wta_loss(raw, target, lt, eps=0.1)
    assert float(relaxed) == pytest.approx(0.9 * float(L[0, 1]) + 0.1 * float(L[0, 0]), rel=1e-5)


def test_bounded_joint_loss_is_in_radians():
    arm = load_arm("rrr")  # ±90°, not periodic
    lt = network.LayoutTensors(arm)
    t = torch.from_numpy(encoding.encode_joints(np.array([[0.1, 0.2, 0.3]]), arm))
    p = torch.from_numpy(encoding.encode_joints(np.array([[0.1, 0.25, 0.3]]), arm))
    assert float(network.hypothesis_losses(p, t, lt)[0, 0]) == pytest.approx(0.05 ** 2, rel=1e-4)


def _tiny(tmp_path, arm="rrr", **kw):
    cfg = dict(TINY)
    cfg.update(kw)
    return TrainConfig(seed=0, quiet=True, log_dir=str(tmp_path / "log"), **cfg)


def test_tiny_training_lowers_the_loss_and_logs(tmp_path):
    arm = load_arm("rrr")
    model, summary = train(arm, _tiny(tmp_path, epochs=4), command="test")
    rows = list(csv.DictReader(open(tmp_path / "log" / "log.csv")))
    assert len(rows) == 4
    assert float(rows[-1]["train_loss"]) < 0.7 * float(rows[0]["train_loss"])
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    assert float(rows[-1]["lr"]) < float(rows[1]["lr"])  # the schedule is stepped
    assert (tmp_path / "log" / "curves.png").stat().st_size > 1000
    assert (tmp_path / "log" / "command.txt").read_text().strip() == "test"
    assert summary["validation"]["pos_med_mm"] > 0 and summary["K"] == TINY["K"]


def test_training_is_seeded(tmp_path):
    arm = load_arm("rrr")
    a, _ = train(arm, _tiny(tmp_path / "a", epochs=1), command="a")
    b, _ = train(arm, _tiny(tmp_path / "b", epochs=1), command="b")
    x = torch.from_numpy(encoding.encode_pose(arm.fk(np.zeros((3, 3))), arm))
    with torch.no_grad():
        np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_wta_separates_branches_that_plain_regression_averages(tmp_path):
    """rrr_full (±180°) has two IK branches per position.

    The deck's plain MSE regressor averages them, K=2 winner-takes-all does not (same data, same
    budget).
    """
    arm = load_arm("rrr_full")
    common = dict(samples=8_000, epochs=5, batch=256, val_samples=256,
                  position_only_fraction=1.0, hidden=(32, 32))
    _, wta = train(arm, _tiny(tmp_path / "w", **{**common, "K": 2}), command="")
    _, plain = train(arm, TrainConfig(arch="plain", K=1, seed=0, quiet=True, **common), "")
    w, p = wta["validation"]["po_pos_med_mm"], plain["validation"]["po_pos_med_mm"]
    assert w < 0.3 * p, (w, p)  # measured: about 2-4.5 mm vs 36 mm


def test_export_round_trip(tmp_path):
    arm = load_arm("rrrrrr")
    model = network.build("wta", arm, K=3, hidden=(16, 16))
    out = export_onnx(model, arm, tmp_path / "m.onnx", command="ik-nn train rrrrrr --test",
                      extra={"validation": {"pos_med_mm": 1.0}})
    assert check_onnx(out, model) < 1e-4
    meta = read_metadata(out)
    assert meta["arm"] == "rrrrrr" and meta["dh_hash"] == arm.dh_hash and meta["K"] == "3"
    assert json.loads(meta["joint_names"]) == list(arm.joint_names)
    assert meta["encoding_version"] == str(encoding.ENCODING_VERSION)
    assert meta["training_command"] == "ik-nn train rrrrrr --test"
    s = Seeder(out, arm)
    T = arm.fk(arm.random_q(7, np.random.default_rng(0)))
    x = encoding.encode_pose(T, arm)
    with torch.no_grad():
        want = encoding.decode(model(torch.from_numpy(x)).numpy(), arm)
    got = s.hypotheses(T)  # dynamic batch axis: 7 rows, then 1
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(s.hypotheses(T[3]), want[3:4], atol=1e-5)


def test_cli_train_end_to_end(tmp_path):
    from ik_nn.cli import main

    out = tmp_path / "rrr_tiny.onnx"
    assert main(["train", "rrr", "--tiny", "--quiet", "--out", str(out),
                 "--log-dir", str(tmp_path / "log")]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["onnx_max_abs_diff"] < 1e-4 and side["K"] == TINY["K"]
    Seeder(out, load_arm("rrr"))
    plain = tmp_path / "plain.onnx"
    assert main(["train", "rrr", "--tiny", "--quiet", "--arch", "plain", "--out", str(plain),
                 "--log-dir", str(tmp_path / "log2")]) == 0
    meta = read_metadata(plain)
    assert meta["K"] == "1" and json.loads(meta["hidden"]) == [128, 64, 32]


def test_ddp_two_processes(tmp_path):
    out = tmp_path / "ddp.onnx"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_port=29731", "-m", "ik_nn.cli", "train", "rrr", "--tiny", "--quiet",
           "--seed", "3", "--out", str(out), "--log-dir", str(tmp_path / "log")]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["world_size"] == 2
    assert side["command"].startswith("torchrun --nproc_per_node=2 -m ik_nn.cli train rrr")
    rows = list(csv.DictReader(open(tmp_path / "log" / "log.csv")))  # rank 0 alone wrote
    assert len(rows) == TINY["epochs"]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert read_metadata(out)["training_command"] == side["command"]
