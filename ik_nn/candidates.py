"""Solve policy, all of it: which starts the LM gets, in which order, and which answer wins.

For each target (compiled: ``kernels/candidates.c``):

1. ``seed`` (the arm's current joints), when given: continuing from where the arm is gives
   the nearest solution on its branch and costs no network call. It is final when it
   converges without moving any joint more than ``continuity_tol`` (else LM wandered off the
   seed's branch and the hypotheses are tried too);
2. the network's K hypotheses, when given, ranked by :func:`rank` and refined in that order
   until one converges; with a seed, the search goes on with the hypotheses that start nearer
   the seed than the answer found so far (the nearest solution is the continuous one);
3. without a seed, the middle of the joint limits: before the hypotheses (the solver stages
   it: the network runs only for the targets this attempt leaves unsolved, so it costs
   nothing on easy ones; ``network_first`` skips it), else when there are no hypotheses;
4. random restarts inside the limits while the target still fails, up to ``max_restarts``
   and the ``timeout`` cap. The starts follow a low-discrepancy (Kronecker) sequence from a
   random offset, so they cover the joint box evenly: on five 6/7-DOF development arms,
   16 such restarts left 188 of 250,000 FK-made targets unsolved where 16 independent uniform
   ones left 358. Each target's random stream is a function of its pose and
   ``random_seed`` only: the same target gets the same answer alone or in any batch, on an
   idle or a loaded machine, as long as the wall-clock cap does not bind. A target farther
   from the first joint's origin than ``arm.reach`` (an upper bound on the tool's distance
   from there) gets none: no start can solve it, so it fails at once with its best answer.
   The default budget (100, like ``ik_LM``'s 100 searches) left 0 of 50,000 FK-made targets
   unsolved on each of four 6/7-DOF arms without a network, where 32 left 3–9;
5. with a seed, periodic joints (range ≥ 2π) are moved by whole turns to the representative
   inside the limits nearest the seed (FK unchanged; errors recomputed, success re-judged).

A start other than the seed that fails with a joint held at a limit, where that joint's
range falls short of a full turn by less than 0.6 rad (±166°, ±170°, ±175° joints: the two
limits are a small rotation apart the other way round), goes on once from the joint's other
limit, the other joints where they stopped: the solution it was pulled towards lies just past
the limit, i.e. just inside the other one. On the Panda (four such joints) the mid-limits
attempt alone then solves 89.1 % of 20,000 FK-made targets instead of 81.4 %, and the full
no-network solve spends 23.2 LM iterations per target instead of 25.3; arms whose joints
turn fully (the URs) are unchanged. The seed never does: the arm cannot cross the gap.

Attempts from the seed run until they converge, the damping blows up or the iteration cap;
every other start (mid-limits, hypotheses, restarts) also stops when it *creeps* (its cost
fell by less than 30 % over its last 8 Jacobians: a local minimum's valley, not a basin), so a
failing start costs about half the iterations and the next start runs sooner
(``kernels/lm.c``).

With a seed, the answer's largest joint change from it is reported (``jump``); with
``max_jump`` set, an answer moving further is not a success. Each LM attempt holds a joint
that sits at a limit while its step points out of range (:mod:`ik_nn.lm`), so a seed near a
limit converges on its own branch instead of stalling there.

Keeping: a converged attempt replaces an unconverged answer; between converged answers, the
one nearer the seed (largest joint difference, periodic joints modulo 2π) wins; between
unconverged ones, the lower LM cost. Every answer is inside the joint limits.

Ranking: score = ``pos_err / reach + rot_err`` after FK (position only: ``pos_err / reach``);
with a seed, the hypotheses within ``branch_tol`` of the best score come first, nearest the
seed first, so a far target still lands on the branch the arm is on.
"""
from __future__ import annotations

import numpy as np

from . import _kernels
from .contract import SETTINGS, pack
from .lm import MAX_STEP


def settings(*, pos_tol: float, rot_tol: float, max_iterations: int, max_restarts: int,
             timeout: float, branch_tol: float, continuity_tol: float, max_jump: float,
             random_seed: int, position_only: bool) -> bytes:
    """The kernels' ``Settings`` record (:mod:`ik_nn.contract`) for one solver and mode."""
    return pack(SETTINGS, pos_tol=pos_tol, rot_tol=rot_tol, branch_tol=branch_tol,
                continuity_tol=continuity_tol, timeout=timeout, max_step=MAX_STEP,
                max_jump=max_jump,
                max_iterations=max_iterations, max_restarts=max_restarts,
                position_only=int(position_only), wrap_to_seed=1, random_seed=random_seed)


def rank(chain, settings, T, H, seeds=None):
    """Hypotheses H (N, K, dof) of targets T (N, 4, 4) in policy order and their scores.

    Best first; scores (N, K); seeds (N, dof) or None. All inputs C-contiguous float64.
    """
    n, K, _ = H.shape
    order = np.empty((n, K), dtype=np.int64)
    score = np.empty((n, K))
    _kernels.rank(chain, settings, T, H, seeds, order, score)
    ranked = np.take_along_axis(H, order[:, :, None], axis=1)
    return ranked, np.take_along_axis(score, order, axis=1)


def solve(chain, settings, T, H, seeds, result, stage: int = 0, need=None) -> int:
    """Run the policy on targets T (N, 4, 4), writing ``result`` in place.

    Hypotheses H (N, K, dof) or None and seeds (N, dof) or None; ``result`` is an
    :class:`~ik_nn.solver.IKResult` of N targets. Returns how many targets still fail.

    ``stage`` 1 runs step 1 only (the seed) and flags in ``need`` (N,) bool the targets that
    need more; ``stage`` 2 runs steps 2-5 on such targets, resuming from step 1's answer in
    ``result``. So a caller runs the network only where the seed was not enough.
    """
    return _kernels.solve(chain, settings, T, H, seeds, result, stage, need)
