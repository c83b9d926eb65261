"""``ik-nn bench``: success, task-space accuracy and latency on FK-made targets.

Targets are FK of configurations drawn uniformly inside the limits from a seed that no model
was trained on (:data:`BENCH_SEED`), so every target is reachable and its answer is known to
exist. Success is judged in task space only (position metres, rotation radians), never by
comparing joint angles.

Modes:
* ``--solver-only``: the LM refiner from seeds perturbed by ``--perturb`` rad (no network).
* ``--ros``: end-to-end PoseStamped → JointState latency between processes (ik_nn.bench_ros).
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import time
from datetime import datetime, timezone

import numpy as np

from .arm import BUNDLED_ARMS, load_arm

BENCH_SEED = 20261124  # unseen by training (training seeds are small integers)


def make_targets(arm, n, seed=BENCH_SEED):
    """q (n, dof) uniform inside the limits and their FK poses T (n, 4, 4)."""
    q = arm.random_q(n, np.random.default_rng(seed))
    return q, arm.fk(q)


def perturbed(arm, q, radius, seed=BENCH_SEED + 1):
    """q plus uniform noise in [-radius, radius] per joint, clipped into the limits."""
    noise = np.random.default_rng(seed).uniform(-radius, radius, q.shape)
    return np.clip(q + noise, arm.lower, arm.upper)


def single_query_latency(solve, T, seeds=None):
    """Seconds per call of ``solve(T[i], seed[i])`` (n,) and the per-call results."""
    n = T.shape[0]
    lat = np.empty(n)
    results = []
    for i in range(n):
        s = None if seeds is None else seeds[i]
        t0 = time.perf_counter()
        r = solve(T[i], s)
        lat[i] = time.perf_counter() - t0
        results.append(r)
    return lat, results


def summarize(arm, T, res, lat=None, batch_seconds=None):
    """A row of numbers for one method on one arm (errors in m and rad)."""
    within = bool(arm.within_limits(res.q, tol=1e-12).all())
    row = {
        "targets": int(T.shape[0]),
        "success": float(res.success.mean()),
        "failures": int((~res.success).sum()),
        "within_limits": within,
        "pos_err_median": float(np.median(res.pos_err)),
        "pos_err_p99": float(np.percentile(res.pos_err, 99)),
        "rot_err_median": float(np.median(res.rot_err)),
        "rot_err_p99": float(np.percentile(res.rot_err, 99)),
        "iterations_median": float(np.median(res.iterations)),
    }
    if lat is not None:
        row["latency_p50_us"] = float(np.percentile(lat, 50) * 1e6)
        row["latency_p99_us"] = float(np.percentile(lat, 99) * 1e6)
    if batch_seconds is not None:
        row["batch_solves_per_s"] = float(T.shape[0] / batch_seconds)
    return row


def stack_results(results):
    """Concatenate single-query IKResults into one."""
    from .solver import IKResult

    return IKResult(*(np.concatenate([getattr(r, f) for r in results])
                      for f in ("q", "success", "pos_err", "rot_err", "iterations")))


def bench_solver_only(arms, n, perturb):
    from .solver import IKSolver

    rows = {}
    for name in arms:
        arm = load_arm(name)
        q, T = make_targets(arm, n)
        seeds = perturbed(arm, q, perturb)
        solver = IKSolver(arm, model=None)
        solver.solve(T[:2], seeds[:2])  # compile / load caches before timing
        t0 = time.perf_counter()
        solver.solve(T, seeds)
        batch = time.perf_counter() - t0
        lat, results = single_query_latency(solver.solve, T, seeds)
        rows[name] = summarize(arm, T, stack_results(results), lat, batch)
    return rows


def machine():
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def format_table(rows, title):
    head = ("| arm | targets | success | failures | pos err p50 / p99 | rot err p50 / p99 "
            "| iters p50 | single p50 / p99 | batch | in limits |")
    lines = [f"### {title}", "", head, "|" + "---|" * 10]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['targets']} | {100 * r['success']:.2f} % | {r['failures']} "
            f"| {r['pos_err_median']:.1e} / {r['pos_err_p99']:.1e} m "
            f"| {r['rot_err_median']:.1e} / {r['rot_err_p99']:.1e} rad "
            f"| {r['iterations_median']:.0f} "
            f"| {r.get('latency_p50_us', float('nan')):.0f} / "
            f"{r.get('latency_p99_us', float('nan')):.0f} µs "
            f"| {r.get('batch_solves_per_s', float('nan')):,.0f} /s "
            f"| {'yes' if r['within_limits'] else 'NO'} |"
        )
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("--arms", nargs="+", default=list(BUNDLED_ARMS),
                        help="arms to measure (bundled names or YAML paths); default: all bundled")
    parser.add_argument("--solver-only", action="store_true",
                        help="LM refinement alone from perturbed seeds (no network)")
    parser.add_argument("--targets", type=int, default=2000,
                        help="FK-made targets per arm (default 2000)")
    parser.add_argument("--perturb", type=float, default=0.3,
                        help="seed perturbation radius in radians for --solver-only (default 0.3)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--ros", action="store_true",
                        help="end-to-end ROS 2 latency between processes (see ik_nn.bench_ros)")
    if importlib.util.find_spec("ik_nn.bench_ros") is not None:
        from . import bench_ros

        bench_ros.add_arguments(parser.add_argument_group("--ros options"))


def run(args) -> int:
    if args.ros:
        from . import bench_ros

        return bench_ros.run(args)
    report = {"machine": machine(), "command": "ik-nn bench", "results": {}}
    if not args.solver_only:
        print("note: network benchmarks come with the learned-IK models; running --solver-only")
    rows = bench_solver_only(args.arms, args.targets, args.perturb)
    report["results"]["solver_only"] = rows
    m = report["machine"]
    print(format_table(rows, f"LM refinement from seeds perturbed by ±{args.perturb} rad "
                             f"({m['date']}, {m['cpus']} CPUs, Python {m['python']})"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0 if all(r["within_limits"] for r in rows.values()) else 1
