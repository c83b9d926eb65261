"""``ik-nn train ARM``: data set → training → ONNX export → onnxruntime check (cheap import).

Bundled arms have presets (the settings their shipped models were trained with); any flag
overrides its preset. Runs as is (one process) or under
``torchrun --nproc_per_node=2 -m ik_nn.cli train ARM ...`` (DDP on gloo, rank 0 writes).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

# Per-arm defaults: K hypotheses, hidden widths, data and schedule sized for ≤ 15 min on 2 cores.
PRESETS = {
    # rrr/rrr_full: two 96-wide layers are as accurate as three 128-wide ones given 1M samples,
    # and cost ~5 us less per single query (fewer onnxruntime nodes, weights stay in cache)
    "rrr": dict(K=4, hidden=(96, 96), samples=1_000_000, epochs=40, batch=1024,
                lr=3e-3, patience=8, lever=1.0, time_limit=14.0),
    "rrr_full": dict(K=4, hidden=(96, 96), samples=1_000_000, epochs=40, batch=1024,
                     lr=3e-3, patience=8, lever=1.0, time_limit=14.0, eps=0.02),
    "rrrrrr": dict(K=6, hidden=(192, 192, 192), samples=1_000_000, epochs=60, batch=1024,
                   lr=3e-3, patience=8, lever=0.3, time_limit=14.0, eps=0.02,
                   position_only_fraction=0.1),
    "ur5": dict(K=12, hidden=(256, 256, 256), samples=1_500_000, epochs=20, batch=1024,
                lr=3e-3, patience=6, lever=0.2, time_limit=14.0, eps=0.02,
                position_only_fraction=0.1),
}
GENERIC = dict(K=8, hidden=(192, 192, 192), samples=1_000_000, epochs=25, batch=1024,
               lr=3e-3, patience=8, lever=0.25)
# A seconds-long configuration for tests and smoke runs.
TINY = dict(K=2, hidden=(32, 32), samples=4000, epochs=3, batch=256, lr=3e-3, patience=100,
            val_samples=256)


def _hidden(text):
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise ValueError(
            f"--hidden: expected comma-separated widths like 128,128,128, got {text!r}")
    if not widths or min(widths) < 1:
        raise ValueError(f"--hidden: widths must be positive, got {text!r}")
    return widths


def add_arguments(p):
    p.add_argument("arm", help="bundled arm name or path of a DH YAML file")
    p.add_argument("--out", help="ONNX file to write (default: ./<arm>.onnx); a <out>.json "
                   "sidecar records the command and validation metrics")
    p.add_argument("--log-dir", help="CSV log, curves.png and command.txt "
                   "(default: runs/train/<arm>-<time>)")
    p.add_argument("--arch", choices=("wta", "plain"), default="wta",
                   help="wta: K hypotheses, relaxed winner-takes-all (default); plain: the "
                   "slide deck's MLP 128-64-32 ReLU, single output, MSE")
    p.add_argument("--tiny", action="store_true", help="seconds-long configuration (tests)")
    p.add_argument("-K", "--hypotheses", type=int, dest="K", help="number of hypotheses")
    p.add_argument("--hidden", type=_hidden, help="hidden widths, e.g. 256,256,256")
    p.add_argument("--activation", choices=("silu", "relu", "gelu", "tanh"))
    p.add_argument("--samples", type=int, help="training samples")
    p.add_argument("--val-samples", type=int)
    p.add_argument("--position-only-fraction", type=float)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--eps", type=float, help="relaxed-WTA weight of non-winning hypotheses")
    p.add_argument("--lever", type=float, help="weight joint errors by their task-space "
                   "effect, 1 rad ~ LEVER x reach of position (0: plain joint-space loss)")
    p.add_argument("--detach-others", dest="detach_others", action="store_true",
                   default=None, help="the relaxed-WTA term of non-winning hypotheses trains "
                   "their heads only, not the shared trunk (tried on rrr_full: worse)")
    p.add_argument("--patience", type=int, help="early-stopping patience (epochs)")
    p.add_argument("--time-limit", type=float, help="minutes; stop early keeping the best weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--dataset", help=".npz data set to load if present, else to save")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _command(argv, module=False):
    world = int(os.environ.get("WORLD_SIZE", "1"))
    target = "ik_nn.training.cli" if module else "ik_nn.cli"
    if world > 1:
        prefix = f"torchrun --nproc_per_node={world} -m {target}"
    else:
        prefix = "python -m ik_nn.training.cli" if module else "ik-nn"
    return " ".join([prefix] + [shlex.quote(a) for a in argv])


def run(args) -> int:
    import torch  # noqa: F401  (heavy imports only here)

    from ..arm import load_arm
    from .export import check_onnx, export_onnx
    from .train import TrainConfig, dist_info, train

    arm = load_arm(args.arm)
    cfg = dict(TINY if args.tiny else PRESETS.get(arm.name, GENERIC))
    for key in ("K", "hidden", "activation", "samples", "val_samples", "position_only_fraction",
                "epochs", "batch", "lr", "weight_decay", "eps", "lever", "patience", "time_limit",
                "detach_others"):
        v = getattr(args, key, None)
        if v is not None:
            cfg[key] = v
    if args.arch == "plain":
        cfg["K"] = 1
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path(f"{arm.name}.onnx")
    log_dir = args.log_dir or str(Path("runs") / "train" / f"{arm.name}-{args.arch}-{stamp}")
    config = TrainConfig(arch=args.arch, seed=args.seed, threads=args.threads,
                         dataset=args.dataset or "", log_dir=log_dir, quiet=args.quiet, **cfg)
    if sys.argv[1:2] == ["train"]:
        command = _command(sys.argv[1:])
    elif sys.argv and sys.argv[0].endswith(os.path.join("training", "cli.py")):
        command = _command(sys.argv[1:], module=True)
    else:  # called from Python (tests): record the resolved configuration instead
        command = (f"ik_nn.training.cli.run(arm={args.arm!r}, arch={args.arch!r}, "
                   f"seed={args.seed}, {cfg})")
    model, summary = train(arm, config, command)
    rank, world = dist_info()
    if rank == 0:
        extra = {"arch": args.arch, "hidden": list(model.hidden), "activation": model.activation,
                 "validation": summary.get("validation", {}), "params": summary["params"]}
        export_onnx(model, arm, out, command, extra)
        err = check_onnx(out, model)
        summary.update(command=command, onnx=str(out), onnx_max_abs_diff=err,
                       onnx_bytes=out.stat().st_size)
        out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
        v = summary.get("validation", {})
        print(f"{out}: K={summary['K']} params={summary['params']} "
              f"time={summary['train_time_s']:.0f}s epochs={summary['epochs_run']} "
              f"(best {summary['best_epoch']}); best hypothesis on validation: "
              f"pos median {v.get('pos_med_mm', float('nan')):.3f} mm "
              f"(p90 {v.get('pos_p90_mm', float('nan')):.3f}), rot median "
              f"{v.get('rot_med_deg', float('nan')):.3f} deg "
              f"(p90 {v.get('rot_p90_deg', float('nan')):.3f}); "
              f"onnxruntime vs torch max |diff| {err:.2e}; log {log_dir}")
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return 0


def main(argv=None) -> int:
    """``python -m ik_nn.training.cli ARM ...``: the same as ``ik-nn train ARM ...``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ik_nn.training.cli",
                                     description="train an arm's seeding network and export it")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
