"""Training data: configurations drawn uniformly inside the limits, labelled by the arm's FK.

Labels must be a function of the network input, so redundancy the pose cannot see is removed
before encoding (canonicalisation):

* coaxial joint pairs (consecutive joints on one axis, e.g. rrrrrr θ3/θ4: only the sum
  matters) are split equally, clipped so that both stay inside their limits;
* for position-only samples, joints that never move the tool point (found numerically: their
  position-Jacobian column is zero, e.g. rrr θ3, ur5 θ6) are set to mid-limits;
* a 1-D self-motion (a 7-joint arm given a full pose, after any coaxial split) is removed by
  pinning one joint (:func:`redundant_joint`: the one whose pinning at mid-limits leaves the
  other joints best conditioned, e.g. the Panda's θ3 = 0), so that the other joints are one
  of finitely many IK branches of the pose (which WTA handles). ``redundancy="fix"`` (the
  default) draws the training configurations with that joint at the value: free, but poses
  only reachable with the joint elsewhere (13 % of the Panda's) are never seen;
  ``"project"`` draws all joints and moves each label along its self-motion to the value, or
  as near as the limits let it go (:func:`project_self_motion`: every pose is seen, ~40 us
  per sample); ``"none"`` leaves the self-motion in the labels (the behaviour before). On the
  Panda with equal budget "fix" gave the best network-alone median and an equal basin rate
  (docs/training.md).

Redundancy beyond that (a 6-joint arm given only a position) stays in the labels: the
multi-hypothesis network then spreads its K outputs over the solution set, which is all a
seed for the refiner needs.

numpy only; saved as ``.npz`` with the arm's DH hash and the seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import encoding
from ..analysis import analyse

REDUNDANCY = ("project", "fix", "none")
DEFAULT_REDUNDANCY = "fix"
PROJECT_STEP = 0.2     # rad (m): the continuation's step along the self-motion


def coaxial_pairs(arm):
    """Pairs (i, i+1) (0-based) of consecutive non-periodic joints on one axis line.

    With the same sense, so that only θi + θi+1 matters (measured by
    :func:`ik_nn.analysis.analyse`).
    """
    rep = analyse(arm, samples=64)
    return [(i - 1, j - 1) for i, j, sense in rep.coaxial
            if j == i + 1 and sense > 0 and not (arm.periodic[i - 1] or arm.periodic[j - 1])]


def position_free_joints(arm) -> np.ndarray:
    """(dof,) bool: joints whose motion never moves the tool point.

    Measured by :func:`ik_nn.analysis.analyse`: zero position-Jacobian column at every sample.
    """
    free = np.zeros(arm.dof, dtype=bool)
    free[[i - 1 for i in analyse(arm, samples=64).no_position]] = True
    return free


def canonicalize(q, arm, position_only=None) -> np.ndarray:
    """Labels (N, dof) with the redundancy the network cannot see removed (see module doc).

    FK of the result equals FK of q (full pose; position for position-only rows).
    """
    q = np.array(q, dtype=np.float64)
    lo, up = np.asarray(arm.lower), np.asarray(arm.upper)
    for i, j in coaxial_pairs(arm):
        s = q[:, i] + q[:, j]
        qi = np.clip(0.5 * s, np.maximum(lo[i], s - up[j]), np.minimum(up[i], s - lo[j]))
        q[:, i] = qi
        q[:, j] = s - qi
    if position_only is not None:
        po = np.broadcast_to(np.asarray(position_only, dtype=bool), (q.shape[0],))
        free = position_free_joints(arm)
        mid = encoding.default_reference(arm)
        for j in np.flatnonzero(free):
            q[po, j] = mid[j]
    return q


def redundant_joint(arm, samples: int = 512, seed: int = 0):
    """(joint 0-based, value) the 1-D self-motion canonicalisation pins, or None.

    None unless the chain has exactly one dimension of self-motion left after the coaxial
    split (a 7-joint arm with full rank). The joint is the one whose pinning at mid-limits
    leaves the other joints' Jacobian (position scaled by the reach) best conditioned: the
    largest mean log-determinant over random configurations, and never one that makes it
    singular (the Panda's θ2 at 0 lines θ1 up with θ3). Value: mid-limits.
    """
    rep = analyse(arm, samples=64)
    if arm.dof - rep.rank - len(coaxial_pairs(arm)) != 1:
        return None
    q = arm.random_q(samples, np.random.default_rng(seed))
    mid = encoding.default_reference(arm)
    best, pick = -np.inf, None
    for j in range(arm.dof):
        q2 = q.copy()
        q2[:, j] = mid[j]
        J = arm.jacobian(q2)
        J[:, :3] /= arm.reach
        s = np.linalg.svd(np.delete(J, j, axis=2), compute_uv=False)[:, :rep.rank]
        if np.median(s[:, -1]) < 1e-9 * s[:, 0].max():
            continue
        score = float(np.mean(np.log(np.maximum(s, 1e-300)).sum(axis=1)))
        if score > best:
            best, pick = score, (j, float(mid[j]))
    return pick


def project_self_motion(arm, q, T, joint: int, value: float, position_only: bool = False,
                        step: float = PROJECT_STEP) -> np.ndarray:
    """Configurations moved along their self-motion until ``q[joint] = value``, or stuck.

    Continuation on a grid of ``step``: the joint is pinned at the next grid value towards
    ``value`` and the other joints re-solved by the compiled LM from where they are (the same
    pose, or position with ``position_only``); a configuration stops at the last value that
    converged without a jump (> 1 rad: another branch), i.e. where the limits or a singularity
    end its self-motion. So the label is the point of the pose's self-motion branch nearest
    ``value`` (to within ``step``), whichever point of the branch was drawn. Returns a copy.
    """
    from .. import candidates, kinematics
    from ..solver import IKResult

    q = np.array(q, dtype=np.float64)
    T = np.ascontiguousarray(T, dtype=np.float64)
    j = int(joint)
    settings = candidates.settings(
        pos_tol=1e-8 * arm.reach, rot_tol=1e-8, max_iterations=30, max_restarts=0, timeout=0.0,
        branch_tol=0.1, continuity_tol=0.5, max_jump=0.0, random_seed=0,
        position_only=bool(position_only))
    periodic = np.asarray(arm.periodic).copy()
    periodic[j] = False
    live = np.ones(q.shape[0], dtype=bool)
    for side in (1.0, -1.0):
        on = side * (q[:, j] - value) > 1e-12
        if not on.any():
            continue
        kmax = int(np.ceil(np.max(side * (q[on, j] - value)) / step))
        for k in range(kmax, -1, -1):
            v = value + side * k * step
            idx = np.flatnonzero(live & on & (side * (q[:, j] - v) > 1e-12))
            if not idx.size:
                continue
            lo, up = np.array(arm.lower), np.array(arm.upper)
            lo[j] = up[j] = v
            chain = kinematics.pack_chain(arm.spec, lo, up, periodic, arm.reach)
            H = q[idx].copy()
            H[:, j] = v
            res = IKResult.empty(idx.size, arm.dof)
            candidates.solve(chain, settings, np.ascontiguousarray(T[idx]),
                             np.ascontiguousarray(H[:, None]), None, res)
            ok = res.success & (np.abs(res.q - q[idx]).max(axis=1) < 1.0)
            q[idx[ok]] = res.q[ok]
            live[idx[~ok]] = False
    return q


def canonicalize_self_motion(q, T, arm, position_only, redundancy: str, pinned=None):
    """Labels with the 1-D self-motion removed by ``redundancy`` (see the module doc)."""
    if redundancy != "project":
        return q
    pinned = redundant_joint(arm) if pinned is None else pinned
    if pinned is None:
        return q
    q = np.array(q, dtype=np.float64)
    po = np.broadcast_to(np.asarray(position_only, dtype=bool), (q.shape[0],))
    for mode in (False, True):
        rows = np.flatnonzero(po == mode)
        if rows.size:
            q[rows] = project_self_motion(arm, q[rows], T[rows], pinned[0], pinned[1], mode)
    return q


@dataclass
class Dataset:
    """features (N, F) float32, targets (N, M) float32, q (N, dof) canonical labels, T (N,4,4).

    T is kept only when asked: validation needs it for FK errors and the azimuth.
    """

    features: np.ndarray
    targets: np.ndarray
    q: np.ndarray
    position_only: np.ndarray
    seed: int
    dh_hash: str
    arm_name: str
    T: np.ndarray | None = None
    redundancy: str = "none"

    def __len__(self):
        return self.features.shape[0]

    def save(self, path):
        np.savez_compressed(
            path, features=self.features, targets=self.targets, q=self.q,
            position_only=self.position_only, seed=np.int64(self.seed),
            dh_hash=np.str_(self.dh_hash), arm_name=np.str_(self.arm_name),
            encoding_version=np.int64(encoding.ENCODING_VERSION),
            redundancy=np.str_(self.redundancy),
        )


def make_dataset(arm, n: int, seed: int, position_only_fraction: float = 0.25,
                 keep_poses: bool = False, redundancy: str = DEFAULT_REDUNDANCY) -> Dataset:
    """N samples; a ``position_only_fraction`` of them are position-only (flag 0).

    ``redundancy``: how a 1-D self-motion is removed from the labels (:data:`REDUNDANCY`,
    see the module doc; no effect on arms without one).
    """
    if redundancy not in REDUNDANCY:
        raise ValueError(f"redundancy must be one of {REDUNDANCY}, got {redundancy!r}")
    rng = np.random.default_rng(seed)
    q = arm.random_q(n, rng)
    po = rng.random(n) < position_only_fraction
    pinned = redundant_joint(arm) if redundancy != "none" else None
    if pinned is not None and redundancy == "fix":
        q[:, pinned[0]] = pinned[1]
    T = arm.fk(q)
    q = canonicalize(q, arm, po)
    if pinned is not None:
        q = canonicalize_self_motion(q, T, arm, po, redundancy, pinned)
    features = encoding.encode_pose(T, arm, po)
    targets = encoding.encode_joints(q, arm, encoding.azimuth(T, arm))
    return Dataset(features, targets, q, po, seed, arm.dh_hash, arm.name,
                   T if keep_poses else None, redundancy if pinned is not None else "none")


def load_dataset(path, arm, redundancy: str | None = None) -> Dataset:
    """A saved dataset, refused if made for another arm, encoding or redundancy rule."""
    with np.load(path, allow_pickle=False) as z:
        h = str(z["dh_hash"])
        if h != arm.dh_hash:
            raise ValueError(f"{path}: dataset made for DH hash {h} ({z['arm_name']}), "
                             f"arm {arm.name} has {arm.dh_hash}")
        if int(z["encoding_version"]) != encoding.ENCODING_VERSION:
            raise ValueError(f"{path}: encoding version {int(z['encoding_version'])}, "
                             f"expected {encoding.ENCODING_VERSION}")
        saved = str(z["redundancy"]) if "redundancy" in z.files else "none"
        if (redundancy is not None and saved != redundancy
                and redundant_joint(arm) is not None):
            raise ValueError(f"{path}: dataset made with redundancy {saved!r}, "
                             f"this run uses {redundancy!r}")
        return Dataset(z["features"], z["targets"], z["q"], z["position_only"],
                       int(z["seed"]), h, str(z["arm_name"]), redundancy=saved)


def best_hypothesis(arm, q_hyp, T, position_only=False):
    """Pick, per target, the hypothesis with the smallest task error after FK.

    q_hyp (N, K, dof); T (N, 4, 4). Full pose: score = pos_err / reach + rot_err (rad);
    position only: pos_err. Returns (index (N,), pos_err (N,) m, rot_err (N,) rad) of the best.
    """
    from ..kinematics import pose_error

    n, K, dof = q_hyp.shape
    Th = arm.fk(q_hyp.reshape(n * K, dof))
    pos, rot = pose_error(np.repeat(np.asarray(T, dtype=np.float64), K, axis=0), Th)
    pos, rot = pos.reshape(n, K), rot.reshape(n, K)
    po = np.broadcast_to(np.asarray(position_only, dtype=bool), (n,))
    score = np.where(po[:, None], pos, pos / arm.reach + rot)
    k = np.argmin(score, axis=1)
    r = np.arange(n)
    return k, pos[r, k], rot[r, k]
