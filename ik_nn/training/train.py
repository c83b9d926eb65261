"""Training loop (torch): single process, or DDP on gloo under ``torchrun``.

Under ``torchrun --nproc_per_node=W`` every rank builds the same seeded data set and trains on
its own shard of each epoch's permutation (equal batch counts, so no rank waits forever);
gradients are averaged by DDP. Rank 0 alone validates, logs, plots and exports; its stop
decision is broadcast so all ranks leave the loop together.

Validation is in task space: decode all K hypotheses, FK them, keep the best per target and
report median/p90 position (mm) and rotation (deg) errors, full-pose and position-only.

Time limit: the whole run (data, training, export and result card) is to fit
``time_limit`` minutes from ``started``; training stops ``reserve_s`` before the limit,
keeping the best weights, and the cosine schedule follows the clock when that is ahead of the
step count. Progress: one line per epoch with the elapsed and the estimated remaining time
(bounded by the limit).

Checkpoints: after every epoch rank 0 writes ``<log_dir>/checkpoint.pt`` (model, optimiser,
scheduler, epoch, best weights, log rows, configuration, time used), atomically (a temporary
file renamed over it). :func:`train` with ``resume=`` continues from one;
:func:`model_from_checkpoint` rebuilds the best weights for an export.
"""
from __future__ import annotations

import copy
import csv
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .. import encoding
from . import network
from .dataset import DEFAULT_REDUNDANCY, best_hypothesis, load_dataset, make_dataset

VAL_SEED_OFFSET = 1_000_003
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


@dataclass
class TrainConfig:
    arch: str = "wta"
    K: int = 4
    hidden: tuple = (128, 128, 128)
    activation: str = "silu"
    samples: int = 200_000
    val_samples: int = 4096
    position_only_fraction: float = 0.25
    epochs: int = 20
    batch: int = 1024
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: float = 0.03          # fraction of all steps with linear LR warm-up
    final_lr_fraction: float = 0.01  # cosine decay down to lr · this
    eps: float = 0.05             # relaxed-WTA weight on the non-winning hypotheses
    lever: float = 0.0            # >0: weight joint errors by their task effect (see network)
    detach_others: bool = False   # True: ε term trains the heads only (tried: worse on rrr_full)
    patience: int = 8             # epochs without validation improvement before stopping
                                  # (counted once half of the LR schedule has passed)
    time_limit: float = 0.0       # minutes for the whole run; 0 = none. When set, the LR
                                  # schedule follows the clock if that is ahead of the step
                                  # count, and training ends (best weights kept) reserve_s
                                  # before the limit
    reserve_s: float = 20.0       # seconds kept at the end for export (and the result card)
    finish_s: float = 5.0         # expected seconds for export and card (for the ETA only)
    redundancy: str = DEFAULT_REDUNDANCY  # 1-D self-motion in the labels: see dataset
    seed: int = 0
    threads: int = 0              # torch intra-op threads; 0 = torch's default (1 under DDP)
    dataset: str = ""             # .npz to load (if it exists) or save
    log_dir: str = ""
    quiet: bool = False
    extra: dict = field(default_factory=dict)


def dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def evaluate(model, arm, val, lt, batch: int = 8192):
    """Task-space metrics of the best hypothesis on a validation set (with poses)."""
    model.eval()
    X = torch.from_numpy(val.features)
    Y = torch.from_numpy(val.targets)
    raws, losses = [], []
    with torch.no_grad():
        for i in range(0, len(val), batch):
            raw = model(X[i:i + batch])
            loss, _ = network.wta_loss(raw, Y[i:i + batch], lt, eps=0.0)
            raws.append(raw.numpy())
            losses.append(float(loss) * raw.shape[0])
    model.train()
    raw = np.concatenate(raws)
    q = encoding.decode(raw, arm, phi=encoding.azimuth(val.T, arm))
    _, pos, rot = best_hypothesis(arm, q, val.T, val.position_only)
    full = ~val.position_only
    m = {"val_loss": sum(losses) / len(val)}
    for tag, sel in (("", full), ("po_", val.position_only)):
        if sel.any():
            m[f"{tag}pos_med_mm"] = float(np.median(pos[sel]) * 1e3)
            m[f"{tag}pos_p90_mm"] = float(np.percentile(pos[sel], 90) * 1e3)
            if not tag:
                m["rot_med_deg"] = float(np.degrees(np.median(rot[sel])))
                m["rot_p90_deg"] = float(np.degrees(np.percentile(rot[sel], 90)))
    # Early-stopping score: dimensionless medians (position over reach, rotation in rad).
    score = m.get("pos_med_mm", 0) * 1e-3 / arm.reach + math.radians(m.get("rot_med_deg", 0))
    score += m.get("po_pos_med_mm", 0) * 1e-3 / arm.reach
    m["score"] = score
    return m


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] for r in rows]

    def curve(a, key, *fmt, **kw):
        if key in rows[0]:
            a.semilogy(ep, [r[key] for r in rows], *fmt, **kw)

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    curve(ax[0], "train_loss", label="train (relaxed WTA)")
    curve(ax[0], "val_loss", label="validation (best hypothesis)")
    ax[0].set_title("loss ≈ Σ w·Δq² (rad²)")
    curve(ax[1], "pos_med_mm", label="full pose, median")
    curve(ax[1], "pos_p90_mm", "--", label="full pose, p90")
    curve(ax[1], "po_pos_med_mm", label="position only, median")
    curve(ax[1], "po_pos_p90_mm", "--", label="position only, p90")
    ax[1].set_title("best-hypothesis position error (mm)")
    curve(ax[2], "rot_med_deg", label="median")
    curve(ax[2], "rot_p90_deg", "--", label="p90")
    ax[2].set_title("best-hypothesis rotation error (deg)")
    for a in ax:
        a.set_xlabel("epoch")
        a.grid(True, which="both", alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fmt_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``)."""
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def config_from_dict(d: dict) -> TrainConfig:
    """A :class:`TrainConfig` from its ``asdict`` (unknown keys ignored: older checkpoints)."""
    names = {f.name for f in fields(TrainConfig)}
    d = {k: v for k, v in d.items() if k in names}
    if "hidden" in d:
        d["hidden"] = tuple(d["hidden"])
    return TrainConfig(**d)


def checkpoint_path(path) -> Path:
    """``path`` itself if it is a file, else ``path/checkpoint.pt`` (a log directory)."""
    p = Path(path)
    return p if p.is_file() or p.suffix == ".pt" else p / CHECKPOINT


def load_checkpoint(path) -> dict:
    """The checkpoint at ``path`` (a file or a log directory); a clear error if there is none."""
    p = checkpoint_path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no checkpoint (expected a log directory of "
                                f"'ik-nn train' or its {CHECKPOINT})")
    ckpt = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{p}: not an ik-nn training checkpoint (format "
                         f"{ckpt.get('format') if isinstance(ckpt, dict) else '?'})")
    ckpt["path"] = str(p)
    return ckpt


def save_checkpoint(path: Path, state: dict):
    """Write ``state`` to ``path`` atomically: a temporary file, flushed, renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def model_from_checkpoint(ckpt: dict, arm, which: str = "best"):
    """(model in eval mode with the checkpoint's best (or last) weights, its TrainConfig)."""
    cfg = config_from_dict(ckpt["config"])
    model = network.build(cfg.arch, arm, cfg.K, cfg.hidden, cfg.activation)
    state = ckpt.get("best_state") if which == "best" else None
    model.load_state_dict(state if state is not None else ckpt["model"])
    return model.eval(), cfg


def _say(text: str):
    print(text, flush=True)
    sys.stdout.flush()


def train(arm, cfg: TrainConfig, command: str = "", started: float | None = None,
          resume: dict | None = None, run_info: dict | None = None):
    """Train; returns (model on CPU, eval mode, unwrapped; summary dict) on every rank.

    ``started``: ``time.perf_counter()`` when the run began (default: now); the time limit
    counts from there. ``resume``: a checkpoint (:func:`load_checkpoint`) to continue from:
    its weights, optimiser, scheduler, epoch, best weights and log rows; its time used counts
    against the limit. ``run_info``: how to load the arm again, the output path and the like
    (stored in checkpoints, for ``--resume`` and ``--export-only``).
    """
    rank, world = dist_info()
    distributed = world > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("gloo")
    torch.set_num_threads(cfg.threads or (1 if distributed else torch.get_num_threads()))
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    t0 = time.perf_counter() if started is None else started
    used_before = float(resume.get("elapsed_s", 0.0)) if resume else 0.0
    show = rank == 0 and not cfg.quiet

    def elapsed():  # time this run has used, earlier segments included
        return used_before + time.perf_counter() - t0

    if cfg.dataset and Path(cfg.dataset).is_file():
        ds = load_dataset(cfg.dataset, arm, cfg.redundancy)
    else:
        ds = make_dataset(arm, cfg.samples, cfg.seed, cfg.position_only_fraction,
                          redundancy=cfg.redundancy)
        if cfg.dataset and rank == 0:
            Path(cfg.dataset).parent.mkdir(parents=True, exist_ok=True)
            ds.save(cfg.dataset)
    val = make_dataset(arm, cfg.val_samples, cfg.seed + VAL_SEED_OFFSET,
                       cfg.position_only_fraction, keep_poses=True, redundancy=cfg.redundancy)
    X = torch.from_numpy(ds.features)
    Y = torch.from_numpy(ds.targets)
    n = X.shape[0]
    t_data = time.perf_counter() - t0

    model = network.build(cfg.arch, arm, cfg.K, cfg.hidden, cfg.activation)
    K = model.K
    lt = network.LayoutTensors(arm, cfg.lever)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    opt = torch.optim.AdamW(ddp.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    batch = max(1, min(cfg.batch, n // world))
    steps = max(1, (n // world) // batch)
    total = steps * cfg.epochs
    warm = max(1, int(cfg.warmup * total))

    # Progress in [0, 1]: by steps, or by the clock when a time limit is set and the machine
    # is slower than planned (so the cosine still anneals before the deadline).
    clock = {"frac": 0.0}
    deadline = max(1.0, cfg.time_limit * 60.0 - cfg.reserve_s) if cfg.time_limit else 0.0

    def lr_factor(step):
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, max((step - warm) / max(1, total - warm), clock["frac"]))
        return (cfg.final_lr_fraction
                + (1 - cfg.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * t)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)

    def progress():
        return max(sched.last_epoch / max(1, total), clock["frac"])
    eps = cfg.eps if K > 1 else 0.0

    rows, best, best_state, best_epoch, bad = [], math.inf, None, -1, 0
    first_epoch = 0
    if resume:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        sched.lr_lambdas[0] = lr_factor  # the schedule's function is not in its state
        rows = list(resume.get("rows", []))
        best = float(resume.get("best_score", math.inf))
        best_state = resume.get("best_state")
        best_epoch = int(resume.get("best_epoch", -1))
        bad = int(resume.get("bad", 0))
        first_epoch = int(resume["epoch"])
        if deadline:
            clock["frac"] = elapsed() / deadline

    log_dir = Path(cfg.log_dir) if cfg.log_dir else None
    csv_file = writer = None
    ckpt_path = None
    if rank == 0 and log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            (log_dir / "command.txt").write_text(command + "\n")
        else:
            with open(log_dir / "command.txt", "a") as fh:
                fh.write(f"# resumed at epoch {first_epoch}\n")
        csv_file = open(log_dir / "log.csv", "w", newline="")
        ckpt_path = log_dir / CHECKPOINT
        if rows:
            writer = csv.DictWriter(csv_file, fieldnames=list(rows[0]), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            csv_file.flush()

    def checkpoint(epoch_done: int, finished: bool):
        if ckpt_path is None:
            return
        save_checkpoint(ckpt_path, {
            "format": CHECKPOINT_FORMAT, "epoch": epoch_done, "finished": finished,
            "config": {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in asdict(cfg).items() if k != "extra"},
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "best_state": best_state, "best_score": best,
            "best_epoch": best_epoch, "bad": bad, "rows": rows, "elapsed_s": elapsed(),
            "command": command, "run": dict(run_info or {}, name=arm.name,
                                            dh_hash=arm.dh_hash)})

    limit_s = cfg.time_limit * 60.0
    if show:
        left = f", limit {fmt_duration(limit_s)}" if limit_s else ""
        start = f"resuming after epoch {first_epoch}, " if resume else ""
        _say(f"train {arm.name}: {start}{n:,} samples ready in {t_data:.1f} s, "
             f"{cfg.epochs} epochs of {steps} steps{left}")
    stop_t = torch.zeros(1)
    clock_t = torch.zeros(1)
    epoch = first_epoch - 1
    loop_start, epochs_here = time.perf_counter(), 0
    stopped_by = "epochs"
    if first_epoch >= cfg.epochs or (deadline and clock["frac"] >= 1.0):
        stopped_by = "epochs" if first_epoch >= cfg.epochs else "time limit"
    for epoch in range(first_epoch, cfg.epochs):
        if deadline and clock["frac"] >= 1.0:
            stopped_by = "time limit"
            epoch -= 1
            break
        g = torch.Generator().manual_seed(cfg.seed * 7919 + epoch)
        shard = torch.randperm(n, generator=g)[rank::world][: steps * batch]
        run, done = 0.0, 0
        ddp.train()
        for b in range(steps):
            idx = shard[b * batch:(b + 1) * batch]
            if cfg.detach_others and eps > 0:
                raw, raw_det = ddp(X[idx], True)
                loss, _ = network.wta_loss(raw, Y[idx], lt, eps, raw_det)
            else:
                loss, _ = network.wta_loss(ddp(X[idx]), Y[idx], lt, eps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run += float(loss.detach())
            done = b + 1
            if deadline:
                clock_t[0] = elapsed() / deadline
                if distributed:  # rank 0's clock decides, so all ranks agree
                    dist.broadcast(clock_t, 0)
                clock["frac"] = float(clock_t[0])
                if clock["frac"] >= 1.0:
                    break
        run_steps = max(1, done)
        epochs_here += 1
        if rank == 0:
            m = evaluate(model, arm, val, lt)
            row = {"epoch": epoch + 1, "lr": opt.param_groups[0]["lr"],
                   "train_loss": run / run_steps, **m, "elapsed_s": elapsed()}
            rows.append(row)
            if m["score"] < best:
                best, best_state, best_epoch, bad = (
                    m["score"], copy.deepcopy(model.state_dict()), epoch + 1, 0)
            elif progress() >= 0.5:  # armed in the second half: at a high LR, noise is no verdict
                bad += 1
            if csv_file:
                if writer is None:
                    writer = csv.DictWriter(csv_file, fieldnames=list(row),
                                            extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(row)
                csv_file.flush()
            stop = bad >= cfg.patience or clock["frac"] >= 1.0
            if bad >= cfg.patience:
                stopped_by = "early stopping"
            elif clock["frac"] >= 1.0:
                stopped_by = "time limit"
            checkpoint(epoch + 1, stop or epoch + 1 >= cfg.epochs)
            if show:
                now = elapsed()
                per = (time.perf_counter() - loop_start) / epochs_here
                left_train = per * (cfg.epochs - epoch - 1) if not stop else 0.0
                if deadline:
                    left_train = min(left_train, max(0.0, deadline - now))
                left = left_train + cfg.finish_s
                if limit_s:
                    left = min(left, max(0.0, limit_s - now))
                pos = m.get("pos_med_mm", m.get("po_pos_med_mm", float("nan")))
                _say(f"epoch {epoch + 1}/{cfg.epochs}  loss {row['train_loss']:.3e}  "
                     f"val {pos:.3f} mm {m.get('rot_med_deg', float('nan')):.3f} deg "
                     f"(best epoch {best_epoch})  elapsed {fmt_duration(now)}  "
                     f"ETA ~{fmt_duration(left)}"
                     + (f" (limit {fmt_duration(limit_s)})" if limit_s else ""))
            stop_t[0] = 1.0 if stop else 0.0
        if distributed:
            dist.broadcast(stop_t, 0)
        if stop_t[0] > 0:
            break
    if csv_file:
        csv_file.close()
    train_time = elapsed()

    summary = {"arm": arm.name, "arch": cfg.arch, "K": K, "hidden": list(model.hidden),
               "activation": model.activation,
               "params": sum(p.numel() for p in model.parameters()),
               "world_size": world, "epochs_run": epoch + 1, "best_epoch": best_epoch,
               "stopped_by": stopped_by,
               "train_time_s": round(train_time, 1), "data_time_s": round(t_data, 1),
               "samples": n, "resumed_from_epoch": first_epoch if resume else None,
               "checkpoint": str(ckpt_path) if ckpt_path else None,
               "config": {k: v for k, v in asdict(cfg).items() if k != "extra"}}
    if rank == 0:
        if best_state is not None:
            model.load_state_dict(best_state)
        final = evaluate(model, arm, val, lt)
        summary["validation"] = {k: round(v, 5) for k, v in final.items()}
        if log_dir and rows:
            _plot(rows, log_dir / "curves.png")
    model.eval()
    return model, summary
