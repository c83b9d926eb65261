"""``ik-nn train ARM``: settings → checks → data → training → ONNX → check → result card.

Cheap to import (no torch at module level: ``ik-nn train --help`` and the dependency check
run before torch is loaded).

* settings: bundled arms use their presets (the settings their shipped models were trained
  with); any other arm gets settings derived from its chain analysis and a timed probe,
  sized to the time limit (:mod:`.settings`). They are printed once, with the reasons. Any
  flag overrides its setting;
* before the first epoch every dependency of the whole run is checked: the Python modules
  (torch, onnx, onnxruntime, matplotlib), the output and log directories (writable), and the
  export itself (an untrained network of the final shape is exported, checked by onnxruntime
  and loaded by the solver the result card uses). A failure is one line naming what is
  missing and how to install it;
* each epoch prints its progress with the elapsed and estimated remaining time, and
  checkpoints model, optimiser, epoch and configuration to ``LOG_DIR/checkpoint.pt``;
  ``--resume LOG_DIR_OR_CHECKPOINT`` continues a run, ``--export-only CHECKPOINT`` exports
  the best weights of one (and measures the card);
* at the end the result card (:mod:`.card`) is printed and written next to the model.

Runs as is (one process) or under ``torchrun --nproc_per_node=2 -m ik_nn.cli train ARM ...``
(DDP on gloo, rank 0 writes; settings are then estimated without the timed probe, so that
every rank derives the same numbers).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
import time
from pathlib import Path

from .settings import DEFAULT_TIME_LIMIT

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
# A seconds-long configuration for tests and smoke runs.
TINY = dict(K=2, hidden=(32, 32), samples=4000, epochs=3, batch=256, lr=3e-3, patience=100,
            val_samples=256)
CARD_RESERVE_S = 15.0   # seconds kept for the card within the time limit (measured: < 2 s)
INSTALL = "pip install .[train]"
# module → (why the run needs it, pip requirement)
DEPENDENCIES = {
    "torch": ("training", "torch==2.13.0"),
    "onnx": ("exporting the model to ONNX", "onnx>=1.16"),
    "onnxruntime": ("checking the export and the result card", "onnxruntime>=1.18"),
    "matplotlib": ("the training curves (curves.png)", "matplotlib>=3.8"),
}
DERIVED = "derived from the arm's chain analysis; bundled arms: their preset"
SETTING_KEYS = ("K", "hidden", "activation", "samples", "val_samples", "position_only_fraction",
                "epochs", "batch", "lr", "weight_decay", "eps", "lever", "patience",
                "time_limit", "detach_others", "redundancy")
# settings a resumed run may change (the rest would change what the checkpoint means)
RESUMABLE = ("epochs", "patience", "time_limit", "threads", "quiet")


class TrainError(RuntimeError):
    """A failure to report as one line (no traceback); ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


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
    from ..arm import ARM_HELP
    from .card import CARD_LATENCY, CARD_TARGETS
    from .dataset import DEFAULT_REDUNDANCY, REDUNDANCY

    d = f"(default: {DERIVED})"
    p.add_argument("arm", nargs="?", help=ARM_HELP + " (optional with --resume or "
                   "--export-only: the checkpoint's arm)")
    p.add_argument("--base-link", help="URDF: the chain's first link (default: the root link)")
    p.add_argument("--tip-link", help="URDF: the chain's last link (default: the only leaf)")
    p.add_argument("--out", help="ONNX file to write; <out>.json records the command and "
                   "validation metrics, <out>.card.json the result card (default: ./<arm>.onnx)")
    p.add_argument("--log-dir", help="log.csv, curves.png, command.txt and checkpoint.pt "
                   "(default: runs/train/<arm>-<arch>-<time>)")
    p.add_argument("--arch", choices=("wta", "plain"), default="wta",
                   help="wta: K hypotheses, relaxed winner-takes-all; plain: the slide deck's "
                   "MLP 128-64-32 ReLU, single output, MSE (default: wta)")
    p.add_argument("--tiny", action="store_true",
                   help="seconds-long configuration for tests (default: off)")
    p.add_argument("-K", "--hypotheses", type=int, dest="K",
                   help=f"number of hypotheses {d}")
    p.add_argument("--hidden", type=_hidden, help=f"hidden widths, e.g. 256,256,256 {d}")
    p.add_argument("--activation", choices=("silu", "relu", "gelu", "tanh"),
                   help="(default: silu)")
    p.add_argument("--samples", type=int, help=f"training samples {d}")
    p.add_argument("--val-samples", type=int, help="validation samples (default: 4096)")
    p.add_argument("--position-only-fraction", type=float,
                   help=f"share of position-only samples {d}")
    p.add_argument("--epochs", type=int, help=f"epochs {d}")
    p.add_argument("--batch", type=int, help="batch size (default: 1024)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: 0.003)")
    p.add_argument("--weight-decay", type=float, help="AdamW weight decay (default: 0.0001)")
    p.add_argument("--eps", type=float, help="relaxed-WTA weight of non-winning hypotheses "
                   "(default: 0.02; rrr's preset 0.05)")
    p.add_argument("--lever", type=float, help="weight joint errors by their task-space "
                   f"effect, 1 rad ~ LEVER x reach of position (0: plain joint-space loss) {d}")
    p.add_argument("--detach-others", dest="detach_others", action="store_true",
                   default=None, help="the relaxed-WTA term of non-winning hypotheses trains "
                   "their heads only, not the shared trunk (tried on rrr_full: worse; "
                   "default: off)")
    p.add_argument("--patience", type=int,
                   help="early-stopping patience in epochs (default: 8; ur5's preset 6)")
    p.add_argument("--time-limit", type=float,
                   help="minutes for the whole run (data, training, export, card) on this "
                   "machine; training stops in time, keeping the best weights; 0: none "
                   f"(default: {DEFAULT_TIME_LIMIT:g}; bundled presets: 14, as their shipped "
                   "models were trained; --tiny: none)")
    p.add_argument("--redundancy", choices=REDUNDANCY,
                   help="7-joint arms (1-D self-motion): project = move each label along "
                   "its self-motion to the pinned joint's mid-limits value; fix = draw "
                   "configurations with that joint there; none = leave the self-motion in "
                   f"the labels (default: {DEFAULT_REDUNDANCY})")
    p.add_argument("--seed", type=int, default=0, help="data and initialisation seed "
                   "(default: 0)")
    p.add_argument("--threads", type=int,
                   help="torch threads; 0: torch's default, all cores (default: 0)")
    p.add_argument("--dataset", help=".npz data set to load if present, else to save "
                   "(default: none)")
    p.add_argument("--card-targets", type=int, default=CARD_TARGETS,
                   help=f"fresh FK targets for the result card; 0: no card "
                   f"(default: {CARD_TARGETS})")
    p.add_argument("--card-latency", type=int, default=CARD_LATENCY,
                   help=f"single queries timed per solver for the card (default: "
                   f"{CARD_LATENCY})")
    p.add_argument("--resume", metavar="LOG_DIR_OR_CHECKPOINT",
                   help="continue a run from its checkpoint (same settings; --epochs, "
                   "--time-limit, --patience, --threads may change) (default: none)")
    p.add_argument("--export-only", metavar="CHECKPOINT",
                   help="export the best weights of a checkpoint (or log directory) to "
                   "--out, check it and measure the card; no training (default: none)")
    p.add_argument("--quiet", action="store_true", help="no progress lines (default: off)")


def missing_dependency() -> str | None:
    """One line naming the first missing module of the run and how to install it, or None."""
    for module, (why, req) in DEPENDENCIES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return (f"missing dependency '{module}' (needed for {why}): install the training "
                    f"extras with `{INSTALL}` (or `pip install '{req}'`); nothing was trained")
    return None


def _command(argv, module=False):
    world = int(os.environ.get("WORLD_SIZE", "1"))
    target = "ik_nn.training.cli" if module else "ik_nn.cli"
    if world > 1:
        prefix = f"torchrun --nproc_per_node={world} -m {target}"
    else:
        prefix = "python -m ik_nn.training.cli" if module else "ik-nn"
    return " ".join([prefix] + [shlex.quote(a) for a in argv])


def _arm_source(args, ckpt=None) -> dict:
    """How to load the arm again (absolute path for files), from ARM or the checkpoint."""
    if args.arm:
        p = Path(args.arm)
        src = str(p.resolve()) if p.exists() else args.arm
        return {"arm": src, "base_link": args.base_link, "tip_link": args.tip_link}
    if ckpt is None:
        raise TrainError("the arm is missing: give ARM (a bundled name, a DH YAML or a URDF "
                         "file), or --resume/--export-only a checkpoint")
    run = ckpt.get("run", {})
    return {k: run.get(k) for k in ("arm", "base_link", "tip_link")}


def _load_arm(source: dict, ckpt=None):
    from ..arm import ArmError, load_arm

    try:
        arm = load_arm(source["arm"], base_link=source.get("base_link"),
                       tip_link=source.get("tip_link"))
    except ArmError as exc:
        raise TrainError(str(exc)) from exc
    if ckpt is not None and ckpt.get("run", {}).get("dh_hash") not in (None, arm.dh_hash):
        raise TrainError(f"{ckpt['path']}: made for arm {ckpt['run'].get('name')!r} "
                         f"(DH hash {ckpt['run']['dh_hash']}), not {arm.name!r} "
                         f"({arm.dh_hash})")
    return arm


def _writable_dir(path: Path, what: str):
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".ik-nn-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise TrainError(f"the {what} {path} is not writable ({exc.strerror or exc}); "
                         "choose another with " + ("--out" if what.startswith("output")
                                                   else "--log-dir")) from exc


def preflight(arm, cfg, out: Path, log_dir: Path | None, card: bool):
    """Everything the run needs after training, tried before it (see the module doc)."""
    _writable_dir(out.parent if str(out.parent) else Path("."), "output directory")
    if log_dir is not None:
        _writable_dir(log_dir, "log directory")
    import matplotlib  # noqa: F401  (curves.png at the end)

    from . import network
    from .export import check_onnx, export_onnx

    model = network.build(cfg.arch, arm, cfg.K, cfg.hidden, cfg.activation)
    tmp = out.with_name(f".{out.stem}.preflight-{os.getpid()}.onnx")
    try:
        try:
            export_onnx(model, arm, tmp, "preflight", {"arch": cfg.arch})
            check_onnx(tmp, model)
        except ImportError as exc:
            name = getattr(exc, "name", None) or str(exc)
            raise TrainError(f"the ONNX export needs '{name}', which is missing: install the "
                             f"training extras with `{INSTALL}`; nothing was trained") from exc
        except Exception as exc:
            raise TrainError(f"a trial ONNX export failed before training "
                             f"({type(exc).__name__}: {str(exc).strip()[:300]}); nothing was "
                             "trained") from exc
        if card:
            from ..solver import IKSolver

            try:
                solver = IKSolver(arm, model=tmp, max_restarts=0)
                solver.solve(arm.fk(0.5 * (arm.lower + arm.upper)))
                IKSolver(arm, model=None, max_restarts=0)
            except Exception as exc:
                raise TrainError(f"the result card's solver cannot load a trial export "
                                 f"({type(exc).__name__}: {str(exc).strip()[:300]}); nothing "
                                 "was trained") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _resolve_settings(args, arm, probe: bool):
    """(TrainConfig keyword settings, Derivation) for a fresh run."""
    from .settings import Derivation, derive

    given = {k: getattr(args, k, None) for k in SETTING_KEYS}
    given = {k: v for k, v in given.items() if v is not None}
    if args.tiny:
        d = Derivation(settings=dict(TINY, **given), source="tiny")
    elif arm.name in PRESETS and _bundled(arm):
        d = Derivation(settings=dict(PRESETS[arm.name], **given), source="preset",
                       reasons=["the shipped model's settings (ik_nn/training/cli.py PRESETS); "
                                "flags override them"])
    else:
        limit = given.get("time_limit", DEFAULT_TIME_LIMIT)
        reserve = 20.0 + (CARD_RESERVE_S if args.card_targets else 0.0)
        d = derive(arm, time_limit=limit, threads=args.threads or 0, probe=probe,
                   redundancy=given.get("redundancy"), reserve_s=reserve, overrides=given)
        d.settings.setdefault("reserve_s", reserve)
    if args.arch == "plain":
        d.settings["K"] = 1
    if d.source != "derived":
        d.settings.setdefault("reserve_s", 20.0 + (CARD_RESERVE_S if args.card_targets
                                                   else 0.0))
    return d


def _bundled(arm) -> bool:
    from ..arm import load_arm

    try:
        return load_arm(arm.name).dh_hash == arm.dh_hash
    except Exception:
        return False


def _export_and_card(model, arm, out: Path, command, summary, cfg, args, ckpt_path):
    """Export, check, card, sidecar; errors name the checkpoint and how to export it."""
    from .card import format_card, make_card, write_card
    from .export import check_onnx, export_onnx

    how = (f"the best weights are saved in {ckpt_path}; export them with: ik-nn train "
           f"--export-only {shlex.quote(str(ckpt_path))} --out {shlex.quote(str(out))}"
           if ckpt_path else "no checkpoint was written (no log directory)")
    extra = {"arch": cfg.arch, "hidden": list(model.hidden), "activation": model.activation,
             "validation": summary.get("validation", {}), "params": summary["params"],
             "redundancy": cfg.redundancy}
    try:
        export_onnx(model, arm, out, command, extra)
        err = check_onnx(out, model)
    except Exception as exc:
        raise TrainError(f"export to {out} failed ({type(exc).__name__}: "
                         f"{str(exc).strip()[:300]}); {how}", code=1) from exc
    summary.update(command=command, onnx=str(out), onnx_max_abs_diff=err,
                   onnx_bytes=out.stat().st_size)
    card = None
    if args.card_targets > 0:
        try:
            card = make_card(arm, out, args.card_targets, args.card_latency, cfg.seed, extra={
                "K": summary["K"], "hidden": summary["hidden"], "params": summary["params"],
                "samples": summary.get("samples"), "epochs_run": summary.get("epochs_run"),
                "best_epoch": summary.get("best_epoch"),
                "stopped_by": summary.get("stopped_by"),
                "train_time_s": summary.get("train_time_s"), "threads": cfg.threads,
                "time_limit_min": cfg.time_limit, "redundancy": cfg.redundancy,
                "command": command})
            summary["card"] = card
        except Exception as exc:
            raise TrainError(f"the result card failed ({type(exc).__name__}: "
                             f"{str(exc).strip()[:300]}); the model {out} is exported; "
                             f"{how}", code=1) from exc
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    if card is not None:
        card["path"] = str(write_card(card, out))
    return err, card, format_card(card) if card else ""


def _print_done(out, summary, err, log_dir, card_text, started):
    v = summary.get("validation", {})
    print(f"{out}: K={summary['K']} params={summary['params']} "
          f"time={summary.get('train_time_s', 0):.0f}s epochs={summary.get('epochs_run')} "
          f"(best {summary.get('best_epoch')}, stopped by {summary.get('stopped_by')}); best "
          f"hypothesis on validation: pos median {v.get('pos_med_mm', float('nan')):.3f} mm "
          f"(p90 {v.get('pos_p90_mm', float('nan')):.3f}), rot median "
          f"{v.get('rot_med_deg', float('nan')):.3f} deg "
          f"(p90 {v.get('rot_p90_deg', float('nan')):.3f}); "
          f"onnxruntime vs torch max |diff| {err:.2e}; log {log_dir}")
    if card_text:
        print(card_text)
    print(f"total wall time {time.perf_counter() - started:.0f} s", flush=True)


def _error(msg: str, code: int = 2) -> int:
    print(f"ik-nn train: error: {msg}", file=sys.stderr, flush=True)
    return code


def run(args) -> int:
    started = time.perf_counter()
    missing = missing_dependency()
    if missing:
        return _error(missing)
    try:
        if args.export_only:
            return _export_only(args, started)
        return _train(args, started)
    except TrainError as exc:
        return _error(str(exc), exc.code)


def _train(args, started) -> int:
    from .train import TrainConfig, config_from_dict, dist_info, train

    rank, world = dist_info()
    ckpt = _checkpoint(args.resume) if args.resume else None
    source = _arm_source(args, ckpt)
    arm = _load_arm(source, ckpt)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if ckpt is not None:
        cfg = config_from_dict(ckpt["config"])
        for key in RESUMABLE:
            v = getattr(args, key, None)
            if v is not None and v is not False:
                setattr(cfg, key, v)
        cfg.log_dir = str(Path(ckpt["path"]).parent)
        out = Path(args.out or ckpt.get("run", {}).get("out") or f"{arm.name}.onnx")
        command = ckpt.get("command", "")
        if rank == 0:
            print(f"ik-nn train {arm.name}: resuming {ckpt['path']} after epoch "
                  f"{ckpt['epoch']} of {cfg.epochs} ({ckpt.get('elapsed_s', 0):.0f} s used of "
                  f"the {cfg.time_limit:g} min limit)", flush=True)
    else:
        from .settings import format_derivation

        d = _resolve_settings(args, arm, probe=world == 1)
        out = Path(args.out) if args.out else Path(f"{arm.name}.onnx")
        log_dir = args.log_dir or str(Path("runs") / "train" / f"{arm.name}-{args.arch}-{stamp}")
        config = dict(d.settings)
        config.setdefault("time_limit", 0.0)
        derived_threads = config.pop("threads", 0)   # derive() chooses 1 on busy cores
        cfg = TrainConfig(arch=args.arch, seed=args.seed, threads=args.threads or derived_threads,
                          dataset=args.dataset or "", log_dir=log_dir, quiet=args.quiet,
                          **config)
        if rank == 0:
            print(format_derivation(arm, d), flush=True)
        if sys.argv[1:2] == ["train"]:
            command = _command(sys.argv[1:])
        elif sys.argv and sys.argv[0].endswith(os.path.join("training", "cli.py")):
            command = _command(sys.argv[1:], module=True)
        else:  # called from Python (tests): record the resolved configuration instead
            command = (f"ik_nn.training.cli.run(arm={args.arm!r}, arch={args.arch!r}, "
                       f"seed={args.seed}, {d.settings})")
    log_dir = Path(cfg.log_dir)
    if rank == 0:
        preflight(arm, cfg, out, log_dir, card=args.card_targets > 0)
    run_info = dict(source, out=str(out.resolve()))
    try:
        model, summary = train(arm, cfg, command, started=started, resume=ckpt,
                               run_info=run_info)
    except KeyboardInterrupt:
        if rank == 0 and (log_dir / "checkpoint.pt").is_file():
            print(f"\ninterrupted: continue with `ik-nn train --resume {log_dir}`, or export "
                  f"the best weights so far with `ik-nn train --export-only {log_dir} --out "
                  f"{out}`", file=sys.stderr, flush=True)
        raise
    code = 0
    if rank == 0:
        err, card, card_text = _export_and_card(model, arm, out, command, summary, cfg, args,
                                                summary.get("checkpoint"))
        _print_done(out, summary, err, log_dir, card_text, started)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return code


def _checkpoint(path) -> dict:
    """A checkpoint written by training (TrainError with the reason if it cannot be read)."""
    from .train import load_checkpoint

    try:
        return load_checkpoint(path)
    except (OSError, ValueError, RuntimeError) as exc:
        raise TrainError(str(exc)) from exc


def _export_only(args, started) -> int:
    from .train import model_from_checkpoint

    ckpt = _checkpoint(args.export_only)
    source = _arm_source(args, ckpt)
    arm = _load_arm(source, ckpt)
    model, cfg = model_from_checkpoint(ckpt, arm)
    out = Path(args.out or ckpt.get("run", {}).get("out") or f"{arm.name}.onnx")
    _writable_dir(out.parent if str(out.parent) else Path("."), "output directory")
    rows = ckpt.get("rows", [])
    best = next((r for r in rows if r["epoch"] == ckpt.get("best_epoch")), {})
    summary = {"arm": arm.name, "arch": cfg.arch, "K": model.K, "hidden": list(model.hidden),
               "activation": model.activation,
               "params": sum(p.numel() for p in model.parameters()),
               "epochs_run": ckpt["epoch"], "best_epoch": ckpt.get("best_epoch"),
               "stopped_by": "export-only", "train_time_s": round(ckpt.get("elapsed_s", 0), 1),
               "samples": cfg.samples, "exported_from": ckpt["path"],
               "validation": {k: round(v, 5) for k, v in best.items()
                              if isinstance(v, float) and k not in ("lr", "elapsed_s")},
               "config": dict(ckpt["config"])}
    command = ckpt.get("command", "")
    err, card, card_text = _export_and_card(model, arm, out, command, summary, cfg, args,
                                            ckpt["path"])
    _print_done(out, summary, err, Path(ckpt["path"]).parent, card_text, started)
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
