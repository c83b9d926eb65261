"""Levenberg–Marquardt refinement: one target, one start (compiled: ``kernels/lm.c``).

Per attempt, from a start ``q0``::

    e  = [ w (p_t − p) ; log(R_t Rᵀ) ]     (6,), or (3,) position only; w = 1 / reach
    J  = [ w J_v ; J_ω ]                   (6, dof) geometric Jacobian, scaled alike
    δ  = (JᵀJ + λ I)⁻¹ Jᵀ e                Levenberg damping, Cholesky solve
    q' = clip(q + s δ, lower, upper)       s ≤ 1 caps the largest joint change at max_step;
                                           joint limits on every trial

A joint sitting at a limit whose step points out of range is held for that step (its row and
column removed, the step solved again), so the free joints do the work instead of a clipped
step stalling near the limit. A trial is taken only if it lowers ``½‖e‖²``; then λ shrinks
as far as the gain ratio (actual over predicted reduction) shows the linear model to be
trustworthy (Nielsen's rule, floor 1e-9), else λ grows (×2, ×4, ×8, ...) and the step is
solved again from the same Jacobian. Damped steps are minimum-norm, so motion along the
Jacobian's null space (the rrrrrr θ3/θ4 split, the rrr θ3 in position-only mode) stays at
the start. An attempt ends on success (both
errors within tolerance), when λ exceeds 1e7 (a local minimum, a limit, or an unreachable
target) or at the iteration cap (one iteration = one linear solve and one FK).

Which starts an attempt gets, and which answer is kept, is policy: :mod:`ik_nn.candidates`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from .contract import CHAIN, read

MAX_STEP = 0.5  # rad (or m): largest joint change of one step (near singularities GN steps
#                 explode); packed into the Settings record by ik_nn.candidates


@dataclass(frozen=True)
class Attempt:
    """One LM attempt: q (dof,) reached; errors in metres and radians; cost ½‖e‖²."""

    q: np.ndarray
    success: bool
    pos_err: float
    rot_err: float
    cost: float
    iterations: int


def refine(chain, settings, T, q0) -> Attempt:
    """LM from q0 (dof,) towards the pose T (4, 4).

    With a packed ``Chain`` and ``Settings`` (:mod:`ik_nn.contract`). q0 is clipped into the
    limits first.
    """
    fields = read(CHAIN, chain)
    q0 = np.asarray(q0, dtype=np.float64)
    q = np.clip(q0, fields["lower"][:q0.shape[0]], fields["upper"][:q0.shape[0]])
    T = np.ascontiguousarray(T, dtype=np.float64)
    ok, pe, re, cost, it = _kernels.lm(chain, settings, T, q)
    return Attempt(q, bool(ok), pe, re, cost, int(it))
