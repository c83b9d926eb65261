"""Levenberg–Marquardt (damped least squares) refinement, compiled with numba.

Per attempt, from a seed ``q0``::

    e  = [ w (p_t − p) ; log(R_t Rᵀ) ]            (6,)  or (3,) position-only; w = 1 / reach
    J  = [ w J_v ; J_ω ]                           (6, dof) geometric Jacobian, scaled alike
    δ  = (JᵀJ + λ I)⁻¹ Jᵀ e                        Levenberg damping, Cholesky solve
    q' = clip(q + s δ, lower, upper)               s ≤ 1 caps the largest joint change at
                                                   MAX_STEP; joint limits on every trial

A trial is taken only if it lowers ``½‖e‖²``; then λ shrinks (×0.1), else λ grows (×10) and the
step is solved again from the same Jacobian. The damping keeps every step the minimum-norm one,
so motion along the Jacobian's null space (the rrrrrr θ3/θ4 split, the rrr θ3 in position-only
mode) stays at the seed. An attempt ends on success (both errors within tolerance), when λ
exceeds :data:`LAMBDA_MAX` (a local minimum, a limit, or an unreachable target), or at the
iteration cap (one iteration = one linear solve and one FK).

``refine_batch`` runs attempts for many targets; each target tries its seeds in order until one
succeeds and keeps the lowest-error result. Restarts are the caller's business (solver.py).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .kinematics import chain_one, jacobian_one, rotation_log

LAMBDA_START = 1e-3
LAMBDA_MIN = 1e-7
LAMBDA_MAX = 1e7
MAX_STEP = 0.5  # rad: largest joint change of one step (near singularities GN steps explode)


@njit(cache=True)
def _residual(Rt, pt, R, p, w_pos, pos_only, e, w):
    """Fill e (6,) with the scaled error; return (cost, pos_err, rot_err)."""
    dx = pt[0] - p[0]
    dy = pt[1] - p[1]
    dz = pt[2] - p[2]
    e[0] = w_pos * dx
    e[1] = w_pos * dy
    e[2] = w_pos * dz
    pos_err = np.sqrt(dx * dx + dy * dy + dz * dz)
    cost = e[0] * e[0] + e[1] * e[1] + e[2] * e[2]
    rot_err = 0.0
    if not pos_only:
        rot_err = rotation_log(Rt, R, w)
        e[3] = w[0]
        e[4] = w[1]
        e[5] = w[2]
        cost += w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
    return 0.5 * cost, pos_err, rot_err


@njit(cache=True)
def _cholesky_solve(A, b, x, n):
    """Solve A x = b for symmetric positive-definite A (n, n) in place (A is overwritten)."""
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if s <= 0.0:
            return False
        d = np.sqrt(s)
        A[j, j] = d
        for i in range(j + 1, n):
            s = A[i, j]
            for k in range(j):
                s -= A[i, k] * A[j, k]
            A[i, j] = s / d
    for i in range(n):  # L y = b
        s = b[i]
        for k in range(i):
            s -= A[i, k] * x[k]
        x[i] = s / A[i, i]
    for i in range(n - 1, -1, -1):  # Lᵀ x = y
        s = x[i]
        for k in range(i + 1, n):
            s -= A[k, i] * x[k]
        x[i] = s / A[i, i]
    return True


@njit(cache=True)
def lm_attempt(Rt, pt, q, dh, convention, base, tool, lower, upper, w_pos, pos_only,
               pos_tol, rot_tol, max_iter):
    """Refine q (dof,) in place towards the target (Rt (3, 3), pt (3,)).

    Returns (success, pos_err, rot_err, iterations, cost) of the final q.
    """
    dof = q.shape[0]
    m = 3 if pos_only else 6
    R = np.empty((3, 3))
    p = np.empty(3)
    axes = np.empty((dof, 3))
    origins = np.empty((dof, 3))
    R2 = np.empty((3, 3))
    p2 = np.empty(3)
    axes2 = np.empty((dof, 3))
    origins2 = np.empty((dof, 3))
    e = np.empty(6)
    e2 = np.empty(6)
    w = np.empty(3)
    J = np.empty((6, dof))
    JtJ = np.empty((dof, dof))
    M = np.empty((dof, dof))
    g = np.empty(dof)
    delta = np.empty(dof)
    q2 = np.empty(dof)

    chain_one(q, dh, convention, base, tool, R, p, axes, origins)
    cost, pos_err, rot_err = _residual(Rt, pt, R, p, w_pos, pos_only, e, w)
    lam = LAMBDA_START
    it = 0
    while True:
        if pos_err <= pos_tol and rot_err <= rot_tol:
            return True, pos_err, rot_err, it, cost
        if it >= max_iter or lam > LAMBDA_MAX:
            return False, pos_err, rot_err, it, cost
        jacobian_one(p, axes, origins, J)
        for r in range(3):
            for c in range(dof):
                J[r, c] *= w_pos
        for i in range(dof):
            s = 0.0
            for r in range(m):
                s += J[r, i] * e[r]
            g[i] = s
            for j in range(i, dof):
                s = 0.0
                for r in range(m):
                    s += J[r, i] * J[r, j]
                JtJ[i, j] = s
                JtJ[j, i] = s
        while it < max_iter and lam <= LAMBDA_MAX:
            it += 1
            for i in range(dof):
                for j in range(dof):
                    M[i, j] = JtJ[i, j]
                M[i, i] += lam
            if not _cholesky_solve(M, g, delta, dof):
                lam *= 10.0
                continue
            big = 0.0
            for i in range(dof):
                big = max(big, abs(delta[i]))
            shrink = MAX_STEP / big if big > MAX_STEP else 1.0
            for i in range(dof):
                v = q[i] + shrink * delta[i]
                q2[i] = min(max(v, lower[i]), upper[i])
            chain_one(q2, dh, convention, base, tool, R2, p2, axes2, origins2)
            cost2, pos2, rot2 = _residual(Rt, pt, R2, p2, w_pos, pos_only, e2, w)
            if cost2 < cost:
                q[:] = q2
                R, R2 = R2, R
                p, p2 = p2, p
                axes, axes2 = axes2, axes
                origins, origins2 = origins2, origins
                e, e2 = e2, e
                cost, pos_err, rot_err = cost2, pos2, rot2
                lam = max(lam * 0.1, LAMBDA_MIN)
                break
            lam *= 10.0


@njit(cache=True)
def refine_batch(T, seeds, idx, dh, convention, base, tool, lower, upper, w_pos, pos_only,
                 pos_tol, rot_tol, max_iter, q_out, success, pos_err, rot_err, iterations,
                 best_cost, reset):
    """Refine targets ``idx`` (n,) from their seeds (n, S, dof); update the outputs in place.

    T (N, 4, 4) are all targets; outputs q_out (N, dof), success (N,) bool, pos_err, rot_err,
    best_cost (N,) float, iterations (N,) int are indexed by target (``reset`` initialises them
    for ``idx`` first). A target keeps the lowest-cost result over every attempt made on it and
    stops at its first success. Seeds are clipped into the limits; NaN seeds (padding) are
    skipped.
    """
    dof = seeds.shape[2]
    q = np.empty(dof)
    for t in range(idx.shape[0]):
        k = idx[t]
        if reset:
            success[k] = False
            pos_err[k] = np.inf
            rot_err[k] = np.inf
            best_cost[k] = np.inf
            iterations[k] = 0
            q_out[k] = np.nan
        if success[k]:
            continue
        Rt = T[k, :3, :3]
        pt = T[k, :3, 3]
        for s in range(seeds.shape[1]):
            if np.isnan(seeds[t, s, 0]):
                continue
            for i in range(dof):
                q[i] = min(max(seeds[t, s, i], lower[i]), upper[i])
            ok, pe, re, it, cost = lm_attempt(Rt, pt, q, dh, convention, base, tool,
                                              lower, upper, w_pos, pos_only, pos_tol, rot_tol,
                                              max_iter)
            iterations[k] += it
            if ok or cost < best_cost[k]:
                best_cost[k] = cost
                q_out[k] = q
                pos_err[k] = pe
                rot_err[k] = re
                success[k] = ok
            if ok:
                break


@njit(cache=True)
def rank_hypotheses(T, H, seed, dh, convention, base, tool, w_pos, pos_only, branch_tol, out,
                    score_out):
    """Order each target's hypotheses H (N, K, dof) into out (N, K, dof), best first.

    Score = pos_err / reach + rot_err (position only: pos_err / reach), after FK. With seed
    (N, dof) given (an empty (0, dof) array means none), hypotheses within ``branch_tol`` of the
    best score are ordered by joint-space distance to the seed, ahead of the rest.
    """
    n, K, dof = H.shape
    R = np.empty((3, 3))
    p = np.empty(3)
    axes = np.empty((dof, 3))
    origins = np.empty((dof, 3))
    w = np.empty(3)
    e = np.empty(6)
    score = np.empty(K)
    key = np.empty(K)
    for k in range(n):
        Rt = T[k, :3, :3]
        pt = T[k, :3, 3]
        best = np.inf
        for j in range(K):
            chain_one(H[k, j], dh, convention, base, tool, R, p, axes, origins)
            _, pe, re = _residual(Rt, pt, R, p, w_pos, pos_only, e, w)
            score[j] = pe * w_pos + re
            best = min(best, score[j])
        for j in range(K):
            if seed.shape[0] == 0:
                key[j] = score[j]
            elif score[j] <= best + branch_tol:
                d = 0.0
                for i in range(dof):
                    d += (H[k, j, i] - seed[k, i]) ** 2
                key[j] = np.sqrt(d)
            else:
                key[j] = 1e6 + score[j]
        order = np.argsort(key)
        for j in range(K):
            out[k, j] = H[k, order[j]]
            score_out[k, j] = score[order[j]]
