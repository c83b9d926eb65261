"""The bench's one verdict on answers: our own FK, task-space tolerances and the joint limits.

An answer succeeds when the pose our FK gives it is within the tolerance of the target
(position metres, rotation radians: the angle of ``R_target · Rᵀ``) **and** every joint is
inside the limits. Only joint angles go in: no method's own success flag or error is ever read,
so ik_nn, the deck's network and the peers are all judged alike.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kinematics import pose_error

STRICT = (1e-6, 1e-6)              # success: metres, radians
LOOSE = (1e-3, np.radians(1.0))    # "usable": 1 mm, 1 degree
LIMIT_TOL = 1e-9                   # rad; an answer further outside the limits is a failure


@dataclass(frozen=True)
class Verdict:
    """Our verdict on n answers; every field is an (n,) array.

    pos_err metres and rot_err radians between the target and our FK of the answer (inf for an
    answer with a non-finite joint); within_limits: every joint inside the limits (± LIMIT_TOL);
    strict: within STRICT and the limits; loose: within LOOSE and the limits.
    """

    pos_err: np.ndarray
    rot_err: np.ndarray
    within_limits: np.ndarray
    strict: np.ndarray
    loose: np.ndarray


def judge(arm, T, q) -> Verdict:
    """Judge answers q (n, dof) radians for targets T (n, 4, 4) base frame, metres."""
    q = np.ascontiguousarray(q, dtype=np.float64)
    finite = np.isfinite(q).all(axis=1)
    pe, re = pose_error(T, arm.fk(np.where(finite[:, None], q, 0.0)))
    pe[~finite] = np.inf
    re[~finite] = np.inf
    inside = arm.within_limits(q, tol=LIMIT_TOL) & finite
    return Verdict(pos_err=pe, rot_err=re, within_limits=inside,
                   strict=(pe <= STRICT[0]) & (re <= STRICT[1]) & inside,
                   loose=(pe <= LOOSE[0]) & (re <= LOOSE[1]) & inside)
