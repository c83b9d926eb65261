"""The methods the bench compares, and how each is run and timed.

A method is an ik_nn solver configuration (:data:`IK_NN_KWARGS`), the deck's plain MLP, or a
peer (:mod:`ik_nn.bench.peers`); :data:`COMPARE` names and describes them all. On an arm every
method gets the same FK-made targets and no seed. ik_nn solves the whole set in one batched call
(its throughput); then the single queries of all methods are timed interleaved target by
target (:func:`time_interleaved`). Every answer is judged by :func:`ik_nn.bench.judge.judge`.

The solver imports lazily (``ik-nn bench --help`` must stay cheap).
"""
from __future__ import annotations

import time

import numpy as np

from ..resources import model_path
from . import peers
from .judge import judge
from .results import add_ratios, raw_arrays, solver_only_view, summary
from .targets import make_targets, perturbed

# name: (label, kind, description); kind "ik_nn": IKSolver(arm, **IK_NN_KWARGS[name]),
# "plain": the same with the deck's MLP as the model, "peer": an adapter of ik_nn.bench.peers
COMPARE = {
    "nn_refine": ("ik_nn NN + refine", "ik_nn",
                  "ik_nn default: one LM attempt from mid-limits; where it fails, K network "
                  "hypotheses → LM (→ random restarts); no seed"),
    "nn_basin": ("ik_nn NN + refine, no restarts", "ik_nn",
                 "basin rate: only the K network hypotheses are refined (network_first, no "
                 "mid-limits attempt, no random restarts)"),
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
IK_NN_KWARGS = {"nn_refine": {}, "nn_basin": dict(max_restarts=0, network_first=True),
                "nn_alone": dict(refine=False),
                "refine_restarts": dict(model=None),
                "plain_alone": dict(refine=False), "plain_refine": {}}
PEER_METHODS = tuple(m for m, (_, kind, _) in COMPARE.items() if kind == "peer")
LABELS = {m: label for m, (label, _, _) in COMPARE.items()}


class MethodUnavailable(Exception):
    """A method that cannot run here; the message is the note the report prints instead."""


def plain_model(arm):
    """Return models/plain/ARM.onnx (``ik-nn train --arch plain``, the deck's MLP) or None."""
    path = model_path(f"plain/{arm.name}.onnx")
    return path if path.is_file() else None


def ik_nn_solver(method, arm, model=None):
    """Build the IKSolver of an ik_nn or plain-MLP ``method`` on ``arm``.

    ``model``: the ONNX network the network methods use instead of the bundled one (``ik-nn
    bench --model``). Raises MethodUnavailable when the method needs a network there is none of.
    """
    from ..solver import IKSolver, bundled_model

    kw = dict(IK_NN_KWARGS[method])
    if COMPARE[method][1] == "plain":
        kw["model"] = plain_model(arm)
        if kw["model"] is None:
            raise MethodUnavailable("no models/plain model for this arm")
    elif "model" not in kw:
        if model is not None:
            kw["model"] = model
        elif bundled_model(arm) is None:
            raise MethodUnavailable("no bundled network for this arm (train one: ik-nn train "
                                    "ARM, then pass it with --model)")
    return IKSolver(arm, **kw)


def peer_adapter(method, arm):
    """Build the adapter of peer ``method`` on ``arm`` (MethodUnavailable says why not)."""
    if not peers.installed(method):
        raise MethodUnavailable("not installed (pip install .[bench])")
    try:
        return peers.make_peer(method, arm)
    except peers.PeerUnsupported as exc:
        raise MethodUnavailable(f"cannot express this arm: {exc}") from exc


class SolverRun:
    """An IKSolver on targets T (n, 4, 4): one batched call now, single queries when timed.

    The answers ``q`` (n, dof) and ``result`` come from the batch, whose wall time is
    ``batch_seconds``; ``lat`` (m,) seconds and ``single_q`` (m, dof) are filled by
    :meth:`time_range` for the first m = min(single, n) targets. seeds: (n, dof) radians passed
    with every call, or None.
    """

    def __init__(self, solver, T, single, seeds=None):
        from ..solver import PARALLEL_MIN

        # warm up both paths (compiled kernels, onnxruntime, worker threads) as a running node
        # would have; the peers get a warm-up call too
        w = 2 * PARALLEL_MIN
        solver.solve(T[:w], None if seeds is None else seeds[:w])
        solver.solve(T[0], None if seeds is None else seeds[0])
        t0 = time.perf_counter()
        self.result = solver.solve(T, seeds)
        self.batch_seconds = time.perf_counter() - t0
        self.q = self.result.q
        self.T, self.seeds, self.solve = T, seeds, solver.solve
        m = min(single, T.shape[0])
        self.lat = np.empty(m)
        self.single_q = np.empty((m, self.q.shape[1]))

    def time_range(self, a, b):
        """Time targets a..b-1 one call each (wall clock, seconds into ``lat``)."""
        solve, T, S, lat, out = self.solve, self.T, self.seeds, self.lat, self.single_q
        clock = time.perf_counter
        if S is None:
            for i in range(a, b):
                t1 = clock()
                r = solve(T[i])
                lat[i] = clock() - t1
                out[i] = r.q[0]
        else:
            for i in range(a, b):
                t1 = clock()
                r = solve(T[i], S[i])
                lat[i] = clock() - t1
                out[i] = r.q[0]


class PeerRun:
    """A peer on targets T (n, 4, 4), answered and timed one call at a time.

    A peer has no batch API: its answers ``q`` (n, dof) radians (also ``single_q``) come from
    the timed single calls, ``lat`` (n,) seconds, and ``batch_seconds`` is the time of them all.
    """

    def __init__(self, peer, T):
        peer.solve_one(T[0])  # warm up
        self.peer, self.T = peer, T
        self.q = self.single_q = np.empty((T.shape[0], peer.arm.dof))
        self.lat = np.empty(T.shape[0])
        self.batch_seconds = 0.0

    def time_range(self, a, b):
        """Solve and time targets a..b-1 one call each (wall clock, seconds into ``lat``)."""
        solve_one, T, q, lat = self.peer.solve_one, self.T, self.q, self.lat
        t0 = time.perf_counter()
        for i in range(a, b):
            t1 = time.perf_counter()
            q[i] = solve_one(T[i])
            lat[i] = time.perf_counter() - t1
        self.batch_seconds += time.perf_counter() - t0


def time_interleaved(runs):
    """Time the single queries of every run, interleaved target by target.

    Target i of every run (that has an i-th target), in an order that rotates with i: a slow
    phase of the machine, or the cache a previous method left, hits every method alike
    instead of whichever was measured then or always came first.
    """
    for i in range(max(run.lat.size for run in runs)):
        k = i % len(runs)
        for run in runs[k:] + runs[:k]:
            if i < run.lat.size:
                run.time_range(i, i + 1)


def judged_row(arm, run, of):
    """Judge a timed run's answers and summarise them (row with ``"_raw"`` arrays)."""
    v = judge(arm, run.T, run.q)
    row = summary(v, run.lat, run.batch_seconds, of)
    row["_raw"] = raw_arrays(v, run.q, run.lat)
    if isinstance(run, SolverRun):  # our flag against the judge: a false success is a bug
        row["false_success"] = int((run.result.success & ~v.strict).sum())
    return row


def setup(method, arm, T, single, peer_targets, model=None):
    """Set ``method`` up on targets T (n, 4, 4); ik_nn methods solve the batch here.

    A peer gets the first ``peer_targets.get(method, n)`` targets; ``model`` replaces the
    bundled network. Raises MethodUnavailable.
    """
    if COMPARE[method][1] == "peer":
        n = T.shape[0]
        return PeerRun(peer_adapter(method, arm), T[:min(n, peer_targets.get(method, n))])
    return SolverRun(ik_nn_solver(method, arm, model), T, single)


def compare(arms, n, single, methods, peer_targets, models=None, log=print):
    """Run every method on the same n FK-made targets per arm, in one process, cold start.

    arms: {label: Arm} (``ik-nn bench``: the ``--arms`` entries, loaded with their links).
    single: how many targets ik_nn methods time one query at a time; peer_targets: {peer:
    how many targets it attempts}; models: {label: ONNX path} used by the network methods
    instead of the bundled networks. Returns {arm: {"rows": {method: row}, "fastest_peer": ...,
    "notes": {method: why it did not run}, "targets": n, "model": path or None}}.
    """
    out = {}
    models = models or {}
    for name, arm in arms.items():
        model = models.get(name)
        _, T = make_targets(arm, n)
        runs, notes = {}, {}
        t0 = time.perf_counter()
        for method in methods:
            try:
                runs[method] = setup(method, arm, T, single, peer_targets, model)
            except MethodUnavailable as exc:
                notes[method] = str(exc)
            except ImportError as exc:
                notes[method] = f"import failed: {exc}"
        time_interleaved(list(runs.values()))
        rows = {}
        for method, run in runs.items():
            r = rows[method] = judged_row(arm, run, n)
            log(f"  {name:9s} {LABELS[method]:30s} {r['targets']:6d} targets  "
                f"ok {100 * r['success_1e-6']:7.3f} %  p50 {r['latency_p50_us']:8.0f} µs")
        log(f"  {name:9s} ({time.perf_counter() - t0:.1f} s)")
        fastest = add_ratios(rows, PEER_METHODS)
        out[name] = {"rows": rows, "fastest_peer": fastest, "notes": notes, "targets": n,
                     "model": None if model is None else str(model)}
    return out


def solver_only(arms, n, perturb):
    """Run our LM alone (no network) from seeds perturbed by ``perturb`` rad around the truth.

    Every target is also timed as a single query. Returns {arm: solver-only row}.
    """
    from ..solver import IKSolver

    rows = {}
    for name, arm in arms.items():
        q, T = make_targets(arm, n)
        run = SolverRun(IKSolver(arm, model=None), T, n, seeds=perturbed(arm, q, perturb))
        time_interleaved([run])
        row = summary(judge(arm, T, run.q), run.lat, run.batch_seconds)
        single = judge(arm, T[:run.lat.size], run.single_q)
        rows[name] = solver_only_view(row, run.result.iterations, single)
    return rows
