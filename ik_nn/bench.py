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

import json
import os
import platform
import time
from datetime import datetime, timezone

import numpy as np

from .arm import BUNDLED_ARMS, load_arm
from .cli import available

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


def measure(arm, solver, T, seeds=None, single=None):
    """Batch and single-query runs of ``solver`` on T; returns the summary row.

    single: how many targets to time one at a time (default all).
    """
    solver.solve(T[:2], None if seeds is None else seeds[:2])  # compile / warm caches first
    t0 = time.perf_counter()
    batch_res = solver.solve(T, seeds)
    batch = time.perf_counter() - t0
    m = T.shape[0] if single is None else min(single, T.shape[0])
    lat, results = single_query_latency(solver.solve, T[:m], None if seeds is None else seeds[:m])
    row = summarize(arm, T, batch_res, lat, batch)
    row["single_success"] = float(stack_results(results).success.mean())
    return row


def bench_solver_only(arms, n, perturb):
    """LM from seeds perturbed by ``perturb`` rad around the true configuration, no network."""
    from .solver import IKSolver

    rows = {}
    for name in arms:
        arm = load_arm(name)
        q, T = make_targets(arm, n)
        rows[name] = measure(arm, IKSolver(arm, model=None), T, perturbed(arm, q, perturb))
    return rows


METHODS = {
    # name: (IKSolver keyword arguments, description)
    "nn_alone": (dict(refine=False), "network alone: best of its K hypotheses after FK"),
    "nn_basin": (dict(max_restarts=0), "network hypotheses refined, no random restarts"),
    "nn_refine": (dict(), "ik_nn: network + LM refinement (+ restarts), no seed"),
    "refine_restarts": (dict(model=None), "LM alone from mid-limits, then random restarts"),
}


def bench_methods(arms, n, single):
    """Every method of :data:`METHODS` on the same targets, no seed given (cold start)."""
    from .solver import IKSolver, bundled_model

    rows = {}
    for name in arms:
        arm = load_arm(name)
        _, T = make_targets(arm, n)
        rows[name] = {}
        for method, (kwargs, _) in METHODS.items():
            if kwargs.get("model", "bundled") == "bundled" and bundled_model(arm) is None:
                continue  # no shipped network for this arm
            rows[name][method] = measure(arm, IKSolver(arm, **kwargs), T, single=single)
    return rows


def machine():
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _fmt_row(label, r):
    return (f"| {label} | {r['targets']} | {100 * r['success']:.2f} % | {r['failures']} "
            f"| {r['pos_err_median']:.1e} / {r['pos_err_p99']:.1e} m "
            f"| {r['rot_err_median']:.1e} / {r['rot_err_p99']:.1e} rad "
            f"| {r['iterations_median']:.0f} "
            f"| {r.get('latency_p50_us', float('nan')):.0f} / "
            f"{r.get('latency_p99_us', float('nan')):.0f} µs "
            f"| {r.get('batch_solves_per_s', float('nan')):,.0f} /s "
            f"| {'yes' if r['within_limits'] else 'NO'} |")


HEAD = ("| {} | targets | success | failures | pos err p50 / p99 | rot err p50 / p99 "
        "| iters p50 | single p50 / p99 | batch | in limits |")


def format_table(rows, title):
    """rows: {arm: row} or {arm: {method: row}}."""
    nested = any(isinstance(v, dict) and "targets" not in v for v in rows.values())
    lines = [f"### {title}", "", HEAD.format("arm / method" if nested else "arm"),
             "|" + "---|" * 10]
    for name, r in rows.items():
        if nested:
            lines += [_fmt_row(f"{name} / {m}", rr) for m, rr in r.items()]
        else:
            lines.append(_fmt_row(name, r))
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("--arms", nargs="+", default=list(BUNDLED_ARMS),
                        help="arms to measure (bundled names or YAML paths); default: all bundled")
    parser.add_argument("--solver-only", action="store_true",
                        help="LM refinement alone from perturbed seeds (no network)")
    parser.add_argument("--targets", type=int, default=None,
                        help="FK-made targets per arm (default 2000 with --solver-only, else 10000)")
    parser.add_argument("--single", type=int, default=None,
                        help="targets timed one query at a time (default: all)")
    parser.add_argument("--perturb", type=float, default=0.3,
                        help="seed perturbation radius in radians for --solver-only (default 0.3)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--ros", action="store_true",
                        help="end-to-end ROS 2 latency between processes (see ik_nn.bench_ros)")
    if available("ik_nn.bench_ros"):
        from . import bench_ros

        bench_ros.add_arguments(parser.add_argument_group("--ros options"))


def run(args) -> int:
    if args.ros:
        from . import bench_ros

        return bench_ros.run(args)
    report = {"machine": machine(), "command": "ik-nn bench", "results": {}}
    m = report["machine"]
    stamp = f"{m['date']}, {m['cpus']} CPUs, Python {m['python']}"
    if args.solver_only:
        n = args.targets or 2000
        rows = bench_solver_only(args.arms, n, args.perturb)
        report["results"]["solver_only"] = rows
        print(format_table(rows, f"LM refinement from seeds perturbed by ±{args.perturb} rad, "
                                 f"{n} FK-made targets per arm ({stamp})"))
    else:
        n = args.targets or 10000
        rows = bench_methods(args.arms, n, args.single)
        report["results"]["methods"] = rows
        print(format_table(rows, f"{n} FK-made targets per arm, no seed given ({stamp})"))
        print()
        for method, (_, text) in METHODS.items():
            print(f"- {method}: {text}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    flat = [r for v in rows.values() for r in (v.values() if "targets" not in v else [v])]
    return 0 if all(r["within_limits"] for r in flat) else 1
