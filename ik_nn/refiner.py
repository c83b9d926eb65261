"""Levenberg–Marquardt (damped least squares) refinement, compiled with numba.

Per attempt, from a seed ``q0``::

    e  = [ w (p_t − p) ; log(R_t Rᵀ) ]            (6,)  or (3,) position-only; w = 1 / reach
    J  = [ w J_v ; J_ω ]                           (6, dof) geometric Jacobian, scaled alike
    δ  = (JᵀJ + λ I)⁻¹ Jᵀ e                        Levenberg damping, Cholesky solve
    q' = clip(q + s δ, lower, upper)               s ≤ 1 caps the largest joint change at
                                                   MAX_STEP; joint limits on every trial

A trial is taken only if it lowers ``½‖e‖²``; then λ shrinks by as much as the gain ratio
(actual over predicted reduction) shows the linear model to be trustworthy (Nielsen's rule),
else λ grows (×2, ×4, ×8, ...) and the step is solved again from the same Jacobian. The damping keeps every step the minimum-norm one,
so motion along the Jacobian's null space (the rrrrrr θ3/θ4 split, the rrr θ3 in position-only
mode) stays at the seed. An attempt ends on success (both errors within tolerance), when λ
exceeds :data:`LAMBDA_MAX` (a local minimum, a limit, or an unreachable target), or at the
iteration cap (one iteration = one linear solve and one FK).

``refine_batch`` runs attempts for many targets; each target tries its seeds in order until one
succeeds and keeps the lowest-error result. Restarts are the caller's business (solver.py).
"""
from __future__ import annotations

import types

import numpy as np
from numba import njit, prange

from .kinematics import chain_one, jacobian_one, rotation_log

LAMBDA_START = 1e-3
LAMBDA_MIN = 1e-9
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
    # scratch: a few blocks, viewed (allocation is a measurable part of a 3-DOF solve)
    b33 = np.empty((2, 3, 3))
    b3 = np.empty((3, 3))
    bd3 = np.empty((4, dof, 3))
    b6 = np.empty((2, 6))
    bdd = np.empty((2, dof, dof))
    bd = np.empty((3, dof))
    J = np.empty((6, dof))
    R, R2 = b33[0], b33[1]
    p, p2, w = b3[0], b3[1], b3[2]
    axes, origins, axes2, origins2 = bd3[0], bd3[1], bd3[2], bd3[3]
    e, e2 = b6[0], b6[1]
    JtJ, M = bdd[0], bdd[1]
    g, delta, q2 = bd[0], bd[1], bd[2]

    chain_one(q, dh, convention, base, tool, R, p, axes, origins)
    cost, pos_err, rot_err = _residual(Rt, pt, R, p, w_pos, pos_only, e, w)
    lam = LAMBDA_START
    nu = 2.0
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
                lam *= nu
                nu *= 2.0
                continue
            big = 0.0
            for i in range(dof):
                big = max(big, abs(delta[i]))
            shrink = MAX_STEP / big if big > MAX_STEP else 1.0
            for i in range(dof):
                delta[i] *= shrink
                q2[i] = min(max(q[i] + delta[i], lower[i]), upper[i])
            chain_one(q2, dh, convention, base, tool, R2, p2, axes2, origins2)
            cost2, pos2, rot2 = _residual(Rt, pt, R2, p2, w_pos, pos_only, e2, w)
            # reduction the linear model predicts for this step: gᵀδ − ½ δᵀ JᵀJ δ
            pred = 0.0
            for i in range(dof):
                acc = 0.0
                for j in range(dof):
                    acc += JtJ[i, j] * delta[j]
                pred += delta[i] * (g[i] - 0.5 * acc)
            if cost2 < cost:
                rho = (cost - cost2) / pred if pred > 0.0 else 1.0
                q[:] = q2
                R, R2 = R2, R
                p, p2 = p2, p
                axes, axes2 = axes2, axes
                origins, origins2 = origins2, origins
                e, e2 = e2, e
                cost, pos_err, rot_err = cost2, pos2, rot2
                # Nielsen's update: shrink λ as far as the model proved trustworthy
                t = 2.0 * rho - 1.0
                lam = max(lam * max(1.0 / 3.0, 1.0 - t * t * t), LAMBDA_MIN)
                nu = 2.0
                break
            lam *= nu
            nu *= 2.0


def _renamed(func, name):
    """A copy of func under another name: numba's disk cache is keyed by the function's name,
    so a serial and a parallel build of one function need two names."""
    twin = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__,
                              func.__closure__)
    twin.__qualname__ = name
    return twin


@njit(cache=True)
def all_finite(a):
    """True if no element of the array a is NaN or ±inf."""
    for x in a.ravel():
        if not np.isfinite(x):
            return False
    return True


@njit(cache=True, inline="always")
def joint_distance(a, b, periodic):
    """Largest joint difference between a and b (dof,), periodic joints taken modulo 2π."""
    d = 0.0
    for i in range(a.shape[0]):
        x = a[i] - b[i]
        if periodic[i]:
            x = (x + np.pi) % (2.0 * np.pi) - np.pi
        d = max(d, abs(x))
    return d


@njit(cache=True, inline="always")
def _reset(k, q_out, success, pos_err, rot_err, iterations, best_cost):
    success[k] = False
    pos_err[k] = np.inf
    rot_err[k] = np.inf
    best_cost[k] = np.inf
    iterations[k] = 0
    q_out[k] = np.nan


@njit(cache=True, inline="always")
def _keep(k, q, ok, pe, re, cost, q_out, success, pos_err, rot_err, best_cost):
    """Record attempt (q, ok, errors, cost) as target k's current answer."""
    q_out[k] = q
    success[k] = ok
    pos_err[k] = pe
    rot_err[k] = re
    best_cost[k] = cost


@njit(cache=True, inline="always")
def _attempt(k, Rt, pt, cand, q, seed, periodic, dh, convention, base, tool, lower, upper,
             w_pos, pos_only, pos_tol, rot_tol, max_iter, q_out, success, pos_err, rot_err,
             iterations, best_cost):
    """One LM attempt for target k from candidate cand (dof,) (clipped into the limits), q
    (dof,) scratch. The result replaces target k's answer if it converged where the answer had
    not, or converged nearer seed[k] (when seed is not empty), or failed with a lower error
    than a failed answer. Returns whether it converged."""
    for i in range(q.shape[0]):
        q[i] = min(max(cand[i], lower[i]), upper[i])
    ok, pe, re, it, cost = lm_attempt(Rt, pt, q, dh, convention, base, tool, lower, upper,
                                      w_pos, pos_only, pos_tol, rot_tol, max_iter)
    iterations[k] += it
    if ok and success[k] and seed.shape[0] > 0:
        take = joint_distance(q, seed[k], periodic) < joint_distance(q_out[k], seed[k], periodic)
    else:
        take = ok or (not success[k] and cost < best_cost[k])
    if take:
        _keep(k, q, ok, pe, re, cost, q_out, success, pos_err, rot_err, best_cost)
    return ok


def _refine_batch(T, seeds, idx, dh, convention, base, tool, lower, upper, w_pos, pos_only,
                 pos_tol, rot_tol, max_iter, q_out, success, pos_err, rot_err, iterations,
                 best_cost, reset):
    """Refine targets ``idx`` (n,) from their seeds (n, S, dof); update the outputs in place.

    T (N, 4, 4) are all targets; outputs q_out (N, dof), success (N,) bool, pos_err, rot_err,
    best_cost (N,) float, iterations (N,) int are indexed by target (``reset`` initialises them
    for ``idx`` first). A target keeps the lowest-cost result over every attempt made on it and
    stops at its first success. Seeds are clipped into the limits; NaN seeds (padding) are
    skipped. Returns the number of targets in ``idx`` still failing.
    """
    dof = seeds.shape[2]
    no_seed = np.empty((0, dof))
    periodic = np.zeros(dof, dtype=np.bool_)  # unused without a seed
    failures = 0
    for t in prange(idx.shape[0]):
        k = idx[t]
        q = np.empty(dof)
        if reset:
            _reset(k, q_out, success, pos_err, rot_err, iterations, best_cost)
        if success[k]:
            continue
        Rt = T[k, :3, :3]
        pt = T[k, :3, 3]
        for s in range(seeds.shape[1]):
            if np.isnan(seeds[t, s, 0]):
                continue
            if _attempt(k, Rt, pt, seeds[t, s], q, no_seed, periodic, dh, convention, base,
                        tool, lower, upper, w_pos, pos_only, pos_tol, rot_tol, max_iter, q_out,
                        success, pos_err, rot_err, iterations, best_cost):
                break
        if not success[k]:
            failures += 1
    return failures


refine_batch = njit(cache=True)(_refine_batch)
refine_batch_parallel = njit(cache=True, parallel=True)(_renamed(_refine_batch, "_refine_batch_par"))


@njit(cache=True, nogil=True)  # nogil: the solver runs chunks of a batch on threads
def seed_pass(T, seed, dh, convention, base, tool, lower, upper, periodic, w_pos, pos_only,
              pos_tol, rot_tol, max_iter, continuity_tol, q_out, success, pos_err, rot_err,
              iterations, best_cost, need):
    """Refine every target from its seed (N, dof); initialises the outputs (N, ...).

    need (N,) bool is set where the seed did not converge, or converged to an answer moving
    some joint more than ``continuity_tol`` (LM wandered off the seed's branch). Returns the
    number of such targets.
    """
    count = 0
    seeds = seed.reshape(seed.shape[0], 1, seed.shape[1])
    one = np.empty(1, dtype=np.int64)
    for k in range(T.shape[0]):
        one[0] = k
        refine_batch(T, seeds[k:k + 1], one, dh, convention, base, tool, lower, upper, w_pos,
                     pos_only, pos_tol, rot_tol, max_iter, q_out, success, pos_err, rot_err,
                     iterations, best_cost, True)
        need[k] = (not success[k]) or joint_distance(q_out[k], seed[k], periodic) > continuity_tol
        count += need[k]
    return count


@njit(cache=True, inline="always")
def _work(dof):
    """Scratch arrays for chain_one and _residual."""
    return (np.empty((3, 3)), np.empty(3), np.empty((dof, 3)), np.empty((dof, 3)), np.empty(6),
            np.empty(3))


@njit(cache=True)
def _order(Rt, pt, Hk, seed, k, dh, convention, base, tool, periodic, w_pos, pos_only,
           branch_tol, score, key, R, p, axes, origins, e, w):
    """Indices ordering one target's hypotheses Hk (K, dof) best first; fills score (K,).

    score = pos_err / reach + rot_err after FK. With a seed (``seed.shape[0] > 0``), the
    hypotheses within ``branch_tol`` of the best score come first, nearest seed[k] first.
    """
    K = Hk.shape[0]
    best = np.inf
    for j in range(K):
        chain_one(Hk[j], dh, convention, base, tool, R, p, axes, origins)
        _, pe, re = _residual(Rt, pt, R, p, w_pos, pos_only, e, w)
        score[j] = pe * w_pos + re
        best = min(best, score[j])
    for j in range(K):
        if seed.shape[0] == 0:
            key[j] = score[j]
        elif score[j] <= best + branch_tol:
            key[j] = joint_distance(Hk[j], seed[k], periodic)
        else:
            key[j] = 1e6 + score[j]
    return np.argsort(key)


@njit(cache=True)
def rank_hypotheses(T, H, seed, dh, convention, base, tool, periodic, w_pos, pos_only,
                    branch_tol, out, score_out):
    """Order each target's hypotheses H (N, K, dof) into out (N, K, dof), best first, with
    their scores in score_out (N, K) (see :func:`_order`)."""
    n, K, dof = H.shape
    R, p, axes, origins, e, w = _work(dof)
    score = np.empty(K)
    key = np.empty(K)
    for k in range(n):
        order = _order(T[k, :3, :3], T[k, :3, 3], H[k], seed, k, dh, convention, base, tool,
                       periodic, w_pos, pos_only, branch_tol, score, key, R, p, axes, origins,
                       e, w)
        for j in range(K):
            out[k, j] = H[k, order[j]]
            score_out[k, j] = score[order[j]]


def _network_pass(T, H, idx, seed, dh, convention, base, tool, lower, upper, periodic, w_pos,
                 pos_only, pos_tol, rot_tol, max_iter, branch_tol, q_out, success, pos_err,
                 rot_err, iterations, best_cost, reset):
    """Rank and refine the network's hypotheses H (m, K, dof) of targets ``idx`` (m,).

    Ranking, per target: score = pos_err / reach + rot_err after FK (position only: pos_err /
    reach); with seed (N, dof) given (``(0, dof)`` means none), hypotheses within
    ``branch_tol`` of the best score come first, nearest the seed first. Hypotheses are refined
    in that order until one converges. A target already solved (by its seed) keeps the solved
    answer nearer the seed; an unsolved one keeps the lowest error. Returns the number of
    targets in ``idx`` still failing.
    """
    m, K, dof = H.shape
    has_seed = seed.shape[0] > 0
    failures = 0
    for t in range(m):
        k = idx[t]
        R, p, axes, origins, e, w = _work(dof)
        score = np.empty(K)
        key = np.empty(K)
        q = np.empty(dof)
        if reset:
            _reset(k, q_out, success, pos_err, rot_err, iterations, best_cost)
        Rt = T[k, :3, :3]
        pt = T[k, :3, 3]
        order = _order(Rt, pt, H[t], seed, k, dh, convention, base, tool, periodic, w_pos,
                       pos_only, branch_tol, score, key, R, p, axes, origins, e, w)
        for jj in range(K):
            if _attempt(k, Rt, pt, H[t, order[jj]], q, seed, periodic, dh, convention, base,
                        tool, lower, upper, w_pos, pos_only, pos_tol, rot_tol, max_iter, q_out,
                        success, pos_err, rot_err, iterations, best_cost):
                break
        if not success[k]:
            failures += 1
    return failures


# nogil: the solver runs chunks of a large batch on several threads at once
network_pass = njit(cache=True, nogil=True)(_network_pass)


@njit(cache=True)
def wrap_to_seed(T, seed, dh, convention, base, tool, lower, upper, periodic, w_pos, pos_only,
                 pos_tol, rot_tol, q_out, success, pos_err, rot_err):
    """Move periodic joints of q_out (N, dof) by whole turns to the representative inside the
    limits nearest seed (N, dof); FK is unchanged, and the errors are recomputed where a joint
    moved (success re-judged, so rounding can never hide behind an old flag)."""
    n, dof = q_out.shape
    R, p, axes, origins, e, w = _work(dof)
    two_pi = 2.0 * np.pi
    for k in range(n):
        moved = False
        for i in range(dof):
            if not periodic[i]:
                continue
            v = q_out[k, i] + two_pi * np.round((seed[k, i] - q_out[k, i]) / two_pi)
            while v > upper[i]:
                v -= two_pi
            while v < lower[i]:
                v += two_pi
            if v != q_out[k, i]:
                q_out[k, i] = v
                moved = True
        if moved and np.isfinite(pos_err[k]):
            chain_one(q_out[k], dh, convention, base, tool, R, p, axes, origins)
            _, pe, re = _residual(T[k, :3, :3], T[k, :3, 3], R, p, w_pos, pos_only, e, w)
            pos_err[k] = pe
            rot_err[k] = re
            success[k] = pe <= pos_tol and re <= rot_tol
