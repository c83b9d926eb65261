"""IKSolver: network seeds (ONNX) → Levenberg–Marquardt refinement → honest results.

For each target the candidates are, in order, until one converges:

1. ``seed`` (the arm's current joints), when given: continuing from where the arm is gives the
   nearest solution on its branch, and costs no network call when it converges;
2. the network's K hypotheses (when a model is loaded), ranked by task-space error after FK;
   among those within ``branch_tol`` of the best, the ones nearest to ``seed`` come first, so
   a far target still lands on the branch the arm is on;
3. with neither network nor seed, the middle of the joint limits;
4. then random configurations inside the limits, a few at a time, while the target still fails,
   up to ``max_restarts`` and the ``timeout`` budget.

With a seed and a network, an answer from step 1 that moves some joint more than
``continuity_tol`` from the seed (LM wandered to another branch) is compared with the answer
refined from the hypotheses nearest the seed; the solved one nearer the seed wins. With a seed,
periodic joints (range ≥ 2π) of the answer are moved by whole turns to the representative
inside the limits nearest the seed (FK is unchanged), so no answer spins a joint by 2π for
nothing.

``success`` is true only where the final position error ≤ ``pos_tol`` (m) and rotation error
≤ ``rot_tol`` (rad). Failed targets return the lowest-error configuration found, flagged false.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import get_num_threads, njit

from .arm import BUNDLED_ARMS, Arm, load_arm
from .kinematics import as_poses, pose_error
from .refiner import (all_finite, network_pass, rank_hypotheses, refine_batch,
                      refine_batch_parallel, seed_pass, wrap_to_seed)
from .resources import model_path
from .seeder import _decode_into

RESTART_CHUNK = 4
PARALLEL_MIN = 256  # batches this large refine on every core (threads cost ~10 us to start)
CHUNK = 1024  # targets per network call + refinement when a batch runs on every core
_F64 = np.dtype(np.float64)
_BOOL = np.dtype(np.bool_)
_I64 = np.dtype(np.int64)
_ONE = (4, 4)
_ONE3 = (1, 4, 4)


@dataclass(slots=True)
class IKResult:
    """Per-target outcome of :meth:`IKSolver.solve` (arrays of length N).

    q (N, dof) radians; success (N,) bool; pos_err (N,) metres; rot_err (N,) radians (0 in
    position-only mode); iterations (N,) LM iterations spent on the target over all attempts.
    """

    q: np.ndarray
    success: np.ndarray
    pos_err: np.ndarray
    rot_err: np.ndarray
    iterations: np.ndarray

    def __len__(self):
        return self.q.shape[0]


@njit(cache=True)
def _network_one(T, raw, phi, idx, plan, q_out, success, pos_err, rot_err, iterations):
    """Single query without a seed, in one compiled call: decode the network's output raw
    (1, K·M) for the target T (1, 4, 4) (``Seeder.run_one``), then rank and refine the K
    hypotheses (:func:`~ik_nn.refiner.network_pass`) into the outputs (1,) / (1, dof).

    The constants come packed in one array (the dispatcher unboxes every argument, which
    costs more than this whole solve on a 3-DOF arm), see :func:`_plan`. Returns
    (still failing, LM cost of the answer).
    """
    dof = idx.shape[1]
    P = plan[8:8 + 5 * dof].reshape((5, dof))
    dh = plan[8 + 5 * dof:8 + 9 * dof].reshape((dof, 4))
    ends = plan[8 + 9 * dof:40 + 9 * dof].reshape((2, 4, 4))
    K = int(plan[6])
    H = np.empty((1, K, dof))
    _decode_into(raw, K, P, idx, phi, P[0:1], H)  # periodic joints nearest mid-limits
    cost = np.empty(1)
    failing = network_pass(T, H, np.zeros(1, dtype=np.int64), np.empty((0, dof)), dh,
                           int(plan[7]), ends[0], ends[1], P[2], P[3], P[4] > 0.5, plan[0],
                           plan[1] > 0.5, plan[2], plan[3], int(plan[4]), plan[5], q_out,
                           success, pos_err, rot_err, iterations, cost, True)
    return failing, cost[0]


def _plan(solver, position_only):
    """The constants of :func:`_network_one` in one float64 array: w_pos, position only,
    pos_tol, rot_tol, max_iterations, branch_tol, K, convention, then the seeder's P (5, dof),
    the DH table (dof, 4), base and tool (2, 4, 4), all C order."""
    a, sd = solver.arm, solver.seeder
    head = [solver._w_pos, float(position_only), solver.pos_tol, solver.rot_tol,
            solver.max_iterations, solver.branch_tol, sd.K, a.convention_id]
    return np.concatenate([np.array(head, dtype=np.float64), sd.P.ravel(), a.dh.ravel(),
                           a.base.ravel(), a.tool.ravel()])


def _refine(n):
    return refine_batch_parallel if n >= PARALLEL_MIN else refine_batch


def bundled_model(arm: Arm):
    """Path of the shipped network for a bundled arm (same DH hash), else None."""
    if arm.name not in BUNDLED_ARMS:
        return None
    path = model_path(f"{arm.name}.onnx")
    if not path.is_file() or load_arm(arm.name).dh_hash != arm.dh_hash:
        return None
    return path


class IKSolver:
    """Batched inverse kinematics for one arm.

    Args:
        arm: an :class:`~ik_nn.arm.Arm` or a name/path for :func:`~ik_nn.arm.load_arm`.
        model: ``"bundled"`` (the arm's shipped network if there is one), ``None`` (no network:
            seeds come from ``seed``, else mid-limits and restarts), or an ONNX file path.
        refine: ``False`` returns the network's best hypothesis as is (to measure the network).
        pos_tol, rot_tol: success tolerances, metres and radians.
        max_iterations: LM iterations per attempt.
        max_restarts: random restarts per target after the first candidates fail.
        timeout: seconds per target for random restarts (a batch of N gets N × timeout).
        branch_tol: hypotheses whose scaled task error is within this of the best count as
            equally good; the one nearest the current joints is refined first.
        continuity_tol: radians; an answer continued from the seed that moves a joint further
            than this is checked against the network's hypotheses nearest the seed.
        random_seed: seed of the restart generator (results are reproducible).
        onnx_threads: onnxruntime intra-op threads per network call (a batch of
            PARALLEL_MIN or more targets runs in chunks, one call per core at a time).
    """

    def __init__(self, arm, model="bundled", refine=True, pos_tol=1e-6, rot_tol=1e-6,
                 max_iterations=100, max_restarts=32, timeout=0.02, branch_tol=0.1,
                 continuity_tol=0.5, random_seed=0, onnx_threads=1):
        self.arm = load_arm(arm)
        if pos_tol <= 0 or rot_tol <= 0:
            raise ValueError("pos_tol and rot_tol must be positive")
        if max_iterations < 1 or max_restarts < 0 or timeout < 0:
            raise ValueError("max_iterations ≥ 1, max_restarts ≥ 0 and timeout ≥ 0 are required")
        self.refine = bool(refine)
        self.pos_tol = float(pos_tol)
        self.rot_tol = float(rot_tol)
        self.max_iterations = int(max_iterations)
        self.max_restarts = int(max_restarts)
        self.timeout = float(timeout)
        self.branch_tol = float(branch_tol)
        self.continuity_tol = float(continuity_tol)
        self._rng = np.random.default_rng(random_seed)
        self._w_pos = 1.0 / self.arm.reach
        self._mid = 0.5 * (self.arm.lower + self.arm.upper)
        self._periodic = self.arm.periodic
        self._has_periodic = bool(self._periodic.any())
        self._no_seed = np.empty((0, self.arm.dof))
        a = self.arm
        self._kin = (a.dh, a.convention_id, a.base, a.tool, a.lower, a.upper)
        self._idx1 = np.zeros(1, dtype=np.int64)
        self._settings = {po: (self._w_pos, po, self.pos_tol, self.rot_tol, self.max_iterations)
                          for po in (False, True)}
        path = bundled_model(self.arm) if model == "bundled" else model
        self.model_path = None if path is None else Path(path)
        self.seeder = None
        if self.model_path is not None:
            from .seeder import Seeder

            self.seeder = Seeder(self.model_path, self.arm, threads=onnx_threads)
        if not self.refine and self.seeder is None:
            raise ValueError("refine=False needs a network (model) to return hypotheses from")
        self._workers = get_num_threads()  # numba's thread count (NUMBA_NUM_THREADS)
        self._pool = None  # threads for large batches, started on the first one
        self._one_path = self.refine and self.seeder is not None
        self._shape_q1 = (1, self.arm.dof)
        if self._one_path:
            self._plans = {po: _plan(self, po) for po in (False, True)}
            self.solve(np.eye(4))  # compile/warm the single-query path now

    # ------------------------------------------------------------------ candidates
    def _check_seed(self, seed, n):
        """(N, dof) float64 array of seed given as (dof,) or (N, dof); (0, dof) when None.

        Finiteness is checked by the caller (compiled, with the targets)."""
        dof = self.arm.dof
        if seed is None:
            return self._no_seed
        seed = np.asarray(seed, dtype=np.float64)
        if seed.shape == (dof,):
            seed = seed.reshape(1, dof) if n == 1 else np.broadcast_to(seed, (n, dof))
        if seed.shape != (n, dof):
            raise ValueError(f"seed must have shape ({dof},) or ({n}, {dof}), got {seed.shape}")
        return np.ascontiguousarray(seed)

    def _checked(self, T, seed):
        """Validated (T (N, 4, 4), seed (N, dof) or (0, dof)) from the caller's arguments."""
        T = as_poses(T)
        seed = self._check_seed(seed, T.shape[0])
        if not all_finite(T):
            raise ValueError("target poses contain NaN or inf")
        if seed.shape[0] and not all_finite(seed):
            raise ValueError("seed contains NaN or inf")
        return T, seed

    def hypotheses(self, T, seed=None, position_only=False):
        """The network's hypotheses (N, K, dof), best first, and their scaled errors (N, K).

        T (N, 4, 4) or (4, 4) targets; seed (dof,) or (N, dof) current joints, or None. Best =
        lowest ``pos_err / reach + rot_err`` after FK; among those within ``branch_tol`` of the
        best, the nearest to ``seed`` comes first.
        """
        if self.seeder is None:
            raise ValueError("this solver has no network (model=None)")
        T, seed = self._checked(T, seed)
        return self._rank(T, seed, bool(position_only))

    def _rank(self, T, seed, position_only):
        """hypotheses() for checked T (N, 4, 4) and seed (N, dof) or (0, dof)."""
        H = self._raw_hypotheses(T, seed, position_only)
        out = np.empty_like(H)
        score = np.empty(H.shape[:2])
        rank_hypotheses(T, H, seed, *self._kin[:4], self._periodic, self._w_pos, position_only,
                        self.branch_tol, out, score)
        return out, score

    def _raw_hypotheses(self, T, seed, position_only):
        """Network hypotheses (N, K, dof) for checked T and seed, in the network's order."""
        return self.seeder.hypotheses(T, q_ref=seed if seed.shape[0] else None,
                                      position_only=position_only)

    # ------------------------------------------------------------------ solve
    def solve(self, T, seed=None, position_only=False) -> IKResult:
        """Joint configurations reaching the poses T (N, 4, 4) or (4, 4), base frame, metres.

        seed: (dof,) or (N, dof) current joints, or None. position_only: match the tool
        position only (rotation ignored and reported as 0).
        """
        if (seed is None and self._one_path and T.__class__ is np.ndarray and T.dtype is _F64
                and T.flags.c_contiguous):
            if T.shape == _ONE:
                return self._solve_one(T[None], position_only)
            if T.shape == _ONE3:
                return self._solve_one(T, position_only)
        start = time.perf_counter()
        T, seed = self._checked(T, seed)
        position_only = bool(position_only)
        n, dof = T.shape[0], self.arm.dof
        if not self.refine:
            q = np.ascontiguousarray(self._rank(T, seed, position_only)[0][:, 0])
            pe, re = pose_error(T, self.arm.fk(q))
            if position_only:
                re = np.zeros(n)
            ok = (pe <= self.pos_tol) & (re <= self.rot_tol)
            return IKResult(q, ok, pe, re, np.zeros(n, dtype=np.int64))

        out = (np.empty((n, dof)), np.empty(n, dtype=np.bool_), np.empty(n), np.empty(n),
               np.empty(n, dtype=np.int64), np.empty(n))
        kin, per = self._kin, self._periodic
        settings = self._settings[position_only]
        has_seed = seed.shape[0] > 0
        if has_seed:
            failures = self._chunks(self._seeded, position_only, T, seed, *out)
        elif self.seeder is not None:
            failures = self._chunks(self._unseeded, position_only, T, *out)
        else:
            every = self._idx1 if n == 1 else np.arange(n)
            failures = _refine(n)(T, np.broadcast_to(self._mid, (n, 1, dof)), every, *kin,
                                  *settings, *out, True)

        if failures:
            self._restarts(T, out, settings, start + self.timeout * n)
        if has_seed and self._has_periodic:
            wrap_to_seed(T, seed, *kin, per, self._w_pos, position_only, self.pos_tol,
                         self.rot_tol, *out[:4])
        return IKResult(*out[:5])

    def _chunks(self, work, position_only, *arrays):
        """Sum of ``work(position_only, *arrays)`` for arrays (N, ...) of N targets: in one call
        for a small batch, else over row chunks of about :data:`CHUNK` targets run on numba's
        thread count at once. Each chunk makes its own network call (onnxruntime with the
        configured intra-op threads) and refinement, and the kernels release the GIL, so one
        chunk's network overlaps another's refinement."""
        n = arrays[0].shape[0]
        if n < PARALLEL_MIN or self._workers < 2:
            return work(position_only, *arrays)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="ik_nn-solve")
        bounds = np.linspace(0, n, max(self._workers, -(-n // CHUNK)) + 1).astype(np.int64)
        return sum(self._pool.map(lambda a, b: work(position_only, *(x[a:b] for x in arrays)),
                                  bounds[:-1], bounds[1:]))

    def _seeded(self, position_only, T, seed, *out):
        """Targets T (m, 4, 4) with seeds (m, dof) into out (m, ...): continue from the seed,
        then the network's hypotheses where that failed or left the seed's branch. Returns
        how many still fail."""
        need = np.empty(T.shape[0], dtype=np.bool_)
        failures = seed_pass(T, seed, *self._kin, self._periodic, *self._settings[position_only],
                             self.continuity_tol, *out, need)
        if failures and self.seeder is not None:
            todo = None if failures == T.shape[0] else np.flatnonzero(need)
            return self._network_pass(T, todo, seed, position_only, out, False)
        return T.shape[0] - int(out[1].sum()) if failures else 0

    def _unseeded(self, position_only, T, *out):
        """Targets T (m, 4, 4) without seeds into out (m, ...): the network's hypotheses."""
        return self._network_pass(T, None, self._no_seed, position_only, out, True)

    def _network_pass(self, T, todo, seed, position_only, out, reset):
        """Network hypotheses for the targets ``todo`` (indices into T (m, 4, 4), or None for
        all), ranked and refined into ``out`` (:func:`~ik_nn.refiner.network_pass`); returns
        how many of them still fail. seed (m, dof) or (0, dof)."""
        if todo is None:
            todo = self._idx1 if T.shape[0] == 1 else np.arange(T.shape[0])
            Tn, ref = T, seed
        else:
            Tn, ref = np.ascontiguousarray(T[todo]), seed[todo] if seed.shape[0] else seed
        H = self.seeder.hypotheses(Tn, q_ref=ref if ref.shape[0] else None,
                                   position_only=position_only, parallel=False)
        return network_pass(T, H, todo, seed, *self._kin, self._periodic,
                            *self._settings[position_only], self.branch_tol, *out, reset)

    def _solve_one(self, T, position_only):
        """solve() for one target T (1, 4, 4) without a seed, with a network: encode and run
        the network on bound buffers, then one compiled call decodes, ranks and refines (no
        per-call array checks or conversions beyond what the fast path needs)."""
        start = time.perf_counter()
        position_only = bool(position_only)
        out = (np.empty(self._shape_q1), np.empty(1, _BOOL), np.empty(1), np.empty(1),
               np.empty(1, _I64))
        sd = self.seeder
        with sd.lock:
            if not sd.run_one(T, position_only):
                raise ValueError("target poses contain NaN or inf")
            failing, cost = _network_one(T, sd.raw1, sd.phi1, sd.idx, self._plans[position_only],
                                         *out)
        if failing:
            self._restarts(T, out + (np.array([cost]),), self._settings[position_only],
                           start + self.timeout)
        return IKResult(*out)

    def _restarts(self, T, out, settings, deadline):
        """Random restarts for the targets still failing, a few at a time, within budget."""
        restarts = 0
        success = out[1]
        while restarts < self.max_restarts and time.perf_counter() < deadline:
            idx = np.flatnonzero(~success)
            if not idx.size:
                break
            k = min(RESTART_CHUNK, self.max_restarts - restarts)
            cands = self._rng.uniform(self.arm.lower, self.arm.upper,
                                      size=(idx.size, k, self.arm.dof))
            _refine(idx.size)(T, cands, idx, *self._kin, *settings, *out, False)
            restarts += k
