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


# ------------------------------------------------------------------ ik-nn train for any arm
def _main(argv):
    from ik_nn.cli import main

    return main(["train", *argv])


def test_derived_settings_follow_the_chain_analysis():
    from ik_nn.training.dataset import DEFAULT_REDUNDANCY
    from ik_nn.training.settings import DEFAULT_TIME_LIMIT, derive, format_derivation

    assert DEFAULT_TIME_LIMIT == 10.0
    arms = {"rrr": load_arm("rrr"),
            "ur5e": load_arm(str(REPO / "test/arms/ur5e.urdf"), tip_link="tool0"),
            "panda": load_arm(str(REPO / "test/arms/panda_dh.yaml")),
            "scara": load_arm(str(REPO / "test/arms/scara.urdf"))}
    d = {k: derive(a, probe=False) for k, a in arms.items()}   # static throughput estimate
    s = {k: v.settings for k, v in d.items()}
    for k, v in s.items():
        assert v["time_limit"] == 10.0, k
        assert 50_000 <= v["samples"] <= 2_000_000 and 3 <= v["epochs"] <= 100, (k, v)
        assert 4 <= v["K"] <= 16, (k, v)
        head = format_derivation(arms[k], d[k]).splitlines()[0]
        assert arms[k].name in head and "derived from the arm's chain analysis" in head
    # more IK branches, more hypotheses: the UR-like arm (8 branches) over a 3-joint arm
    assert s["ur5e"]["K"] > s["rrr"]["K"]
    assert s["ur5e"]["K"] == 12 and d["ur5e"].facts.decoupled == "parallel axes 2-3-4"
    assert s["rrr"]["hidden"] == (96, 96) and s["ur5e"]["hidden"] == (192, 192, 192)
    # the 7-joint arm: 1-D self-motion, canonicalised by pinning one joint (the Panda's θ3)
    assert d["panda"].facts.self_motion == 1 and d["panda"].facts.redundant_joint == 3
    assert s["panda"]["redundancy"] == DEFAULT_REDUNDANCY
    assert s["panda"]["K"] >= s["ur5e"]["K"]
    # the prismatic SCARA: rank 4, one elbow branch
    assert d["scara"].facts.prismatic == [3] and d["scara"].facts.rank == 4
    assert s["scara"]["K"] == 6 and s["scara"]["redundancy"] == "none"
    # a tighter time limit buys fewer sample passes; given settings are kept
    short = derive(arms["ur5e"], time_limit=3.0, probe=False).settings
    assert short["samples"] * short["epochs"] < s["ur5e"]["samples"] * s["ur5e"]["epochs"]
    kept = derive(arms["ur5e"], probe=False, overrides={"K": 5, "epochs": 7}).settings
    assert kept["K"] == 5 and kept["epochs"] == 7


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exc:
        _main(["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for want in ("(default: 10;", "derived from the arm's chain analysis", "(default: 0)",
                 "(default: 10000)", "(default: 5000)", "(default: 1024)", "(default: 0.003)",
                 "(default: wta)", "(default: silu)", "(default: 4096)", "(default: fix)",
                 "--resume LOG_DIR_OR_CHECKPOINT", "--export-only CHECKPOINT"):
        assert want in text, want
    # every option says its default
    import argparse

    from ik_nn.training.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert "(default: " in (action.help or "") or "default: " in action.help, action


def test_missing_dependency_fails_before_training(tmp_path, monkeypatch, capsys):
    import importlib.util

    from ik_nn.training import train as train_mod

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnx" else real(name, *a))
    monkeypatch.setattr(train_mod, "train", lambda *a, **k: pytest.fail("training started"))
    assert _main(["rrr", "--tiny", "--quiet", "--out", str(tmp_path / "m.onnx"),
                  "--log-dir", str(tmp_path / "log")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'onnx'" in err[0] and "pip install .[train]" in err[0], err
    assert not (tmp_path / "log").exists()


def test_unusable_output_or_export_fails_before_training(tmp_path, monkeypatch, capsys):
    from ik_nn.training import export
    from ik_nn.training import train as train_mod

    monkeypatch.setattr(train_mod, "train", lambda *a, **k: pytest.fail("training started"))
    (tmp_path / "file").write_text("not a directory")
    assert _main(["rrr", "--tiny", "--quiet", "--out", str(tmp_path / "file" / "m.onnx"),
                  "--log-dir", str(tmp_path / "log")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "output directory" in err[0] and "--out" in err[0], err

    def no_exporter(*a, **k):
        raise ModuleNotFoundError("No module named 'onnxscript'", name="onnxscript")

    monkeypatch.setattr(export, "export_onnx", no_exporter)
    assert _main(["rrr", "--tiny", "--quiet", "--out", str(tmp_path / "m.onnx"),
                  "--log-dir", str(tmp_path / "log")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'onnxscript'" in err[0] and "pip install .[train]" in err[0]
    assert not (tmp_path / "m.onnx").exists()


def test_checkpoint_resume_and_export_only(tmp_path, capsys):
    from ik_nn.training.train import load_checkpoint

    log, out = tmp_path / "log", tmp_path / "m.onnx"
    assert _main(["rrr", "--tiny", "--epochs", "2", "--threads", "1", "--out", str(out),
                  "--log-dir", str(log), "--card-targets", "20", "--card-latency", "5"]) == 0
    printed = capsys.readouterr().out
    assert "elapsed" in printed and "ETA" in printed   # progress with the remaining time
    ckpt = load_checkpoint(log)
    assert ckpt["epoch"] == 2 and ckpt["config"]["epochs"] == 2 and ckpt["best_epoch"] >= 1
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "best_state", "rows", "run"}
    assert not list(log.glob("*.tmp"))   # written through a temporary file, renamed
    first = list(csv.DictReader(open(log / "log.csv")))

    # resume (the arm comes from the checkpoint): epochs 3 and 4 only
    assert _main(["--resume", str(log), "--epochs", "4", "--quiet", "--card-targets", "0"]) == 0
    rows = list(csv.DictReader(open(log / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert rows[:2] == first
    assert load_checkpoint(log / "checkpoint.pt")["epoch"] == 4
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["resumed_from_epoch"] == 2 and side["epochs_run"] == 4

    # export the best weights of the checkpoint elsewhere, with its card
    other = tmp_path / "exported" / "again.onnx"
    assert _main(["--export-only", str(log / "checkpoint.pt"), "--out", str(other),
                  "--card-targets", "20", "--card-latency", "5"]) == 0
    Seeder(other, load_arm("rrr"))
    assert json.loads((other.parent / "again.card.json").read_text())["targets"] == 20


def test_failed_export_after_training_names_the_checkpoint(tmp_path, monkeypatch, capsys):
    from ik_nn.training import export

    real, calls = export.export_onnx, []

    def fail_after_preflight(*a, **k):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("disk full")
        return real(*a, **k)

    monkeypatch.setattr(export, "export_onnx", fail_after_preflight)
    log = tmp_path / "log"
    assert _main(["rrr", "--tiny", "--quiet", "--out", str(tmp_path / "m.onnx"),
                  "--log-dir", str(log)]) == 1
    err = capsys.readouterr().err
    assert "disk full" in err and str(log / "checkpoint.pt") in err
    assert "--export-only" in err and (log / "checkpoint.pt").is_file()


def test_result_card_fields(tmp_path, capsys):
    out = tmp_path / "scara.onnx"   # a URDF arm with a prismatic joint, end to end
    assert _main([str(REPO / "test/arms/scara.urdf"), "--tiny", "--quiet", "--out", str(out),
                  "--log-dir", str(tmp_path / "log"), "--card-targets", "40",
                  "--card-latency", "10"]) == 0
    card = json.loads((tmp_path / "scara.card.json").read_text())
    assert card["targets"] == 40 and card["K"] == TINY["K"]
    na = card["network_alone"]
    assert {"pos_median_mm", "pos_p90_mm", "rot_median_deg", "rot_p90_deg"} <= set(na)
    assert 0 <= card["basin_rate"] <= 1 and 0 <= card["nn_refine_success"] <= 1
    lat = card["latency"]
    assert lat["queries"] == 10 and lat["interleaved"]
    for key in ("nn_p50_us", "nn_p99_us", "no_network_p50_us", "no_network_p99_us",
                "ratio_p50", "ratio_p99"):
        assert lat[key] > 0, key
    for q in ("p50", "p99"):
        lo, hi = lat[f"ratio_{q}_interval"]
        assert 0 < lo <= hi
    assert len(card["machine"]["loadavg_before"]) == 3
    assert json.loads(out.with_suffix(".json").read_text())["card"]["targets"] == 40
    text = capsys.readouterr().out
    assert "result card" in text and "90 % bootstrap intervals" in text


def test_ratio_interval_is_paired_and_brackets_the_ratio():
    from ik_nn.training.card import ratio_interval

    rng = np.random.default_rng(0)
    base = rng.lognormal(3.0, 0.6, 5000)          # microseconds, a long right tail
    lo, hi = ratio_interval(base * 1.5, base, 99)  # the same queries, 1.5x slower without
    assert lo == pytest.approx(1.5) and hi == pytest.approx(1.5)   # paired: no spread at all
    noisy = base * rng.lognormal(0.0, 0.3, 5000)
    lo, hi = ratio_interval(noisy * 1.2, base, 99)
    ratio = np.percentile(noisy * 1.2, 99) / np.percentile(base, 99)
    assert lo < ratio < hi and hi - lo < 0.6


def test_self_motion_labels_are_a_function_of_the_pose():
    """Panda (7 joints): two configurations with one pose get one label."""
    from ik_nn.training import dataset

    arm = load_arm(str(REPO / "test/arms/panda_dh.yaml"))
    j, c = dataset.redundant_joint(arm)
    assert j == 2 and c == 0.0
    rng = np.random.default_rng(3)
    q = arm.random_q(300, rng)
    T = arm.fk(q)
    # the same poses, elsewhere on their self-motion (towards θ3 = 1.2)
    q2 = dataset.project_self_motion(arm, q, T, j, 1.2)
    moved = np.abs(q2[:, j] - q[:, j]) > 0.1
    assert moved.sum() > 100
    from ik_nn.kinematics import pose_error

    assert max(x.max() for x in pose_error(T, arm.fk(q2))) < 1e-6
    a = dataset.canonicalize_self_motion(q, T, arm, False, "project")
    b = dataset.canonicalize_self_motion(q2, T, arm, False, "project")
    assert max(x.max() for x in pose_error(T, arm.fk(a))) < 1e-6   # labels keep the pose
    d = np.abs(a - b).max(axis=1)[moved]
    reached = (np.abs(a[moved, j] - c) < 1e-9) & (np.abs(b[moved, j] - c) < 1e-9)
    assert reached.mean() > 0.3
    assert d[reached].max() < 1e-5          # same label where the self-motion reaches θ3 = 0
    assert d.max() < dataset.PROJECT_STEP + 0.05   # else the same limit, to within a step
    # "fix" (the default): every configuration drawn with θ3 = 0, so the other six joints are
    # an isolated IK solution of the pose (full-rank Jacobian without θ3: no self-motion
    # left, only finitely many branches); "none" leaves θ3 anywhere on the self-motion
    fixed = dataset.make_dataset(arm, 200, seed=1, position_only_fraction=0.0, keep_poses=True)
    assert fixed.redundancy == dataset.DEFAULT_REDUNDANCY == "fix"
    assert np.all(fixed.q[:, j] == c)
    assert max(x.max() for x in pose_error(fixed.T, arm.fk(fixed.q))) < 1e-12
    J = arm.jacobian(fixed.q)
    J[:, :3] /= arm.reach
    sv = np.linalg.svd(np.delete(J, j, axis=2), compute_uv=False)
    assert np.median(sv[:, -1]) > 1e-3
    free = dataset.make_dataset(arm, 200, seed=1, redundancy="none")
    assert np.std(free.q[:, j]) > 1.0


def test_derive_trains_on_one_thread_when_busy_cores_make_more_threads_slower(monkeypatch):
    """derive() probes one thread too and keeps the faster, sizing the run on its rate.

    Busy cores make torch's multi-thread steps spin-wait (measured: 40x slower).
    """
    from ik_nn.training import settings

    arm = load_arm("rrr")
    monkeypatch.setattr(settings, "cores", lambda: 2)
    monkeypatch.setattr(settings, "data_rate", lambda arm, red, n=5000: 2e5)
    for all_cores, one, want in ((3e3, 4e4, 1), (1.2e5, 6e4, None)):
        monkeypatch.setattr(settings, "probe_rate",
                            lambda *a, all_cores=all_cores, one=one, **k:
                            one if (a[4] if len(a) > 4 else k.get("threads", 0)) == 1
                            else all_cores)
        d = settings.derive(arm, time_limit=10.0)
        assert d.settings.get("threads") == want
        text = settings.format_derivation(arm, d)
        assert ("threads 1: one thread measured faster" in text) == bool(want)
        assert f"{max(all_cores, one):,.0f} training samples/s" in " ".join(d.reasons)
    # a given --threads is never second-guessed
    d = settings.derive(arm, time_limit=10.0, threads=2)
    assert "threads" not in d.settings
