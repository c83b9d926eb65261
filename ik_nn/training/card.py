"""The result card of a training run: what the exported network does for the solver.

Measured on fresh FK-made targets (configurations drawn uniformly inside the limits from a
seed no training or validation set used, full 6-D poses):

* network alone: the best-ranked hypothesis as is (``IKSolver(arm, model, refine=False)``),
  median and p90 position (mm) and rotation (deg) error;
* basin rate: share of targets solved to 1e-6 m / 1e-6 rad by refining only the network's
  hypotheses (``IKSolver(arm, model, max_restarts=0, network_first=True)``);
* NN + refine success: the default solver with this network (restarts included);
* single-query latency p50/p99 of ``IKSolver(arm, model=out)`` against
  ``IKSolver(arm, model=None)``, one target at a time, the two timed interleaved (alternating
  which goes first) so that load changes hit both alike; the ratio is no-network over
  network (> 1: the network is faster), with 90 % paired-bootstrap intervals (how much of
  a ratio is the sample of queries; the verdict says when an interval spans the 5 % band).
  Each solver's success on those queries too;
* the machine's load average before and after (``os.getloadavg``).

onnxruntime and the solver only (no torch): ``ik-nn train --export-only`` and the test run it.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from ..bench.report import SAME_SPEED

CARD_SEED_OFFSET = 2_000_029   # targets from seed + this: neither training nor validation
# 10,000 targets resolve a basin rate to 0.01 % (99.9 % = 10 misses); 5,000 single queries
# put the p99 on its 50 slowest (1,000 left it on 10: ratios moved ±10 % between runs)
CARD_TARGETS, CARD_LATENCY = 10_000, 5_000


def card_path(onnx_path) -> Path:
    """``<model>.card.json`` next to the ONNX file."""
    p = Path(onnx_path)
    return p.with_name(p.stem + ".card.json")


def _pct(x, q):
    return float(np.percentile(x, q)) if len(x) else float("nan")


def ratio_interval(t_plain, t_nn, q, seed: int = 0, resamples: int = 400,
                   level: float = 0.9) -> list:
    """[low, high]: a ``level`` bootstrap interval of percentile(t_plain, q) / percentile(t_nn, q).

    The two timings are paired (query i is the same target for both), so the queries are
    resampled together; the interval says how much of a ratio is the sample of queries.
    """
    t_plain, t_nn = np.asarray(t_plain), np.asarray(t_nn)
    idx = np.random.default_rng(seed).integers(0, len(t_nn), (resamples, len(t_nn)))
    r = (np.percentile(t_plain[idx], q, axis=1)
         / np.maximum(np.percentile(t_nn[idx], q, axis=1), 1e-12))
    tail = 50.0 * (1.0 - level)
    return [float(np.percentile(r, tail)), float(np.percentile(r, 100.0 - tail))]


def make_card(arm, onnx_path, targets: int = CARD_TARGETS, latency_targets: int = CARD_LATENCY,
              seed: int = 0, extra: dict | None = None) -> dict:
    """Measure the card (see the module doc); ``extra`` is stored with it (run facts)."""
    from ..solver import IKSolver

    load_before = os.getloadavg()
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed + CARD_SEED_OFFSET)
    n = max(1, int(targets))
    T = np.ascontiguousarray(arm.fk(arm.random_q(n, rng)))
    nn_only = IKSolver(arm, model=onnx_path, refine=False)
    r = nn_only.solve(T)
    basin = IKSolver(arm, model=onnx_path, max_restarts=0, network_first=True).solve(T)
    solver = IKSolver(arm, model=onnx_path)
    full = solver.solve(T)
    card = {
        "arm": arm.name, "model": str(onnx_path), "K": int(nn_only.seeder.K),
        "targets": n, "target_seed": seed + CARD_SEED_OFFSET,
        "network_alone": {
            "pos_median_mm": float(np.median(r.pos_err) * 1e3),
            "pos_p90_mm": _pct(r.pos_err * 1e3, 90),
            "rot_median_deg": float(np.degrees(np.median(r.rot_err))),
            "rot_p90_deg": float(np.degrees(_pct(r.rot_err, 90))),
        },
        "basin_rate": float(basin.success.mean()),
        "basin_iterations_mean": float(basin.iterations.mean()),
        "nn_refine_success": float(full.success.mean()),
        "tolerance": {"pos_m": solver.pos_tol, "rot_rad": solver.rot_tol},
    }
    m = min(n, max(0, int(latency_targets)))
    if m:
        plain = IKSolver(arm, model=None)
        for i in range(min(m, 20)):  # warm both (onnxruntime's first calls, caches)
            solver.solve(T[i])
            plain.solve(T[i])
        t_nn, t_plain = np.empty(m), np.empty(m)
        ok_nn, ok_plain = np.empty(m, bool), np.empty(m, bool)
        clock = time.perf_counter
        for i in range(m):
            # alternate which solver goes first, so that neither always runs on a warm cache
            pair = ((solver, t_nn, ok_nn), (plain, t_plain, ok_plain))
            for s, times, ok in (pair if i % 2 == 0 else pair[::-1]):
                a = clock()
                r = s.solve(T[i])
                times[i] = clock() - a
                ok[i] = bool(r.success[0])
        us = 1e6
        card["latency"] = {
            "queries": m, "interleaved": True,
            "nn_p50_us": _pct(t_nn, 50) * us, "nn_p99_us": _pct(t_nn, 99) * us,
            "no_network_p50_us": _pct(t_plain, 50) * us,
            "no_network_p99_us": _pct(t_plain, 99) * us,
            "ratio_p50": _pct(t_plain, 50) / max(_pct(t_nn, 50), 1e-12),
            "ratio_p99": _pct(t_plain, 99) / max(_pct(t_nn, 99), 1e-12),
            "nn_success": float(ok_nn.mean()), "no_network_success": float(ok_plain.mean()),
            "ratio_p50_interval": ratio_interval(t_plain, t_nn, 50),
            "ratio_p99_interval": ratio_interval(t_plain, t_nn, 99),
        }
        lat = card["latency"]
        # within SAME_SPEED (the noise between identical solvers) or better, at p50 and p99
        lat["pays_for_itself"] = bool(lat["ratio_p50"] * SAME_SPEED >= 1.0
                                      and lat["ratio_p99"] * SAME_SPEED >= 1.0)
    card["machine"] = {
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
    }
    card["card_time_s"] = round(time.perf_counter() - t_start, 1)
    if extra:
        card["run"] = extra
    return card


def format_card(card: dict) -> str:
    na = card["network_alone"]
    lines = [
        f"result card: {card['arm']} ({card['model']}, K={card['K']}), "
        f"{card['targets']:,} fresh FK targets (seed {card['target_seed']})",
        f"  network alone:  position median {na['pos_median_mm']:.3f} mm (p90 "
        f"{na['pos_p90_mm']:.3f}), rotation median {na['rot_median_deg']:.3f} deg (p90 "
        f"{na['rot_p90_deg']:.3f})",
        f"  basin rate:     {card['basin_rate'] * 100:.2f} % solved to 1e-6 m / 1e-6 rad "
        f"from the network's hypotheses alone (max_restarts=0; "
        f"{card.get('basin_iterations_mean', float('nan')):.1f} LM iterations per target)",
        f"  NN + refine:    {card['nn_refine_success'] * 100:.2f} % success (default solver)",
    ]
    lat = card.get("latency")
    if lat:
        lines.append(
            f"  single query:   with network p50 {lat['nn_p50_us']:.0f} us / p99 "
            f"{lat['nn_p99_us']:.0f} us ({lat['nn_success'] * 100:.1f} % ok); without p50 "
            f"{lat['no_network_p50_us']:.0f} us / p99 {lat['no_network_p99_us']:.0f} us "
            f"({lat['no_network_success'] * 100:.1f} % ok); ratio {lat['ratio_p50']:.2f}x "
            f"p50, {lat['ratio_p99']:.2f}x p99 ({lat['queries']} interleaved queries)")
        if "ratio_p99_interval" in lat:
            lo50, hi50 = lat["ratio_p50_interval"]
            lo99, hi99 = lat["ratio_p99_interval"]
            lines.append(f"  how firm:       90 % bootstrap intervals of the ratios: p50 "
                         f"{lo50:.2f}-{hi50:.2f}x, p99 {lo99:.2f}-{hi99:.2f}x")
        if "pays_for_itself" in lat:
            band = 1.0 / SAME_SPEED
            firm = all(not (lat[f"ratio_{q}_interval"][0] < band <= lat[f"ratio_{q}_interval"][1])
                       for q in ("p50", "p99") if f"ratio_{q}_interval" in lat)
            lines.append(
                "  verdict:        the network pays for itself on this arm (p50 and p99 within "
                f"{SAME_SPEED - 1:.0%} of the no-network solver's, or better)"
                if lat["pays_for_itself"] else
                "  verdict:        the network does NOT pay for itself on this arm at "
                + " and ".join(q for q in ("p50", "p99") if lat[f"ratio_{q}"] * SAME_SPEED < 1)
                + f" (more than {SAME_SPEED - 1:.0%} slower than without it): weigh it against "
                "model=None; a network helps where the mid-limits start often fails")
            if not firm:
                lines.append("                  (not firm: a ratio's interval spans the "
                             f"{SAME_SPEED - 1:.0%} band, so another run may say otherwise)")
    mach = card["machine"]
    lines.append(f"  machine:        load average {mach['loadavg_before'][0]:.2f} before, "
                 f"{mach['loadavg_after'][0]:.2f} after ({mach['cpus']} cpus); card took "
                 f"{card['card_time_s']:.1f} s")
    return "\n".join(lines)


def write_card(card: dict, onnx_path) -> Path:
    path = card_path(onnx_path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp, path)
    return path
