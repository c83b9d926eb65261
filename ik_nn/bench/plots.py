"""The bench's plots: error histograms, latency CDFs and the arm at solved targets (PNG).

They are drawn from the per-target arrays :func:`ik_nn.bench.methods.compare` keeps under
``"_raw"`` in each row; matplotlib (Agg) is imported only when plots are drawn.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .methods import COMPARE, LABELS
from .targets import make_targets

PLOTS = ("errors.png", "latency.png", "arms.png")
_PALETTE = ("#1f77b4", "#17becf", "#aec7e8", "#2ca02c", "#ff7f0e", "#ffbb78", "#d62728",
            "#9467bd")
COLORS = {m: _PALETTE[i % len(_PALETTE)] for i, m in enumerate(COMPARE)}


def stick_figures(arm, q):
    """Return the stick figures of configurations q (k, dof) radians: (k, dof + 2, 3) metres.

    Each figure is the base origin, every joint's origin (a point on its axis), then the tool
    point, in the base frame.
    """
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    base = np.broadcast_to(arm.base[:3, 3], (q.shape[0], 1, 3))
    tool = arm.fk(q)[:, None, :3, 3]
    return np.concatenate([base, arm.joint_origins(q), tool], axis=1)


def error_histograms(plt, results, path, dpi):
    """Draw per-arm histograms of log10 position and rotation error of every method."""
    arms = list(results)
    na = len(arms)
    fig, ax = plt.subplots(2, na, figsize=(3.6 * na, 5.4), squeeze=False)
    bins = np.linspace(-17, 0, 69)
    for j, arm in enumerate(arms):
        for i, (key, unit) in enumerate((("pos_err", "m"), ("rot_err", "rad"))):
            a = ax[i, j]
            for m, r in results[arm]["rows"].items():
                e = np.clip(r["_raw"][key], 1e-17, 1.0)
                a.hist(np.log10(e), bins=bins, histtype="step", color=COLORS[m],
                       label=LABELS[m], density=True)
            a.axvline(-6, color="k", lw=0.6, ls="--")
            a.set_xlabel(f"log10 {key.split('_')[0]} error ({unit})")
            a.set_yticks([])
            if i == 0:
                a.set_title(arm)
    ax[0, 0].legend(fontsize=6, loc="upper left")
    fig.suptitle("Task-space error per target (dashed: 1e-6 success threshold)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def latency_cdfs(plt, results, path, dpi):
    """Draw per-arm cumulative distributions of every method's single-query latency."""
    arms = list(results)
    na = len(arms)
    fig, ax = plt.subplots(1, na, figsize=(3.6 * na, 3.2), squeeze=False)
    for j, arm in enumerate(arms):
        a = ax[0, j]
        for m, r in results[arm]["rows"].items():
            lat = np.sort(r["_raw"]["latency_s"]) * 1e6
            a.plot(lat, np.arange(1, lat.size + 1) / lat.size, color=COLORS[m], label=LABELS[m])
        a.set_xscale("log")
        a.set_xlabel("single-query latency (µs)")
        a.set_title(arm)
        a.grid(alpha=0.3)
    ax[0, 0].set_ylabel("fraction of queries")
    ax[0, 0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def arms_at_targets(plt, results, loaded, path, dpi, per_arm=3):
    """Draw each arm at its first ``per_arm`` solved targets (ik_nn NN + refine's answers).

    ``loaded``: {label: Arm} the run measured.
    """
    arms = list(results)
    na = len(arms)
    fig = plt.figure(figsize=(3.6 * na, 3.6))
    for j, name in enumerate(arms):
        a = fig.add_subplot(1, na, j + 1, projection="3d")
        rows = results[name]["rows"]
        method = "nn_refine" if "nn_refine" in rows else next(iter(rows), None)
        if method is None:
            continue
        arm = loaded[name]
        raw = rows[method]["_raw"]
        solved = np.flatnonzero(raw["strict"])[:per_arm]
        if solved.size:
            _, T = make_targets(arm, int(solved.max()) + 1)  # the run's targets, same seed
            figures = stick_figures(arm, raw["q"][solved])
            for k, (idx, pts) in enumerate(zip(solved, figures)):
                a.plot(*pts.T, "-o", color=f"C{k}", ms=3, lw=2)
                a.scatter(*T[idx, :3, 3], marker="*", s=80, color=f"C{k}", edgecolor="k")
            P = figures.reshape(-1, 3)
            mid, half = P.mean(axis=0), max(np.ptp(P, axis=0).max() / 2, 1e-3)
            a.set_xlim(mid[0] - half, mid[0] + half)
            a.set_ylim(mid[1] - half, mid[1] + half)
            a.set_zlim(mid[2] - half, mid[2] + half)
        a.set_title(f"{name}: {LABELS[method]}", fontsize=8)
        a.tick_params(labelsize=6)
    fig.suptitle("Solved targets (stars) and the arm reaching them", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plots(results, loaded, outdir, dpi=80):
    """Write errors.png, latency.png and arms.png into outdir; return their file names.

    results: what :func:`ik_nn.bench.methods.compare` returned (rows with ``"_raw"``);
    loaded: {label: Arm} it ran on.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    errors, latency, arms = PLOTS
    error_histograms(plt, results, outdir / errors, dpi)
    latency_cdfs(plt, results, outdir / latency, dpi)
    arms_at_targets(plt, results, loaded, outdir / arms, dpi)
    return list(PLOTS)
