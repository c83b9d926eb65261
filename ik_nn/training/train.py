"""Training loop (torch): single process, or DDP on gloo under ``torchrun``.

Under ``torchrun --nproc_per_node=W`` every rank builds the same seeded data set and trains on
its own shard of each epoch's permutation (equal batch counts, so no rank waits forever);
gradients are averaged by DDP. Rank 0 alone validates, logs, plots and exports; its stop
decision is broadcast so all ranks leave the loop together.

Validation is in task space: decode all K hypotheses, FK them, keep the best per target and
report median/p90 position (mm) and rotation (deg) errors, full-pose and position-only.
"""
from __future__ import annotations

import copy
import csv
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .. import encoding
from . import network
from .dataset import best_hypothesis, load_dataset, make_dataset

VAL_SEED_OFFSET = 1_000_003


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
    time_limit: float = 0.0       # minutes; 0 = none. When set, the LR schedule follows the
                                  # clock if that is ahead of the step count, and training ends
                                  # (best weights kept) 20 s before the limit
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


def train(arm, cfg: TrainConfig, command: str = ""):
    """Train; returns (model on CPU, eval mode, unwrapped; summary dict) on every rank."""
    rank, world = dist_info()
    distributed = world > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("gloo")
    torch.set_num_threads(cfg.threads or (1 if distributed else torch.get_num_threads()))
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    t0 = time.perf_counter()
    show = rank == 0 and not cfg.quiet

    if cfg.dataset and Path(cfg.dataset).is_file():
        ds = load_dataset(cfg.dataset, arm)
    else:
        ds = make_dataset(arm, cfg.samples, cfg.seed, cfg.position_only_fraction)
        if cfg.dataset and rank == 0:
            Path(cfg.dataset).parent.mkdir(parents=True, exist_ok=True)
            ds.save(cfg.dataset)
    val = make_dataset(arm, cfg.val_samples, cfg.seed + VAL_SEED_OFFSET,
                       cfg.position_only_fraction, keep_poses=True)
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
    deadline = cfg.time_limit * 60.0 - 20.0 if cfg.time_limit else 0.0  # keep 20 s to export

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

    log_dir = Path(cfg.log_dir) if cfg.log_dir else None
    csv_file = writer = None
    if rank == 0 and log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "command.txt").write_text(command + "\n")
        csv_file = open(log_dir / "log.csv", "w", newline="")

    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=cfg.epochs, desc=f"train {arm.name}", unit="epoch", dynamic_ncols=True)
    rows, best, best_state, best_epoch, bad = [], math.inf, None, -1, 0
    stop_t = torch.zeros(1)
    clock_t = torch.zeros(1)
    epoch = 0
    for epoch in range(cfg.epochs):
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
                clock_t[0] = (time.perf_counter() - t0) / deadline
                if distributed:  # rank 0's clock decides, so all ranks agree
                    dist.broadcast(clock_t, 0)
                clock["frac"] = float(clock_t[0])
                if clock["frac"] >= 1.0:
                    break
        run_steps = max(1, done)
        if rank == 0:
            m = evaluate(model, arm, val, lt)
            row = {"epoch": epoch + 1, "lr": opt.param_groups[0]["lr"],
                   "train_loss": run / run_steps, **m, "elapsed_s": time.perf_counter() - t0}
            rows.append(row)
            if m["score"] < best:
                best, best_state, best_epoch, bad = (
                    m["score"], copy.deepcopy(model.state_dict()), epoch + 1, 0)
            elif progress() >= 0.5:  # armed in the second half: at a high LR, noise is no verdict
                bad += 1
            if csv_file:
                if writer is None:
                    writer = csv.DictWriter(csv_file, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                csv_file.flush()
            if bar:
                bar.set_postfix(loss=f"{row['train_loss']:.2e}", mm=f"{m['pos_med_mm']:.2f}",
                                deg=f"{m['rot_med_deg']:.2f}", best=best_epoch)
                bar.update(1)
            stop_t[0] = 1.0 if (bad >= cfg.patience or clock["frac"] >= 1.0) else 0.0
        if distributed:
            dist.broadcast(stop_t, 0)
        if stop_t[0] > 0:
            break
    if bar:
        bar.close()
    if csv_file:
        csv_file.close()
    train_time = time.perf_counter() - t0

    summary = {"arm": arm.name, "arch": cfg.arch, "K": K, "hidden": list(model.hidden),
               "activation": model.activation,
               "params": sum(p.numel() for p in model.parameters()),
               "world_size": world, "epochs_run": epoch + 1, "best_epoch": best_epoch,
               "train_time_s": round(train_time, 1), "data_time_s": round(t_data, 1),
               "samples": n, "config": {k: v for k, v in asdict(cfg).items() if k != "extra"}}
    if rank == 0:
        if best_state is not None:
            model.load_state_dict(best_state)
        final = evaluate(model, arm, val, lt)
        summary["validation"] = {k: round(v, 5) for k, v in final.items()}
        if log_dir and rows:
            _plot(rows, log_dir / "curves.png")
    model.eval()
    return model, summary
