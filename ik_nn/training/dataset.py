"""Training data: configurations drawn uniformly inside the limits, labelled by the arm's FK.

Labels must be a function of the network input, so redundancy the pose cannot see is removed
before encoding (canonicalisation):

* coaxial joint pairs (consecutive joints on one axis, e.g. rrrrrr θ3/θ4: only the sum
  matters) are split equally, clipped so that both stay inside their limits;
* for position-only samples, joints that never move the tool point (found numerically: their
  position-Jacobian column is zero, e.g. rrr θ3, ur5 θ6) are set to mid-limits.

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

    def __len__(self):
        return self.features.shape[0]

    def save(self, path):
        np.savez_compressed(
            path, features=self.features, targets=self.targets, q=self.q,
            position_only=self.position_only, seed=np.int64(self.seed),
            dh_hash=np.str_(self.dh_hash), arm_name=np.str_(self.arm_name),
            encoding_version=np.int64(encoding.ENCODING_VERSION),
        )


def make_dataset(arm, n: int, seed: int, position_only_fraction: float = 0.25,
                 keep_poses: bool = False) -> Dataset:
    """N samples; a ``position_only_fraction`` of them are position-only (flag 0)."""
    rng = np.random.default_rng(seed)
    q = arm.random_q(n, rng)
    po = rng.random(n) < position_only_fraction
    T = arm.fk(q)
    q = canonicalize(q, arm, po)
    features = encoding.encode_pose(T, arm, po)
    targets = encoding.encode_joints(q, arm, encoding.azimuth(T, arm))
    return Dataset(features, targets, q, po, seed, arm.dh_hash, arm.name,
                   T if keep_poses else None)


def load_dataset(path, arm) -> Dataset:
    """A saved dataset, refused if it was made for another arm or encoding."""
    with np.load(path, allow_pickle=False) as z:
        h = str(z["dh_hash"])
        if h != arm.dh_hash:
            raise ValueError(f"{path}: dataset made for DH hash {h} ({z['arm_name']}), "
                             f"arm {arm.name} has {arm.dh_hash}")
        if int(z["encoding_version"]) != encoding.ENCODING_VERSION:
            raise ValueError(f"{path}: encoding version {int(z['encoding_version'])}, "
                             f"expected {encoding.ENCODING_VERSION}")
        return Dataset(z["features"], z["targets"], z["q"], z["position_only"],
                       int(z["seed"]), h, str(z["arm_name"]))


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
