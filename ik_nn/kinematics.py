"""Batched forward kinematics, geometric Jacobian and pose error of serial chains.

A chain is ``F_0 · M_0(q_0) · F_1 · M_1(q_1) ⋯ M_{n-1}(q_{n-1}) · F_n``: fixed transforms
``F_i`` (``F_0`` includes the base, ``F_n`` is the tool) and joint motions ``M_i``, a rotation
about (revolute) or a translation along (prismatic) the joint's unit axis by ``q_i + offset_i``.
A DH table is one such chain (:func:`dh_chain`). The chain is packed once into the kernels'
``Chain`` record (:func:`pack_chain`, layout in :mod:`ik_nn.contract`); the compiled kernels
(``ik_nn/kernels/chain.c``) evaluate it, and the solver's inner loop calls the same code, so
what the tests prove of :func:`fk` and :func:`jacobian` holds for the solver.

Conventions
-----------
* DH ``dh`` is ``(dof, 4)``: columns ``a, d, alpha, theta_offset`` (metres, radians);
  :data:`CONVENTIONS` ``standard`` (``A_i = Rz(θ) Tz(d) Tx(a) Rx(α)``, joint i turns about
  ``z_{i-1}``) or ``modified`` (Craig: ``A_i = Rx(α) Tx(a) Rz(θ) Tz(d)``, about ``z_i``).
* ``base`` and ``tool`` are ``(4, 4)`` homogeneous transforms; FK is ``base · A_1 ⋯ A_n · tool``.
* Jacobian rows are ``[v; ω]`` in the base frame for the tool point.
* Rotation error is the angle of ``R_target · Rᵀ`` (log map, exact near 0 and near π).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from .contract import CHAIN, MAX_DOF, pack, read

CONVENTIONS = ("standard", "modified")
REVOLUTE, PRISMATIC = 0, 1


# ---------------------------------------------------------------------- building a chain
def _cos_sin(angle: float):
    """Cos and sin, exact (0, ±1) at whole multiples of π/2 as DH twists usually are."""
    k = angle / (np.pi / 2)
    if abs(k - round(k)) < 1e-12:
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(round(k)) % 4]
    return float(np.cos(angle)), float(np.sin(angle))


def _rot_x(alpha: float) -> np.ndarray:
    c, s = _cos_sin(alpha)
    T = np.eye(4)
    T[1:3, 1:3] = [[c, -s], [s, c]]
    return T


def _trans(x=0.0, y=0.0, z=0.0) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


@dataclass(frozen=True)
class ChainSpec:
    """A serial chain before packing.

    ``fixed`` (dof + 1, 4, 4), ``axis`` (dof, 3) unit axes in the joint frames, ``kind`` (dof,)
    REVOLUTE or PRISMATIC, ``offset`` (dof,) added to q.
    """

    fixed: np.ndarray
    axis: np.ndarray
    kind: np.ndarray
    offset: np.ndarray

    @property
    def dof(self) -> int:
        return self.axis.shape[0]


def dh_chain(dh, convention: str, base, tool, kind=None) -> ChainSpec:
    """The chain of a DH table (see the module docstring).

    ``kind`` (dof,) defaults to all revolute. A prismatic DH joint moves along z by ``q + d``
    (its ``d`` is the offset) and turns by the constant ``theta_offset``.
    """
    dh = np.asarray(dh, dtype=np.float64)
    dof = dh.shape[0]
    kind = np.zeros(dof, dtype=np.int32) if kind is None else np.asarray(kind, dtype=np.int32)
    fixed = [np.asarray(base, dtype=np.float64).copy()]
    offset = np.empty(dof)
    carry = np.eye(4)   # modified DH: Tz(d) of the previous joint, applied after its motion
    for i, (a, d, alpha, theta0) in enumerate(dh):
        prismatic = kind[i] == PRISMATIC
        # the constant rotation of a prismatic joint, the constant slide of a revolute one
        turn = _rot_z(theta0) if prismatic else np.eye(4)
        slide = np.eye(4) if prismatic else _trans(z=d)
        offset[i] = d if prismatic else theta0
        if convention == "modified":
            fixed[-1] = fixed[-1] @ carry @ _rot_x(alpha) @ _trans(x=a) @ turn
            carry = slide
            fixed.append(np.eye(4))
        else:
            fixed[-1] = fixed[-1] @ turn
            fixed.append(slide @ _trans(x=a) @ _rot_x(alpha))
    fixed[-1] = fixed[-1] @ carry @ np.asarray(tool, dtype=np.float64)
    axis = np.tile([0.0, 0.0, 1.0], (dof, 1))
    return ChainSpec(np.array(fixed), axis, kind, offset)


def _rot_z(theta: float) -> np.ndarray:
    c, s = _cos_sin(theta)
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    return T


def pack_chain(spec: ChainSpec, lower, upper, periodic, reach: float) -> bytes:
    """The kernels' ``Chain`` record for ``spec`` with limits (dof,) and reach (m)."""
    dof = spec.dof
    if not 1 <= dof <= MAX_DOF:
        raise ValueError(f"{dof} joints: the kernels take 1 to {MAX_DOF}")
    rot_kind = np.empty(dof + 1, dtype=np.int32)
    rot_cs = np.zeros((dof + 1, 2))
    for i, F in enumerate(spec.fixed):
        R = F[:3, :3]
        if np.array_equal(R, np.eye(3)):
            rot_kind[i] = 0
        elif (R[0, 0] == 1.0 and not R[0, 1:].any() and not R[1:, 0].any()
              and R[1, 1] == R[2, 2] and R[2, 1] == -R[1, 2]):
            rot_kind[i] = 1
            rot_cs[i] = R[1, 1], R[2, 1]
        else:
            rot_kind[i] = 2
    axis = np.asarray(spec.axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    code = np.full(dof, 3, dtype=np.int32)
    for i, a in enumerate(axis):
        hits = np.flatnonzero(np.abs(a) == 1.0)
        if hits.size == 1:
            code[i] = hits[0]
    return pack(CHAIN, dof=dof, kind=spec.kind, axis_code=code,
                periodic=np.asarray(periodic, dtype=np.int32), rot_kind=rot_kind, axis=axis,
                offset=spec.offset, fixed=spec.fixed[:, :3, :].reshape(-1), rot_cs=rot_cs,
                lower=lower, upper=upper, w_pos=1.0 / reach)


# ---------------------------------------------------------------------- evaluating it
def dof_of(chain: bytes) -> int:
    """Number of joints of a packed ``Chain`` record."""
    return int(read(CHAIN, chain)["dof"])


def as_joints(q, dof: int) -> np.ndarray:
    """(N, dof) contiguous float64 of q given as (N, dof) or (dof,)."""
    q = np.asarray(q, dtype=np.float64)
    q2 = q.reshape(1, -1) if q.ndim == 1 else q
    if q2.ndim != 2 or q2.shape[1] != dof:
        raise ValueError(f"q must have shape (N, {dof}) or ({dof},), got {q.shape}")
    return np.ascontiguousarray(q2)


def as_poses(T) -> np.ndarray:
    """(N, 4, 4) contiguous float64 of T given as (4, 4) or (N, 4, 4)."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape == (4, 4):
        T = T[None]
    if T.ndim != 3 or T.shape[1:] != (4, 4):
        raise ValueError(f"poses must have shape (N, 4, 4) or (4, 4), got {T.shape}")
    return np.ascontiguousarray(T)


def fk(chain, q) -> np.ndarray:
    """Tool poses (N, 4, 4), metres, for q (N, dof) or (dof,) of the packed ``chain``."""
    q2 = as_joints(q, dof_of(chain))
    out = np.empty((q2.shape[0], 4, 4))
    _kernels.fk(chain, q2, out)
    return out


def jacobian(chain, q) -> np.ndarray:
    """Geometric Jacobians (N, 6, dof), rows [v; ω] in the base frame."""
    q2 = as_joints(q, dof_of(chain))
    out = np.empty((q2.shape[0], 6, q2.shape[1]))
    _kernels.jacobian(chain, q2, out=out)
    return out


def joint_axes(chain, q):
    """Each joint's unit axis and a point on it (its frame's origin), base frame.

    Returns ``(axes, origins)``, both (N, dof, 3), origins in metres.
    """
    q2 = as_joints(q, dof_of(chain))
    axes = np.empty((q2.shape[0], q2.shape[1], 3))
    origins = np.empty_like(axes)
    _kernels.jacobian(chain, q2, axes=axes, origins=origins)
    return axes, origins


def pose_error(T_target, T):
    """Task-space errors between poses (N, 4, 4).

    Position (N,) metres, rotation (N,) radians (the angle of R_target · Rᵀ).
    """
    Tt = as_poses(T_target)
    Ta = as_poses(T)
    if Tt.shape != Ta.shape:
        raise ValueError(f"pose batches differ in shape: {Tt.shape} vs {Ta.shape}")
    pos = np.empty(Tt.shape[0])
    rot = np.empty(Tt.shape[0])
    _kernels.pose_error(Tt, Ta, pos, rot)
    return pos, rot


def rotation_log(R_target, R):
    """(angle, w (3,)): the rotation vector of R_target · Rᵀ, (3, 3) each; angle in [0, π]."""
    angle, w = _kernels.rotation_log(np.ascontiguousarray(R_target, dtype=np.float64),
                                     np.ascontiguousarray(R, dtype=np.float64))
    return angle, np.array(w)


def transform(xyz=(0.0, 0.0, 0.0), rpy=(0.0, 0.0, 0.0)):
    """(4, 4) transform from a translation (m) and fixed-axis roll, pitch, yaw (rad), as URDF."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    T = np.eye(4)
    T[:3, :3] = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    T[:3, 3] = xyz
    return T
