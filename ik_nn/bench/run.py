"""``ik-nn bench``: success, task-space accuracy and latency on FK-made targets.

Targets are FK of configurations drawn uniformly inside the limits from a seed that no model
was trained on (:data:`BENCH_SEED`), so every target is reachable and its answer is known to
exist. Success is judged in task space only (position metres, rotation radians), never by
comparing joint angles.

Modes:
* ``--solver-only``: the LM refiner from seeds perturbed by ``--perturb`` rad (no network).
* ``--ros``: end-to-end PoseStamped → JointState latency between processes (ik_nn.bench.ros_latency).
"""
from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..arm import BUNDLED_ARMS, load_arm
from ..cli import available
from ..kinematics import pose_error

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
    from ..solver import IKResult

    return IKResult(*(np.concatenate([getattr(r, f) for r in results])
                      for f in ("q", "success", "pos_err", "rot_err", "iterations")))


def measure(arm, solver, T, seeds=None, single=None):
    """Batch and single-query runs of ``solver`` on T; returns the summary row.

    single: how many targets to time one at a time (default all).
    """
    from ..solver import PARALLEL_MIN

    w = 2 * PARALLEL_MIN  # warm the serial and the parallel paths first
    solver.solve(T[:w], None if seeds is None else seeds[:w])
    solver.solve(T[0], None if seeds is None else seeds[0])
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
    from ..solver import IKSolver

    rows = {}
    for name in arms:
        arm = load_arm(name)
        q, T = make_targets(arm, n)
        rows[name] = measure(arm, IKSolver(arm, model=None), T, perturbed(arm, q, perturb))
    return rows


# ---------------------------------------------------------------- comparison with peers (#5)
STRICT = (1e-6, 1e-6)              # success: metres, radians
LOOSE = (1e-3, np.radians(1.0))    # "usable": 1 mm, 1 degree
LIMIT_TOL = 1e-9                   # rad; an answer outside the limits is a failure
QUICK = dict(targets=300, single=150, peer_targets={"rtb_ik_LM": 150, "ikpy": 20})
FULL_PEER_TARGETS = {"ikpy": 500}  # ikpy takes 20-100 ms per target: a documented subset

# name: (label, kind, description); kind "ik_nn" = IKSolver kwargs, "plain" = the deck's MLP
COMPARE = {
    "nn_refine": ("ik_nn NN + refine", "ik_nn",
                  "ik_nn default: K network hypotheses → LM (→ random restarts), no seed"),
    "nn_basin": ("ik_nn NN + refine, no restarts", "ik_nn",
                 "basin rate: only the K network hypotheses are refined, no random restarts"),
    "nn_alone": ("ik_nn NN alone", "ik_nn", "best of the K network hypotheses after FK, no LM"),
    "refine_restarts": ("ik_nn refine alone", "ik_nn",
                        "our LM from mid-limits, then random restarts (no network)"),
    "plain_alone": ("deck plain MLP", "plain",
                    "the deck's plain MLP (one answer), trained by our pipeline, no LM"),
    "plain_refine": ("deck plain MLP + refine", "plain",
                     "the deck's plain MLP answer refined by our LM (+ restarts)"),
    "rtb_ik_LM": ("rtb ik_LM (C++)", "peer", "roboticstoolbox-python ik_LM, C++, cold start"),
    "ikpy": ("ikpy", "peer", "ikpy inverse_kinematics_frame, cold start"),
}
IK_NN_KWARGS = {"nn_refine": {}, "nn_basin": dict(max_restarts=0),
                "nn_alone": dict(refine=False),
                "refine_restarts": dict(model=None),
                "plain_alone": dict(refine=False), "plain_refine": {}}


def plain_model(arm):
    """models/plain/ARM.onnx (the deck's plain MLP trained by ``ik-nn train --arch plain``)."""
    from ..resources import model_path

    path = model_path(f"plain/{arm.name}.onnx")
    return path if path.is_file() else None


def judge(arm, T, q):
    """Our task-space verdict on answers q (n, dof) for targets T (n, 4, 4)."""
    q = np.ascontiguousarray(q, dtype=np.float64)
    finite = np.isfinite(q).all(axis=1)
    pe, re = pose_error(T, arm.fk(np.where(finite[:, None], q, 0.0)))
    pe[~finite] = np.inf
    re[~finite] = np.inf
    inside = arm.within_limits(q, tol=LIMIT_TOL) & finite
    return dict(pos_err=pe, rot_err=re, within_limits=inside,
                strict=(pe <= STRICT[0]) & (re <= STRICT[1]) & inside,
                loose=(pe <= LOOSE[0]) & (re <= LOOSE[1]) & inside)


ROUNDS = 5  # single-query timing is interleaved over the methods in this many rounds


class _IkNnRun:
    """An ik_nn method: its answers come from one batched call, its latencies from single
    queries (the same targets) timed in rounds."""

    def __init__(self, solver, T, single):
        from ..solver import PARALLEL_MIN

        # warm up both paths (compiled kernels, onnxruntime, worker threads) as a running node
        # would have; the peers get a warm-up call too
        solver.solve(T[:2 * PARALLEL_MIN])
        solver.solve(T[0])
        t0 = time.perf_counter()
        self.q = solver.solve(T).q
        self.batch_seconds = time.perf_counter() - t0
        self.T, self.solve = T, solver.solve
        self.lat = np.empty(min(single, T.shape[0]))

    def time_range(self, a, b):
        solve, T, lat = self.solve, self.T, self.lat
        for i in range(a, b):
            t1 = time.perf_counter()
            solve(T[i])
            lat[i] = time.perf_counter() - t1


class _PeerRun:
    """A peer has no batch API: its answers and latencies come from the same single calls;
    throughput = targets / the time of all those calls."""

    def __init__(self, peer, T):
        peer.solve_one(T[0])  # warm up
        self.peer, self.T = peer, T
        self.q = np.empty((T.shape[0], peer.arm.dof))
        self.lat = np.empty(T.shape[0])
        self.batch_seconds = 0.0

    def time_range(self, a, b):
        solve_one, T, q, lat = self.peer.solve_one, self.T, self.q, self.lat
        t0 = time.perf_counter()
        for i in range(a, b):
            t1 = time.perf_counter()
            q[i] = solve_one(T[i])
            lat[i] = time.perf_counter() - t1
        self.batch_seconds += time.perf_counter() - t0


def time_interleaved(runs, rounds=ROUNDS):
    """Single-query timing of every run, interleaved: round r times the r-th slice of each
    run's targets, method after method, so a slow phase of the machine hits every method
    alike instead of whichever was measured then."""
    for r in range(rounds):
        for run in runs:
            m = run.lat.size
            run.time_range(r * m // rounds, (r + 1) * m // rounds)


def row_from(arm, T, q, lat, batch_seconds, n_total):
    """Summary row (JSON-ready) plus the raw per-target arrays under '_raw' (for the plots)."""
    v = judge(arm, T, q)
    m = T.shape[0]
    row = {
        "targets": int(m), "of": int(n_total),
        "success_1e-6": float(v["strict"].mean()), "success_1mm_1deg": float(v["loose"].mean()),
        "failures_1e-6": int((~v["strict"]).sum()),
        "within_limits": float(v["within_limits"].mean()),
        "pos_err_median": float(np.median(v["pos_err"])),
        "pos_err_p99": float(np.percentile(v["pos_err"], 99)),
        "rot_err_median": float(np.median(v["rot_err"])),
        "rot_err_p99": float(np.percentile(v["rot_err"], 99)),
        "single_queries": int(lat.size),
        "latency_p50_us": float(np.percentile(lat, 50) * 1e6),
        "latency_p99_us": float(np.percentile(lat, 99) * 1e6),
        "batch_solves_per_s": float(m / batch_seconds),
    }
    row["_raw"] = dict(pos_err=v["pos_err"], rot_err=v["rot_err"], latency_s=lat,
                       q=np.asarray(q), strict=v["strict"])
    return row


def add_ratios(rows):
    """Speed relative to the fastest peer measured on the same arm in the same run.

    speedup_p50 = fastest peer's p50 latency / this method's (>1: faster than every peer);
    throughput_ratio = this method's throughput / the best peer's.
    """
    peers = {m: r for m, r in rows.items() if COMPARE.get(m, ("", ""))[1] == "peer"
             and "latency_p50_us" in r}
    if not peers:
        return None
    fastest = min(peers, key=lambda m: peers[m]["latency_p50_us"])
    best_tp = max(peers, key=lambda m: peers[m]["batch_solves_per_s"])
    for r in rows.values():
        if "latency_p50_us" in r:
            r["speedup_p50"] = peers[fastest]["latency_p50_us"] / r["latency_p50_us"]
            r["throughput_ratio"] = r["batch_solves_per_s"] / peers[best_tp]["batch_solves_per_s"]
    return {"latency": fastest, "throughput": best_tp}


def compare(arms, n, single, methods, peer_targets, log=print):
    """Issue #5: every method on the same FK-made targets per arm, one process, cold start.

    Per arm: each method is set up and (ik_nn) solves the whole set in one batch; then the
    single queries of all methods are timed in interleaved rounds (:func:`time_interleaved`).
    Returns {arm: {"rows": {method: row}, "fastest_peer": ..., "notes": {method: text}}}.
    Methods that cannot run (peer not installed, arm not expressible, no model) get a note.
    """
    from ..solver import IKSolver, bundled_model

    out = {}
    for name in arms:
        arm = load_arm(name)
        _, T_all = make_targets(arm, n)
        runs, notes = {}, {}
        t0 = time.perf_counter()
        for method in methods:
            kind = COMPARE[method][1]
            try:
                if kind == "peer":
                    from . import peers as bench_peers

                    if not bench_peers.installed(method):
                        notes[method] = "not installed (pip install .[bench])"
                        continue
                    try:
                        peer = bench_peers.make_peer(method, arm)
                    except bench_peers.PeerUnsupported as exc:
                        notes[method] = f"cannot express this arm: {exc}"
                        continue
                    runs[method] = _PeerRun(peer, T_all[:min(n, peer_targets.get(method, n))])
                else:
                    model = "bundled"
                    if kind == "plain":
                        model = plain_model(arm)
                        if model is None:
                            notes[method] = "no models/plain model for this arm"
                            continue
                    elif IK_NN_KWARGS[method].get("model", "bundled") == "bundled":
                        if bundled_model(arm) is None:
                            notes[method] = "no bundled network for this arm"
                            continue
                    kw = dict(IK_NN_KWARGS[method])
                    kw.setdefault("model", model)
                    runs[method] = _IkNnRun(IKSolver(arm, **kw), T_all, single)
            except ImportError as exc:
                notes[method] = f"import failed: {exc}"
        time_interleaved(list(runs.values()))
        rows = {}
        for method, run in runs.items():
            rows[method] = row_from(arm, run.T, run.q, run.lat, run.batch_seconds, n)
            r = rows[method]
            log(f"  {name:9s} {COMPARE[method][0]:30s} {r['targets']:6d} targets  "
                f"ok {100 * r['success_1e-6']:7.3f} %  p50 {r['latency_p50_us']:8.0f} µs")
        log(f"  {name:9s} ({time.perf_counter() - t0:.1f} s)")
        fastest = add_ratios(rows)
        out[name] = {"rows": rows, "fastest_peer": fastest, "notes": notes, "targets": n}
    return out


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
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


HEAD = ("| arm | targets | success | failures | pos err p50 / p99 | rot err p50 / p99 "
        "| iters p50 | single p50 / p99 | batch | in limits |")


def format_table(rows, title):
    """Markdown table of {arm: row} (the --solver-only report)."""
    lines = [f"### {title}", "", HEAD, "|" + "---|" * 10]
    lines += [_fmt_row(name, r) for name, r in rows.items()]
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("--arms", nargs="+", default=list(BUNDLED_ARMS),
                        help="arms to measure (bundled names or YAML paths); default: all bundled")
    parser.add_argument("--solver-only", action="store_true",
                        help="LM refinement alone from perturbed seeds (no network)")
    parser.add_argument("--targets", type=int, default=None,
                        help="FK-made targets per arm (default 2000 with --solver-only, "
                             f"{QUICK['targets']} with --quick, else 10000)")
    parser.add_argument("--single", type=int, default=None,
                        help="targets timed one query at a time (default: all)")
    parser.add_argument("--perturb", type=float, default=0.3,
                        help="seed perturbation radius in radians for --solver-only (default 0.3)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({QUICK['targets']} targets per arm, peers on fewer): "
                             "under a minute")
    parser.add_argument("--methods", nargs="+", choices=list(COMPARE), default=list(COMPARE),
                        metavar="METHOD", help="methods to compare (default all: "
                                               + ", ".join(COMPARE) + ")")
    parser.add_argument("--ikpy-targets", type=int, default=None,
                        help=f"targets ikpy solves (default {FULL_PEER_TARGETS['ikpy']}, "
                             f"{QUICK['peer_targets']['ikpy']} with --quick; ~20-130 ms each)")
    parser.add_argument("--out", metavar="DIR",
                        help="write results.json, table.md and the PNG plots into DIR "
                             "(e.g. docs/bench)")
    parser.add_argument("--no-plots", action="store_true", help="with --out: skip the PNGs")
    parser.add_argument("--report", nargs="+", metavar="MD",
                        help="rewrite the text between <!-- bench:start --> and "
                             "<!-- bench:end --> in these Markdown files (e.g. README.md "
                             "docs/benchmark.md)")
    parser.add_argument("--from-json", metavar="PATH",
                        help="no measuring: render --report from a saved results.json")
    parser.add_argument("--ros", action="store_true",
                        help="end-to-end ROS 2 latency between processes (see ik_nn.bench.ros_latency)")
    parser.add_argument("--seed-study", action="store_true",
                        help="the seed deck's experiments redone: its joint-space metric beside "
                        "task-space errors, its plain MLP beside ours (see ik_nn.seed_study)")
    if available("ik_nn.bench.ros_latency"):
        from . import ros_latency as bench_ros

        bench_ros.add_arguments(parser.add_argument_group("--ros options"))


def _command(argv=None):
    import shlex
    import sys

    argv = sys.argv[1:] if argv is None else argv
    return "ik-nn " + " ".join(shlex.quote(a) for a in argv)


def _loadavg():
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")


def run_compare(args):
    """Issue #5's comparison: measure, print the table, write JSON/plots/report sections."""
    from . import report as bench_report

    if args.from_json:
        report = json.loads(open(args.from_json).read())
    else:
        quick = args.quick
        n = args.targets or (QUICK["targets"] if quick else 10000)
        single = args.single or (min(n, QUICK["single"]) if quick else n)
        peer_targets = dict(QUICK["peer_targets"] if quick else FULL_PEER_TARGETS)
        if args.ikpy_targets:
            peer_targets["ikpy"] = args.ikpy_targets
        info = machine()
        info["loadavg_start"] = _loadavg()
        print(f"ik-nn bench: {n} targets per arm, {', '.join(args.arms)}")
        results = compare(args.arms, n, single, args.methods, peer_targets)
        info["loadavg_end"] = _loadavg()
        report = {"machine": info, "command": _command(), "targets": n, "seed": BENCH_SEED,
                  "single": single, "peer_targets": peer_targets, "results": results}
        try:
            from . import peers as bench_peers

            report["peer_versions"] = bench_peers.versions()
            report["peer_settings"] = {k: v.settings for k, v in bench_peers.ADAPTERS.items()}
        except ImportError:
            pass
        if args.out:
            out = Path(args.out)
            if not args.no_plots:
                report["plots"] = bench_report.plots(results, out)
            bench_report.write_json(out / "results.json", report)
    text = bench_report.section(report)
    print()
    print(text)
    if args.out and not args.from_json:
        (Path(args.out) / "table.md").write_text(text + "\n")
    if args.json:
        bench_report.write_json(args.json, report)
    missing = []
    for md in args.report or []:
        assets = os.path.relpath(args.out or "docs/bench", Path(md).resolve().parent)
        if not bench_report.replace_section(md, bench_report.section(report, assets=assets)):
            missing.append(md)
    if missing:
        print(f"no {bench_report.START} ... {bench_report.END} markers in: "
              + ", ".join(missing) + " (left unchanged)")
        return 2
    ours = [r for res in report["results"].values() for m, r in res["rows"].items()
            if COMPARE[m][1] != "peer"]
    return 0 if all(r["within_limits"] == 1.0 for r in ours) else 1


def run(args) -> int:
    if args.ros:
        from . import ros_latency as bench_ros

        return bench_ros.run(args)
    if args.seed_study:
        from . import seed_study

        return seed_study.run(args)
    if not args.solver_only:
        return run_compare(args)
    report = {"machine": machine(), "command": "ik-nn bench", "results": {}}
    m = report["machine"]
    stamp = f"{m['date']}, {m['cpus']} CPUs, Python {m['python']}"
    n = args.targets or 2000
    rows = bench_solver_only(args.arms, n, args.perturb)
    report["results"]["solver_only"] = rows
    print(format_table(rows, f"LM refinement from seeds perturbed by ±{args.perturb} rad, "
                             f"{n} FK-made targets per arm ({stamp})"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0 if all(r["within_limits"] for r in rows.values()) else 1
