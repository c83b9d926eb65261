"""IKSolver: validated targets → network hypotheses → the solve policy → honest results.

Network hypotheses come from :mod:`.seeder`; the solve policy is :mod:`.candidates`, whose LM
is :mod:`.lm`.

This module owns what is not maths or policy: argument checking, which network (if any),
splitting a large batch into chunks run on every core, and the single-query path, which is
the same code with N = 1 (no separate implementation).

``success`` is true only where the final position error ≤ ``pos_tol`` (m) and rotation error
≤ ``rot_tol`` (rad). Failed targets return the lowest-error configuration found, flagged
false. Every returned ``q`` is inside the joint limits.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _kernels, candidates
from .arm import BUNDLED_ARMS, Arm, load_arm
from .kinematics import as_poses, pose_error
from .resources import model_path

PARALLEL_MIN = 256  # targets: a batch this large is split into chunks run on every core
CHUNK = 1024        # targets per chunk (one network call + refinement each)
POSE_TOL = 1e-6     # |RᵀR − I| above this: not a rotation; the target is refused
_FIRST_ONLY, _RESUME = 1, 2  # stages of candidates.solve (kernels/iknn.h)
_BOOL, _INT, _F64 = np.dtype(np.bool_), np.dtype(np.int64), np.dtype(np.float64)
_POSE, _ONE = (4, 4), (1, 4, 4)

log = logging.getLogger("ik_nn")


@dataclass(slots=True)
class IKResult:
    """Per-target outcome of :meth:`IKSolver.solve` (arrays of length N).

    q (N, dof) radians (metres for prismatic joints); success (N,) bool; pos_err (N,)
    metres; rot_err (N,) radians (0 in position-only mode); iterations (N,) LM iterations
    spent on the target over all attempts; jump (N,) the largest joint change from the seed
    (radians, metres for prismatic joints; NaN without a seed). With ``max_jump`` set, an
    answer whose jump exceeds it is not a success, whatever its errors.
    """

    q: np.ndarray
    success: np.ndarray
    pos_err: np.ndarray
    rot_err: np.ndarray
    iterations: np.ndarray
    jump: np.ndarray

    @classmethod
    def empty(cls, n: int, dof: int) -> IKResult:
        return cls(np.empty((n, dof)), np.empty(n, _BOOL), np.empty(n), np.empty(n),
                   np.empty(n, _INT), np.empty(n))

    def rows(self, a: int, b: int) -> IKResult:
        """Targets a..b-1, as views (writing them writes this result)."""
        return IKResult(self.q[a:b], self.success[a:b], self.pos_err[a:b], self.rot_err[a:b],
                        self.iterations[a:b], self.jump[a:b])

    def __len__(self):
        return self.q.shape[0]


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
        timeout: seconds; wall-clock cap on one target's random restarts (a safety cap: the
            budget is ``max_restarts``, so answers do not depend on the machine's load while
            this cap does not bind; 100 restarts of a 7-DOF arm take ~7 ms idle). The ROS
            node sets its own (``timeout`` parameter, 0.02 s).
        branch_tol: hypotheses whose scaled task error is within this of the best count as
            equally good; the one nearest the current joints is refined first.
        continuity_tol: radians; an answer continued from the seed that moves a joint further
            than this is checked against the network's hypotheses nearest the seed.
        max_jump: radians (metres for prismatic joints), or None; with a seed, an answer
            moving some joint further than this from it is returned with success False (its
            size in ``IKResult.jump``): a bound on the step a caller will command.
        random_seed: seed of the restarts (with the target's pose: results are reproducible).
        onnx_threads: onnxruntime intra-op threads per network call (a batch of
            PARALLEL_MIN or more targets runs in chunks, one call per core at a time).
        network_first: without a seed, refine the network's hypotheses first. By default
            (False) one attempt from the middle of the limits comes first and the network runs
            only for the targets it leaves unsolved: the network then costs nothing on easy
            targets (p50 as without it) and shortens the tail. True measures the network's own
            basin (with ``max_restarts=0``).
    """

    def __init__(self, arm, model="bundled", refine=True, pos_tol=1e-6, rot_tol=1e-6,
                 max_iterations=100, max_restarts=100, timeout=0.1, branch_tol=0.1,
                 continuity_tol=0.5, max_jump=None, random_seed=0, onnx_threads=1,
                 network_first=False):
        self.arm = load_arm(arm)
        if not (pos_tol > 0 and rot_tol > 0):
            raise ValueError("pos_tol and rot_tol must be positive")
        if max_iterations < 1 or max_restarts < 0 or not timeout >= 0:
            raise ValueError("max_iterations ≥ 1, max_restarts ≥ 0 and timeout ≥ 0 are required")
        self.refine = bool(refine)
        self.network_first = bool(network_first)
        self.pos_tol = float(pos_tol)
        self.rot_tol = float(rot_tol)
        self.max_iterations = int(max_iterations)
        self.max_restarts = int(max_restarts)
        self.timeout = float(timeout)
        self.branch_tol = float(branch_tol)
        self.continuity_tol = float(continuity_tol)
        self.random_seed = int(random_seed)
        if max_jump is not None and not (np.isfinite(max_jump) and max_jump > 0):
            raise ValueError(f"max_jump must be a positive number or None, got {max_jump!r}")
        self.max_jump = None if max_jump is None else float(max_jump)
        self.chain = self.arm.chain
        self.dof = self.arm.dof
        self._settings = {po: candidates.settings(
            pos_tol=self.pos_tol, rot_tol=self.rot_tol, max_iterations=self.max_iterations,
            max_restarts=self.max_restarts, timeout=self.timeout, branch_tol=self.branch_tol,
            continuity_tol=self.continuity_tol, max_jump=self.max_jump or 0.0,
            random_seed=self.random_seed,
            position_only=po) for po in (False, True)}
        path = bundled_model(self.arm) if model == "bundled" else model
        self.model_path = None if path is None else Path(path)
        self.seeder = None
        if self.model_path is not None:
            from .seeder import Seeder

            self.seeder = Seeder(self.model_path, self.arm, threads=onnx_threads)
        elif model == "bundled":
            log.warning("arm %r has no bundled network: solving without one (train one with "
                        "'ik-nn train', or pass model=None to say so)", self.arm.name)
        if not self.refine and self.seeder is None:
            raise ValueError("refine=False needs a network (model) to return hypotheses from")
        self._ref0 = np.ascontiguousarray(
            np.clip(0.5 * (self.arm.lower + self.arm.upper), self.arm.lower, self.arm.upper)
        ).reshape(1, -1)
        self._workers = max(1, len(os.sched_getaffinity(0)))
        self._pool = None  # threads for large batches, started on the first one

    # ------------------------------------------------------------------ arguments
    def _targets(self, T) -> np.ndarray:
        """(N, 4, 4) C-contiguous float64 rigid transforms, or a ValueError naming the index."""
        if not (T.__class__ is np.ndarray and T.dtype is _F64 and T.flags.c_contiguous
                and T.ndim == 3):
            T = as_poses(T)
        elif T.shape[1:] != (4, 4):
            raise ValueError(f"poses must have shape (N, 4, 4) or (4, 4), got {T.shape}")
        bad = _kernels.check_poses(T, POSE_TOL)
        if bad is not None:
            k, why, value = bad
            raise ValueError(f"target pose {k}: " + {
                "non_finite": "contains NaN or inf",
                "bottom_row": f"bottom row is {T[k, 3].tolist()}, not [0, 0, 0, 1]",
                "reflection": f"rotation has determinant {value:.6g} (a reflection)",
                "not_orthonormal": f"rotation is not orthonormal (|RᵀR − I| = {value:.3g} > "
                                   f"{POSE_TOL:g})",
            }[why])
        return T

    def _seeds(self, seed, n: int):
        """(N, dof) C-contiguous float64 seeds from (dof,) or (N, dof); None stays None."""
        if seed is None:
            return None
        dof = self.arm.dof
        seed = np.asarray(seed, dtype=np.float64)
        if seed.shape == (dof,):
            seed = seed.reshape(1, dof) if n == 1 else np.broadcast_to(seed, (n, dof))
        if seed.shape != (n, dof):
            raise ValueError(f"seed must have shape ({dof},) or ({n}, {dof}), got {seed.shape}")
        seed = np.ascontiguousarray(seed)
        if not _kernels.all_finite(seed):
            raise ValueError("seed contains NaN or inf")
        return seed

    # ------------------------------------------------------------------ API
    def hypotheses(self, T, seed=None, position_only=False):
        """The network's hypotheses (N, K, dof), best first, and their scaled errors (N, K).

        T (N, 4, 4) or (4, 4) targets; seed (dof,) or (N, dof) current joints, or None. Best =
        lowest ``pos_err / reach + rot_err`` after FK; among those within ``branch_tol`` of the
        best, the nearest to ``seed`` comes first (:mod:`ik_nn.candidates`).
        """
        if self.seeder is None:
            raise ValueError("this solver has no network (model=None)")
        T = self._targets(T)
        seeds = self._seeds(seed, T.shape[0])
        H = self._propose(T, seeds, bool(position_only))
        return candidates.rank(self.chain, self._settings[bool(position_only)], T, H, seeds)

    def solve(self, T, seed=None, position_only=False) -> IKResult:
        """Joint configurations reaching the poses T (N, 4, 4) or (4, 4), base frame, metres.

        seed: (dof,) or (N, dof) current joints, or None. position_only: match the tool
        position only (rotation ignored and reported as 0).
        """
        if (T.__class__ is np.ndarray and T.shape == _POSE and T.dtype is _F64
                and T.flags.c_contiguous and _kernels.check_poses(T3 := T.reshape(_ONE), POSE_TOL)
                is None):
            T = T3   # one valid pose: the checks below, done
        else:
            T = self._targets(T.reshape(_ONE) if T.__class__ is np.ndarray
                              and T.shape == _POSE else T)
        n = T.shape[0]
        seeds = None if seed is None else self._seeds(seed, n)
        po = position_only is True or bool(position_only)
        result = IKResult.empty(n, self.dof)
        if n < PARALLEL_MIN or self._workers < 2:
            self._solve_rows(T, seeds, po, result)
            return result
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="ik_nn-solve")
        bounds = np.linspace(0, n, max(self._workers, -(-n // CHUNK)) + 1).astype(int)
        jobs = [self._pool.submit(self._solve_rows, T[a:b], None if seeds is None else
                                  seeds[a:b], po, result.rows(a, b))
                for a, b in zip(bounds[:-1], bounds[1:])]
        for job in jobs:
            job.result()
        return result

    # ------------------------------------------------------------------ one chunk
    def _propose(self, T, seeds, po):
        """Network hypotheses (N, K, dof) for checked targets.

        Periodic joints on the seed's turn (mid-limits without seeds).
        """
        H = np.empty((T.shape[0], self.seeder.K, self.arm.dof))
        ref = self._ref0 if seeds is None else np.clip(seeds, self.arm.lower, self.arm.upper)
        self.seeder.propose(T, ref, po, H)
        return H

    def _solve_rows(self, T, seeds, po, result):
        """Targets T (m, 4, 4) with seeds (m, dof) or None into result (m targets)."""
        settings = self._settings[po]
        if self.seeder is None:
            candidates.solve(self.chain, settings, T, None, seeds, result)
            return
        if not self.refine:
            H, _ = candidates.rank(self.chain, settings, T, self._propose(T, seeds, po), seeds)
            self._judge(T, np.ascontiguousarray(H[:, 0]), po, result)
            return
        if seeds is None and self.network_first:
            candidates.solve(self.chain, settings, T, self._propose(T, None, po), None, result)
            return
        # the first start (the seed, else the middle of the limits) alone first: where it
        # converges (on the seed's branch), no network call is needed, so the network costs
        # nothing on easy targets and serves the hard ones
        if T.shape[0] == 1:   # one target: the count of those needing more says it all
            if candidates.solve(self.chain, settings, T, None, seeds, result, stage=_FIRST_ONLY):
                candidates.solve(self.chain, settings, T, self._propose(T, seeds, po), seeds,
                                 result, stage=_RESUME)
            return
        need = np.empty(T.shape[0], dtype=np.bool_)
        if not candidates.solve(self.chain, settings, T, None, seeds, result, stage=_FIRST_ONLY,
                                need=need):
            return
        if need.all():
            candidates.solve(self.chain, settings, T, self._propose(T, seeds, po), seeds,
                             result, stage=_RESUME)
            return
        idx = np.flatnonzero(need)
        sub = result.rows(0, 0)
        sub = IKResult(*(np.ascontiguousarray(getattr(result, f)[idx])
                         for f in sub.__slots__))
        Ts = np.ascontiguousarray(T[idx])
        ss = None if seeds is None else np.ascontiguousarray(seeds[idx])
        candidates.solve(self.chain, settings, Ts, self._propose(Ts, ss, po), ss, sub,
                         stage=_RESUME)
        for f in sub.__slots__:
            getattr(result, f)[idx] = getattr(sub, f)

    def _judge(self, T, q, po, result):
        """Answers q (m, dof) as they are, judged by FK, into result."""
        pe, re = pose_error(T, self.arm.fk(q))
        if po:
            re = np.zeros_like(re)
        result.q[:] = q
        result.pos_err[:] = pe
        result.rot_err[:] = re
        result.success[:] = (pe <= self.pos_tol) & (re <= self.rot_tol)
        result.iterations[:] = 0
        result.jump[:] = np.nan
