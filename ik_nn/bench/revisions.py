"""Two revisions of ik_nn side by side, interleaved, in one run (before/after figures).

Each revision runs in its own worker process (its source tree first on ``PYTHONPATH``; the
revision's compiled code must be built in its tree). Both make the same FK-made targets
(same seed, same limits), warm up, then the driver interleaves them: single-query rounds
(each round times a slice of the targets on A, then on B, order alternating) and whole-batch
calls, so a slow phase of a shared machine hits both. Every answer is judged by this
revision's FK (one judge for both): success at 1e-6 m and 1e-6 rad, inside the limits.

    python -m ik_nn.bench.revisions --before ../old-checkout --after . --arms rrr ur5
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WORKER = r'''
import json, sys, time
import numpy as np
import ik_nn
from ik_nn import IKSolver, load_arm

def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()

state = {}
reply({"ik_nn": ik_nn.__file__})
for line in sys.stdin:
    cmd = json.loads(line)
    op = cmd["op"]
    if op == "load":
        arm = load_arm(cmd["arm"])
        rng = np.random.default_rng(cmd["seed"])
        q = rng.uniform(arm.lower, arm.upper, size=(cmd["n"], arm.dof))
        T = np.ascontiguousarray(arm.fk(q))
        solver = IKSolver(arm)
        solver.solve(T[:512]); solver.solve(T[0])
        state.update(arm=arm, T=T, solver=solver)
        reply({"ok": True})
    elif op == "single":
        T, solve = state["T"], state["solver"].solve
        lat = [float("inf")] * (cmd["b"] - cmd["a"])
        for _ in range(cmd["best_of"]):
            for j, i in enumerate(range(cmd["a"], cmd["b"])):
                t0 = time.perf_counter(); solve(T[i]); dt = time.perf_counter() - t0
                lat[j] = min(lat[j], dt)
        reply({"lat": lat})
    elif op == "batch":
        t0 = time.perf_counter(); res = state["solver"].solve(state["T"])
        reply({"seconds": time.perf_counter() - t0, "q": res.q.tolist()})
    elif op == "quit":
        break
'''


class Worker:
    """One revision's solver in a subprocess, driven line by line (JSON)."""

    def __init__(self, label: str, root: Path):
        env = dict(os.environ, PYTHONPATH=str(root))
        env.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="ik_nn_numba_"))
        self.label = label
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=str(root), env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.module = self.read()["ik_nn"]

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.label} died")
        return json.loads(line)

    def call(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self):
        try:
            self.call(op="quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=30)


def judge(arm, T, q):
    """(N,) bool: answers q (N, dof) reach T (N, 4, 4) within 1e-6 m / rad and the limits."""
    from ik_nn.kinematics import pose_error

    finite = np.isfinite(q).all(axis=1)
    pe, re = pose_error(T, arm.fk(np.where(finite[:, None], q, 0.0)))
    return finite & (pe <= 1e-6) & (re <= 1e-6) & arm.within_limits(q, tol=1e-9)


def compare(arm_name, workers, n, single, rounds, batches, seed, best_of=1):
    """Rows {label: figures} for one arm, the workers' calls interleaved."""
    from ik_nn import load_arm

    arm = load_arm(arm_name)
    rng = np.random.default_rng(seed)
    T = arm.fk(rng.uniform(arm.lower, arm.upper, size=(n, arm.dof)))
    for w in workers:
        w.call(op="load", arm=arm_name, n=n, seed=seed)
    lat = {w.label: [] for w in workers}
    bounds = np.linspace(0, single, rounds + 1).astype(int)
    for r in range(rounds):
        order = workers if r % 2 == 0 else workers[::-1]
        for w in order:
            lat[w.label] += w.call(op="single", a=int(bounds[r]), b=int(bounds[r + 1]),
                                  best_of=best_of)["lat"]
    secs = {w.label: [] for w in workers}
    q = {}
    for r in range(batches):
        for w in (workers if r % 2 == 0 else workers[::-1]):
            out = w.call(op="batch")
            secs[w.label].append(out["seconds"])
            q[w.label] = np.array(out["q"])
    rows = {}
    for w in workers:
        x = np.array(lat[w.label]) * 1e6
        rows[w.label] = {"p50_us": float(np.percentile(x, 50)),
                         "p99_us": float(np.percentile(x, 99)),
                         "throughput": n / float(np.median(secs[w.label])),
                         "success": float(judge(arm, T, q[w.label]).mean())}
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="source tree of revision A")
    parser.add_argument("--after", default=Path("."), type=Path, help="source tree of B")
    parser.add_argument("--arms", nargs="+", default=["rrr", "rrr_full", "rrrrrr", "ur5"])
    parser.add_argument("--targets", type=int, default=10_000, help="batch size per arm")
    parser.add_argument("--single", type=int, default=2_000, help="targets timed one by one")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved single rounds")
    parser.add_argument("--batches", type=int, default=5, help="interleaved batch calls")
    parser.add_argument("--best-of", type=int, default=1,
                        help="time each single target this many times in its round and keep "
                             "the fastest (less noise in the tail on a shared machine)")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    workers = [Worker("before", args.before.resolve()), Worker("after", args.after.resolve())]
    results = {}
    try:
        for name in args.arms:
            results[name] = compare(name, workers, args.targets, args.single, args.rounds,
                                    args.batches, args.seed, args.best_of)
    finally:
        for w in workers:
            w.close()
    load1 = os.getloadavg()[0]
    print(f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} "
          f"cores, load average {load0:.2f} at start / {load1:.2f} at end; before = "
          f"{workers[0].module}, after = {workers[1].module}")
    print(f"{args.targets:,} FK-made targets per arm (seed {args.seed}); single queries: "
          f"{args.single:,} in {args.rounds} interleaved rounds, best of {args.best_of} "
          f"per target; batch: median of "
          f"{args.batches} interleaved calls\n")
    print("| arm | p50 before → after (µs) | p99 before → after (µs) | throughput before → "
          "after (/s) | success before → after | after/before p50, p99, throughput |")
    print("|---|---|---|---|---|---|")
    for name, rows in results.items():
        a, b = rows["before"], rows["after"]
        print(f"| {name} | {a['p50_us']:.1f} → {b['p50_us']:.1f} | {a['p99_us']:.1f} → "
              f"{b['p99_us']:.1f} | {a['throughput']:,.0f} → {b['throughput']:,.0f} | "
              f"{a['success']:.2%} → {b['success']:.2%} | {b['p50_us'] / a['p50_us']:.2f}, "
              f"{b['p99_us'] / a['p99_us']:.2f}, {b['throughput'] / a['throughput']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"load": [load0, load1], "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
